import Foundation
import SonarLabTestSupport
import Testing

@testable import Engine

@Suite("Dropout, input noise, AdamW and ensembles")
struct RegularisationTests {
    /// Mean loss in `Double` of a network on given inputs with a fixed multiplier per hidden unit and sample.
    static func maskedLoss(_ net: MLP, inputs: [[Float]], mask: [[Float]], labels: [SonarClass]) -> Double {
        let d = net.inputSize, hs = net.hiddenSize, p = net.parameters.map(Double.init)
        var total = 0.0
        for (s, x) in inputs.enumerated() {
            var h = [Double](repeating: 0, count: hs)
            for j in 0..<hs {
                var a = p[d * hs + j]
                for k in 0..<d { a += Double(x[k]) * p[k * hs + j] }
                h[j] = max(a, 0) * Double(mask[s][j])
            }
            var z = [0.0, 0.0]
            for c in 0..<2 {
                z[c] = p[net.offsetB2 + c]
                for j in 0..<hs { z[c] += p[net.offsetW2 + c * hs + j] * h[j] }
            }
            let m = max(z[0], z[1])
            total += m + log(exp(z[0] - m) + exp(z[1] - m)) - (labels[s] == .mine ? z[1] : z[0])
        }
        return total / Double(inputs.count)
    }

    /// The worst relative error of `analytic` against central differences of `loss` over the parameters (a step
    /// of 1e-3, small enough that no ReLU of these fixtures changes side).
    static func worstGradientError(_ net: MLP, _ analytic: [Float], _ loss: (MLP) -> Double) -> Double {
        let eps: Float = 1e-3
        var worst = 0.0
        for i in 0..<net.parameters.count {
            var plus = net, minus = net
            plus.parameters[i] += eps
            minus.parameters[i] -= eps
            let numeric = (loss(plus) - loss(minus)) / Double(2 * eps)
            let a = Double(analytic[i])
            worst = max(worst, abs(numeric - a) / max(1e-3, abs(numeric) + abs(a)))
        }
        return worst
    }

    /// A 5-`hidden`-2 network, `rows` standardised synthetic rows and a workspace holding the gradient on them.
    static func gradient(
        seed: UInt64, hidden: Int, rows: Int, dataSeed: UInt64, regulariser: Regulariser = Regulariser()
    ) -> (MLP, Dataset, Matrix, Workspace) {
        var rng = SplitMix64(seed: seed)
        let net = MLP(inputSize: 5, hiddenSize: hidden, outputSize: 2, generator: &rng)
        let data = SyntheticData.separable(count: rows, features: 5, seed: dataSeed)
        let x = Standardizer(fitting: data.features).transform(data.features)
        var workspace = Workspace(network: net)
        workspace.regulariser = regulariser
        var confusion = ConfusionMatrix()
        _ = workspace.computeGradient(
            network: net, features: x, labels: data.labels, batch: Array(0..<rows)[...], confusion: &confusion)
        return (net, data, x, workspace)
    }

    @Test(
        "with dropout masks and input noise fixed, analytic gradients match finite differences",
        arguments: [4, 9])
    func gradientWithDropoutAndNoise(hidden: Int) {
        var config = TrainingConfiguration()
        config.dropout = 0.5
        config.inputNoise = 0.3
        let (net, data, x, workspace) = Self.gradient(
            seed: 5, hidden: hidden, rows: 4, dataSeed: 2, regulariser: Regulariser(configuration: config, seed: 17))
        let mask = (0..<4).map { Array(workspace.dropoutMask.dropFirst($0 * hidden).prefix(hidden)) }
        let inputs = (0..<4).map { Array(workspace.noisyInputs.dropFirst($0 * 5).prefix(5)) }
        #expect(mask.joined().allSatisfy { $0 == 0 || $0 == 2 })
        #expect(mask.joined().contains(0) && mask.joined().contains(2))
        #expect(inputs.joined().elementsEqual(x.values) == false)
        let worst = Self.worstGradientError(net, workspace.gradient) {
            Self.maskedLoss($0, inputs: inputs, mask: mask, labels: data.labels)
        }
        #expect(worst < 2e-2, "worst relative gradient error \(worst)")
    }

