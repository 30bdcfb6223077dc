import Engine
import Foundation
import Settings
import Sweep
import Testing

@Suite("Samplers")
struct SamplerTests {
    static func space() throws -> SearchSpace {
        try SearchSpace(
            [
                try SearchSpace.parse(id: "mlp.lr", text: "0.0001..1:log", place: "a"),
                try SearchSpace.parse(id: "mlp.hidden_size", text: "1..200", place: "b"),
                try SearchSpace.parse(id: "mlp.select", text: "val_loss,val_accuracy,val_f1,last", place: "c"),
            ], base: SonarLabConfiguration())
    }

    /// A synthetic objective with its optimum at lr = 0.01, hidden = 150 and (when `choicePenalty` > 0)
    /// select = last.
    static func objective(_ p: [String: String], choicePenalty: Double) -> Double {
        let lr = log10(Double(p["mlp.lr"]!)!) + 2
        let hidden = (Double(p["mlp.hidden_size"]!)! - 150) / 50
        return -lr * lr - hidden * hidden - (p["mlp.select"] == "last" ? 0 : choicePenalty)
    }

    /// Runs a sequential search of `trials` proposals and returns them with their scores.
    static func search(
        _ strategy: SweepStrategy, trials: Int, seed: UInt64, choicePenalty: Double = 0
    ) throws -> [Observation] {
        let plan = try SweepPlan(space: try space(), strategy: strategy, trials: trials, seed: seed, batchSize: 1)
        var history = [Observation]()
        for i in 0..<trials {
            let p = plan.parameters(forTrial: i, history: history)
            history.append(Observation(parameters: p, score: objective(p, choicePenalty: choicePenalty)))
        }
        return history
    }

    @Test("random values stay inside their ranges and lists, log ranges spread over decades")
    func randomStaysInRange() throws {
        let history = try Self.search(.random, trials: 200, seed: 3)
        let lrs = history.map { Double($0.parameters["mlp.lr"]!)! }
        #expect(lrs.allSatisfy { (0.0001...1).contains($0) })
        #expect(lrs.filter { $0 < 0.001 }.count > 30)  // a quarter of the decades: ~50 of 200 when log-uniform
        let hidden = history.map { Int($0.parameters["mlp.hidden_size"]!)! }
        #expect(hidden.allSatisfy { (1...200).contains($0) })
        #expect(Set(history.map { $0.parameters["mlp.select"]! }).count == 4)
    }

    @Test("the same seed proposes the same trials, another seed others")
    func deterministicForSeed() throws {
        for strategy in [SweepStrategy.random, .tpe] {
            let a = try Self.search(strategy, trials: 30, seed: 11)
            let b = try Self.search(strategy, trials: 30, seed: 11)
            let c = try Self.search(strategy, trials: 30, seed: 12)
            #expect(a == b)
            #expect(a != c)
        }
    }

    @Test("TPE concentrates its proposals near a known optimum, random search does not")
    func tpeConcentratesOnOptimum() throws {
        var tpeLate = [Double]()
        var randomLate = [Double]()
        for seed in UInt64(1)...4 {
            tpeLate += try Self.search(.tpe, trials: 60, seed: seed).suffix(20).map(\.score)
            randomLate += try Self.search(.random, trials: 60, seed: seed).suffix(20).map(\.score)
        }
        let median = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
        // Random's median late proposal is ~2 decades of lr away; TPE's should be within half a decade and 25 units.
        #expect(median(tpeLate) > -0.5)
        #expect(median(randomLate) < -1.5)
        for seed in UInt64(1)...4 {
            let late = try Self.search(.tpe, trials: 60, seed: seed, choicePenalty: 3).suffix(20)
            #expect(late.filter { $0.parameters["mlp.select"] == "last" }.count >= 12)
        }
    }

    @Test("TPE's good set is γ(n) = min(⌈0.1·n⌉, 25)")
    func gammaSplit() {
        #expect(TPESampler.goodCount(1) == 1)
        #expect(TPESampler.goodCount(10) == 1)
        #expect(TPESampler.goodCount(11) == 2)
        #expect(TPESampler.goodCount(100) == 10)
        #expect(TPESampler.goodCount(1000) == 25)
    }

    @Test("the median rule prunes a trial below the earlier trials' median after the warm-up only")
    func medianPruning() {
        let rule = MedianPruning(warmupFits: 2, startupTrials: 3)
        let earlier = [0.7, 0.8, 0.9].enumerated().map { i, a in
            TrialResult(
                index: i, parameters: [:], foldAccuracies: [a, a, a], f1Mean: a, lossMean: 0.3, status: .finished,
                seconds: 0)
        }
        #expect(!rule.shouldPrune([0.1], earlier: earlier))  // warm-up
        #expect(rule.shouldPrune([0.7, 0.75], earlier: earlier))
        #expect(!rule.shouldPrune([0.8, 0.85], earlier: earlier))
        #expect(!rule.shouldPrune([0.1, 0.1], earlier: Array(earlier.prefix(2))))  // too few trials
    }
}
