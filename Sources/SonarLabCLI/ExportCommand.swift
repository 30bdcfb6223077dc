import ArgumentParser
import Engine
import Foundation
import HBase
import Settings
import Tracking

/// `sonarlab export`: packs a model into `sonarlab-model-<experiment id>.zip` with a SHA-256 manifest.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Pack a model into a distribution zip with its config, metrics, model card and SHA-256 manifest.",
        discussion: """
            Writes DIR/sonarlab-model-<experiment id>.zip holding model.json, config.ini, metrics.json, \
            DATA_FINGERPRINT, MODEL_CARD.md and MANIFEST.sha256. The model card and metrics include the latest \
            finished cv run on the same data when the store has one. `sonarlab predict --model FILE.zip` uses the \
            zip directly after checking the manifest.

            Example:
              sonarlab export --output dist
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Model file; default: the latest finished run's.", valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp("Output folder for the zip.", valueName: "dir"))
    var output: String

    func run() async throws {
        let context = try CommandContext(global: global, flags: store.flags)
        let loaded = try await context.loadModel(model)
        let store = try context.openStore()
        let artefact = loaded.artefact
        let training = try? await store.experiment(id: artefact.experimentID)
        let parameters = training?.parameters ?? [:]
        let cv = try await store.experiments(limit: 500).first {
            $0.kind == .crossValidation && $0.status == .finished && $0.dataFingerprint == artefact.dataFingerprint
                && $0.result?.crossValidation != nil
        }
        let contents = ModelPackage.Contents(
            modelBytes: loaded.bytes, artefact: artefact, parameters: parameters,
            dataPath: parameters["data.path"] ?? context.configuration.data.path,
            crossValidation: cv?.result?.crossValidation, crossValidationExperimentID: cv?.id,
            sweep: try await parameters["sweep.from_sweep"].asyncMap { try await store.experiment(id: $0) } ?? nil,
            trial: try await parameters["sweep.from_trial"].asyncMap { try await store.experiment(id: $0) } ?? nil)
        try checkOutputFolder(output, flag: "--output")
        let path = try ModelPackage.write(contents, toDirectory: output)
        printText("model   \(loaded.path) (experiment \(artefact.experimentID))")
        printText("cv      \(cv.map { "experiment \($0.id)" } ?? "none recorded on the same data")")
        printText("wrote   \(path)")
    }
}

/// `sonarlab report`: the Markdown report of the latest runs with SVG training curves.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a Markdown report of the latest runs, with SVG training curves next to it.",
        discussion: """
            Environment (Swift, OS, CPU), data and split, the latest finished train run (curves of loss, accuracy \
            and macro-F1, train vs validation, as report-*.svg), its final metrics, the latest cv run, the last \
            functional test results, what `sonarlab serve` answered for the trained model (from the predictions it recorded), and how CI and CD are set up.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The report file; the SVGs go into its folder.", valueName: "file"))
    var output: String = "docs/REPORT.md"

    func run() async throws {
        let context = try CommandContext(global: global, flags: store.flags)
        let config = context.configuration
        let data = try context.loadData()
        let store = try context.openStore()
        let runs = try await store.experiments(limit: 500)
        let latestTrain = runs.first { $0.kind == .train && $0.status == .finished }
        let training = try await latestTrain.asyncMap { try await store.experiment(id: $0.id) } ?? nil
        let cv = runs.first {
            $0.kind == .crossValidation && $0.status == .finished && $0.result?.crossValidation != nil
        }
        let split = StratifiedSplit.split(
            labels: data.dataset.labels, testSize: config.split.testSize, seed: config.split.seed)
        let counts = data.dataset.classCounts
        let report = RunReport(
            generatedAt: Date(), environment: .current(),
            data: .init(
                path: config.data.path, fingerprint: data.fingerprint, rocks: counts[.rock] ?? 0,
                mines: counts[.mine] ?? 0, testSize: config.split.testSize, seed: config.split.seed,
                trainRows: split.train.count, validationRows: split.validation.count),
            training: training, crossValidation: cv,
            tests: try FunctionalTestResults.load(directory: config.tracking.directory), storeLocation: store.location,
            service: try await servedPredictions(context, modelID: training?.id))
        try checkOutputFolder((output as NSString).deletingLastPathComponent, flag: "--output")
        for path in try report.write(to: output) { printText("wrote \(path)") }
    }
}

/// What `sonarlab serve` recorded for `modelID`: the local predictions file when there is one (never created
/// here), and the HBase predictions table with the HBase backend.
/// - Throws: ``CommandFailure`` when HBase cannot be read.
func servedPredictions(_ context: CommandContext, modelID: String?) async throws -> RunReport.ServiceSummary? {
    guard let modelID else { return nil }
    var records: [PredictionRecord] = []
    var sources: [String] = []
    let directory = context.configuration.tracking.directory
    if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("predictions.sqlite")) {
        let local = try LocalPredictionStore(directory: directory)
        records += try await local.predictions(modelID: modelID)
        sources.append("local SQLite \(local.path)")
    }
    if context.configuration.tracking.backend == .hbase {
        let client = try context.makeHBaseClient()
        do {
            records += try await HBasePredictionStore(client: client, layout: context.hbaseLayout)
                .predictions(modelID: modelID)
        } catch let error as HBaseError {
            try? await client.shutdown()
            throw CommandFailure.hbase("report", error)
        }
        try? await client.shutdown()
        sources.append("HBase \(context.hbaseLayout.predictions.qualified)")
    }
    return RunReport.ServiceSummary(predictions: records, modelID: modelID, sources: sources)
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): return try await transform(value)
        case .none: return nil
        }
    }
}

/// Refuses an output folder flag that names an existing file, or a folder under one (exit 2, the flag named),
/// before anything is written; a folder that does not exist yet is made by the writer.
/// - Throws: ``CommandFailure`` (bad input).
func checkOutputFolder(_ path: String, flag: String) throws {
    var isDirectory: ObjCBool = false
    var current = path.isEmpty ? "." : path
    while !FileManager.default.fileExists(atPath: current, isDirectory: &isDirectory) {
        let parent = (current as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != current else { return }
        current = parent
    }
    guard isDirectory.boolValue else {
        throw CommandFailure.badInput(
            "\(flag) \(path): \(current == path ? "is" : "is under") a file (\(current)), not a folder")
    }
}
