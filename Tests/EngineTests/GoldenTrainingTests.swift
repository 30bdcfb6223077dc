import Foundation
import SonarLabTestSupport
import Testing

@testable import Engine

/// Pins the bits of today's default training so option and speed work cannot move them unnoticed.
@Suite("Golden training results")
struct GoldenTrainingTests {
    /// FNV-1a over the bit patterns of the floats, in order.
    static func digest(_ values: [Float]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in values {
            var bits = v.bitPattern
            for _ in 0..<4 {
                h = (h ^ UInt64(bits & 0xFF)) &* 0x100_0000_01b3
                bits >>= 8
            }
        }
        return h
    }

    @Test("default full-batch and mini-batch training give the weights recorded on main")
    func goldenWeights() throws {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        let split = StratifiedSplit.split(labels: loaded.dataset.labels, testSize: 0.25, seed: 42)
        let train = loaded.dataset.subset(split.train), validation = loaded.dataset.subset(split.validation)
        let full = Trainer(configuration: TrainingConfiguration()).train(trainingSet: train, validationSet: validation)
        var config = TrainingConfiguration()
        config.batchSize = 16
        config.epochs = 10
        config.hiddenSize = 13
        config.weightDecay = 0.01
        let mini = Trainer(configuration: config).train(trainingSet: train, validationSet: validation)
        // Recorded on main (b82e6b9) before dropout, input noise, AdamW and ensembles existed.
        #expect(Self.digest(full.model.network.parameters) == 15_657_149_881_068_471_530)
        #expect(full.history.last!.validation.loss.bitPattern == 4_606_473_805_830_896_404)
        #expect(Self.digest(mini.model.network.parameters) == 5_353_654_335_722_743_619)
        #expect(mini.history.last!.train.loss.bitPattern == 4_585_975_970_366_186_102)
    }
}
