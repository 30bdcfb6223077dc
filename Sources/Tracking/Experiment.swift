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
    /// The data fingerprint: SHA-256 of the data file's canonical form (LF line ends, no byte-order mark, no blank
    /// or header lines; see `SonarData.canonicalForm(of:headerLine:)`), the same for a CRLF or BOM copy. Dataset row
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
