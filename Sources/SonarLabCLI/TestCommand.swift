import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// `sonarlab test`: runs the functional scenarios against a model and records each as a `test` experiment.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the functional scenarios (tests/functional/*.json) against a model.",
        discussion: """
            Each scenario is the seed's JSON {"X": [[60 numbers], …], "y": ["R", …]} with optional name, \
            description, min_accuracy, min_f1 and expect_error. Prints accuracy, macro-F1 and the confusion matrix \
            per scenario, writes experiments/exp_<scenario>_<timestamp>/ (run.log, exp_config.yaml), records a \
            `test` experiment per scenario in the store, and saves the results to <[tracking] dir>/\
            last-test-results.json for the dashboard.

            Exit codes: 0 all passed, 1 a threshold failed, 2 a malformed scenario (nothing is run or recorded).

            Examples:
              sonarlab test
              sonarlab test --model experiments/exp_sonar_20261129_093117/model.json --junit out/junit.xml
              sonarlab test --model dist/sonarlab-model-20261129-093117-e3d2b7.zip
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(
        help: ArgumentHelp(
            "Model (model.json or distribution zip); default: the latest finished run's.", valueName: "path"))
    var model: String?

    @Option(help: ArgumentHelp("Folder of scenario JSON files, or one scenario file.", valueName: "path"))
    var scenarios: String = Self.defaultScenarios

    /// The scenarios folder `test` and the dashboard's Tests screen use by default.
    static let defaultScenarios = "tests/functional"

    @Option(help: ArgumentHelp("Also write JUnit XML here (one test case per scenario).", valueName: "file"))
    var junit: String?

    @Flag(help: "Print the results as JSON on standard output.")
    var json = false

    func run() async throws {
        let context = try CommandContext(global: global, flags: store.flags)
        // Scenarios and model first: a bad file is refused (exit 2) before the store is opened or created.
        let loaded = try Self.loadScenarios(in: scenarios)
        let model = try await context.loadModel(self.model)
        let store = try context.openStore()
        let config = context.configuration
        let quiet = json
        if !quiet {
            printText("model \(model.path) (experiment \(model.artefact.experimentID)), \(loaded.count) scenarios")
        }
        let results = try await Self.run(
            loaded, model: model, source: scenarios, context: context, store: store,
            onScenario: { if !quiet { printText(block: Self.text($0)) } })
        try CommandContext.reportPending(await store.deliverPendingWrites(within: .seconds(10)), command: "test")
        if let junit {
            try TrainCommand.replaceFile(at: junit, with: Data(results.junitXML().utf8))
        }
        if json {
            print(String(decoding: results.encoded(), as: UTF8.self))
        } else {
            // Not "N passed, N failed" alone on a line: CI reads such a line as a test runner's verdict.
            printText("scenarios passed \(results.passedCount) of \(results.scenarios.count)")
            printText("results \(FunctionalTestResults.path(inDirectory: config.tracking.directory))")
            if let junit { printText("junit   \(junit)") }
        }
        guard results.allPassed else {
            let failed = results.scenarios.filter { $0.status == .failed }.map(\.name)
            throw CommandFailure.failed(
                "\(failed.count) of \(results.scenarios.count) scenarios failed: \(failed.joined(separator: ", "))")
        }
    }

    /// Loads the scenarios and the model, then runs and records them as ``run(_:model:source:context:store:onScenario:)``.
    ///
    /// What the dashboard's Tests screen (`r`) runs: `sonarlab test` with its defaults.
    /// - Parameters:
    ///   - context: the resolved configuration and logger.
    ///   - store: where the `test` experiments are recorded.
    ///   - model: a model.json or distribution zip; `nil`: the latest finished run's.
    ///   - scenarios: a folder of scenario files, or one file.
    ///   - onStart: called with the loaded model and the number of scenarios before the first one runs.
    ///   - onScenario: called after each scenario.
    /// - Returns: the results (also in `last-test-results.json` in the tracking folder).
    /// - Throws: ``CommandFailure`` (exit 2) for a missing folder or no scenario; ``DataError`` for a broken file
    ///   or model; a file-system error when a run folder or the results cannot be written.
    static func runScenarios(
        context: CommandContext, store: any ExperimentStore, model: String?, scenarios: String,
        onStart: @Sendable (LoadedModel, Int) -> Void = { _, _ in },
        onScenario: @escaping @Sendable (FunctionalTestResults.Scenario) -> Void = { _ in }
    ) async throws -> FunctionalTestResults {
        let loaded = try loadScenarios(in: scenarios)
        let model = try await context.loadModel(model)
        onStart(model, loaded.count)
        return try await run(
            loaded, model: model, source: scenarios, context: context, store: store, onScenario: onScenario)
    }

    /// Runs loaded scenarios against a model, records each in `store`, and writes `last-test-results.json`.
    /// - Parameters:
    ///   - scenarios: the loaded scenarios.
    ///   - model: the loaded model.
    ///   - source: the scenarios folder or file (recorded).
    ///   - context: the resolved configuration and logger.
    ///   - store: where the `test` experiments are recorded.
    ///   - onScenario: called after each scenario.
    /// - Returns: the results.
    /// - Throws: a file-system error when a run folder or the results cannot be written.
    static func run(
        _ scenarios: [FunctionalScenario], model: LoadedModel, source: String, context: CommandContext,
        store: any ExperimentStore, onScenario: @escaping @Sendable (FunctionalTestResults.Scenario) -> Void
    ) async throws -> FunctionalTestResults {
        let config = context.configuration
        let runner = FunctionalTestRunner(
            store: store, experimentsRoot: config.tracking.experimentsDirectory, logger: context.logger)
        let outcome = try await runner.run(
            scenarios, model: model.artefact, modelPath: model.path, source: source, onScenario: onScenario)
        for error in outcome.storeErrors { printError("warning: \(store.location): \(error)") }
        try outcome.results.write(toDirectory: config.tracking.directory)
        return outcome.results
    }

    /// Reads every `*.json` in `directory`, in name order, or the one scenario file `directory` names.
    /// - Throws: ``DataError`` for the first malformed scenario, ``CommandFailure`` when there is none.
    static func loadScenarios(in directory: String) throws -> [FunctionalScenario] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw CommandFailure.badInput("--scenarios \(directory): no such folder or file")
        }
        guard isDirectory.boolValue else { return [try FunctionalScenario.load(path: directory)] }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.lowercased().hasSuffix(".json") }.sorted()
        guard !names.isEmpty else {
            throw CommandFailure.badInput("--scenarios \(directory): no *.json scenario files")
        }
        let scenarios = try names.map {
            try FunctionalScenario.load(path: (directory as NSString).appendingPathComponent($0))
        }
        var seen = Set<String>()
        for s in scenarios where !seen.insert(s.name).inserted {
            throw CommandFailure.badInput(
                "\(s.file): scenario name \"\(s.name)\" is used by another file in \(directory)")
        }
        return scenarios
    }

    /// The lines printed for one scenario.
    static func text(_ s: FunctionalTestResults.Scenario) -> String {
        var out = "\(s.status == .passed ? "PASS" : "FAIL")  \(s.name.terminalSafe)"
        if let accuracy = s.accuracy, let f1 = s.f1 {
            out += "  \(s.rows) rows  accuracy \(f4(accuracy))  macro-F1 \(f4(f1))"
            var limits = [String]()
            if let a = s.minAccuracy { limits.append("acc ≥ \(a)") }
            if let b = s.minF1 { limits.append("F1 ≥ \(b)") }
            if !limits.isEmpty { out += "  (\(limits.joined(separator: ", ")))" }
            if let c = s.confusionMatrix {
                out +=
                    "\n        confusion (rows actual): R [\(pad(c[0][0], 3)) \(pad(c[0][1], 3))]  M [\(pad(c[1][0], 3)) \(pad(c[1][1], 3))]"
            }
        } else if let e = s.expectError {
            out += "  expect_error \(e.terminalSafe)"
        }
        for m in s.messages { out += "\n        \(m.terminalSafe)" }
        return out
    }
}

/// `sonarlab make-scenarios`: writes the data-derived functional scenarios (the committed generator).
struct MakeScenariosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-scenarios",
        abstract: "Generate tests/functional/*.json from the data and the configured split (deterministic).",
        discussion: """
            Writes validation, rocks_only, mines_only, single_rock, single_mine, validation_noisy (Gaussian noise \
            sigma 0.02, fixed seed, clipped to [0, 1]) and out_of_range. The validation split is Engine's \
            StratifiedSplit with [split] test_size and seed, exactly as training uses. --check compares instead \
            of writing and exits 1 when a file differs.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp("Output folder.", valueName: "dir"))
    var output: String = "tests/functional"

    @Flag(help: "Compare the folder with what would be generated; exit 1 when it differs.")
    var check = false

    func run() async throws {
        let context = try CommandContext(global: global, flags: training.flags)
        let config = context.configuration
        let data = try context.loadData()
        let files = ScenarioGenerator.make(
            data: data, dataPath: config.data.path, testSize: config.split.testSize, seed: config.split.seed)
        var differing = [String]()
        if !check { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        for file in files {
            let path = (output as NSString).appendingPathComponent(file.name)
            if check {
                if (try? String(contentsOfFile: path, encoding: .utf8)) != file.text { differing.append(path) }
            } else {
                try file.text.write(toFile: path, atomically: true, encoding: .utf8)
                printText("wrote \(path)")
            }
        }
        if check {
            guard differing.isEmpty else {
                throw CommandFailure.failed("differs from the generator: \(differing.joined(separator: ", "))")
            }
            printText("\(files.count) scenario files in \(output) match the generator")
        }
    }
}
