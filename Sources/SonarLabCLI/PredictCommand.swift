import ArgumentParser
import Engine
import Foundation
import Logging
import HBase
import Settings
import Tracking

/// `sonarlab predict`: scores rows with a saved model.
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict rock or mine for rows in a CSV or scenario JSON file.",
        discussion: """
            INPUT is CSV with 60 features per row (optionally the label R/M as a 61st field, then accuracy is \
            reported too) or the scenario JSON {"X": [[60 numbers], …], "y": ["R", …]}. Prints the label and \
            P(mine) per row. Without --model, the latest finished run's model is used. --model also takes a \
            distribution zip from `sonarlab export`: its SHA-256 manifest is checked first, and an altered \
            archive is refused (exit 2).
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(
        help: ArgumentHelp("Model file (model.json) or distribution zip (sonarlab-model-<id>.zip).", valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp("Rows to score: .csv or .json.", valueName: "file"))
    var input: String?

    @Flag(help: "Score the validation rows stored in HBase by `sonarlab dataset load` (instead of --input).")
    var fromHbase = false

    @Option(name: .customLong("store"), help: ArgumentHelp("Also record every prediction: hbase.", valueName: "name"))
    var predictionStore: String?

    @Flag(help: "Print JSON on standard output.")
    var json = false

    func run() async throws {
        let context = try CommandContext(global: global, flags: store.flags)
        let loaded = try await context.loadModel(model)
        let modelPath = loaded.path
        let artefact = loaded.artefact
        if let predictionStore, predictionStore != "hbase" {
            throw CommandFailure.badInput("--store '\(predictionStore)': the only prediction store is hbase")
        }
        guard fromHbase != (input != nil) else {
            throw CommandFailure.badInput("pass exactly one of --input or --from-hbase")
        }
        let rows: (features: Matrix, labels: [SonarClass?], references: [String])
        if fromHbase {
            rows = try await hbaseValidationRows(context, fingerprint: artefact.dataFingerprint)
        } else {
            let path = self.input ?? ""
            let loaded = try PredictionInput.load(path: path, header: context.headerPolicy)
            rows = (loaded.features, loaded.labels, loaded.lineNumbers.map { "\(path):\($0)" })
        }
        let input = fromHbase ? context.hbaseLayout.datasets.qualified : (self.input ?? "")
        let probabilities = artefact.model.mineProbabilities(rows.features)
        let predicted = artefact.model.predict(rows.features)
        if predictionStore != nil {
            try await recordPredictions(
                context, artefact: artefact, predicted: predicted, probabilities: probabilities,
                references: rows.references)
        }
        let labelled = rows.labels.allSatisfy { $0 != nil }
        let confusion = labelled ? ConfusionMatrix(actual: rows.labels.map { $0! }, predicted: predicted) : nil
        if json {
            var object: [String: Any] = [
                "model_path": modelPath, "experiment_id": artefact.experimentID, "input": input,
                "predictions": zip(predicted, probabilities).enumerated().map { i, pair in
                    ["row": i + 1, "label": pair.0.label, "p_mine": Double(pair.1)] as [String: Any]
                },
            ]
            if let confusion {
                object["accuracy"] = confusion.accuracy
                object["f1"] = confusion.macroF1
                object["confusion_matrix"] = confusion.counts
            }
            print(try jsonText(object))
        } else {
            printText("model \(modelPath) (experiment \(artefact.experimentID))")
            printText("row  label  p_mine\(labelled ? "  actual" : "")")
            for (i, (label, p)) in zip(predicted, probabilities).enumerated() {
                let actual = rows.labels[i].map { "  \($0.label)" } ?? ""
                printText("\(pad(i + 1, 3))  \(label.label)      \(PlainNumber.format("%.4f", p))\(actual)")
            }
            if let confusion {
                printText(
                    "accuracy \(f4(confusion.accuracy))  macro-F1 \(f4(confusion.macroF1))  (\(confusion.total) rows)")
            }
        }
    }

    /// The validation rows `sonarlab dataset load` stored for the model's data fingerprint.
    private func hbaseValidationRows(
        _ context: CommandContext, fingerprint: String
    ) async throws -> (features: Matrix, labels: [SonarClass?], references: [String]) {
        let client = try context.makeHBaseClient()
        let records: [DatasetRecord]
        do {
            records = try await HBaseDatasetStore(client: client, layout: context.hbaseLayout).records(
                fingerprint: fingerprint
            )
            .filter { $0.split == .validation }
            try? await client.shutdown()
        } catch let error as HBaseError {
            try? await client.shutdown()
            throw CommandFailure.hbase("predict --from-hbase", error)
        }
        guard !records.isEmpty else {
            throw CommandFailure.badInput(
                "no validation rows in HBase for the model's data (sha256 \(fingerprint)); run `sonarlab dataset load`")
        }
        return (
            Matrix(rowArrays: records.map(\.features)), records.map { $0.label },
            records.map { HBaseDatasetStore.rowKey(fingerprint: fingerprint, split: .validation, index: $0.index) }
        )
    }

    /// Writes each prediction to the predictions table (model id, input reference, label, probability, time).
    private func recordPredictions(
        _ context: CommandContext, artefact: ModelArtefact, predicted: [SonarClass], probabilities: [Float],
        references: [String]
    ) async throws {
        let now = Date()
        let records = zip(zip(predicted, probabilities), references).map { pair, reference in
            PredictionRecord(
                modelID: artefact.experimentID, inputReference: reference, label: pair.0,
                probability: pair.0 == .mine ? Double(pair.1) : 1 - Double(pair.1), predictedAt: now)
        }
        let client = try context.makeHBaseClient()
        let writer = try context.makeHBaseWriter(client: client)
        do {
            try await HBasePredictionStore(client: client, layout: context.hbaseLayout, writer: writer).write(records)
        } catch let error as HBaseError {
            try? await client.shutdown()
            throw CommandFailure.hbase("predict --store hbase", error)
        }
        let delivery = await writer.deliver(waitingForLockUpTo: .seconds(10))
        try? await client.shutdown()
        let verb = delivery.pending.count == 0 ? "recorded" : "queued"
        printError("\(verb) \(records.count) predictions in \(context.hbaseLayout.predictions.qualified)")
        try CommandContext.reportPending(delivery.pending, command: "predict --store hbase")
    }

}
