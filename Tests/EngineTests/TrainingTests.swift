import Foundation
import SonarLabTestSupport
import Testing

@testable import Engine

@Suite("MLP, gradients, Adam and training")
struct TrainingTests {
    /// Mean loss of a network over rows, in Double.
    static func meanLoss(_ net: MLP, _ x: Matrix, _ y: [SonarClass]) -> Double {
        let z = net.logits(x)
        var total = 0.0
        for r in 0..<x.rows {
            let z0 = Double(z.values[r * 2]), z1 = Double(z.values[r * 2 + 1])
            let m = max(z0, z1)
            let lse = m + log(exp(z0 - m) + exp(z1 - m))
            total += lse - (y[r] == .mine ? z1 : z0)
        }
        return total / Double(x.rows)
    }

    @Test("the same seed gives the same weights and logits, bit for bit; another seed does not")
    func forwardDeterminism() {
        var g1 = SplitMix64(seed: 9), g2 = SplitMix64(seed: 9), g3 = SplitMix64(seed: 10)
        let a = MLP(inputSize: 60, hiddenSize: 40, outputSize: 2, generator: &g1)
        let b = MLP(inputSize: 60, hiddenSize: 40, outputSize: 2, generator: &g2)
        let c = MLP(inputSize: 60, hiddenSize: 40, outputSize: 2, generator: &g3)
        #expect(a.parameters.map(\.bitPattern) == b.parameters.map(\.bitPattern))
        #expect(a.parameters != c.parameters)
        let x = SyntheticData.separable(count: 8).features
        #expect(a.logits(x).values.map(\.bitPattern) == b.logits(x).values.map(\.bitPattern))
        // PyTorch nn.Linear init bounds: |w| ≤ 1/√fan_in.
        #expect(a.parameters[0..<(60 * 40 + 40)].allSatisfy { abs($0) <= 1 / Float(60).squareRoot() })
        #expect(a.parameters[(60 * 40 + 40)...].allSatisfy { abs($0) <= 1 / Float(40).squareRoot() })
    }

    @Test("analytic gradients match central finite differences")
    func gradientCheck() {
        var rng = SplitMix64(seed: 3)
        let net = MLP(inputSize: 5, hiddenSize: 4, outputSize: 2, generator: &rng)
        let data = SyntheticData.separable(count: 6, features: 5, seed: 11)
        let x = Standardizer(fitting: data.features).transform(data.features)
        var workspace = Workspace(network: net)
        var confusion = ConfusionMatrix()
        let loss = workspace.computeGradient(
            network: net, features: x, labels: data.labels, batch: x.rows > 0 ? Array(0..<x.rows)[...] : [],
            confusion: &confusion)
        #expect(abs(loss / Double(x.rows) - Self.meanLoss(net, x, data.labels)) < 1e-5)
        #expect(confusion.total == 6)
        let eps: Float = 1e-2
        var worst = 0.0
        for i in 0..<net.parameters.count {
            var plus = net, minus = net
            plus.parameters[i] += eps
            minus.parameters[i] -= eps
            let numeric = (Self.meanLoss(plus, x, data.labels) - Self.meanLoss(minus, x, data.labels)) / Double(2 * eps)
            let analytic = Double(workspace.gradient[i])
            worst = max(worst, abs(numeric - analytic) / max(1e-3, abs(numeric) + abs(analytic)))
        }
        #expect(worst < 2e-2, "worst relative gradient error \(worst)")
    }

    @Test("two Adam steps match the hand-computed update")
    func adamSteps() {
        var rng = SplitMix64(seed: 1)
        var net = MLP(inputSize: 1, hiddenSize: 1, outputSize: 2, generator: &rng)
        net.parameters = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        var workspace = Workspace(network: net)
        var config = TrainingConfiguration()
        config.learningRate = 0.01
        workspace.gradient = [0.2, -0.2, 0.2, 0.2, 0.2, 0.2]
        workspace.adam(&net, config)
        // Step 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g² ⇒ θ −= 0.01·g/(|g| + 1e-8).
        #expect(abs(net.parameters[0] - 0.49) < 1e-6)
        #expect(abs(net.parameters[1] - 0.51) < 1e-6)
        workspace.gradient = [-0.1, -0.1, -0.1, -0.1, -0.1, -0.1]
        workspace.adam(&net, config)
        // Step 2 for parameter 0: m = 0.9·0.02 + 0.1·(−0.1) = 0.008; v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5;
        // m̂ = 0.008/0.19; v̂ = 4.996e-5/0.001999; θ = 0.49 − 0.01·m̂/√v̂ = 0.4873366…
        let mHat = 0.008 / (1 - 0.81), vHat = 4.996e-5 / (1 - 0.998001)
        let expected = 0.49 - 0.01 * mHat / (vHat.squareRoot() + 1e-8)
        #expect(abs(Double(net.parameters[0]) - expected) < 1e-6)
        #expect(abs(expected - 0.4873366) < 1e-6)
    }