    @Test("coupled weight decay's gradient is that of the loss plus (λ/2)·‖W‖², biases excluded")
    func gradientWithWeightDecay() {
        let (net, data, x, computed) = Self.gradient(seed: 8, hidden: 9, rows: 6, dataSeed: 4)
        var workspace = computed
        let lambda: Float = 0.3
        workspace.addCoupledWeightDecay(net, lambda)
        let ones = [[Float]](repeating: [Float](repeating: 1, count: 9), count: 6)
        let rows = (0..<6).map { x.row($0) }
        let worst = Self.worstGradientError(net, workspace.gradient) { n in
            var penalty = 0.0
            for i in Array(0..<n.offsetB1) + Array(n.offsetW2..<n.offsetB2) {
                penalty += Double(n.parameters[i]) * Double(n.parameters[i])
            }
            return Self.maskedLoss(n, inputs: rows, mask: ones, labels: data.labels) + Double(lambda) / 2 * penalty
        }
        #expect(worst < 2e-2, "worst relative gradient error \(worst)")
    }

    @Test("AdamW shrinks the weights by (1 − α·λ) before the Adam step and leaves the biases alone")
    func decoupledWeightDecay() {
        var rng = SplitMix64(seed: 1)
        var net = MLP(inputSize: 1, hiddenSize: 1, outputSize: 2, generator: &rng)
        net.parameters = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        var config = TrainingConfiguration()
        config.optimizer = .adamW
        config.weightDecay = 0.1
        var zeroGradient = net, workspace = Workspace(network: net)
        workspace.gradient = [0, 0, 0, 0, 0, 0]
        workspace.adam(&zeroGradient, config)
        let shrunk: Float = 0.5 * (1 - Float(0.01) * Float(0.1))
        #expect(zeroGradient.parameters == [shrunk, 0.5, shrunk, shrunk, 0.5, 0.5])
        // With a gradient: the decayed weight takes the plain Adam step, θ = 0.4995 − 0.01·g/|g|.
        var stepped = net
        workspace = Workspace(network: net)
        workspace.gradient = [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
        workspace.adam(&stepped, config)
        #expect(abs(stepped.parameters[0] - (shrunk - 0.01)) < 1e-6)
        #expect(abs(stepped.parameters[1] - 0.49) < 1e-6)
        // Coupled decay of the same λ moves the weights differently (it only rescales the Adam step here).
        var coupled = net
        config.optimizer = .adam
        workspace = Workspace(network: net)
        workspace.gradient = [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
        workspace.adam(&coupled, config)
        #expect(coupled.parameters[0] != stepped.parameters[0])
    }

    @Test("the Box–Muller normals have mean ≈ 0 and variance ≈ 1; dropout keeps ≈ 1 − p of the units")
    func noiseDistributions() {
        var config = TrainingConfiguration()
        config.dropout = 0.3
        var r = Regulariser(configuration: config, seed: 99)
        var sum = 0.0, squares = 0.0
        let pairs = 20_000
        for _ in 0..<pairs {
            let (a, b) = r.normalPair()
            sum += Double(a) + Double(b)
            squares += Double(a * a) + Double(b * b)
        }
        let mean = sum / Double(2 * pairs)
        #expect(abs(mean) < 0.03)
        #expect(abs(squares / Double(2 * pairs) - mean * mean - 1) < 0.05)
        let kept = (0..<20_000).filter { _ in r.keeps() }.count
        #expect(abs(Double(kept) / 20_000 - 0.7) < 0.02)
        #expect(abs(r.keepScale - 1 / 0.7) < 1e-6)
    }

    static func realSplit() throws -> (Dataset, Dataset) {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        let split = StratifiedSplit.split(labels: loaded.dataset.labels, testSize: 0.25, seed: 42)
        return (loaded.dataset.subset(split.train), loaded.dataset.subset(split.validation))
    }

    static func bits(_ r: TrainingResult) -> [[UInt32]] { r.model.members.map { $0.parameters.map(\.bitPattern) } }

    @Test("dropout, input noise, AdamW and ensembles are deterministic for a seed and change with it")
    func determinism() throws {
        let (train, validation) = try Self.realSplit()
        var config = TrainingConfiguration()
        config.epochs = 15
        config.batchSize = 32
        config.dropout = 0.2
        config.inputNoise = 0.1
        config.optimizer = .adamW
        config.weightDecay = 0.05
        config.ensemble = 2
        let a = Trainer(configuration: config).train(trainingSet: train, validationSet: validation)
        let b = Trainer(configuration: config).train(trainingSet: train, validationSet: validation)
        #expect(Self.bits(a) == Self.bits(b))
        #expect(a.history.map(\.validation) == b.history.map(\.validation))
        config.seed = 43
        let c = Trainer(configuration: config).train(trainingSet: train, validationSet: validation)
        #expect(Self.bits(a) != Self.bits(c))
        // Each option on its own changes the weights.
        var plain = TrainingConfiguration()
        plain.epochs = 15
        plain.batchSize = 32
        let base = Self.bits(Trainer(configuration: plain).train(trainingSet: train, validationSet: validation))
        let changes: [(inout TrainingConfiguration) -> Void] = [
            { $0.dropout = 0.2 }, { $0.inputNoise = 0.1 },
            {
                $0.optimizer = .adamW
                $0.weightDecay = 0.05
            },
        ]
        for change in changes {
            var changed = plain
            change(&changed)
            let r = Trainer(configuration: changed).train(trainingSet: train, validationSet: validation)
            #expect(Self.bits(r) != base)
        }
    }

    @Test("with the new options at their defaults, training is bit-identical to leaving them out")
    func offByDefault() throws {
        let (train, validation) = try Self.realSplit()
        for batch in [nil, 16] as [Int?] {
            var absent = TrainingConfiguration()
            absent.epochs = 20
            absent.batchSize = batch
            absent.weightDecay = 0.01
            var explicit = absent
            explicit.optimizer = .adam
            explicit.dropout = 0
            explicit.inputNoise = 0
            explicit.ensemble = 1
            let a = Trainer(configuration: absent).train(trainingSet: train, validationSet: validation)
            let b = Trainer(configuration: explicit).train(trainingSet: train, validationSet: validation)
            #expect(Self.bits(a) == Self.bits(b))
            #expect(a.history.map(\.validation) == b.history.map(\.validation))
            #expect(a.model.additionalMembers == nil)
            // AdamW without decay is plain Adam.
            var adamW = absent
            adamW.optimizer = .adamW
            adamW.weightDecay = 0
            var adam = absent
            adam.weightDecay = 0
            #expect(
                Self.bits(Trainer(configuration: adamW).train(trainingSet: train, validationSet: validation))
                    == Self.bits(Trainer(configuration: adam).train(trainingSet: train, validationSet: validation)))
        }
        // A default configuration encodes exactly the keys it had before the options existed.
        let json =
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingConfiguration())) as! [String: Any]
        #expect(
            Set(json.keys) == [
                "hiddenSize", "learningRate", "epochs", "weightDecay", "seed", "beta1", "beta2", "epsilon", "selection",
            ])
    }

    @Test("an ensemble trains each member as its own seeded run and averages their probabilities")
    func ensembleAveraging() throws {
        let (train, validation) = try Self.realSplit()
        var config = TrainingConfiguration()
        config.epochs = 10
        config.selection = .lastEpoch
        config.ensemble = 3
        let ensemble = Trainer(configuration: config).train(trainingSet: train, validationSet: validation)
        #expect(ensemble.model.members.count == 3)
        #expect(Trainer.memberSeed(42, member: 0) == 42)
        #expect(Set((0..<3).map { Trainer.memberSeed(42, member: $0) }).count == 3)
        // Member k is bit-identical to a single run with member k's seed.
        for k in 0..<3 {
            var single = config
            single.ensemble = 1
            single.seed = Trainer.memberSeed(42, member: k)
            let alone = Trainer(configuration: single).train(trainingSet: train, validationSet: validation)
            #expect(
                alone.model.network.parameters.map(\.bitPattern)
                    == ensemble.model.members[k].parameters.map(\.bitPattern))
        }
        // Probabilities are the members' mean, summed in member order.
        let x = validation.features
        let each = ensemble.model.members.map {
            TrainedModel(network: $0, standardizer: ensemble.model.standardizer).mineProbabilities(x)
        }
        let expected = (0..<x.rows).map { (each[0][$0] + each[1][$0] + each[2][$0]) / 3 }
        let got = ensemble.model.mineProbabilities(x)
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(ensemble.model.predict(x) == got.map { $0 > 1 - $0 ? .mine : .rock })
        let loss = zip(got, validation.labels).map { -Double(($1 == .mine ? $0 : 1 - $0).log) }.reduce(0, +)
        let evaluated = ensemble.model.evaluate(validation)
        #expect(abs(evaluated.metrics.loss - loss / Double(x.rows)) < 1e-4)
        #expect(evaluated.metrics == ensemble.history.last!.validation)
        #expect(evaluated.confusion == ensemble.validationConfusion)
        #expect(
            ensemble.history.last!.train == ensemble.model.evaluate(train).metrics,
            "an ensemble's training metrics are its averaged predictions after the epoch")
    }

    /// The artefact of a run on rows 0..<30 validated on 30..<40.
    static func trainedArtefact(_ config: TrainingConfiguration, _ data: Dataset) -> ModelArtefact {
        let result = Trainer(configuration: config).train(
            trainingSet: data.subset(Array(0..<30)), validationSet: data.subset(Array(30..<40)))
        return ModelArtefact(
            experimentID: "x", name: "e", createdAt: Date(timeIntervalSince1970: 0), result: result,
            dataFingerprint: "abc", configuration: config)
    }

    @Test("a K-member artefact round-trips and predicts bit-identically; a one-member artefact has no new keys")
    func ensembleArtefact() throws {
        let data = SyntheticData.separable(count: 40)
        var config = TrainingConfiguration()
        config.epochs = 5
        config.ensemble = 3
        config.dropout = 0.1
        let artefact = Self.trainedArtefact(config, data)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("model.json")
        try artefact.write(to: URL(fileURLWithPath: path))
        let back = try ModelArtefact.load(path: path)
        #expect(back == artefact)
        #expect(back.model.members.count == 3)
        #expect(
            back.model.mineProbabilities(data.features).map(\.bitPattern)
                == artefact.model.mineProbabilities(data.features).map(\.bitPattern))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"additionalMembers\"") && text.contains("\"ensemble\" : 3"))

        var mismatched = artefact
        mismatched.configuration.ensemble = 2
        try mismatched.write(to: URL(fileURLWithPath: dir.file("bad.json")))
        let error = #expect(throws: DataError.self) { try ModelArtefact.load(path: dir.file("bad.json")) }
        #expect(error?.description.contains("ensemble") == true)
        var ragged = artefact
        ragged.model.additionalMembers![1].parameters.removeLast()
        try ragged.write(to: URL(fileURLWithPath: dir.file("ragged.json")))
        #expect(throws: DataError.self) { try ModelArtefact.load(path: dir.file("ragged.json")) }

        var one = config
        one.ensemble = 1
        one.dropout = 0
        let plain = Self.trainedArtefact(one, data)
        let plainText = String(decoding: plain.encoded(), as: UTF8.self)
        for key in ["additionalMembers", "ensemble", "dropout", "inputNoise", "optimizer"] {
            #expect(!plainText.contains("\"\(key)\""), "\(key) in a one-member artefact")
        }
    }

    @Test("a cross-validation fit on its own equals the same fit inside a whole run")
    func singleFit() throws {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        var config = TrainingConfiguration()
        config.epochs = 8
        let whole = CrossValidation.run(dataset: loaded.dataset, folds: 3, repeats: 2, seed: 4, configuration: config)
        let splits = StratifiedSplit.kFold(labels: loaded.dataset.labels, folds: 3, repeats: 2, seed: 4)
        for i in [5, 0, 3] {
            let fit = CrossValidation.fit(
                dataset: loaded.dataset, splits: splits, index: i, folds: 3, configuration: config)
            #expect(fit == whole.fits[i])
            #expect(fit.repeatIndex == i / 3 && fit.fold == i % 3)
        }
    }
}

