public import Engine
public import Foundation
public import Tracking

/// The dashboard's services on SonarLab's own Engine and Tracking: runs are trained and recorded by a
/// `TrainingSession` in an `ExperimentStore`, and History, Detail and Compare read that store.
public struct TrackingDashboardServices: DashboardServices {
    /// Where experiments are recorded and read.
    public let store: any ExperimentStore
    /// Builds the training request for a run from the Train form's hyper-parameters.
    ///
    /// The request holds the data, split, run folder and recorded parameters. The CLI supplies it from the resolved configuration; it may throw
    /// (e.g. a `DataError` for a broken data file), which the dashboard shows as a failed run.
    public let makeRequest: @Sendable (Hyperparameters) throws -> TrainingRequest
    /// Shows a recorded `running` run whose process died as `stale` (`[tracking] stale_after`).
    public let staleness: RunStaleness
    /// Runs and records the functional scenarios for the Tests screen's `r`, as `sonarlab test` does; `nil`: the
    /// screen says it cannot.
    public let scenarioRunner: ScenarioRunner?
    /// Reads a model's predictions (Tracking's `HBasePredictionStore.predictions(modelID:)` for the HBase backend),
    /// for the Service screen; `nil` (the default): the screen lists none.
    public var predictionReader: (@Sendable (_ modelID: String) async throws -> [PredictionRecord])?

    /// Runs the functional scenarios against the current model and records them: called with a start callback
    /// (the model's path, the number of scenarios) and a per-scenario callback, returns the results.
    public typealias ScenarioRunner =
        @Sendable (
            _ onStart: @escaping @Sendable (String, Int) -> Void,
            _ onResult: @escaping @Sendable (FunctionalTestResults.Scenario) -> Void
        ) async throws -> FunctionalTestResults

    /// Creates the services.
    /// - Parameters:
    ///   - store: the configured experiment store.
    ///   - staleness: the rule for `stale` runs; default 120 s without a heartbeat or a dead pid on this host.
    ///   - scenarioRunner: runs and records the functional scenarios (the Tests screen's `r`); none by default.
    ///   - makeRequest: the training request for a set of hyper-parameters.
    public init(
        store: any ExperimentStore, staleness: RunStaleness = RunStaleness(), scenarioRunner: ScenarioRunner? = nil,
        makeRequest: @escaping @Sendable (Hyperparameters) throws -> TrainingRequest
    ) {
        self.store = store
        self.staleness = staleness
        self.scenarioRunner = scenarioRunner
        self.makeRequest = makeRequest
    }

    public var storeDescription: String { store.location }

    public func latestPredictions(modelID: String, limit: Int) async throws -> [PredictionRecord] {
        guard let predictionReader else { return [] }
        return Array(try await predictionReader(modelID).sorted { $0.predictedAt > $1.predictedAt }.prefix(limit))
    }

    public func experiments() async throws -> [ExperimentSnapshot] {
        try await store.checkReachable()
        let now = Date()
        return try await store.experiments(limit: nil).map { ExperimentSnapshot($0, staleness: staleness, at: now) }
    }

    public func experiment(id: String) async throws -> ExperimentSnapshot? {
        try await store.experiment(id: id).map { ExperimentSnapshot($0, staleness: staleness) }
    }

    public func train(_ parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks)
        async throws
        -> ExperimentSnapshot
    {
        try await run(try makeRequest(parameters), cancellation: cancellation, callbacks: callbacks)
    }

    /// Trains the final model of a sweep trial as `sonarlab train --from-trial ID` does: the values read from the
    /// store (the sweep's base `[mlp]` values, then the trial's overlay) over `parameters`, recorded with
    /// `sweep.from_trial` and `sweep.from_sweep`.
    /// - Throws: ``TUIError/sweepUnreadable(_:)`` when the trial is not in the store; what training throws.
    public func trainTrial(
        _ trialID: String, parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks
    ) async throws -> ExperimentSnapshot {
        guard let trial = try await store.experiment(id: trialID), trial.kind == .trial else {
            throw TUIError.sweepUnreadable("no sweep trial \(trialID) in \(store.location)")
        }
        var values = [String: String]()
        let parent = trial.parameters["sweep.parent"]
        if let parent, let sweep = try await store.experiment(id: parent) {
            values = sweep.parameters.filter { $0.key.hasPrefix("mlp.") }
        }
        values.merge(trial.parameters.filter { $0.key.hasPrefix("mlp.") }) { $1 }
        var request = try makeRequest(parameters.overlaid(with: values))
        request.parameters["sweep.from_trial"] = trialID
        if let parent { request.parameters["sweep.from_sweep"] = parent }
        return try await run(request, cancellation: cancellation, callbacks: callbacks)
    }

