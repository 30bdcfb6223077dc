public import Engine
public import Foundation

/// The life-cycle state of a run.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    /// Training or evaluating now (or the process died before it could say otherwise).
    case running
    /// Ended normally.
    case finished
    /// Ended with an error.
    case failed
    /// Stopped by the user (a key, SIGINT or SIGTERM) before the last epoch.
    case cancelled
}

/// What kind of run an experiment is.
public enum ExperimentKind: String, Sendable, Codable, CaseIterable {
    /// `sonarlab train`: one model.
    case train
    /// `sonarlab cv`: repeated stratified k-fold cross-validation.
    case crossValidation = "cv"
    /// `sonarlab test`: functional scenarios against a model.
    case test
    /// `sonarlab sweep`: a hyper-parameter search; its trials are `trial` experiments naming it in
    /// `sweep.parent`.
    case sweep
    /// One trial of a sweep: its swept `[mlp]` values, per-fit scores (``ExperimentResult/foldAccuracies``),
    /// mean ± sd and status; `sweep.parent` names the sweep, `sweep.trial` its 0-based number.
    case trial
}

/// Cross-validation scores of a `cv` experiment.
public struct CrossValidationSummary: Sendable, Codable, Equatable {
    /// Folds k.
    public var folds: Int
    /// Repeats.
    public var repeats: Int
    /// Number of fits done (`folds × repeats` unless cancelled).
    public var fits: Int
    /// Mean held-out accuracy.
    public var accuracyMean: Double
    /// Sample standard deviation of held-out accuracy.
    public var accuracySD: Double
    /// Mean held-out macro-F1.
    public var f1Mean: Double
    /// Sample standard deviation of held-out macro-F1.
    public var f1SD: Double

    /// Creates a summary from its values.
    public init(
        folds: Int, repeats: Int, fits: Int, accuracyMean: Double, accuracySD: Double, f1Mean: Double, f1SD: Double
    ) {
        self.folds = folds
        self.repeats = repeats
        self.fits = fits
        self.accuracyMean = accuracyMean
        self.accuracySD = accuracySD
        self.f1Mean = f1Mean
        self.f1SD = f1SD
    }
}

/// Final metrics of a run.
public struct ExperimentResult: Sendable, Codable, Equatable {
    /// 1-based kept epoch (train runs).
    public var bestEpoch: Int?
    /// Training metrics at the kept epoch.
    public var train: SplitMetrics?
    /// Validation metrics at the kept epoch (for cv: the mean held-out scores, loss included).
    public var validation: SplitMetrics?
    /// Validation confusion matrix of the kept model.
    public var validationConfusion: ConfusionMatrix?
    /// Cross-validation scores (cv runs).
    public var crossValidation: CrossValidationSummary?
    /// Held-out accuracy of each fit, repeat-major (sweep trials); `nil` for other runs.
    public var foldAccuracies: [Double]?

    /// Creates a result.
    public init(
        bestEpoch: Int? = nil, train: SplitMetrics? = nil, validation: SplitMetrics? = nil,
        validationConfusion: ConfusionMatrix? = nil, crossValidation: CrossValidationSummary? = nil
    ) {
        self.bestEpoch = bestEpoch
        self.train = train
        self.validation = validation
        self.validationConfusion = validationConfusion
        self.crossValidation = crossValidation
    }
}