    @Test("weight decay adds λ·w to the weights' gradients, not to the biases'")
    func weightDecay() {
        var rng = SplitMix64(seed: 1)
        var a = MLP(inputSize: 1, hiddenSize: 1, outputSize: 2, generator: &rng)
        a.parameters = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        var b = a
        var config = TrainingConfiguration()
        config.weightDecay = 0.1
        var wa = Workspace(network: a)
        wa.gradient = [0, 0, 0, 0, 0, 0]
        wa.adam(&a, config)
        config.weightDecay = 0
        var wb = Workspace(network: b)
        wb.gradient = [0, 0, 0, 0, 0, 0]
        wb.adam(&b, config)
        #expect(b.parameters == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
        // W1 (index 0) and W2 (2, 3) decay; b1 (1) and b2 (4, 5) do not.
        #expect(a.parameters[0] < 0.5 && a.parameters[2] < 0.5 && a.parameters[3] < 0.5)
        #expect(a.parameters[1] == 0.5 && a.parameters[4] == 0.5 && a.parameters[5] == 0.5)
    }

    @Test("training on the real data reaches at least 0.75 validation accuracy and is bit-reproducible")
    func realDataTraining() throws {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        let split = StratifiedSplit.split(labels: loaded.dataset.labels, testSize: 0.25, seed: 42)
        let train = loaded.dataset.subset(split.train), validation = loaded.dataset.subset(split.validation)
        let trainer = Trainer(configuration: TrainingConfiguration())
        var seen = [Int]()
        let a = trainer.train(trainingSet: train, validationSet: validation) { m in
            seen.append(m.epoch)
            return .proceed
        }
        let b = trainer.train(trainingSet: train, validationSet: validation)
        #expect(seen == Array(1...80))
        #expect(a.history.count == 80)
        #expect(a.bestValidation.accuracy >= 0.75)
        #expect(a.model.network.parameters.map(\.bitPattern) == b.model.network.parameters.map(\.bitPattern))
        #expect(
            a.history
                == b.history.map {
                    var m = $0; m.elapsedSeconds = a.history[$0.epoch - 1].elapsedSeconds; return m
                })
        // The kept epoch has the lowest validation loss.
        let minimum = a.history.map(\.validation.loss).min()!
        #expect(a.bestValidation.loss == minimum)
        #expect(a.validationConfusion.total == 52)
        #expect(abs(a.validationConfusion.accuracy - a.bestValidation.accuracy) < 1e-12)
    }

    @Test("selection by last epoch keeps the last weights")
    func lastEpochSelection() {
        let data = SyntheticData.separable(count: 40)
        var config = TrainingConfiguration()
        config.epochs = 12
        config.selection = .lastEpoch
        let result = Trainer(configuration: config).train(
            trainingSet: data.subset(Array(0..<30)), validationSet: data.subset(Array(30..<40)))
        #expect(result.bestEpoch == 12)
    }

    @Test("an observer stops the run between epochs; it ends cancelled with its epochs so far")
    func cancellation() {
        let data = SyntheticData.separable(count: 40)
        let result = Trainer(configuration: TrainingConfiguration()).train(
            trainingSet: data.subset(Array(0..<30)), validationSet: data.subset(Array(30..<40))
        ) { $0.epoch == 3 ? .stop : .proceed }
        #expect(result.wasCancelled)
        #expect(result.history.count == 3)
        #expect((1...3).contains(result.bestEpoch))
    }

    @Test("early stopping ends the run after the patience without a better validation loss")
    func earlyStopping() {
        let data = SyntheticData.separable(count: 60)
        var config = TrainingConfiguration()
        config.epochs = 500
        config.earlyStoppingPatience = 5
        let result = Trainer(configuration: config).train(
            trainingSet: data.subset(Array(0..<40)), validationSet: data.subset(Array(40..<60)))
        #expect(result.stoppedEarly)
        #expect(result.history.count < 500)
        let losses = result.history.map(\.validation.loss)
        let bestIndex = losses.firstIndex(of: losses.min()!)!
        #expect(result.history.count == bestIndex + 1 + 5)
    }

    @Test("mini-batches make several updates per epoch and still learn a separable problem")
    func miniBatch() {
        let data = SyntheticData.separable(count: 80)
        var config = TrainingConfiguration()
        config.batchSize = 16
        config.epochs = 10
        let result = Trainer(configuration: config).train(
            trainingSet: data.subset(Array(0..<60)), validationSet: data.subset(Array(60..<80)))
        #expect(result.bestValidation.accuracy == 1)
    }

    @Test("the event stream publishes every epoch and then the result; a raised stop signal cancels")
    func eventStream() async {
        let data = SyntheticData.separable(count: 40)
        var config = TrainingConfiguration()
        config.epochs = 20
        let trainer = Trainer(configuration: config)
        func collect(_ stop: StopSignal) async -> ([Int], TrainingResult?) {
            var epochs = [Int]()
            var finished: TrainingResult?
            for await event in trainer.events(
                trainingSet: data.subset(Array(0..<30)), validationSet: data.subset(Array(30..<40)), stop: stop)
            {
                switch event {
                case .epoch(let m): epochs.append(m.epoch)
                case .finished(let r): finished = r
                }
            }
            return (epochs, finished)
        }
        let (all, complete) = await collect(StopSignal())
        #expect(all == Array(1...20))
        #expect(complete?.wasCancelled == false)
        let raised = StopSignal()
        raised.raise()
        let (some, cancelled) = await collect(raised)
        #expect(some == [1])
        #expect(cancelled?.wasCancelled == true)
        #expect(cancelled?.history.count == 1)
    }

    @Test("cross-validation runs folds × repeats fits and summarises them")
    func crossValidation() throws {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        var config = TrainingConfiguration()
        config.epochs = 20
        var calls = 0
        let result = CrossValidation.run(dataset: loaded.dataset, folds: 4, repeats: 2, seed: 1, configuration: config)
        { _, done in
            calls += 1
            #expect(done == calls)
            return .proceed
        }
        #expect(result.fits.count == 8)
        #expect(calls == 8)
        let mean = result.fits.map(\.validation.accuracy).reduce(0, +) / 8
        #expect(abs(result.accuracy.mean - mean) < 1e-12)
        #expect(result.accuracy.mean > 0.6)
        #expect(result.accuracy.sd > 0)
        #expect(CrossValidation.Summary([0.5]).sd == 0)
        #expect(abs(CrossValidation.Summary([1, 2, 3, 4]).sd - 1.2909944487358056) < 1e-12)
    }

    @Test("a saved model reads back and predicts bit-identically; bad files are refused")
    func artefactRoundTrip() throws {
        let data = SyntheticData.separable(count: 40)
        var config = TrainingConfiguration()
        config.epochs = 5
        let result = Trainer(configuration: config).train(
            trainingSet: data.subset(Array(0..<30)), validationSet: data.subset(Array(30..<40)))
        let artefact = ModelArtefact(
            experimentID: "x", name: "t", createdAt: Date(timeIntervalSince1970: 0), result: result,
            dataFingerprint: "abc",
            configuration: config)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("model.json")
        try artefact.write(to: URL(fileURLWithPath: path))
        let back = try ModelArtefact.load(path: path)
        #expect(back == artefact)
        #expect(
            back.model.mineProbabilities(data.features).map(\.bitPattern)
                == artefact.model.mineProbabilities(data.features).map(\.bitPattern))
        #expect(back.model.predict(data.features) == artefact.model.predict(data.features))

        try dir.write("bad.json", "{\"format\": \"other\"}")
        #expect(throws: DataError(.malformed, file: dir.file("bad.json"), reason: "")) {
            try ModelArtefact.load(path: dir.file("bad.json"))
        }
        var newer = artefact
        newer.formatVersion = 99
        try newer.write(to: URL(fileURLWithPath: dir.file("newer.json")))
        do {
            _ = try ModelArtefact.load(path: dir.file("newer.json"))
            Issue.record("newer version accepted")
        } catch {
            #expect(error.description.contains("newer"))
        }
    }
}