    private func run(_ request: TrainingRequest, cancellation: RunCancellation, callbacks: RunCallbacks)
        async throws -> ExperimentSnapshot
    {
        let stop = StopSignal()
        // The dashboard's cancel key raises the trainer's stop signal, which it checks between epochs.
        cancellation.onCancel { stop.raise() }
        let location = store.location
        let planned = request.configuration.epochs
        let outcome = try await TrainingSession(store: store).run(
            request, stop: stop,
            onStart: { experiment in callbacks.onStart(experiment.id, experiment.name, planned, location) },
            onEpoch: { metrics in callbacks.onEpoch(metrics) },
            onPendingWrites: { pending in callbacks.onStoreQueue(pending.summary) })
        var snapshot = ExperimentSnapshot(outcome.experiment)
        if let storeError = outcome.storeError {
            snapshot.recording = .refused(storeError)
            if snapshot.failure == nil { snapshot.failure = "not all of it reached \(location): \(storeError)" }
        } else if outcome.pendingWrites.count > 0 {
            let count = outcome.pendingWrites.count
            snapshot.recording = .queued(
                outcome.pendingWrites.summary ?? "\(count) \(count == 1 ? "write" : "writes") queued")
        }
        return snapshot
    }

    /// The latest `test` experiment of each scenario name, as scenario results.
    ///
    /// The functional scenarios (`sonarlab test`) record one `test` experiment per scenario: a finished
    /// one passed its thresholds, a failed one did not (its message says why). None yet → empty.
    public func scenarioResults() async throws -> [ScenarioResult] {
        var seen: Set<String> = []
        var results: [ScenarioResult] = []
        for experiment in try await store.experiments(limit: nil) where experiment.kind == .test {
            guard seen.insert(experiment.name).inserted else { continue }  // newest first: keep the first
            let validation = experiment.result?.validation
            results.append(
                ScenarioResult(
                    name: experiment.name, passed: experiment.status == .finished, accuracy: validation?.accuracy,
                    macroF1: validation?.macroF1, detail: experiment.message ?? experiment.status.rawValue))
        }
        return results.sorted { $0.name < $1.name }
    }

    /// Runs the functional scenarios through ``scenarioRunner``, reporting each result as it comes.
    /// - Throws: ``TUIError/scenariosUnavailable(_:)`` without a runner; what the runner throws (no model, no
    ///   scenario, a broken file).
    public func runScenarios(
        onStart: @escaping @Sendable (String, Int) -> Void, onResult: @escaping @Sendable (ScenarioResult) -> Void
    ) async throws -> [ScenarioResult] {
        guard let scenarioRunner else {
            throw TUIError.scenariosUnavailable("this dashboard has no scenario runner; run `sonarlab test`")
        }
        let results = try await scenarioRunner(onStart) { onResult(ScenarioResult($0)) }
        return results.scenarios.map(ScenarioResult.init)
    }
}

extension ScenarioResult {
    /// The Tests screen's row for one scenario of a functional test run.
    /// - Parameter scenario: the scenario's result as `sonarlab test` records it.
    public init(_ scenario: FunctionalTestResults.Scenario) {
        self.init(
            name: scenario.name, passed: scenario.status == .passed, accuracy: scenario.accuracy,
            macroF1: scenario.f1,
            detail: scenario.messages.isEmpty ? scenario.status.rawValue : scenario.messages.joined(separator: "; "))
    }
}

