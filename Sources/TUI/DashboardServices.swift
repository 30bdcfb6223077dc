public import Engine
import Foundation
public import Tracking
/// A training run's live updates, from the services to the dashboard.
public struct RunCallbacks: Sendable {
    /// Called once the run is recorded: its id, name, planned epochs and where it is recorded.
    public var onStart: @Sendable (_ id: String, _ name: String, _ plannedEpochs: Int, _ recordedIn: String) -> Void
    /// Called after every epoch, in order.
    public var onEpoch: @Sendable (EpochMetrics) -> Void
    /// Called when the store's queued writes change: "HBase unreachable — N writes queued", or `nil` once
    /// they were delivered.
    public var onStoreQueue: @Sendable (String?) -> Void

    /// Creates the callbacks.
    /// - Parameters:
    ///   - onStart: The run is recorded.
    ///   - onEpoch: An epoch ended.
    ///   - onStoreQueue: The store's queued writes changed; default ignores it.
    public init(
        onStart: @escaping @Sendable (_ id: String, _ name: String, _ plannedEpochs: Int, _ recordedIn: String) -> Void,
        onEpoch: @escaping @Sendable (EpochMetrics) -> Void,
        onStoreQueue: @escaping @Sendable (String?) -> Void = { _ in }
    ) {
        self.onStart = onStart
        self.onEpoch = onEpoch
        self.onStoreQueue = onStoreQueue
    }
}

/// A flag the dashboard raises to stop a run between epochs (thread-safe).
public final class RunCancellation: @unchecked Sendable {
    private let lock = PthreadLock()
    private var raised = false
    private var handlers: [@Sendable () -> Void] = []

    /// Creates a lowered flag.
    public init() {}

    /// Asks the run to stop after the current epoch; runs the `onCancel` handlers once.
    public func cancel() {
        let toRun: [@Sendable () -> Void] = lock.withLock {
            guard !raised else { return [] }
            raised = true
            defer { handlers.removeAll() }
            return handlers
        }
        for handler in toRun { handler() }
    }

    /// Runs `handler` when the run is cancelled, at once if it already is.
    ///
    /// Used to raise the trainer's stop signal the moment the user cancels.
    /// - Parameter handler: what to do on cancel; called at most once, on the cancelling thread.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let already: Bool = lock.withLock {
            if !raised { handlers.append(handler) }
            return raised
        }
        if already { handler() }
    }

    /// Whether the run was asked to stop.
    public var isCancelled: Bool { lock.withLock { raised } }
}

/// What the dashboard needs from the rest of SonarLab: training and the experiment store.
///
/// `TrackingDashboardServices` implements it with Engine and Tracking; tests use an in-memory one.
/// Every method is called off the UI thread.
public protocol DashboardServices: Sendable {
    /// The store in use, for people (e.g. "local SQLite .sonarlab/experiments.sqlite").
    var storeDescription: String { get }

    /// The store's experiments, newest first (per-epoch metrics may be left out).
    /// - Throws: when the store cannot be read or reached.
    func experiments() async throws -> [ExperimentSnapshot]

    /// One experiment in full, with its epochs and confusion matrix; nil if unknown.
    /// - Parameter id: the experiment's id.
    /// - Returns: the experiment, or nil when the store has no such id.
    /// - Throws: when the store cannot be read or reached.
    func experiment(id: String) async throws -> ExperimentSnapshot?

    /// Trains and records one run with `parameters`, reporting progress through `callbacks`.
    /// - Parameters:
    ///   - parameters: the hyper-parameters from the Train screen.
    ///   - cancellation: raised by the dashboard to stop between epochs (the run is then `cancelled`).
    ///   - callbacks: start and per-epoch notifications.
    /// - Returns: the run as recorded at its end (finished, cancelled or failed).
    /// - Throws: when the run cannot start or breaks before it has a record.
    func train(_ parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks) async throws
        -> ExperimentSnapshot

    /// The functional scenarios' last results; empty when there are none yet.
    /// - Throws: when the results cannot be read.
    func scenarioResults() async throws -> [ScenarioResult]

    /// Runs the functional scenarios against the current model and records each, as `sonarlab test` does.
    ///
    /// - Parameters:
    ///   - onStart: called once, before the first scenario, with the model's path and the number of scenarios.
    ///   - onResult: called after each scenario with its result.
    /// - Returns: every scenario's result, in the order they ran.
    /// - Throws: when there is no model or no scenario, a file is broken, or a run folder cannot be written.
    func runScenarios(
        onStart: @escaping @Sendable (String, Int) -> Void, onResult: @escaping @Sendable (ScenarioResult) -> Void
    ) async throws -> [ScenarioResult]

    /// The latest predictions of a model in the store, newest first (the Service screen); a default returns none.
    /// - Parameters:
    ///   - modelID: the model's id (the service's model version).
    ///   - limit: most records to return.
    /// - Returns: the predictions.
    /// - Throws: when the store cannot be read.
    func latestPredictions(modelID: String, limit: Int) async throws -> [PredictionRecord]

    /// Trains and records the final model of sweep trial `trialID` (as `sonarlab train --from-trial` does);
    /// a default trains `parameters` as ``train(_:cancellation:callbacks:)`` does.
    /// - Parameters:
    ///   - trialID: the trial's experiment id.
    ///   - parameters: the form's values with the sweep's base values and the trial's overlay put in, and the
    ///     run's name (the form's, else the trial id).
    ///   - cancellation: raised by the dashboard to stop between epochs.
    ///   - callbacks: start and per-epoch notifications.
    /// - Returns: the run as recorded at its end.
    /// - Throws: when the run cannot start or breaks before it has a record.
    func trainTrial(
        _ trialID: String, parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks
    ) async throws -> ExperimentSnapshot
}

extension DashboardServices {
    /// The latest predictions of a model in the store, newest first, for the Service screen.
    ///
    /// The default has none; ``TrackingDashboardServices`` reads Tracking's prediction store when it is given one.
    /// - Parameters:
    ///   - modelID: the model's id (the service's model version).
    ///   - limit: most records to return.
    /// - Returns: the predictions.
    /// - Throws: when the store cannot be read.
    public func latestPredictions(modelID: String, limit: Int) async throws -> [PredictionRecord] { [] }

    /// Trains `parameters` (the trial's values, already put in by the dashboard) as a normal run.
    /// - Parameters:
    ///   - trialID: the trial's experiment id (unused by the default).
    ///   - parameters: the hyper-parameters to train with.
    ///   - cancellation: raised by the dashboard to stop between epochs.
    ///   - callbacks: start and per-epoch notifications.
    /// - Returns: the run as recorded at its end.
    /// - Throws: what ``train(_:cancellation:callbacks:)`` throws.
    public func trainTrial(
        _ trialID: String, parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks
    ) async throws -> ExperimentSnapshot {
        try await train(parameters, cancellation: cancellation, callbacks: callbacks)
    }
}

/// A tiny lock (Foundation's `NSLock`).
final class PthreadLock: @unchecked Sendable {
    private let lock = NSLock()

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
