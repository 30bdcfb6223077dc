public import Engine
public import Settings
import Foundation

/// The outcome of one trial.
public struct TrialResult: Sendable, Codable, Equatable {
    /// How a trial ended.
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Every fit ran; its scores count.
        case finished
        /// Stopped early by the median rule (``MedianPruning``); its partial scores are kept but not ranked.
        case pruned
        /// Its parameters were refused or training failed.
        case failed
        /// Stopped by the user (SIGINT, SIGTERM) before its last fit.
        case cancelled
    }

    /// 0-based trial number in the sweep's fixed order.
    public var index: Int
    /// Values by key id (`mlp.lr` → `0.003`), the overlay on the resolved configuration.
    public var parameters: [String: String]
    /// Held-out accuracy of each fit, repeat-major (fit `r·k + f` is repeat `r`, fold `f`).
    public var foldAccuracies: [Double]
    /// Mean and sample standard deviation of ``foldAccuracies``.
    public var accuracy: CrossValidation.Summary
    /// Mean held-out macro-F1.
    public var f1Mean: Double
    /// Mean held-out cross-entropy loss.
    public var lossMean: Double
    /// How it ended.
    public var status: Status
    /// Wall-clock seconds of the trial.
    public var seconds: Double
    /// Why it failed, when it did.
    public var message: String?

    /// Creates a result.
    /// - Parameters:
    ///   - index: The trial number.
    ///   - parameters: Its overlay.
    ///   - foldAccuracies: Per-fit held-out accuracy.
    ///   - f1Mean: Mean macro-F1.
    ///   - lossMean: Mean loss.
    ///   - status: How it ended.
    ///   - seconds: Wall time.
    ///   - message: Why it failed.
    public init(
        index: Int, parameters: [String: String], foldAccuracies: [Double], f1Mean: Double, lossMean: Double,
        status: Status, seconds: Double, message: String? = nil
    ) {
        self.index = index
        self.parameters = parameters
        self.foldAccuracies = foldAccuracies
        self.accuracy = CrossValidation.Summary(foldAccuracies)
        self.f1Mean = f1Mean
        self.lossMean = lossMean
        self.status = status
        self.seconds = seconds
        self.message = message
    }

    /// Finished trials best first: higher mean accuracy, then the lower trial number.
    /// - Parameter results: Any trials.
    /// - Returns: The finished ones, ranked.
    public static func ranked(_ results: [TrialResult]) -> [TrialResult] {
        results.filter { $0.status == .finished }.sorted {
            $0.accuracy.mean != $1.accuracy.mean ? $0.accuracy.mean > $1.accuracy.mean : $0.index < $1.index
        }
    }

    /// Whether two results have the same parameters, scores and status (the wall time aside).
    /// - Parameter other: The other result.
    /// - Returns: `true` when only ``seconds`` may differ.
    public func hasSameOutcome(as other: TrialResult) -> Bool {
        index == other.index && parameters == other.parameters && foldAccuracies == other.foldAccuracies
            && f1Mean == other.f1Mean && lossMean == other.lossMean && status == other.status
    }
}

/// Scores a trial's parameters with repeated stratified k-fold cross-validation on fixed folds.
///
/// Every trial of a sweep is scored on the same folds (``CrossValidation/run(dataset:folds:repeats:seed:configuration:onFit:)``
/// with the same fold seed, standardised inside each fold by the Trainer) and the same per-fit initialisation
/// seeds, so trials are paired: a difference between two trials is a difference of their parameters only.
public struct TrialEvaluator: Sendable {
    /// All labelled rows.
    public let dataset: Dataset
    /// Folds k.
    public let folds: Int
    /// Repeats.
    public let repeats: Int
    /// Seed of the fold assignment (`[split] seed`).
    public let foldSeed: UInt64
    /// The resolved configuration each trial's overlay is applied to.
    public let base: SonarLabConfiguration
    /// Turns a configuration into the Engine's training hyper-parameters (the CLI's `[mlp]` mapping).
    public let makeTraining: @Sendable (SonarLabConfiguration) -> TrainingConfiguration

    /// Creates an evaluator.
    /// - Parameters:
    ///   - dataset: All labelled rows.
    ///   - folds: k ≥ 2, at most the smallest class.
    ///   - repeats: ≥ 1.
    ///   - foldSeed: Seed of the folds.
    ///   - base: The resolved configuration.
    ///   - makeTraining: The `[mlp]` → ``TrainingConfiguration`` mapping.
    public init(
        dataset: Dataset, folds: Int, repeats: Int, foldSeed: UInt64, base: SonarLabConfiguration,
        makeTraining: @escaping @Sendable (SonarLabConfiguration) -> TrainingConfiguration
    ) {
        self.dataset = dataset
        self.folds = folds
        self.repeats = repeats
        self.foldSeed = foldSeed
        self.base = base
        self.makeTraining = makeTraining
    }

    /// Fits per trial: `folds × repeats`.
    public var fitsPerTrial: Int { folds * repeats }

    /// The configuration of a trial: `base` with the overlay applied by Settings' own rules.
    /// - Parameter parameters: Values by key id.
    /// - Returns: The configuration.
    /// - Throws: ``SettingsError`` when a value is refused.
    public func configuration(for parameters: [String: String]) throws(SettingsError) -> SonarLabConfiguration {
        try ConfigurationResolver.applying(
            parameters.keys.sorted().map { (id: $0, value: parameters[$0]!, place: "trial parameter \($0)") }, to: base)
    }

    /// Runs a trial's fits.
    /// - Parameters:
    ///   - index: The trial number.
    ///   - parameters: Values by key id.
    ///   - control: Called after each fit with the held-out accuracies so far; `.stop` ends the trial there.
    ///   - isPruned: Decides whether a stop was the pruning rule (`pruned`) or the user (`cancelled`).
    /// - Returns: The trial's result.
    public func evaluate(
        index: Int, parameters: [String: String], control: ([Double]) -> TrainingControl = { _ in .proceed },
        isPruned: () -> Bool = { false }
    ) -> TrialResult {
        let start = ContinuousClock.now
        let configuration: SonarLabConfiguration
        do {
            configuration = try self.configuration(for: parameters)
        } catch {
            return TrialResult(
                index: index, parameters: parameters, foldAccuracies: [], f1Mean: 0, lossMean: 0, status: .failed,
                seconds: 0, message: error.description)
        }
        var accuracies = [Double]()
        let result = CrossValidation.run(
            dataset: dataset, folds: folds, repeats: repeats, seed: foldSeed,
            configuration: makeTraining(configuration)
        ) { fit, _ in
            accuracies.append(fit.validation.accuracy)
            return control(accuracies)
        }
        let complete = result.fits.count == fitsPerTrial
        return TrialResult(
            index: index, parameters: parameters, foldAccuracies: result.fits.map(\.validation.accuracy),
            f1Mean: result.f1.mean, lossMean: result.loss.mean,
            status: complete ? .finished : (isPruned() ? .pruned : .cancelled),
            seconds: (ContinuousClock.now - start).seconds)
    }
}

extension Duration {
    /// This duration in seconds.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