/// One recorded run: what was asked, on which data, what happened epoch by epoch, and how it ended.
public struct Experiment: Sendable, Codable, Equatable, Identifiable {
    /// Unique id, sortable by start time: `yyyyMMdd-HHmmss-xxxxxx` (UTC, 6 random hex digits).
    public var id: String
    /// Human name (`--name`), `[A-Za-z0-9._-]`, at most 64 characters.
    public var name: String
    /// Kind of run.
    public var kind: ExperimentKind
    /// Current state.
    public var status: RunStatus
    /// Start time.
    public var startedAt: Date
    /// End time, once ended.
    public var endedAt: Date?
    /// Effective parameters as text (`mlp.lr = 0.01`, …), keys as in config.ini.
    public var parameters: [String: String]
    /// The data fingerprint: SHA-256 of the data file's canonical form.
    ///
    /// The form has LF line ends, no byte-order mark, no blank or header lines (see
    /// `SonarData.canonicalForm(of:headerLine:)`), so a CRLF or BOM copy has the same fingerprint. Dataset row
    /// keys in HBase start with it.
    public var dataFingerprint: String
    /// SHA-256 of the data file's exact bytes (`sha256sum FILE`), when known (`nil` in records made before it was
    /// kept, and for test runs, whose data is a scenario).
    public var dataFileSHA256: String?
    /// Per-epoch metrics, in epoch order (may be empty in listings).
    public var epochs: [EpochMetrics]
    /// Final metrics, once ended.
    public var result: ExperimentResult?
    /// The model artefact's path, for train runs that saved one.
    public var modelPath: String?
    /// The seed-style run folder.
    public var runDirectory: String?
    /// Why the run failed or was cancelled.
    public var message: String?
    /// When, and from which process, a running run last said it was alive.
    ///
    /// `nil` for runs recorded before heartbeats existed. Read by ``RunStaleness`` to show a run whose process
    /// died as `stale`.
    public var heartbeat: RunHeartbeat?

    /// Creates a running experiment.
    public init(
        id: String, name: String, kind: ExperimentKind, startedAt: Date, parameters: [String: String],
        dataFingerprint: String, status: RunStatus = .running
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.status = status
        self.startedAt = startedAt
        self.parameters = parameters
        self.dataFingerprint = dataFingerprint
        self.epochs = []
    }

    /// A new experiment id for a run starting at `date`.
    public static func makeID(startingAt date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        return formatter.string(from: date) + "-" + String(repeating: "0", count: 6 - suffix.count) + suffix
    }
}

/// A running run's sign of life: when it was last recorded, and the process that recorded it.
///
/// Recorded with the run when it starts and then every ``RunStaleness/heartbeatInterval`` by a
/// ``RunHeartbeatTicker``; ``RunStaleness`` derives the `stale` display status from it.
public struct RunHeartbeat: Sendable, Codable, Equatable {
    /// When the process last said it was alive.
    public var at: Date
    /// The process id of the run.
    public var pid: Int32
    /// The host name the process runs on (`gethostname(2)`), so a pid is only checked on its own host.
    public var host: String

    /// Creates a heartbeat.
    /// - Parameters:
    ///   - at: When.
    ///   - pid: The process id.
    ///   - host: The host name.
    public init(at: Date, pid: Int32, host: String) {
        self.at = at
        self.pid = pid
        self.host = host
    }

    /// A heartbeat of this process now.
    /// - Parameter date: The time; default now.
    /// - Returns: This process's pid and host at `date`.
    public static func current(at date: Date = Date()) -> RunHeartbeat {
        RunHeartbeat(at: date, pid: getpid(), host: currentHost)
    }

    /// This machine's host name (`gethostname(2)`), `unknown` if it cannot be read.
    public static var currentHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }
}

/// How a run is shown in `history`, `show` and the dashboard.
///
/// Its stored ``RunStatus``, or `stale` for a run stored as `running` whose process is gone. Never stored:
/// derived at read time by ``RunStaleness``.
public enum RunDisplayStatus: String, Sendable, Equatable, CaseIterable {
    /// Running, with a recent heartbeat from a live process.
    case running
    /// Stored as `running`, but its process died (a dead pid on this host) or has not sent a heartbeat for
    /// longer than ``RunStaleness/staleAfter``.
    case stale
    /// Ended normally.
    case finished
    /// Ended with an error.
    case failed
    /// Stopped by the user.
    case cancelled
}

