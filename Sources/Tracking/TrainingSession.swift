public import Engine
import Foundation
public import Logging

/// Everything a recorded training run needs to know up front.
public struct TrainingRequest: Sendable {
    /// Run name (already validated by the caller).
    public var name: String
    /// The loaded, validated data file.
    public var data: SonarData.LoadedFile
    /// The data file's path, for the record.
    public var dataPath: String
    /// Validation fraction of the stratified split.
    public var testSize: Double
    /// Seed of the split.
    public var splitSeed: UInt64
    /// Hyper-parameters.
    public var configuration: TrainingConfiguration
    /// Effective parameters as text, recorded with the run (keys as in config.ini).
    public var parameters: [String: String]
    /// Root of the seed-style run folders.
    public var experimentsRoot: String
    /// Per-epoch metrics go to the store at most once per this many epochs (and at least once a second).
    public var epochBatch: Int
    /// Time between the run's heartbeats while it trains (``RunStaleness/heartbeatInterval``); default 30 s.
    public var heartbeatInterval: Duration

    /// Creates a request.
    public init(
        name: String, data: SonarData.LoadedFile, dataPath: String, testSize: Double, splitSeed: UInt64,
        configuration: TrainingConfiguration, parameters: [String: String], experimentsRoot: String,
        epochBatch: Int = 10, heartbeatInterval: Duration = .seconds(30)
    ) {
        self.name = name
        self.data = data
        self.dataPath = dataPath
        self.testSize = testSize
        self.splitSeed = splitSeed
        self.configuration = configuration
        self.parameters = parameters
        self.experimentsRoot = experimentsRoot
        self.epochBatch = epochBatch
        self.heartbeatInterval = heartbeatInterval
    }
}

/// How a recorded run ended.
public struct TrainingOutcome: Sendable {
    /// The experiment as finally recorded.
    public let experiment: Experiment
    /// The training result (model, history, confusion matrices).
    public let result: TrainingResult
    /// The run folder.
    public let folder: RunFolder
    /// Store writes that failed and were not recorded, or were refused (the run folder still has everything).
    public let storeError: String?
    /// Writes the store accepted but has not delivered yet (HBase unreachable: queued in the outbox, delivered
    /// later by itself or by `sonarlab sync`); ``PendingWrites/none`` when everything arrived.
    public let pendingWrites: PendingWrites
}

/// Runs one training and records it: run folder, run log, model artefact, and the experiment in a store
/// (created as `running`, per-epoch metrics in batches while it trains, the final state in one write).
public struct TrainingSession: Sendable {
    /// Where the experiment is recorded.
    public let store: any ExperimentStore
    /// The caller's logger (e.g. stderr); the run log receives the same records.
    public let logger: Logger