@Suite("Fast kernels give the reference bits")
struct KernelIdentityTests {
    static func randomValues(_ count: Int, seed: UInt64, in low: Float = -1, _ high: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.nextFloat(in: low, high) }
    }

    @Test("the loss and mine probability with fewer exponentials equal the reference formulas bit for bit")
    func lossShortcut() {
        var pairs: [(Float, Float)] = [
            (0, 0), (-0.0, 0), (0, -0.0), (1, 1), (30, -30), (-30, 30), (1e-30, -1e-30), (88, -88), (-100, 100),
            (.infinity, 1), (1, -.infinity), (.nan, 0), (.greatestFiniteMagnitude, -.greatestFiniteMagnitude),
        ]
        let a = Self.randomValues(4000, seed: 3, in: -20, 20), b = Self.randomValues(4000, seed: 4, in: -20, 20)
        pairs += zip(a, b).map { ($0, $1) }
        for (z0, z1) in pairs {
            for y in SonarClass.allCases {
                let fast = Trainer.lossAndMineProbability(z0, z1, y)
                let reference = Trainer.referenceLossAndMineProbability(z0, z1, y)
                #expect(fast.loss.bitPattern == reference.loss.bitPattern, "loss at \(z0), \(z1)")
                #expect(fast.p1.bitPattern == reference.p1.bitPattern, "p1 at \(z0), \(z1)")
            }
        }
    }

    @Test("Adam eight parameters at a time equals the scalar update", arguments: [1, 8, 21])
    func adamKernel(count: Int) {
        var p = Self.randomValues(count, seed: 1), m = Self.randomValues(count, seed: 2)
        var v = Self.randomValues(count, seed: 3, in: 0, 1)
        let g = Self.randomValues(count, seed: 4)
        var (pr, mr, vr) = (p, m, v)
        let (b1, b2, eps, lr, c1, c2): (Float, Float, Float, Float, Float, Float) = (
            0.9, 0.999, 1e-8, 0.01, 0.19, 0.002
        )
        for i in 0..<count {
            mr[i] = b1 * mr[i] + (1 - b1) * g[i]
            vr[i] = b2 * vr[i] + (1 - b2) * g[i] * g[i]
            pr[i] -= lr * (mr[i] / c1) / ((vr[i] / c2).squareRoot() + eps)
        }
        Kernels.adam(
            &p, g, &m, &v, count: count, beta1: b1, beta2: b2, epsilon: eps, learningRate: lr, correction1: c1,
            correction2: c2)
        #expect(p.map(\.bitPattern) == pr.map(\.bitPattern))
        #expect(m.map(\.bitPattern) == mr.map(\.bitPattern) && v.map(\.bitPattern) == vr.map(\.bitPattern))
    }

    @Test("the blocked backward pass equals the scalar loops, with and without a dropout mask", arguments: [5, 8, 13])
    func backwardKernel(hidden hs: Int) {
        for masked in [false, true] {
            let h = Self.randomValues(hs, seed: 5).map { max($0, 0) }, w = Self.randomValues(2 * hs, seed: 6)
            let mask = Self.randomValues(hs, seed: 7).map { $0 > 0 ? Float(2) : 0 }
            var gw = Self.randomValues(2 * hs, seed: 8), gb = Self.randomValues(hs, seed: 9)
            var dh = [Float](repeating: 9, count: hs)
            var (gwr, gbr, dhr) = (gw, gb, dh)
            let (dz0, dz1): (Float, Float) = (0.37, -0.37)
            for j in 0..<hs {
                gwr[j] += dz0 * h[j]
                gwr[hs + j] += dz1 * h[j]
                var back = dz0 * w[j] + dz1 * w[hs + j]
                if masked { back = back * mask[j] }
                dhr[j] = h[j] > 0 ? back : 0
                gbr[j] += dhr[j]
            }
            gw.withUnsafeMutableBufferPointer { g in
                mask.withUnsafeBufferPointer { m in
                    Kernels.backward(
                        h: h, mask: masked ? m.baseAddress! : nil, w20: w, w21: Array(w[hs...]), dz0: dz0, dz1: dz1,
                        hs: hs, gw20: g.baseAddress!, gw21: g.baseAddress! + hs, gb1: &gb, dh: &dh)
                }
            }
            #expect(gw.map(\.bitPattern) == gwr.map(\.bitPattern))
            #expect(gb.map(\.bitPattern) == gbr.map(\.bitPattern) && dh.map(\.bitPattern) == dhr.map(\.bitPattern))
        }
    }

    @Test("four samples' logits at once equal the one-sample output layer", arguments: [3, 16, 41])
    func outputKernel(hidden hs: Int) {
        var rng = SplitMix64(seed: UInt64(hs))
        let net = MLP(inputSize: 3, hiddenSize: hs, outputSize: 2, generator: &rng)
        let rows = Self.randomValues(4 * hs, seed: 10, in: 0, 2)
        var z = [Float](repeating: 0, count: 8)
        net.parameters.withUnsafeBufferPointer { p in
            rows.withUnsafeBufferPointer { r in
                let h = r.baseAddress!
                Kernels.output4(
                    (h, h + hs, h + 2 * hs, h + 3 * hs), p.baseAddress! + net.offsetW2, p.baseAddress! + net.offsetB2,
                    hs: hs, &z)
                for s in 0..<4 {
                    var one = [Float](repeating: 0, count: 2)
                    net.output(p, h + s * hs, &one)
                    #expect(one.map(\.bitPattern) == [z[2 * s].bitPattern, z[2 * s + 1].bitPattern])
                }
            }
        }
    }
}

