public import Engine
public import Foundation

// The dashboard's view of experiments: plain Sendable values that screens render and tests build
// by hand. `DashboardServices` implementations map Tracking's `Experiment` onto them; per-epoch and per-split
// metrics are Engine's own `EpochMetrics` and `SplitMetrics`, not copies.

/// Where a run is in its life.
public enum RunState: String, Equatable, Sendable, CaseIterable {
    /// Training now.
    case running
    /// Recorded as running, but its process died or stopped sending heartbeats (Tracking's `RunStaleness`).
    case stale
    /// Trained to the end (or stopped early by design).
    case finished
    /// Stopped by an error.
    case failed
    /// Stopped by the user.
    case cancelled
}

/// A confusion matrix with its class labels: `counts[actual][predicted]`.
public struct ConfusionGrid: Equatable, Sendable {
    /// Class labels in index order, such as `["R", "M"]`.
    public var labels: [String]
    /// `counts[actual][predicted]`.
    public var counts: [[Int]]

    /// Creates a confusion matrix.
    public init(labels: [String], counts: [[Int]]) {
        self.labels = labels
        self.counts = counts
    }
}

/// How much of a run the dashboard just trained reached its store, as the Run panel says it.
public enum RecordingState: Equatable, Sendable {
    /// Every write reached the store.
    case recorded
    /// The store accepted the writes but holds them for later (HBase unreachable: the outbox delivers them);
    /// the text says how many, e.g. `HBase unreachable — 3 writes queued`.
    case queued(String)
    /// The store refused or lost writes (e.g. HBase 403): the run is not (fully) in the store, only in its run
    /// folder; the text is the reason.
    case refused(String)
}

/// What kind of experiment a run is (Tracking's `ExperimentKind`).
public enum RunKind: String, Equatable, Sendable, CaseIterable {
    /// `sonarlab train` or a dashboard run: one model.
    case train
    /// `sonarlab cv`: cross-validation.
    case crossValidation = "cv"
    /// `sonarlab test`: functional scenarios.
    case test
    /// `sonarlab sweep`: a hyper-parameter search.
    case sweep
    /// One trial of a sweep.
    case trial
}

/// A sweep trial's facts, as the Sweep screen shows them.
public struct TrialInfo: Equatable, Sendable {
    /// The id of the sweep the trial belongs to (`sweep.parent`).
    public var sweepID: String
    /// The trial's 0-based number (`sweep.trial`).
    public var index: Int
    /// The mean CV accuracy over its fits, once it has one.
    public var accuracyMean: Double?
    /// The standard deviation of its fits' accuracies.
    public var accuracySD: Double?
    /// `running`, `finished`, `pruned`, `failed` or `cancelled` (`sweep.status`).
    public var status: String

    /// Creates a trial's facts.
    public init(sweepID: String, index: Int, accuracyMean: Double? = nil, accuracySD: Double? = nil, status: String) {
        self.sweepID = sweepID
        self.index = index
        self.accuracyMean = accuracyMean
        self.accuracySD = accuracySD
        self.status = status
    }
}

/// One experiment as the dashboard shows it (History row, Detail, Compare).
public struct ExperimentSnapshot: Equatable, Sendable, Identifiable {
    /// The store's id for the run.
    public var id: String
    /// The run's name.
    public var name: String
    /// Running, finished, failed or cancelled.
    public var state: RunState
    /// When the run started.
    public var startedAt: Date
    /// When it ended, if it has.
    public var endedAt: Date?
    /// Effective parameters, in display order (`hidden_size`, `learning_rate`, …).
    public var parameters: [(key: String, value: String)]
    /// SHA-256 of the data file the run trained on.
    public var dataFingerprint: String
    /// Per-epoch metrics (may be empty in a History listing that does not load them).
    public var epochs: [EpochMetrics]
    /// The number of epochs the run planned.
    public var plannedEpochs: Int
    /// Final (saved model's) train and validation scores, if the run finished.
    public var finalTrain: SplitMetrics?
    /// Final validation scores, if the run finished.
    public var finalValidation: SplitMetrics?
    /// Validation confusion matrix of the saved model, if known.
    public var confusion: ConfusionGrid?
    /// Where the model artefact was written, if anywhere.
    public var modelPath: String?
    /// Why the run failed, if it did.
    public var failure: String?
    /// Whether a run trained here reached the store (``RecordingState/recorded`` for runs read from a store).
    public var recording: RecordingState = .recorded
    /// The experiment's kind (train, cv, test, sweep, trial).
    public var kind: RunKind = .train
    /// For a sweep trial: its sweep, number, CV mean ± sd and status; `nil` otherwise.
    public var trial: TrialInfo?

    /// Creates a snapshot; optional facts default to unknown.
    public init(
        id: String, name: String, state: RunState, startedAt: Date, endedAt: Date? = nil,
        parameters: [(key: String, value: String)] = [], dataFingerprint: String = "", epochs: [EpochMetrics] = [],
        plannedEpochs: Int = 0, finalTrain: SplitMetrics? = nil, finalValidation: SplitMetrics? = nil,
        confusion: ConfusionGrid? = nil, modelPath: String? = nil, failure: String? = nil
    ) {
        self.id = id
        self.name = name
        self.state = state
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.parameters = parameters
        self.dataFingerprint = dataFingerprint
        self.epochs = epochs
        self.plannedEpochs = plannedEpochs
        self.finalTrain = finalTrain
        self.finalValidation = finalValidation
        self.confusion = confusion
        self.modelPath = modelPath
        self.failure = failure
    }

