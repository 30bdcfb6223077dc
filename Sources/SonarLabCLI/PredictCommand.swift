import ArgumentParser
import Engine
import Foundation
import Logging
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
            P(mine) per row. Without --model, the latest finished run's model is used.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Model file (model.json).", valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp("Rows to score: .csv or .json.", valueName: "file"))
    var input: String

    @Flag(help: "Print JSON on standard output.")
    var json = false

    func run() async throws {
        let context = try CommandContext(global: global, flags: store.flags)
        let modelPath = try await resolveModelPath(context)
        let artefact = try ModelArtefact.load(path: modelPath)
        let rows = try PredictionInput.load(path: input)
        let probabilities = artefact.model.mineProbabilities(rows.features)
        let predicted = artefact.model.predict(rows.features)
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
            print("model \(modelPath) (experiment \(artefact.experimentID))")
            print("row  label  p_mine\(labelled ? "  actual" : "")")
            for (i, (label, p)) in zip(predicted, probabilities).enumerated() {
                let actual = rows.labels[i].map { "  \($0.label)" } ?? ""
                print("\(pad(i + 1, 3))  \(label.label)      \(String(format: "%.4f", p))\(actual)")
            }
            if let confusion {
                print(
                    "accuracy \(f4(confusion.accuracy))  macro-F1 \(f4(confusion.macroF1))  (\(confusion.total) rows)")
            }
        }
    }

    private func resolveModelPath(_ context: CommandContext) async throws -> String {
        if let model { return model }
        let store = try context.openStore()
        let runs = try await store.experiments(limit: 200)
        guard let latest = runs.first(where: { $0.status == .finished && $0.kind == .train && $0.modelPath != nil }),
            let path = latest.modelPath
        else {
            throw CommandFailure.badInput(
                "no finished training run in \(store.location); pass --model or run `sonarlab train`")
        }
        return path
    }
}
