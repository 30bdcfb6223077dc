public import Engine
import Foundation

/// The median stopping rule: a trial whose mean held-out accuracy after a fit is below the median of the earlier
/// trials' means after the same fit is stopped (`pruned`).
///
/// Source: Golovin et al., "Google Vizier: A Service for Black-Box Optimization", KDD 2017, §3.2.2 (Optuna's
/// `MedianPruner`). Only trials of earlier batches are compared (``SweepPlan/batchSize``), so pruning, like
/// proposing, does not depend on `--jobs`.
public struct MedianPruning: Sendable, Equatable {
    /// Fits a trial always runs before it may be pruned: default 10 (one repeat of 10 folds).
    public var warmupFits = 10
    /// Finished trials needed before anything is pruned: default 5 (Optuna's `n_startup_trials`).
    public var startupTrials = 5

    /// Creates the rule.
    /// - Parameters:
    ///   - warmupFits: Fits before pruning may happen.
    ///   - startupTrials: Finished trials before pruning may happen.
    public init(warmupFits: Int = 10, startupTrials: Int = 5) {
        self.warmupFits = warmupFits
        self.startupTrials = startupTrials
    }

    /// Whether a trial with these accuracies so far should stop.
    /// - Parameters:
    ///   - accuracies: The trial's held-out accuracies so far.
    ///   - earlier: Finished trials of earlier batches.
    /// - Returns: `true` when the trial's running mean is below the median of the earlier running means.
    public func shouldPrune(_ accuracies: [Double], earlier: [TrialResult]) -> Bool {
        let n = accuracies.count
        guard n >= warmupFits, earlier.count >= startupTrials else { return false }
        let means = earlier.filter { $0.foldAccuracies.count >= n }.map {
            $0.foldAccuracies.prefix(n).reduce(0, +) / Double(n)
        }
        .sorted()
        guard !means.isEmpty else { return false }
        let median =
            means.count % 2 == 1
            ? means[means.count / 2] : (means[means.count / 2 - 1] + means[means.count / 2]) / 2
        return accuracies.reduce(0, +) / Double(n) < median
    }
}

/// What a sweep does: its space, strategy, trial count and seed.
public struct SweepPlan: Sendable {
    /// Trials proposed together from the same history: 4.
    ///
    /// Trial `i` is proposed from the finished trials with an index below `i − i mod batchSize`, whichever
    /// finished first; a batch's trials run in parallel (up to `--jobs`), and the next batch is proposed once
    /// they are all done. The batch size is fixed, independent of `--jobs`, so the proposals, and so every
    /// result, are the same for any `--jobs`.
    public static let defaultBatchSize = 4

    /// The space.
    public var space: SearchSpace
    /// The strategy.
    public var strategy: SweepStrategy
    /// Trials to run (a grid runs at most its number of points).
    public var trials: Int
    /// Seed of every proposal (trial `i` draws from stream `i`).
    public var seed: UInt64
    /// See ``defaultBatchSize``.
    public var batchSize: Int
    /// TPE's settings.
    public var tpe: TPESampler
    /// The pruning rule; `nil` (default) runs every fit of every trial.
    public var pruning: MedianPruning?

    /// Creates a plan.
    /// - Parameters:
    ///   - space: The space.
    ///   - strategy: grid, random or tpe.
    ///   - trials: Trials to run, ≥ 1.
    ///   - seed: Proposal seed.
    ///   - batchSize: Trials per proposal batch; default ``defaultBatchSize``.
    ///   - tpe: TPE's settings; default Optuna's.
    ///   - pruning: The pruning rule; default none.
    /// - Throws: ``SweepError`` `unsupported` when the strategy is `grid` and the space has a real range.
    public init(
        space: SearchSpace, strategy: SweepStrategy, trials: Int, seed: UInt64, batchSize: Int = defaultBatchSize,
        tpe: TPESampler = TPESampler(), pruning: MedianPruning? = nil
    ) throws(SweepError) {
        self.space = space
        self.strategy = strategy
        self.seed = seed
        self.batchSize = max(1, batchSize)
        self.tpe = tpe
        self.pruning = pruning
        if strategy == .grid {
            gridPoints = try GridSampler.points(of: space)
            self.trials = min(max(1, trials), gridPoints.count)
        } else {
            gridPoints = []
            self.trials = max(1, trials)
        }
    }

    private let gridPoints: [[String: String]]

    /// The parameters of trial `index`.
    /// - Parameters:
    ///   - index: The trial number.
    ///   - history: Finished trials the proposal may use (those of earlier batches), in index order.
    /// - Returns: Values by key id.
    public func parameters(forTrial index: Int, history: [Observation]) -> [String: String] {
        var rng = SplitMix64.derived(seed: seed, stream: UInt64(index))
        switch strategy {
        case .grid: return gridPoints[index]
        case .random: return RandomSampler.point(of: space, using: &rng)
        case .tpe: return tpe.point(of: space, history: history, using: &rng)
        }
    }
}

/// What a running sweep reports.
public enum SweepEvent: Sendable {
    /// A trial started (not sent for trials reused from an earlier run of the sweep).
    case started(index: Int, parameters: [String: String])
    /// A trial ended (any status).
    case ended(TrialResult)
}

