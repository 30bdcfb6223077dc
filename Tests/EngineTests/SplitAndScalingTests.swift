import Foundation
import SonarLabTestSupport
import Testing

@testable import Engine

@Suite("Random numbers, splits and standardisation")
struct SplitAndScalingTests {
    @Test("SplitMix64 matches the reference sequence for seed 0")
    func splitMixReference() {
        // Reference values of Vigna's splitmix64.c with x = 0.
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("the default split of the real data is 156/52 and keeps the class ratio")
    func defaultSplit() throws {
        let labels = try SonarData.load(path: TestPaths.sonarData).dataset.labels
        let split = StratifiedSplit.split(labels: labels, testSize: 0.25, seed: 42)
        #expect(split.train.count == 156)
        #expect(split.validation.count == 52)
        #expect(Set(split.train).isDisjoint(with: split.validation))
        #expect(Set(split.train + split.validation) == Set(labels.indices))
        let validationRocks = split.validation.filter { labels[$0] == .rock }.count
        #expect(validationRocks == Int((0.25 * 97).rounded()))
        #expect(split.validation.count - validationRocks == Int((0.25 * 111).rounded()))
    }

    @Test("the split is deterministic per seed and changes with the seed")
    func splitDeterminism() throws {
        let labels = try SonarData.load(path: TestPaths.sonarData).dataset.labels
        let a = StratifiedSplit.split(labels: labels, testSize: 0.25, seed: 42)
        let b = StratifiedSplit.split(labels: labels, testSize: 0.25, seed: 42)
        let c = StratifiedSplit.split(labels: labels, testSize: 0.25, seed: 43)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("k-fold validates every row exactly once per repeat, with balanced folds")
    func kFold() throws {
        let labels = try SonarData.load(path: TestPaths.sonarData).dataset.labels
        let splits = StratifiedSplit.kFold(labels: labels, folds: 10, repeats: 3, seed: 7)
        #expect(splits.count == 30)
        for r in 0..<3 {
            let folds = splits[(r * 10)..<(r * 10 + 10)]
            let validated = folds.flatMap(\.validation)
            #expect(validated.sorted() == Array(labels.indices))
            let sizes = folds.map(\.validation.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
            for fold in folds {
                let rocks = fold.validation.filter { labels[$0] == .rock }.count
                #expect(abs(Double(rocks) - 9.7) <= 1.01, "rocks per fold \(rocks)")
                #expect(Set(fold.train).isDisjoint(with: fold.validation))
                #expect(fold.train.count + fold.validation.count == labels.count)
            }
        }
        #expect(splits[0].validation != splits[10].validation, "repeats reshuffle")
    }

    @Test("standardisation gives mean 0 and sd 1 on the fitted data; a constant feature maps to 0")
    func standardizer() {
        let m = Matrix(rowArrays: [[0.1, 0.5], [0.3, 0.5], [0.5, 0.5]])
        let s = Standardizer(fitting: m)
        #expect(abs(s.mean[0] - 0.3) < 1e-6)
        #expect(s.standardDeviation[1] == 1)
        let t = s.transform(m)
        let column0 = [t.values[0], t.values[2], t.values[4]]
        #expect(abs(column0.reduce(0, +)) < 1e-5)
        let variance = column0.map { $0 * $0 }.reduce(0, +) / 3
        #expect(abs(variance - 1) < 1e-4)
        #expect([t.values[1], t.values[3], t.values[5]] == [0, 0, 0])
    }
}

@Suite("Metrics")
struct MetricsTests {
    @Test("accuracy and macro-F1 match a hand-computed confusion matrix")
    func handComputed() {
        // actual R R R M M M M ; predicted R M R M M R M → R: TP 2, FN 1, FP 1; M: TP 3, FN 1, FP 1.
        let c = ConfusionMatrix(
            actual: [.rock, .rock, .rock, .mine, .mine, .mine, .mine],
            predicted: [.rock, .mine, .rock, .mine, .mine, .rock, .mine])
        #expect(c.counts == [[2, 1], [1, 3]])
        #expect(c.accuracy == 5.0 / 7.0)
        #expect(abs(c.f1(of: .rock) - 4.0 / 6.0) < 1e-12)
        #expect(abs(c.f1(of: .mine) - 6.0 / 8.0) < 1e-12)
        #expect(abs(c.macroF1 - (4.0 / 6.0 + 6.0 / 8.0) / 2) < 1e-12)
    }

    @Test("a class never predicted has F1 0 and halves the macro-F1")
    func neverPredicted() {
        let c = ConfusionMatrix(actual: [.rock, .mine, .mine, .mine], predicted: [.mine, .mine, .mine, .mine])
        #expect(c.f1(of: .rock) == 0)
        #expect(abs(c.f1(of: .mine) - 6.0 / 7.0) < 1e-12)
        #expect(abs(c.macroF1 - 3.0 / 7.0) < 1e-12)
        #expect(ConfusionMatrix().accuracy == 0)
        #expect(ConfusionMatrix().macroF1 == 0)
    }

    @Test("cross-entropy is stable for large logits and equals -log softmax")
    func crossEntropy() {
        let z0: Float = 1.5, z1: Float = -0.5
        let expected = -log(exp(Double(z0)) / (exp(Double(z0)) + exp(Double(z1))))
        #expect(abs(Double(Trainer.crossEntropy(z0, z1, .rock)) - expected) < 1e-6)
        #expect(Trainer.crossEntropy(1000, -1000, .rock).isFinite)
        #expect(abs(Trainer.crossEntropy(1000, -1000, .mine) - 2000) < 1e-3)
    }
}