/// Decides whether a `running` run is still alive (`[tracking] stale_after`).
///
/// A run stored as `running` is `stale` when its heartbeat is older than ``staleAfter`` (any host, since a
/// killed or crashed process stops sending them), or at once when its heartbeat names this host and its pid
/// is no longer a live process (`kill(pid, 0)` answers `ESRCH`). A run without a heartbeat (recorded before
/// heartbeats existed) is judged by its start time.
public struct RunStaleness: Sendable {
    /// Seconds without a heartbeat after which a `running` run is `stale`.
    ///
    /// Default 120 (`[tracking] stale_after`).
    public var staleAfter: TimeInterval
    /// This machine's host name; pids are checked only for heartbeats from it.
    public var host: String
    /// Whether a process id is alive on this host.
    public var isProcessAlive: @Sendable (Int32) -> Bool

    /// Creates a rule.
    /// - Parameters:
    ///   - staleAfter: Seconds without a heartbeat; default 120.
    ///   - host: This host's name; default ``RunHeartbeat/currentHost``.
    ///   - isProcessAlive: The pid check; default ``processExists(_:)``.
    public init(
        staleAfter: TimeInterval = 120, host: String = RunHeartbeat.currentHost,
        isProcessAlive: @escaping @Sendable (Int32) -> Bool = RunStaleness.processExists
    ) {
        self.staleAfter = staleAfter
        self.host = host
        self.isProcessAlive = isProcessAlive
    }

    /// How often a running run records its heartbeat: a quarter of ``staleAfter``, between 1 and 30 seconds.
    public var heartbeatInterval: Duration {
        .milliseconds(Int64((min(30, max(1, staleAfter / 4)) * 1000).rounded()))
    }

    /// Whether `pid` is a live process here (`kill(pid, 0)` succeeds or answers `EPERM`).
    /// - Parameter pid: The process id.
    /// - Returns: `false` only when no such process exists.
    public static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// The status to show for a run.
    /// - Parameters:
    ///   - experiment: The run as stored.
    ///   - now: The time to judge at; default now.
    /// - Returns: The stored status, or ``RunDisplayStatus/stale`` for a `running` run whose process is gone.
    public func status(of experiment: Experiment, at now: Date = Date()) -> RunDisplayStatus {
        guard experiment.status == .running else {
            return RunDisplayStatus(rawValue: experiment.status.rawValue) ?? .failed
        }
        return staleReason(of: experiment, at: now) == nil ? .running : .stale
    }

    /// Why a `running` run is stale, for people, or `nil` when it is not.
    /// - Parameters:
    ///   - experiment: The run as stored.
    ///   - now: The time to judge at; default now.
    /// - Returns: For example `process 4242 on host build-1 has ended (last heartbeat 2026-12-01T21:50:00Z)`.
    public func staleReason(of experiment: Experiment, at now: Date = Date()) -> String? {
        guard experiment.status == .running else { return nil }
        let iso = ISO8601DateFormatter()
        guard let heartbeat = experiment.heartbeat else {
            guard now.timeIntervalSince(experiment.startedAt) > staleAfter else { return nil }
            return "no heartbeat recorded since it started at \(iso.string(from: experiment.startedAt))"
        }
        let last = "last heartbeat \(iso.string(from: heartbeat.at))"
        if heartbeat.host == host, !isProcessAlive(heartbeat.pid) {
            return "process \(heartbeat.pid) on host \(heartbeat.host) has ended (\(last))"
        }
        let age = now.timeIntervalSince(heartbeat.at)
        guard age > staleAfter else { return nil }
        return "no heartbeat for \(Int(age)) s from process \(heartbeat.pid) on host \(heartbeat.host) (\(last); "
            + "stale after \(Int(staleAfter)) s)"
    }
}