/// Runs a sweep's trials in parallel, in fixed batches, on threads of its own.
///
/// Trials are CPU-bound and synchronous: they run on `jobs` dedicated threads, never on Swift's cooperative pool.
/// Call ``run(plan:evaluator:previous:jobs:deadline:stop:onEvent:)`` from a thread that may block.
public enum SweepRunner {
    /// Runs the trials not already finished in `previous`.
    /// - Parameters:
    ///   - plan: What to run.
    ///   - evaluator: How to score a trial.
    ///   - previous: Results of an earlier run of this sweep (`--resume`): a finished (or pruned) trial whose
    ///     parameters match its proposal is reused, not run again.
    ///   - jobs: Trials run at once, ≥ 1 (the results do not depend on it).
    ///   - deadline: No trial starts after it (`--timeout`); trials already running finish.
    ///   - stop: Raised by a signal: running trials end as `cancelled` and nothing more starts.
    ///   - onEvent: Called on a worker thread for each start and end.
    /// - Returns: Every trial result of the sweep so far, in index order.
    public static func run(
        plan: SweepPlan, evaluator: TrialEvaluator, previous: [TrialResult] = [], jobs: Int,
        deadline: ContinuousClock.Instant? = nil, stop: StopSignal = StopSignal(),
        onEvent: @escaping @Sendable (SweepEvent) -> Void = { _ in }
    ) -> [TrialResult] {
        let reusable = Dictionary(
            previous.filter { $0.status == .finished || $0.status == .pruned }.map { ($0.index, $0) },
            uniquingKeysWith: { a, _ in a })
        var results = [TrialResult]()
        var batchStart = 0
        while batchStart < plan.trials {
            if stop.isRaised { break }
            if let deadline, ContinuousClock.now >= deadline { break }
            let earlier = results.filter { $0.status == .finished }
            let history = earlier.map { Observation(parameters: $0.parameters, score: $0.accuracy.mean) }
            let indices = Array(batchStart..<min(plan.trials, batchStart + plan.batchSize))
            var batch = [TrialResult?](repeating: nil, count: indices.count)
            var todo = [(slot: Int, index: Int, parameters: [String: String])]()
            for (slot, index) in indices.enumerated() {
                let parameters = plan.parameters(forTrial: index, history: history)
                if let old = reusable[index], old.parameters == parameters {
                    batch[slot] = old
                } else {
                    todo.append((slot, index, parameters))
                }
            }
            let pool = WorkerPool(count: todo.count)
            let items = todo
            pool.run(workers: max(1, jobs)) { n in
                let item = items[n]
                if stop.isRaised { return }
                if let deadline, ContinuousClock.now >= deadline { return }
                onEvent(.started(index: item.index, parameters: item.parameters))
                let rule = TrialStopRule(plan: plan, earlier: earlier, stop: stop)
                let result = evaluator.evaluate(
                    index: item.index, parameters: item.parameters, control: rule.decide, isPruned: { rule.pruned })
                pool.store(result, at: n)
                onEvent(.ended(result))
            }
            for (n, item) in todo.enumerated() { batch[item.slot] = pool.result(at: n) }
            results += batch.compactMap { $0 }
            // A trial the deadline or a stop kept from starting leaves a gap: stop here, so no later proposal
            // is made from a history that a run without the interruption would not have had.
            if batch.contains(where: { $0 == nil || $0?.status == .cancelled }) { break }
            batchStart += plan.batchSize
        }
        return results
    }
}

/// What a trial does after each fit: stop on a signal, stop as `pruned` by the plan's rule, or go on.
final class TrialStopRule: @unchecked Sendable {
    private let plan: SweepPlan
    private let earlier: [TrialResult]
    private let stop: StopSignal
    /// Whether the last `.stop` was the pruning rule's (the trial's thread only).
    private(set) var pruned = false

    init(plan: SweepPlan, earlier: [TrialResult], stop: StopSignal) {
        self.plan = plan
        self.earlier = earlier
        self.stop = stop
    }

    func decide(_ accuracies: [Double]) -> TrainingControl {
        if stop.isRaised { return .stop }
        if let rule = plan.pruning, rule.shouldPrune(accuracies, earlier: earlier) {
            pruned = true
            return .stop
        }
        return .proceed
    }
}

/// A fixed set of work items run on dedicated threads.
final class WorkerPool: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int
    private var results: [TrialResult?]

    init(count: Int) {
        self.count = count
        results = [TrialResult?](repeating: nil, count: count)
    }

    /// Runs `body(n)` for n in 0..<count on up to `workers` threads and waits for all.
    func run(workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for _ in 0..<min(workers, count) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                while let n = take() { body(n) }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
    }

    private func take() -> Int? {
        lock.withLock {
            guard next < count else { return nil }
            next += 1
            return next - 1
        }
    }

    func store(_ result: TrialResult, at n: Int) { lock.withLock { results[n] = result } }
    func result(at n: Int) -> TrialResult? { lock.withLock { results[n] } }
}
