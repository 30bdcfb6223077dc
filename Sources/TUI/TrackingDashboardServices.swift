public import Engine
import Foundation
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

    /// Creates the services.
    /// - Parameters:
    ///   - store: the configured experiment store.
    ///   - makeRequest: the training request for a set of hyper-parameters.
    public init(
        store: any ExperimentStore, makeRequest: @escaping @Sendable (Hyperparameters) throws -> TrainingRequest
    ) {
        self.store = store
        self.makeRequest = makeRequest
    }

    public var storeDescription: String { store.location }

    public func experiments() async throws -> [ExperimentSnapshot] {
        try await store.checkReachable()
        return try await store.experiments(limit: nil).map(ExperimentSnapshot.init)
    }

    public func experiment(id: String) async throws -> ExperimentSnapshot? {
        try await store.experiment(id: id).map(ExperimentSnapshot.init)
    }

    public func train(_ parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks)
        async throws
        -> ExperimentSnapshot
    {
        let request = try makeRequest(parameters)
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
        return c
    }

    /// `parameters` (keys as in config.ini, `mlp.lr`, …) with the form's values put in.
    /// - Parameter parameters: the effective parameters the CLI records with a run.
    /// - Returns: the parameters to record.
    public func applied(to parameters: [String: String]) -> [String: String] {
        var p = parameters
        p["mlp.hidden_size"] = "\(hiddenSize)"
        p["mlp.lr"] = "\(learningRate)"
        p["mlp.epochs"] = "\(epochs)"
        p["mlp.batch_size"] = "\(batchSize ?? 0)"
        p["mlp.weight_decay"] = "\(weightDecay)"
        p["mlp.seed"] = "\(seed)"
        return p
    }
}

extension ExperimentSnapshot {
    /// The dashboard's view of a recorded experiment.
    /// - Parameter experiment: a run from an `ExperimentStore`.
    public init(_ experiment: Experiment) {
        let state = RunState(rawValue: experiment.status.rawValue) ?? .failed
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
            modelPath: experiment.modelPath, failure: state == .failed ? experiment.message : nil)
    }
}