    /// Creates a session.
    public init(
        store: any ExperimentStore,
        logger: Logger = Logger(label: "sonarlab", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.store = store
        self.logger = logger
    }

    /// Trains and records.
    /// - Parameters:
    ///   - request: data, parameters and where to write.
    ///   - stop: raise to cancel between epochs; the run is then recorded as `cancelled` with its epochs.
    ///   - onStart: called once with the experiment as first recorded (id, run folder).
    ///   - onEpoch: called for every epoch, in order, on the caller's task.
    ///   - onPendingWrites: called on the caller's task whenever the store's pending writes change (for example
    ///     HBase becomes unreachable and writes start queuing, or the queue drains).
    /// - Returns: the recorded experiment and the result.
    /// - Throws: a file-system error when the run folder or model cannot be written (the experiment is then
    ///   recorded as `failed` where possible).
    public func run(
        _ request: TrainingRequest, stop: StopSignal = StopSignal(),
        onStart: @Sendable (Experiment) -> Void = { _ in },
        onEpoch: @Sendable (EpochMetrics) -> Void = { _ in },
        onPendingWrites: @Sendable (PendingWrites) -> Void = { _ in }
    ) async throws -> TrainingOutcome {
        let startedAt = Date()
        let folder = try RunFolder(root: request.experimentsRoot, name: request.name, startedAt: startedAt)
        let fileHandler = try FileLogHandler(label: "sonarlab", path: folder.logPath)
        let base = logger
        // Each handler keeps its own level: the run log gets info and up, the caller's handler what it asked for.
        let log = Logger(label: "sonarlab") { _ in MultiplexLogHandler([base.handler, fileHandler]) }
        var experiment = Experiment(
            id: Experiment.makeID(startingAt: startedAt), name: request.name, kind: .train, startedAt: startedAt,
            parameters: request.parameters, dataFingerprint: request.data.fingerprint)
        experiment.dataFileSHA256 = request.data.fileSHA256
        experiment.runDirectory = folder.path
        experiment.heartbeat = RunHeartbeat.current(at: startedAt)
        log.info(
            "run started",
            metadata: [
                "id": "\(experiment.id)", "data": "\(request.dataPath)", "fingerprint": "\(request.data.fingerprint)",
                "file_sha256": "\(request.data.fileSHA256)",
            ])
        if let header = request.data.header { log.info("\(request.dataPath): \(header)") }
        var storeErrors = [String]()
        var warned = Set<String>()
        var lastPending = PendingWrites.none
        let storeLocation = store.location
        /// Records a failed write; each distinct error is logged once (a refused store fails every write alike).
        func storeFailed(_ what: String, _ error: any Error) {
            let text = String(describing: error)
            storeErrors.append("\(what): \(text)")
            if warned.insert(text).inserted { log.warning("could not record \(what) in \(storeLocation): \(text)") }
        }
        func checkPending() async {
            let pending = await store.pendingWrites()
            if pending.summary != lastPending.summary {
                lastPending = pending
                onPendingWrites(pending)
            }
        }
        do {
            try await store.create(experiment)
        } catch {
            storeFailed("the run", error)
        }
        await checkPending()
        onStart(experiment)
        // A run whose process dies stops these, and shows as `stale` instead of `running` forever.
        let heartbeats = RunHeartbeatTicker(
            store: store, experimentID: experiment.id, every: request.heartbeatInterval)

        let split = StratifiedSplit.split(
            labels: request.data.dataset.labels, testSize: request.testSize, seed: request.splitSeed)
        let trainingSet = request.data.dataset.subset(split.train)
        let validationSet = request.data.dataset.subset(split.validation)
        log.info("split", metadata: ["train": "\(trainingSet.count)", "validation": "\(validationSet.count)"])

        var pending = [EpochMetrics]()
        var lastFlush = ContinuousClock.now
        var finalResult: TrainingResult? = nil
        let events = Trainer(configuration: request.configuration).events(
            trainingSet: trainingSet, validationSet: validationSet, stop: stop)
        for await event in events {
            switch event {
            case .epoch(let metrics):
                experiment.epochs.append(metrics)
                pending.append(metrics)
                onEpoch(metrics)
                if pending.count >= request.epochBatch || ContinuousClock.now - lastFlush >= .seconds(1) {
                    do {
                        try await store.appendEpochs(pending, experimentID: experiment.id)
                        pending.removeAll()
                    } catch {
                        storeFailed("epochs", error)
                    }
                    await checkPending()
                    lastFlush = ContinuousClock.now
                }
            case .finished(let result):
                finalResult = result
            }
        }
        await heartbeats.stop()
        experiment.heartbeat = RunHeartbeat.current()
        guard let result = finalResult else {
            // The stream only ends without a result if its consumer stopped; not reachable from here.
            throw CancellationError()
        }
        experiment.endedAt = Date()
        experiment.status = result.wasCancelled ? .cancelled : .finished
        if result.wasCancelled { experiment.message = "cancelled after epoch \(result.history.count)" }
        experiment.result = ExperimentResult(
            bestEpoch: result.bestEpoch, train: result.history[result.bestEpoch - 1].train,
            validation: result.bestValidation, validationConfusion: result.validationConfusion)
        do {
            var artefact = ModelArtefact(
                experimentID: experiment.id, name: request.name, createdAt: experiment.endedAt!, result: result,
                dataFingerprint: request.data.fingerprint, configuration: request.configuration)
            artefact.dataFileSHA256 = request.data.fileSHA256
            try artefact.write(to: URL(fileURLWithPath: folder.modelPath))
            experiment.modelPath = folder.modelPath
            try folder.writeEpochs(experiment.epochs)
            try folder.writeSummary(experiment)
        } catch {
            experiment.status = .failed
            experiment.message = "cannot write the run folder: \(error.localizedDescription)"
            try? await store.finish(experiment)
            throw error
        }
        do {
            try await store.finish(experiment)
        } catch {
            storeFailed("the final state", error)
        }
        // Deliver what is queued now (waiting a little for another process that is delivering the same outbox).
        let pendingWrites = await store.deliverPendingWrites(within: .seconds(10))
        if pendingWrites.summary != lastPending.summary { onPendingWrites(pendingWrites) }
        if pendingWrites.isBlocked, let reason = pendingWrites.reason,
            !warned.contains(where: { $0.contains(reason) })
        {
            storeFailed("the run", RefusedWrites(reason: reason))
        }
        if pendingWrites.count > 0, !pendingWrites.isBlocked {
            log.info(
                "\(pendingWrites.summary ?? ""): the run is kept in the outbox and delivered when HBase is back (or by `sonarlab sync`)"
            )
        }
        log.info(
            "run \(experiment.status.rawValue)",
            metadata: [
                "best_epoch": "\(result.bestEpoch)", "val_accuracy": "\(result.bestValidation.accuracy)",
                "val_f1": "\(result.bestValidation.macroF1)", "val_loss": "\(result.bestValidation.loss)",
            ])
        return TrainingOutcome(
            experiment: experiment, result: result, folder: folder,
            storeError: storeErrors.isEmpty ? nil : storeErrors.joined(separator: "; "), pendingWrites: pendingWrites)
    }
}

/// A store's refusal found only when delivering (the writes themselves were accepted into the outbox).
struct RefusedWrites: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