extension Hyperparameters {
    /// The form's values taken from a training configuration.
    /// - Parameters:
    ///   - configuration: the configured hyper-parameters (config.ini `[mlp]`).
    ///   - name: the run name to start with.
    public init(_ configuration: TrainingConfiguration, name: String = "") {
        self.init(
            hiddenSize: configuration.hiddenSize, learningRate: configuration.learningRate,
            epochs: configuration.epochs,
            batchSize: configuration.batchSize, weightDecay: configuration.weightDecay, seed: configuration.seed,
            name: name)
        optimizer = configuration.optimizer
        dropout = configuration.dropout
        inputNoise = configuration.inputNoise
        ensemble = configuration.ensemble
    }

    /// `configuration` with the form's values put in (other settings such as selection stay).
    /// - Parameter configuration: the configured hyper-parameters.
    /// - Returns: the configuration to train with.
    public func applied(to configuration: TrainingConfiguration) -> TrainingConfiguration {
        var c = configuration
        c.hiddenSize = hiddenSize
        c.learningRate = learningRate
        c.epochs = epochs
        c.batchSize = batchSize
        c.weightDecay = weightDecay
        c.seed = seed
        c.optimizer = optimizer
        c.dropout = dropout
        c.inputNoise = inputNoise
        c.ensemble = ensemble
        return c
    }

    /// `parameters` (keys as in config.ini, `mlp.lr`, …) with the form's values put in.
    /// - Parameter parameters: the effective parameters the CLI records with a run.
    /// - Returns: the parameters to record.
    public func applied(to parameters: [String: String]) -> [String: String] {
        var p = parameters
        p["mlp.hidden_size"] = "\(hiddenSize)"
        p["mlp.lr"] = PlainNumber.shortest(learningRate)
        p["mlp.epochs"] = "\(epochs)"
        p["mlp.batch_size"] = "\(batchSize ?? 0)"
        p["mlp.weight_decay"] = PlainNumber.shortest(weightDecay)
        p["mlp.seed"] = "\(seed)"
        p["mlp.optimizer"] = optimizer.rawValue
        p["mlp.dropout"] = PlainNumber.shortest(dropout)
        p["mlp.input_noise"] = PlainNumber.shortest(inputNoise)
        p["mlp.ensemble"] = "\(ensemble)"
        return p
    }
}

extension ExperimentSnapshot {
    /// The dashboard's view of a recorded experiment.
    /// - Parameters:
    ///   - experiment: a run from an `ExperimentStore`.
    ///   - staleness: the rule that shows a dead `running` run as ``RunState/stale`` (its reason as `failure`).
    ///   - now: the time to judge staleness at.
    public init(_ experiment: Experiment, staleness: RunStaleness = RunStaleness(), at now: Date = Date()) {
        let state = RunState(rawValue: staleness.status(of: experiment, at: now).rawValue) ?? .failed
        let kindPrefix = experiment.kind == .train ? "" : "[\(experiment.kind.rawValue)] "
        let planned = experiment.parameters["mlp.epochs"].flatMap { Int($0) } ?? experiment.epochs.count
        self.init(
            id: experiment.id, name: kindPrefix + experiment.name, state: state, startedAt: experiment.startedAt,
            endedAt: experiment.endedAt,
            parameters: experiment.parameters.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) },
            dataFingerprint: experiment.dataFingerprint, epochs: experiment.epochs,
            plannedEpochs: planned, finalTrain: experiment.result?.train,
            finalValidation: experiment.result?.validation,
            confusion: experiment.result?.validationConfusion.map {
                ConfusionGrid(labels: SonarClass.allCases.map(\.label), counts: $0.counts)
            },
            modelPath: experiment.modelPath,
            failure: state == .failed
                ? experiment.message : state == .stale ? staleness.staleReason(of: experiment, at: now) : nil)
        kind = RunKind(rawValue: experiment.kind.rawValue) ?? .train
        if experiment.kind == .trial, let parent = experiment.parameters["sweep.parent"] {
            let cv = experiment.result?.crossValidation
            trial = TrialInfo(
                sweepID: parent, index: experiment.parameters["sweep.trial"].flatMap { Int($0) } ?? 0,
                accuracyMean: cv?.accuracyMean ?? experiment.result?.validation?.accuracy, accuracySD: cv?.accuracySD,
                status: experiment.parameters["sweep.status"] ?? experiment.status.rawValue)
        }
    }
}
