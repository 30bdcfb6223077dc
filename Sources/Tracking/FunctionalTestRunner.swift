public import Engine
public import Foundation
public import Logging

/// Runs functional scenarios against a model and records each as an experiment of kind `test`.
///
/// Per scenario: a seed-style run folder `exp_<scenario>_<timestamp>/` with `run.log` and
/// `exp_config.yaml`, and an experiment in the store (`finished` when it passed, `failed` when a
/// threshold was missed). Store write failures are logged and collected, never fatal: the run folders
/// and the results still hold everything.
public struct FunctionalTestRunner: Sendable {
    /// Where the experiments are recorded.
    public let store: any ExperimentStore
    /// Root of the run folders (`[tracking] experiments_dir`).
    public let experimentsRoot: String
    /// The caller's logger; each run log receives the same records.
    public let logger: Logger

    /// Creates a runner.
    /// - Parameters:
    ///   - store: where experiments are recorded.
    ///   - experimentsRoot: where run folders are created.
    ///   - logger: the caller's logger (silent by default).
    public init(
        store: any ExperimentStore, experimentsRoot: String,
        logger: Logger = Logger(label: "sonarlab", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.store = store
        self.experimentsRoot = experimentsRoot
        self.logger = logger
    }

    /// What a run gave.
    public struct Outcome: Sendable {
        /// The results (also what `last-test-results.json` holds).
        public let results: FunctionalTestResults
        /// Store writes that failed, if any.
        public let storeErrors: [String]
    }

    /// Runs every scenario in order.
    /// - Parameters:
    ///   - scenarios: the loaded scenarios.
    ///   - model: the model artefact to test.
    ///   - modelPath: where it came from (recorded).
    ///   - source: the scenarios folder (recorded).
    ///   - onScenario: called after each scenario with its result.
    /// - Returns: the results and any store errors.
    /// - Throws: a file-system error when a run folder cannot be written.
    public func run(
        _ scenarios: [FunctionalScenario], model: ModelArtefact, modelPath: String, source: String,
        onScenario: @Sendable (FunctionalTestResults.Scenario) -> Void = { _ in }
    ) async throws -> Outcome {
        let startedAt = Date()
        var results = [FunctionalTestResults.Scenario]()
        var storeErrors = [String]()
        for scenario in scenarios {
            let began = Date()
            let clock = ContinuousClock.now
            let folder = try RunFolder(root: experimentsRoot, name: scenario.name, startedAt: began)
            let fileHandler = try FileLogHandler(label: "sonarlab", path: folder.logPath)
            let base = logger
            let log = Logger(label: "sonarlab") { _ in MultiplexLogHandler([base.handler, fileHandler]) }
            var parameters = [
                "test.scenario": scenario.file, "test.model": modelPath, "test.model_experiment": model.experimentID,
            ]
            if let v = scenario.minAccuracy { parameters["test.min_accuracy"] = String(v) }
            if let v = scenario.minF1 { parameters["test.min_f1"] = String(v) }
            if let v = scenario.expectError { parameters["test.expect_error"] = v }
            var experiment = Experiment(
                id: Experiment.makeID(startingAt: began), name: scenario.name, kind: .test, startedAt: began,
                parameters: parameters, dataFingerprint: scenario.fingerprint)
            experiment.runDirectory = folder.path
            experiment.modelPath = modelPath
            experiment.heartbeat = RunHeartbeat.current(at: began)
            log.info(
                "scenario started",
                metadata: ["id": "\(experiment.id)", "scenario": "\(scenario.file)", "model": "\(modelPath)"])
            do { try await store.create(experiment) } catch { storeErrors.append("\(scenario.name): create: \(error)") }

            let outcome = scenario.evaluate(model.model)
            experiment.endedAt = Date()
            experiment.status = outcome.passed ? .finished : .failed
            if let metrics = outcome.metrics {
                experiment.result = ExperimentResult(validation: metrics, validationConfusion: outcome.confusion)
            }
            experiment.message =
                outcome.passed
                ? outcome.refusal.map { "refused as expected: \($0)" }
                : outcome.failures.joined(separator: "; ")
            try folder.writeSummary(experiment)
            do { try await store.finish(experiment) } catch { storeErrors.append("\(scenario.name): finish: \(error)") }

            let result = FunctionalTestResults.Scenario(
                name: scenario.name, file: scenario.file, description: scenario.description,
                status: outcome.passed ? .passed : .failed, rows: scenario.dataset?.count ?? 0,
                accuracy: outcome.metrics?.accuracy, f1: outcome.metrics?.macroF1, loss: outcome.metrics?.loss,
                confusionMatrix: outcome.confusion?.counts, minAccuracy: scenario.minAccuracy, minF1: scenario.minF1,
                expectError: scenario.expectError,
                messages: outcome.passed
                    ? (outcome.refusal.map { ["refused as expected: \($0)"] } ?? []) : outcome.failures,
                experimentID: experiment.id, runDirectory: folder.path,
                seconds: Self.seconds(ContinuousClock.now - clock))
            if outcome.passed {
                log.info("scenario passed", metadata: ["summary": "\(result.summaryLine)"])
            } else {
                log.notice("scenario failed", metadata: ["summary": "\(result.summaryLine)"])
            }
            results.append(result)
            onScenario(result)
        }
        return Outcome(
            results: FunctionalTestResults(
                startedAt: startedAt, modelPath: modelPath, modelExperimentID: model.experimentID,
                scenariosSource: source, scenarios: results),
            storeErrors: storeErrors)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