@Suite("AVX kernels")
struct AVXKernelTests {
    @Test("the AVX path is taken exactly when the processor reports AVX")
    func detection() throws {
        #if arch(x86_64) && os(Linux)
            let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ") }
            #expect(Kernels.hasAVX == (flags?.contains("avx") ?? false))
        #else
            #expect(!Kernels.hasAVX)
        #endif
    }

    @Test(
        "hidden activations and the weight gradient equal the portable kernels bit for bit", arguments: [5, 8, 13, 40])
    func sameBits(hidden hs: Int) {
        let d = 7
        let x = KernelIdentityTests.randomValues(4 * d, seed: 21, in: -2, 2)
        let w = KernelIdentityTests.randomValues(d * hs, seed: 22), b = KernelIdentityTests.randomValues(hs, seed: 23)
        let dh = KernelIdentityTests.randomValues(4 * hs, seed: 24)
        var fast = [Float](repeating: 0, count: 4 * hs), portable = fast
        var gFast = KernelIdentityTests.randomValues(d * hs, seed: 25), gPortable = gFast
        x.withUnsafeBufferPointer { xb in
            dh.withUnsafeBufferPointer { db in
                let xp = xb.baseAddress!, dp = db.baseAddress!
                let xs = (xp, xp + d, xp + 2 * d, xp + 3 * d), ds = (dp, dp + hs, dp + 2 * hs, dp + 3 * hs)
                fast.withUnsafeMutableBufferPointer { f in
                    let h = f.baseAddress!
                    Kernels.hidden4(xs, w, b, d: d, hs: hs, (h, h + hs, h + 2 * hs, h + 3 * hs))
                }
                portable.withUnsafeMutableBufferPointer { f in
                    let h = f.baseAddress!
                    Kernels.hidden4Portable(xs, w, b, d: d, hs: hs, (h, h + hs, h + 2 * hs, h + 3 * hs))
                }
                Kernels.accumulateOuter4(xs, ds, &gFast, d: d, hs: hs)
                Kernels.accumulateOuter4Portable(xs, ds, &gPortable, d: d, hs: hs)
            }
        }
        #expect(fast.map(\.bitPattern) == portable.map(\.bitPattern))
        #expect(fast.contains(0) && fast.contains { $0 > 0 })
        #expect(gFast.map(\.bitPattern) == gPortable.map(\.bitPattern))
    }
}