    /// Final validation scores, or the last epoch's when the run has no final metrics.
    public var validation: SplitMetrics? { finalValidation ?? epochs.last?.validation }

    /// The value of parameter `key`, if the run has it.
    public func parameter(_ key: String) -> String? { parameters.first { $0.key == key }?.value }

    public static func == (lhs: ExperimentSnapshot, rhs: ExperimentSnapshot) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.state == rhs.state && lhs.startedAt == rhs.startedAt
            && lhs.endedAt == rhs.endedAt && lhs.parameters.map(\.key) == rhs.parameters.map(\.key)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value) && lhs.dataFingerprint == rhs.dataFingerprint
            && lhs.epochs == rhs.epochs && lhs.plannedEpochs == rhs.plannedEpochs && lhs.finalTrain == rhs.finalTrain
            && lhs.finalValidation == rhs.finalValidation && lhs.confusion == rhs.confusion
            && lhs.modelPath == rhs.modelPath && lhs.failure == rhs.failure && lhs.kind == rhs.kind
            && lhs.trial == rhs.trial
    }
}

/// The result of one functional scenario (from `sonarlab test`).
public struct ScenarioResult: Equatable, Sendable {
    /// The scenario's name.
    public var name: String
    /// Whether it met its thresholds.
    public var passed: Bool
    /// Accuracy on the scenario's rows, if it ran.
    public var accuracy: Double?
    /// Macro-F1 on the scenario's rows, if it ran.
    public var macroF1: Double?
    /// A short note (threshold, expected error).
    public var detail: String

    /// Creates a scenario result.
    public init(name: String, passed: Bool, accuracy: Double? = nil, macroF1: Double? = nil, detail: String = "") {
        self.name = name
        self.passed = passed
        self.accuracy = accuracy
        self.macroF1 = macroF1
        self.detail = detail
    }
}

/// The hyper-parameters a run is started with, as edited in the Train screen's form.
public struct Hyperparameters: Equatable, Sendable {
    /// Units in the hidden layer (60-H-2).
    public var hiddenSize: Int
    /// Adam's learning rate.
    public var learningRate: Double
    /// Number of epochs.
    public var epochs: Int
    /// Mini-batch size; nil is full batch.
    public var batchSize: Int?
    /// L2 weight decay.
    public var weightDecay: Double
    /// Seed for initialisation and shuffling.
    public var seed: UInt64
    /// The run's name; empty lets the store choose one.
    public var name: String
    /// Adam, or AdamW with decoupled weight decay (`[mlp] optimizer`).
    public var optimizer: Optimizer = .adam
    /// Hidden-unit dropout probability while training, in [0, 1) (`[mlp] dropout`).
    public var dropout: Double = 0
    /// Standard deviation of Gaussian noise on the standardised inputs while training (`[mlp] input_noise`).
    public var inputNoise: Double = 0
    /// Networks whose probabilities are averaged, 1 = one (`[mlp] ensemble`).
    public var ensemble: Int = 1

    /// Creates hyper-parameters; the defaults are config.ini's (`[mlp]`).
    public init(
        hiddenSize: Int = 40, learningRate: Double = 0.01, epochs: Int = 80, batchSize: Int? = nil,
        weightDecay: Double = 0, seed: UInt64 = 42, name: String = ""
    ) {
        self.hiddenSize = hiddenSize
        self.learningRate = learningRate
        self.epochs = epochs
        self.batchSize = batchSize
        self.weightDecay = weightDecay
        self.seed = seed
        self.name = name
    }
}

extension Hyperparameters {
    /// These values with `[mlp]` values (keys `mlp.hidden_size`, `mlp.lr`, … as recorded) put in; keys the form
    /// does not hold, and values that cannot be read, are left out.
    /// - Parameter values: recorded parameters, such as a sweep's base values and a trial's overlay.
    /// - Returns: the hyper-parameters to train with.
    public func overlaid(with values: [String: String]) -> Hyperparameters {
        var p = self
        for (key, text) in values {
            let t = text.trimmingCharacters(in: .whitespaces)
            switch key {
            case "mlp.hidden_size": if let v = Int(t) { p.hiddenSize = v }
            case "mlp.lr": if let v = Double(t) { p.learningRate = v }
            case "mlp.epochs": if let v = Int(t) { p.epochs = v }
            case "mlp.batch_size":
                if t == "full" || t == "0" { p.batchSize = nil } else if let v = Int(t) { p.batchSize = v }
            case "mlp.weight_decay": if let v = Double(t) { p.weightDecay = v }
            case "mlp.seed": if let v = UInt64(t) { p.seed = v }
            case "mlp.optimizer": if let v = Optimizer(rawValue: t) { p.optimizer = v }
            case "mlp.dropout": if let v = Double(t) { p.dropout = v }
            case "mlp.input_noise": if let v = Double(t) { p.inputNoise = v }
            case "mlp.ensemble": if let v = Int(t) { p.ensemble = v }
            default: break
            }
        }
        return p
    }
}

/// Formats a metric with 3 decimals, or "–" when unknown.
func formatMetric(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "–" }
    return PlainNumber.format("%.3f", value)
}

/// Formats a duration as `m:ss` or `h:mm:ss`.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "–" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return PlainNumber.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60) }
    return PlainNumber.format("%d:%02d", s / 60, s % 60)
}

/// The Gregorian calendar in UTC, made once.
private let utcCalendar: Calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
    return calendar
}()

/// Formats a date as `yyyy-MM-dd HH:mm` in UTC (the same on every machine, as tests need).
func formatDate(_ date: Date) -> String {
    let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
    return PlainNumber.format(
        "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
}