/// Records a running run's heartbeat in its store every interval until stopped (``RunStaleness``).
///
/// Each heartbeat is one small write (``ExperimentStore/recordHeartbeat(_:experimentID:)``); a failed one is
/// ignored (the run's own writes report store problems). While the store has writes pending (HBase unreachable:
/// the outbox is queuing) no heartbeat is queued: nobody can read it before the queue drains, and a long outage
/// should not fill the outbox with heartbeats; they resume once the store keeps up again.
public struct RunHeartbeatTicker: Sendable {
    private let task: Task<Void, Never>

    /// Starts recording.
    /// - Parameters:
    ///   - store: The run's store.
    ///   - experimentID: The run.
    ///   - interval: Time between heartbeats (``RunStaleness/heartbeatInterval``).
    public init(store: any ExperimentStore, experimentID: String, every interval: Duration) {
        task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                if await store.pendingWrites().count > 0 { continue }
                try? await store.recordHeartbeat(RunHeartbeat.current(), experimentID: experimentID)
            }
        }
    }

    /// Stops recording and waits until no heartbeat write is in flight.
    public func stop() async {
        task.cancel()
        await task.value
    }
}

/// Where experiments are recorded: the embedded SQLite store or HBase.
///
/// Every method is idempotent per id (and per epoch number), so a replay never duplicates a record.
/// All stores pass the same contract suite (`ExperimentStoreContract` in the tests).
public protocol ExperimentStore: Sendable {
    /// A short description for people, e.g. `local SQLite .sonarlab/experiments.sqlite`.
    var location: String { get }

    /// Records a new run (normally `running`, no epochs yet).
    /// - Throws: the store's error when it cannot write.
    func create(_ experiment: Experiment) async throws

    /// Adds (or replaces, by epoch number) per-epoch metrics of a run.
    /// - Throws: the store's error when it cannot write.
    func appendEpochs(_ epochs: [EpochMetrics], experimentID: String) async throws

    /// Writes a run's final state (status, end time, result, model path, message, all its epochs).
    /// - Throws: the store's error when it cannot write.
    func finish(_ experiment: Experiment) async throws

    /// Records a running run's heartbeat (time, pid, host) and nothing else; idempotent (the same heartbeat
    /// twice writes the same values).
    /// - Parameters:
    ///   - heartbeat: The heartbeat.
    ///   - experimentID: The run's id.
    /// - Throws: the store's error when it cannot write.
    func recordHeartbeat(_ heartbeat: RunHeartbeat, experimentID: String) async throws

    /// Runs newest first, without their per-epoch metrics.
    /// - Parameter limit: at most this many; `nil` for all.
    /// - Throws: the store's error when it cannot read.
    func experiments(limit: Int?) async throws -> [Experiment]

    /// One run with its per-epoch metrics, or `nil` when the id is unknown.
    /// - Throws: the store's error when it cannot read.
    func experiment(id: String) async throws -> Experiment?

    /// Checks that the store can be reached (for `history` and the dashboard's status line).
    /// - Throws: the store's error when it cannot.
    func checkReachable() async throws

    /// Writes accepted but not yet delivered (queued in the HBase outbox while HBase is away).
    ///
    /// Stores that write through (``LocalStore``) have none: the default returns ``PendingWrites/none``.
    /// - Returns: The count and the reason.
    func pendingWrites() async -> PendingWrites

    /// Tries to deliver queued writes now and returns what is still pending.
    ///
    /// Waits for another process that is delivering the same outbox for at most `timeout`.
    /// - Parameter timeout: The longest wait for the outbox lock.
    /// - Returns: What is left; ``PendingWrites/none`` for stores that write through.
    func deliverPendingWrites(within timeout: Duration) async -> PendingWrites
}

extension ExperimentStore {
    /// Write-through stores have nothing pending.
    /// - Returns: ``PendingWrites/none``.
    public func pendingWrites() async -> PendingWrites { PendingWrites.none }

    /// Write-through stores have nothing to deliver.
    /// - Parameter timeout: Unused.
    /// - Returns: ``PendingWrites/none``.
    public func deliverPendingWrites(within timeout: Duration) async -> PendingWrites { PendingWrites.none }
}
