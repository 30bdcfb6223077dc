import Foundation

/// Repeated stratified k-fold cross-validation of the training configuration.
///
/// Each fit trains on `k − 1` folds for the configured epochs and scores the held-out fold with the
/// model of the **last** epoch: choosing an epoch by the held-out fold's loss would leak it into the
/// estimate. Folds come from ``StratifiedSplit/kFold(labels:folds:repeats:seed:)``.
public enum CrossValidation {
    /// Scores of one fit.
    public struct Fit: Sendable, Equatable, Codable {
        /// 0-based repeat.
        public let repeatIndex: Int
        /// 0-based fold within the repeat.
        public let fold: Int
        /// Held-out metrics of the fit.
        public let validation: SplitMetrics
    }

    /// Mean and sample standard deviation of a score over the fits.
    public struct Summary: Sendable, Equatable, Codable {
        /// Arithmetic mean.
        public let mean: Double
        /// Sample standard deviation (n − 1); 0 for a single fit.
        public let sd: Double

        /// Summarises values.
        public init(_ values: [Double]) {
            let n = Double(values.count)
            let mean = values.reduce(0, +) / max(n, 1)
            let ss = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            self.mean = mean
            self.sd = values.count > 1 ? (ss / (n - 1)).squareRoot() : 0
        }
    }

    /// The outcome of a cross-validation.
    public struct Result: Sendable, Codable {
        /// Every fit, in order.
        public let fits: [Fit]
        /// Held-out accuracy over the fits.
        public let accuracy: Summary
        /// Held-out macro-F1 over the fits.
        public let f1: Summary
        /// Held-out loss over the fits.
        public let loss: Summary
        /// Wall-clock seconds for all fits.
        public let elapsedSeconds: Double
    }

    /// Runs `folds × repeats` fits.
    /// - Parameters:
    ///   - dataset: all labelled rows.
    ///   - folds: `k ≥ 2`, at most the smallest class size.
    ///   - repeats: `≥ 1`.
    ///   - seed: seed of the fold assignment; fit `i` initialises its network with a stream derived from
    ///     the configuration's seed and `i`.
    ///   - configuration: training hyper-parameters (selection is overridden to the last epoch).
    ///   - onFit: called after each fit with the number done so far; return `.stop` to cancel.
    /// - Returns: per-fit scores and their summaries (of the fits done, when cancelled).
    public static func run(
        dataset: Dataset, folds: Int, repeats: Int, seed: UInt64, configuration: TrainingConfiguration,
        onFit: (Fit, Int) -> TrainingControl = { _, _ in .proceed }
    ) -> Result {
        let start = ContinuousClock.now
        let splits = StratifiedSplit.kFold(labels: dataset.labels, folds: folds, repeats: repeats, seed: seed)
        var fits = [Fit]()
        for i in splits.indices {
            let fit = self.fit(dataset: dataset, splits: splits, index: i, folds: folds, configuration: configuration)
            fits.append(fit)
            if onFit(fit, fits.count) == .stop || Task.isCancelled { break }
        }
        return Result(
            fits: fits,
            accuracy: Summary(fits.map(\.validation.accuracy)),
            f1: Summary(fits.map(\.validation.macroF1)),
            loss: Summary(fits.map(\.validation.loss)),
            elapsedSeconds: (ContinuousClock.now - start).seconds)
    }

    /// Trains and scores one fit of a fixed set of folds: the building block of ``run(dataset:folds:repeats:seed:configuration:onFit:)``
    /// for callers that schedule fits themselves (a sweep running trial × fold on several workers, or pruning a
    /// trial after some folds).
    ///
    /// The result is bit-identical to the fit of the same index in ``run(dataset:folds:repeats:seed:configuration:onFit:)``
    /// with the same splits and configuration; fits are independent, so any order or thread gives the same scores.
    /// - Parameters:
    ///   - dataset: all labelled rows.
    ///   - splits: the folds, from ``StratifiedSplit/kFold(labels:folds:repeats:seed:)`` (repeat-major: index
    ///     `r · k + f` is fold `f` of repeat `r`).
    ///   - index: which split to fit, `0..<splits.count`.
    ///   - folds: `k` of the splits, for the fit's repeat and fold numbers.
    ///   - configuration: training hyper-parameters; the selection is overridden to the last epoch and early
    ///     stopping is off, and the network's seed is derived from the configuration's seed and `index`.
    /// - Returns: the held-out scores (`validation.accuracy` is the fit's accuracy).
    public static func fit(
        dataset: Dataset, splits: [StratifiedSplit.Indices], index: Int, folds: Int,
        configuration: TrainingConfiguration
    ) -> Fit {
        var config = configuration
        config.selection = .lastEpoch
        config.earlyStoppingPatience = nil
        var mixer = SplitMix64.derived(seed: configuration.seed, stream: UInt64(index))
        config.seed = mixer.next()
        let split = splits[index]
        let result = Trainer(configuration: config).train(
            trainingSet: dataset.subset(split.train), validationSet: dataset.subset(split.validation))
        return Fit(repeatIndex: index / folds, fold: index % folds, validation: result.history.last!.validation)
    }
}
