public import Engine
import Foundation

/// A sweep inside an outer cross-validation: an honest estimate of the whole "search, then pick the best" procedure.
///
/// The best trial of an ordinary sweep is chosen on the same folds that score it, so its mean accuracy is
/// optimistic (the maximum of many noisy estimates). Here the data is split into outer folds (stratified, one
/// repeat); for each, the whole sweep runs on the outer training rows only (its own inner repeats × folds CV),
/// its best configuration is trained on all outer training rows (last epoch kept, as in CV) and scored on the
/// held-out outer fold, which the search never saw. The mean of those scores is the nested estimate
/// (Varma & Simon 2006, "Bias in error estimation when using cross-validation for model selection";
/// Cawley & Talbot 2010).
public enum NestedSweep {
    /// One outer fold's search and its held-out score.
    public struct OuterFold: Sendable, Equatable {
        /// 0-based outer fold.
        public let fold: Int
        /// The inner sweep's best trial (its parameters and inner CV scores).
        public let selected: TrialResult
        /// Held-out accuracy of the selected configuration on the outer fold.
        public let accuracy: Double
        /// Trials the inner sweep finished.
        public let trials: Int
    }

    /// The nested estimate.
    public struct Result: Sendable, Equatable {
        /// Each outer fold, in order.
        public let folds: [OuterFold]
        /// Mean ± sd of the outer held-out accuracies: the nested estimate.
        public let accuracy: CrossValidation.Summary
    }

    /// Runs the sweep once per outer fold.
    /// - Parameters:
    ///   - plan: The sweep (the same plan, so the same proposals, in every outer fold).
    ///   - evaluator: The evaluator of the whole data set; each outer fold uses it on its training rows.
    ///   - outerFolds: Outer folds, ≥ 2.
    ///   - outerSeed: Seed of the outer folds.
    ///   - jobs: Trials run at once.
    ///   - stop: Raised by a signal: the run ends after the current trials (the result covers the folds done).
    ///   - onFold: Called after each outer fold.
    /// - Returns: The outer folds done and their summary.
    public static func run(
        plan: SweepPlan, evaluator: TrialEvaluator, outerFolds: Int, outerSeed: UInt64, jobs: Int,
        stop: StopSignal = StopSignal(), onFold: (OuterFold) -> Void = { _ in }
    ) -> Result {
        let dataset = evaluator.dataset
        let splits = StratifiedSplit.kFold(
            labels: dataset.labels, folds: outerFolds, repeats: 1, seed: outerSeed ^ 0x6E65_7374_6564)
        var done = [OuterFold]()
        for (fold, split) in splits.enumerated() {
            if stop.isRaised { break }
            let inner = TrialEvaluator(
                dataset: dataset.subset(split.train), folds: evaluator.folds, repeats: evaluator.repeats,
                foldSeed: evaluator.foldSeed, base: evaluator.base, makeTraining: evaluator.makeTraining)
            let results = SweepRunner.run(plan: plan, evaluator: inner, jobs: jobs, stop: stop)
            let finished = TrialResult.ranked(results)
            guard let best = finished.first, !stop.isRaised,
                let configuration = try? inner.configuration(for: best.parameters)
            else { break }
            var training = evaluator.makeTraining(configuration)
            training.selection = .lastEpoch
            training.earlyStoppingPatience = nil
            let trained = Trainer(configuration: training).train(
                trainingSet: dataset.subset(split.train), validationSet: dataset.subset(split.validation))
            let outer = OuterFold(
                fold: fold, selected: best, accuracy: trained.history.last?.validation.accuracy ?? 0,
                trials: finished.count)
            done.append(outer)
            onFold(outer)
        }
        return Result(folds: done, accuracy: CrossValidation.Summary(done.map(\.accuracy)))
    }
}
