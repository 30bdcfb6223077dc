import Engine
import Foundation
import Settings
import SonarLabTestSupport
import Sweep
import Testing

/// Events a sweep reported, collected across its worker threads.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events = [SweepEvent]()

    func append(_ event: SweepEvent) { lock.withLock { events.append(event) } }

    var started: [Int] {
        lock.withLock {
            events.compactMap {
                if case .started(let index, _) = $0 { return index }
                return nil
            }.sorted()
        }
    }
}

@Suite("Sweep runner")
struct SweepRunnerTests {
    /// The `[mlp]` mapping of the keys these tests sweep.
    static let mapping: @Sendable (SonarLabConfiguration) -> TrainingConfiguration = { c in
        var t = TrainingConfiguration()
        t.hiddenSize = c.mlp.hiddenSize
        t.learningRate = c.mlp.learningRate
        t.epochs = c.mlp.epochs
        t.batchSize = c.mlp.batchSize == 0 ? nil : c.mlp.batchSize
        t.weightDecay = c.mlp.weightDecay
        t.seed = c.mlp.seed
        return t
    }

    static func evaluator() throws -> TrialEvaluator {
        var base = SonarLabConfiguration()
        base.mlp.epochs = 6
        base.mlp.hiddenSize = 8
        let data = try SonarData.load(path: TestPaths.sonarData, header: .auto)
        return TrialEvaluator(
            dataset: data.dataset, folds: 3, repeats: 1, foldSeed: 42, base: base, makeTraining: mapping)
    }

    static func plan(_ strategy: SweepStrategy, trials: Int, pruning: MedianPruning? = nil) throws -> SweepPlan {
        let space = try SearchSpace(
            [
                try SearchSpace.parse(id: "mlp.lr", text: "0.001..0.1:log", place: "flag --lr"),
                try SearchSpace.parse(id: "mlp.hidden_size", text: "4,8,16", place: "flag --hidden"),
            ], base: SonarLabConfiguration())
        var tpe = TPESampler()
        tpe.startupTrials = 2
        return try SweepPlan(
            space: space, strategy: strategy, trials: trials, seed: 7, batchSize: 2, tpe: tpe, pruning: pruning)
    }

    @Test("every trial is scored on the same folds: the same parameters give the same per-fold scores")
    func trialsArePaired() throws {
        let evaluator = try Self.evaluator()
        let p = ["mlp.lr": "0.01", "mlp.hidden_size": "8"]
        let a = evaluator.evaluate(index: 0, parameters: p)
        let b = evaluator.evaluate(index: 5, parameters: p)
        #expect(a.status == .finished)
        #expect(a.foldAccuracies.count == 3)
        #expect(a.foldAccuracies == b.foldAccuracies)
        let c = evaluator.evaluate(index: 1, parameters: ["mlp.lr": "0.05", "mlp.hidden_size": "8"])
        #expect(c.foldAccuracies != a.foldAccuracies)
    }

    @Test("a refused trial parameter fails that trial with the Settings reason")
    func refusedParameterFailsTrial() throws {
        let result = try Self.evaluator().evaluate(index: 0, parameters: ["mlp.epochs": "zero"])
        #expect(result.status == .failed)
        #expect(result.message?.contains("trial parameter mlp.epochs") == true)
    }

    @Test("results are identical for --jobs 1 and --jobs 2", arguments: [SweepStrategy.random, .tpe])
    func identicalForAnyJobs(strategy: SweepStrategy) throws {
        let evaluator = try Self.evaluator()
        let plan = try Self.plan(strategy, trials: 6)
        let one = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 1)
        let two = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 2)
        #expect(one.count == 6)
        #expect(one.map(\.index) == Array(0..<6))
        #expect(zip(one, two).allSatisfy { $0.hasSameOutcome(as: $1) })
        #expect(Set(one.map(\.parameters)).count > 1)
    }

    @Test("a resumed sweep runs no finished trial again and ends as an uninterrupted one")
    func resumeSkipsFinishedTrials() throws {
        let evaluator = try Self.evaluator()
        let plan = try Self.plan(.tpe, trials: 6)
        let full = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 2)
        var interrupted = Array(full.prefix(3))
        interrupted[2].status = .cancelled
        let log = EventLog()
        let resumed = SweepRunner.run(
            plan: plan, evaluator: evaluator, previous: interrupted, jobs: 2, onEvent: { log.append($0) })
        #expect(log.started == [2, 3, 4, 5])
        #expect(zip(full, resumed).allSatisfy { $0.hasSameOutcome(as: $1) })
        #expect(resumed.count == 6)
    }

    @Test("a raised stop signal ends the sweep with no trial started after it")
    func stopEndsSweep() throws {
        let stop = StopSignal()
        stop.raise()
        let results = SweepRunner.run(
            plan: try Self.plan(.random, trials: 4), evaluator: try Self.evaluator(), jobs: 2, stop: stop)
        #expect(results.isEmpty)
        let past = SweepRunner.run(
            plan: try Self.plan(.random, trials: 4), evaluator: try Self.evaluator(), jobs: 1,
            deadline: ContinuousClock.now)
        #expect(past.isEmpty)
    }

    @Test("median pruning stops trials below the median after the warm-up, the same for any --jobs")
    func pruningIsDeterministic() throws {
        let evaluator = try Self.evaluator()
        let plan = try Self.plan(.random, trials: 8, pruning: MedianPruning(warmupFits: 1, startupTrials: 2))
        let one = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 1)
        let two = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 2)
        #expect(zip(one, two).allSatisfy { $0.hasSameOutcome(as: $1) })
        #expect(one.contains { $0.status == .pruned })
        #expect(one.filter { $0.status == .pruned }.allSatisfy { $0.foldAccuracies.count < 3 && $0.index >= 2 })
    }
}

@Suite("Nested sweep")
struct NestedSweepTests {
    @Test("a nested sweep searches inside each outer fold and scores the pick on rows it never saw, for any --jobs")
    func nestedEstimate() throws {
        let evaluator = try SweepRunnerTests.evaluator()
        let plan = try SweepRunnerTests.plan(.random, trials: 2)
        var seen = [Int]()
        let one = NestedSweep.run(plan: plan, evaluator: evaluator, outerFolds: 3, outerSeed: 5, jobs: 1) {
            seen.append($0.fold)
        }
        let two = NestedSweep.run(plan: plan, evaluator: evaluator, outerFolds: 3, outerSeed: 5, jobs: 2)
        #expect(seen == [0, 1, 2])
        #expect(one.folds.count == 3)
        #expect(one.folds.allSatisfy { $0.selected.status == .finished && $0.trials == 2 })
        #expect(one.folds.allSatisfy { (0.3...1).contains($0.accuracy) })
        #expect(one.folds.map(\.accuracy) == two.folds.map(\.accuracy))
        #expect(one.accuracy == CrossValidation.Summary(one.folds.map(\.accuracy)))
        // Each inner search saw only two thirds of the rows: its scores differ from a search on all rows.
        let full = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 1)
        #expect(one.folds[0].selected.foldAccuracies != full[one.folds[0].selected.index].foldAccuracies)
        let stop = StopSignal()
        stop.raise()
        #expect(
            NestedSweep.run(plan: plan, evaluator: evaluator, outerFolds: 3, outerSeed: 5, jobs: 1, stop: stop).folds
                .isEmpty)
    }
}
