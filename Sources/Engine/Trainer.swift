import Foundation

/// A trained network (or an ensemble of networks) together with the standardisation it expects.
///
/// An ensemble of `K` members keeps member 0 in ``network`` and members `1…K−1` in ``additionalMembers``
/// (absent for a single network, so a single-network model encodes exactly as before ensembles existed). An
/// ensemble predicts the average of its members' class probabilities, summed in member order.
public struct TrainedModel: Sendable, Equatable, Codable {
    /// The network's weights (member 0 of an ensemble).
    public var network: MLP
    /// Standardisation fitted on the training split.
    public var standardizer: Standardizer
    /// Members 1…K−1 of an ensemble, all of ``network``'s shape; `nil` for a single network.
    public var additionalMembers: [MLP]?

    /// Creates a model from its parts.
    /// - Parameters:
    ///   - network: the single network, or member 0 of an ensemble.
    ///   - standardizer: the standardisation the networks expect.
    ///   - additionalMembers: members 1…K−1; `nil` or empty for a single network.
    public init(network: MLP, standardizer: Standardizer, additionalMembers: [MLP]? = nil) {
        self.network = network
        self.standardizer = standardizer
        self.additionalMembers = additionalMembers?.isEmpty == false ? additionalMembers : nil
    }

    /// Every member in order: ``network`` first, then ``additionalMembers``.
    public var members: [MLP] { [network] + (additionalMembers ?? []) }

    /// Class probabilities for standardised features, `n × 2`: the softmax of the single network, or the mean of
    /// the members' softmax outputs (summed in member order, then divided by `K`).
    func probabilities(standardized x: Matrix) -> Matrix {
        var p = network.probabilities(x)
        guard let others = additionalMembers else { return p }
        for member in others {
            let q = member.probabilities(x)
            for i in 0..<p.values.count { p.values[i] += q.values[i] }
        }
        let k = Float(others.count + 1)
        for i in 0..<p.values.count { p.values[i] /= k }
        return p
    }

    /// P(mine) for each row of raw (unstandardised) features, `n × 60` → `n` values in `[0, 1]`.
    public func mineProbabilities(_ features: Matrix) -> [Float] {
        let p = probabilities(standardized: standardizer.transform(features))
        return (0..<p.rows).map { p.values[$0 * p.columns + SonarClass.mine.rawValue] }
    }

    /// The predicted class of each row: mine when its logit (for an ensemble, its mean probability) is strictly
    /// larger, otherwise rock.
    public func predict(_ features: Matrix) -> [SonarClass] {
        let x = standardizer.transform(features)
        guard additionalMembers != nil else {
            let z = network.logits(x)
            return (0..<z.rows).map { z.values[$0 * 2 + 1] > z.values[$0 * 2] ? .mine : .rock }
        }
        let p = probabilities(standardized: x)
        return (0..<p.rows).map { p.values[$0 * 2 + 1] > p.values[$0 * 2] ? .mine : .rock }
    }

    /// Mean cross-entropy and confusion matrix on a labelled dataset.
    public func evaluate(_ dataset: Dataset) -> (metrics: SplitMetrics, confusion: ConfusionMatrix) {
        evaluate(standardized: standardizer.transform(dataset.features), labels: dataset.labels)
    }

    /// ``evaluate(_:)`` on already standardised features.
    func evaluate(standardized x: Matrix, labels: [SonarClass]) -> (metrics: SplitMetrics, confusion: ConfusionMatrix) {
        guard additionalMembers != nil else { return Trainer.score(logits: network.logits(x), labels: labels) }
        return Trainer.score(probabilities: probabilities(standardized: x), labels: labels)
    }
}

/// What a per-epoch observer tells the trainer.
public enum TrainingControl: Sendable {
    /// Go on with the next epoch.
    case proceed
    /// Stop after this epoch; the run ends as cancelled.
    case stop
}

/// The outcome of a training run.
public struct TrainingResult: Sendable {
    /// The kept model (see ``TrainingConfiguration/selection``).
    public let model: TrainedModel
    /// One record per epoch trained, in order.
    public let history: [EpochMetrics]
    /// The 1-based epoch whose weights ``model`` holds.
    public let bestEpoch: Int
    /// True when early stopping ended the run before the configured epochs.
    public let stoppedEarly: Bool
    /// True when an observer or task cancellation stopped the run.
    public let wasCancelled: Bool
    /// Validation confusion matrix of the kept model.
    public let validationConfusion: ConfusionMatrix
    /// Training confusion matrix of the kept model.
    public let trainConfusion: ConfusionMatrix

    /// Validation metrics of the kept epoch.
    public var bestValidation: SplitMetrics { history[bestEpoch - 1].validation }
}

/// One event of a training run as published on ``Trainer/events(trainingSet:validationSet:stop:)``.
public enum TrainingEvent: Sendable {
    /// An epoch finished.
    case epoch(EpochMetrics)
    /// The run ended (finished, stopped early or cancelled).
    case finished(TrainingResult)
}

/// Trains the 60-H-2 perceptron with softmax cross-entropy and Adam.
///
/// - Standardisation is fitted on the training split only, then applied to both splits.
/// - Loss: mean softmax cross-entropy over the batch; gradient `∂L/∂z = (softmax(z) − onehot(y)) / n`.
/// - Optimiser: Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1):
///   `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `θ ← θ − α·m̂ / (√v̂ + ε)` with bias-corrected
///   `m̂ = m/(1−β1ᵗ)`, `v̂ = v/(1−β2ᵗ)`, `t` counting updates. With ``Optimizer/adamW`` the weights first
///   decay, `w ← w·(1 − α·λ)` (Loshchilov & Hutter 2019, decoupled weight decay).
/// - Regularisation (training only): Gaussian input noise and inverted dropout on the hidden layer, drawn
///   from a stream of their own (``noiseSeed(_:)``), so switching them on changes neither the initial weights
///   nor the batch order.
/// - Ensembles: `K` members train in lockstep, epoch by epoch, each with its own seed (``memberSeed(_:member:)``);
///   the per-epoch metrics, the kept epoch and early stopping use the ensemble's averaged probabilities.
/// - Deterministic: the same configuration, seed and data give bit-identical weights and metrics on one
///   machine (all reductions run in a fixed order).
public struct Trainer: Sendable {
    /// The run's hyper-parameters.
    public var configuration: TrainingConfiguration

    /// Creates a trainer.
    public init(configuration: TrainingConfiguration) {
        self.configuration = configuration
    }

    /// The seed of ensemble member `member`: `seed` itself for member 0 (so a one-member ensemble is the plain
    /// network), else the first output of ``SplitMix64/derived(seed:stream:)`` with stream
    /// `0x454E_5345_0000_0000 + member` (a range no cross-validation fit index reaches).
    public static func memberSeed(_ seed: UInt64, member: Int) -> UInt64 {
        guard member > 0 else { return seed }
        var g = SplitMix64.derived(seed: seed, stream: 0x454E_5345_0000_0000 &+ UInt64(member))
        return g.next()
    }

    /// The seed of a member's dropout and input-noise stream: ``SplitMix64/derived(seed:stream:)`` of the
    /// member's seed with stream `0x4E4F_4953_4500_0000` ("NOISE"), independent of its initialisation and
    /// batch-order stream.
    public static func noiseSeed(_ memberSeed: UInt64) -> UInt64 {
        var g = SplitMix64.derived(seed: memberSeed, stream: 0x4E4F_4953_4500_0000)
        return g.next()
    }

    /// One member's state during a run.
    struct Member {
        var network: MLP
        var workspace: Workspace
        var rng: SplitMix64
        var order: [Int]

        /// One pass over the training rows (shuffled first when mini-batched); returns the summed loss.
        mutating func epoch(
            features: Matrix, labels: [SonarClass], batchSize: Int, configuration: TrainingConfiguration,
            confusion: inout ConfusionMatrix
        ) -> Double {
            if batchSize < order.count { order.shuffle(using: &rng) }
            var lossSum = 0.0
            var batchStart = 0
            while batchStart < order.count {
                let batch = order[batchStart..<min(batchStart + batchSize, order.count)]
                lossSum += workspace.step(
                    network: &network, features: features, labels: labels, batch: batch,
                    configuration: configuration, confusion: &confusion)
                batchStart += batchSize
            }
            return lossSum
        }
    }

    /// Trains synchronously, calling `onEpoch` after every epoch.
    /// - Parameters:
    ///   - trainingSet: raw features and labels to fit; at least one row.
    ///   - validationSet: raw features and labels to measure after every epoch; at least one row.
    ///   - onEpoch: called on the training thread after each epoch; return ``TrainingControl/stop`` to cancel.
    ///     The run also stops between epochs when the current task is cancelled.
    /// - Returns: the kept model, the per-epoch history and the confusion matrices. A single network's training
    ///   metrics are those of the epoch's forward passes (with noise and dropout when set); an ensemble's are its
    ///   averaged probabilities on the training split after the epoch.
    public func train(
        trainingSet: Dataset, validationSet: Dataset,
        onEpoch: (EpochMetrics) -> TrainingControl = { _ in .proceed }
    ) -> TrainingResult {
        precondition(trainingSet.count > 0 && validationSet.count > 0, "Trainer needs non-empty splits")
        precondition(configuration.epochs >= 1, "Trainer needs at least one epoch")
        precondition(configuration.ensemble >= 1, "Trainer needs at least one ensemble member")
        let config = configuration
        let standardizer = Standardizer(fitting: trainingSet.features)
        let xTrain = standardizer.transform(trainingSet.features)
        let xValidation = standardizer.transform(validationSet.features)
        var members = (0..<config.ensemble).map { k -> Member in
            let seed = Trainer.memberSeed(config.seed, member: k)
            var rng = SplitMix64(seed: seed)
            let network = MLP(
                inputSize: trainingSet.featureCount, hiddenSize: config.hiddenSize,
                outputSize: SonarClass.allCases.count, generator: &rng)
            var workspace = Workspace(network: network)
            workspace.regulariser = Regulariser(configuration: config, seed: Trainer.noiseSeed(seed))
            return Member(network: network, workspace: workspace, rng: rng, order: Array(0..<trainingSet.count))
        }
        let isEnsemble = members.count > 1
        let batchSize = min(config.batchSize ?? trainingSet.count, trainingSet.count)
        let start = ContinuousClock.now
        var history = [EpochMetrics]()
        history.reserveCapacity(config.epochs)
        var best: (epoch: Int, parameters: [[Float]])? = nil
        var bestLoss = Double.infinity
        var epochsWithoutImprovement = 0
        var stoppedEarly = false
        var wasCancelled = false

        for epoch in 1...config.epochs {
            var confusion = ConfusionMatrix()
            var lossSum = 0.0
            for k in members.indices {
                lossSum += members[k].epoch(
                    features: xTrain, labels: trainingSet.labels, batchSize: batchSize, configuration: config,
                    confusion: &confusion)
            }
            let trainMetrics: SplitMetrics
            let validation: (metrics: SplitMetrics, confusion: ConfusionMatrix)
            if isEnsemble {
                let model = TrainedModel(
                    network: members[0].network, standardizer: standardizer,
                    additionalMembers: members.dropFirst().map(\.network))
                trainMetrics = model.evaluate(standardized: xTrain, labels: trainingSet.labels).metrics
                validation = model.evaluate(standardized: xValidation, labels: validationSet.labels)
            } else {
                trainMetrics = SplitMetrics(loss: lossSum / Double(trainingSet.count), confusion: confusion)
                validation = Trainer.score(logits: members[0].network.logits(xValidation), labels: validationSet.labels)
            }
            let elapsed = (ContinuousClock.now - start).seconds
            let record = EpochMetrics(
                epoch: epoch, train: trainMetrics, validation: validation.metrics, elapsedSeconds: elapsed)
            history.append(record)

            if best == nil || isBetter(record, than: history[best!.epoch - 1]) {
                best = (epoch, members.map(\.network.parameters))
            }
            if record.validation.loss < bestLoss {
                bestLoss = record.validation.loss
                epochsWithoutImprovement = 0
            } else {
                epochsWithoutImprovement += 1
            }
            if onEpoch(record) == .stop || Task.isCancelled {
                wasCancelled = epoch < config.epochs
                break
            }
            if let patience = config.earlyStoppingPatience, patience > 0, epochsWithoutImprovement >= patience {
                stoppedEarly = epoch < config.epochs
                break
            }
        }
        var kept = members.map(\.network)
        if let best { for k in kept.indices { kept[k].parameters = best.parameters[k] } }
        let model = TrainedModel(
            network: kept[0], standardizer: standardizer, additionalMembers: Array(kept.dropFirst()))
        let bestEpoch = best?.epoch ?? history.count
        return TrainingResult(
            model: model, history: history, bestEpoch: bestEpoch, stoppedEarly: stoppedEarly,
            wasCancelled: wasCancelled, validationConfusion: model.evaluate(validationSet).confusion,
            trainConfusion: model.evaluate(trainingSet).confusion)
    }

    /// Trains on a background task and publishes one event per epoch, then the result.
    ///
    /// Every epoch is buffered, so a store that needs them all gets them all; a UI that wants only the
    /// newest can skip ahead. Cancelling the consuming task, or ending the iteration early, stops
    /// training between epochs.
    /// - Parameters:
    ///   - trainingSet: raw features and labels to fit.
    ///   - validationSet: raw features and labels to measure after every epoch.
    ///   - stop: raise it to stop between epochs; the run then ends cancelled and still publishes its result.
    public func events(
        trainingSet: Dataset, validationSet: Dataset, stop: StopSignal = StopSignal()
    ) -> AsyncStream<TrainingEvent> {
        let (stream, continuation) = AsyncStream<TrainingEvent>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { _ in stop.raise() }
        let trainer = self
        Thread.detachNewThread {
            let result = trainer.train(trainingSet: trainingSet, validationSet: validationSet) { metrics in
                continuation.yield(.epoch(metrics))
                return stop.isRaised ? .stop : .proceed
            }
            continuation.yield(.finished(result))
            continuation.finish()
        }
        return stream
    }

    private func isBetter(_ candidate: EpochMetrics, than current: EpochMetrics) -> Bool {
        switch configuration.selection {
        case .validationLoss: return candidate.validation.loss < current.validation.loss
        case .validationAccuracy: return candidate.validation.accuracy > current.validation.accuracy
        case .validationF1: return candidate.validation.macroF1 > current.validation.macroF1
        case .lastEpoch: return true
        }
    }

    /// Mean cross-entropy and confusion matrix of logits against labels.
    /// - Parameters:
    ///   - logits: `n × 2`.
    ///   - labels: `n` classes.
    static func score(logits: Matrix, labels: [SonarClass]) -> (metrics: SplitMetrics, confusion: ConfusionMatrix) {
        var confusion = ConfusionMatrix()
        var loss = 0.0
        for r in 0..<logits.rows {
            let z0 = logits.values[r * 2], z1 = logits.values[r * 2 + 1]
            let y = labels[r]
            loss += Double(crossEntropy(z0, z1, y))
            confusion.counts[y.rawValue][z1 > z0 ? 1 : 0] += 1
        }
        let n = Double(max(logits.rows, 1))
        return (SplitMetrics(loss: loss / n, confusion: confusion), confusion)
    }

    /// Mean cross-entropy `−log p_y` (with `p_y` floored at the smallest normal `Float`) and confusion matrix of
    /// class probabilities against labels; mine is predicted when `p_mine > p_rock`.
    /// - Parameters:
    ///   - probabilities: `n × 2`, rows summing to 1.
    ///   - labels: `n` classes.
    /// - Returns: the metrics (mean loss, accuracy, macro-F1) and the confusion matrix.
    static func score(probabilities: Matrix, labels: [SonarClass]) -> (
        metrics: SplitMetrics, confusion: ConfusionMatrix
    ) {
        var confusion = ConfusionMatrix()
        var loss = 0.0
        for r in 0..<probabilities.rows {
            let p0 = probabilities.values[r * 2], p1 = probabilities.values[r * 2 + 1]
            let y = labels[r]
            loss -= Double(max(y == .mine ? p1 : p0, Float.leastNormalMagnitude).log)
            confusion.counts[y.rawValue][p1 > p0 ? 1 : 0] += 1
        }
        let n = Double(max(probabilities.rows, 1))
        return (SplitMetrics(loss: loss / n, confusion: confusion), confusion)
    }

    /// Softmax cross-entropy of two logits, computed stably as `logsumexp(z) − z_y`.
    @inline(__always)
    static func crossEntropy(_ z0: Float, _ z1: Float, _ y: SonarClass) -> Float {
        lossAndMineProbability(z0, z1, y).loss
    }

    /// The reference formulas: `logsumexp(z) − z_y` with `m = max(z0, z1)` and both exponentials, and
    /// `p1 = 1 / (1 + e^(z0 − z1))` (the two-class softmax).
    static func referenceLossAndMineProbability(_ z0: Float, _ z1: Float, _ y: SonarClass) -> (
        loss: Float, p1: Float
    ) {
        let m = max(z0, z1)
        let lse = m + ((z0 - m).exp + (z1 - m).exp).log
        return (lse - (y == .mine ? z1 : z0), 1 / (1 + (z0 - z1).exp))
    }

    /// ``referenceLossAndMineProbability(_:_:_:)`` with fewer exponentials and the same bits: for finite logits
    /// the larger one's `e^(z − m)` is `e^0 = 1` exactly, and when `z1` is the larger `e^(z0 − m)` is the
    /// `e^(z0 − z1)` of `p1`. Two or three transcendental calls instead of four.
    @inline(__always)
    static func lossAndMineProbability(_ z0: Float, _ z1: Float, _ y: SonarClass) -> (loss: Float, p1: Float) {
        guard z0.isFinite, z1.isFinite else { return referenceLossAndMineProbability(z0, z1, y) }
        let m = max(z0, z1)
        let e0: Float = z0 == m ? 1 : (z0 - m).exp
        let e1: Float = z1 == m ? 1 : (z1 - m).exp
        let lse = m + (e0 + e1).log
        let p1 = 1 / (1 + (z1 == m ? e0 : (z0 - z1).exp))
        return (lse - (y == .mine ? z1 : z0), p1)
    }
}

/// The training-only noise of one member: Gaussian input noise and inverted dropout, from one seeded stream.
///
/// Draws, per group of up to four samples in batch order: first the input noise of each sample (feature order,
/// two features per Box–Muller pair; an odd last feature discards the pair's second value), then the dropout
/// keep decisions of each sample's hidden units (unit order, one ``SplitMix64/next()`` each). Nothing is drawn
/// for an option that is off, so a run without them consumes no random numbers here.
struct Regulariser {
    /// Dropout probability p of a hidden unit; 0 = off.
    var dropout: Float = 0
    /// Scale of a kept unit, `1/(1 − p)` (inverted dropout), rounded once from `Double`.
    var keepScale: Float = 1
    /// Standard deviation σ of the input noise; 0 = off.
    var inputNoise: Float = 0
    var rng = SplitMix64(seed: 0)

    /// Both options off.
    init() {}

    /// The configuration's options with a stream seeded by `seed`.
    init(configuration: TrainingConfiguration, seed: UInt64) {
        dropout = Float(configuration.dropout)
        keepScale = Float(1 / (1 - configuration.dropout))
        inputNoise = Float(configuration.inputNoise)
        rng = SplitMix64(seed: seed)
    }

    /// Whether a hidden unit is kept: a uniform `[0, 1)` value with 24 random bits is `≥ p`.
    @inline(__always)
    mutating func keeps() -> Bool {
        Float(rng.next() >> 40) / Float(1 << 24) >= dropout
    }

    /// Two independent standard normal values by the Box–Muller transform (G. E. P. Box and M. E. Muller,
    /// "A Note on the Generation of Random Normal Deviates", Ann. Math. Statist. 29(2), 1958):
    /// `√(−2 ln u1)·(cos 2πu2, sin 2πu2)` with `u1 ∈ (0, 1]`, `u2 ∈ [0, 1)` of 53 random bits each, in `Double`.
    @inline(__always)
    mutating func normalPair() -> (Float, Float) {
        let u1 = (Double(rng.next() >> 11) + 1) * 0x1p-53
        let u2 = Double(rng.next() >> 11) * 0x1p-53
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        return (Float(r * Foundation.cos(angle)), Float(r * Foundation.sin(angle)))
    }
}

/// Gradient and Adam buffers, allocated once per run.
struct Workspace {
    var gradient: [Float]
    var firstMoment: [Float]
    var secondMoment: [Float]
    /// Every per-group buffer in one allocation, at the offsets below: hidden activations (`4 × hidden`), their
    /// gradients (`4 × hidden`), the dropout multipliers (`4 × hidden`), an all-zero input row that pads the last
    /// group of four samples (`inputs`), the noisy inputs (`4 × inputs`) and the group's eight logits.
    var scratch: [Float]
    let hiddenSize: Int
    let inputSize: Int
    /// Input noise and dropout (off unless set).
    var regulariser = Regulariser()
    var step = 0

    init(network: MLP) {
        let n = network.parameters.count
        gradient = [Float](repeating: 0, count: n)
        firstMoment = gradient
        secondMoment = gradient
        hiddenSize = network.hiddenSize
        inputSize = network.inputSize
        scratch = [Float](repeating: 0, count: 12 * hiddenSize + 5 * inputSize + 8)
    }

    var offsetHiddenGradient: Int { 4 * hiddenSize }
    var offsetMask: Int { 8 * hiddenSize }
    var offsetZeros: Int { 12 * hiddenSize }
    var offsetNoisy: Int { offsetZeros + inputSize }
    var offsetLogits: Int { offsetNoisy + 4 * inputSize }

    /// The noisy inputs of the last group of four samples (`4 × inputs`), when input noise is on.
    var noisyInputs: ArraySlice<Float> { scratch[offsetNoisy..<(offsetNoisy + 4 * inputSize)] }
    /// The dropout multipliers (0 or `1/(1 − p)`) of the last group (`4 × hidden`), when dropout is on.
    var dropoutMask: ArraySlice<Float> { scratch[offsetMask..<(offsetMask + 4 * hiddenSize)] }

    /// Forward, backward and one Adam update on `batch`; returns the summed (not mean) batch loss.
    mutating func step(
        network: inout MLP, features: Matrix, labels: [SonarClass], batch: ArraySlice<Int>,
        configuration: TrainingConfiguration, confusion: inout ConfusionMatrix
    ) -> Double {
        let lossSum = computeGradient(
            network: network, features: features, labels: labels, batch: batch, confusion: &confusion)
        adam(&network, configuration)
        return lossSum
    }

    /// Forward and backward pass: fills ``gradient`` with `∂(mean loss)/∂θ` over `batch` and returns the summed
    /// batch loss. Counts predictions into `confusion`. Input noise and dropout, when ``regulariser`` sets them,
    /// are drawn here and left in ``noisyInputs`` and ``dropoutMask`` for the last group of samples.
    ///
    /// Samples go in groups of four (``Kernels``); every sum keeps the order of the plain per-sample loops.
    mutating func computeGradient(
        network: MLP, features: Matrix, labels: [SonarClass], batch: ArraySlice<Int>, confusion: inout ConfusionMatrix
    ) -> Double {
        let d = network.inputSize, hs = network.hiddenSize
        let oB1 = network.offsetB1, oW2 = network.offsetW2, oB2 = network.offsetB2
        let scale = 1 / Float(batch.count)
        var lossSum = 0.0
        var counts = confusion.counts
        var noise = regulariser
        let sigma = noise.inputNoise, useNoise = noise.inputNoise > 0, useDropout = noise.dropout > 0
        let oDh = offsetHiddenGradient, oMask = offsetMask, oZeros = offsetZeros, oNoisy = offsetNoisy
        let oLogits = offsetLogits
        gradient.withUnsafeMutableBufferPointer { gBuf in
            scratch.withUnsafeMutableBufferPointer { sBuf in
                network.parameters.withUnsafeBufferPointer { pBuf in
                    features.values.withUnsafeBufferPointer { xBuf in
                        let g = gBuf.baseAddress!, p = pBuf.baseAddress!, xAll = xBuf.baseAddress!
                        g.update(repeating: 0, count: gBuf.count)
                        let h = sBuf.baseAddress!, dh = h + oDh, mask = h + oMask
                        let zeros = UnsafePointer(h + oZeros), noisy = h + oNoisy, logits = h + oLogits
                        let w2 = p + oW2
                        let gw20 = g + oW2, gw21 = g + oW2 + hs, gb1 = g + oB1
                        var start = batch.startIndex
                        while start < batch.endIndex {
                            let n = min(4, batch.endIndex - start)
                            if useNoise {
                                for i in 0..<n {
                                    let src = xAll + batch[start + i] * d, dst = noisy + i * d
                                    var k = 0
                                    while k < d {
                                        let (a, b) = noise.normalPair()
                                        dst[k] = src[k] + sigma * a
                                        if k + 1 < d { dst[k + 1] = src[k + 1] + sigma * b }
                                        k += 2
                                    }
                                }
                            }
                            func row(_ i: Int) -> UnsafePointer<Float> {
                                guard i < n else { return zeros }
                                return useNoise ? UnsafePointer(noisy + i * d) : xAll + batch[start + i] * d
                            }
                            let xs = (row(0), row(1), row(2), row(3))
                            Kernels.hidden4(xs, p, p + oB1, d: d, hs: hs, (h, h + hs, h + 2 * hs, h + 3 * hs))
                            if useDropout {
                                for i in 0..<(n * hs) {
                                    let m = noise.keeps() ? noise.keepScale : 0
                                    mask[i] = m
                                    h[i] *= m
                                }
                            }
                            Kernels.output4(
                                (
                                    UnsafePointer(h), UnsafePointer(h + hs), UnsafePointer(h + 2 * hs),
                                    UnsafePointer(h + 3 * hs)
                                ), w2, p + oB2, hs: hs, logits)
                            for s in 0..<4 {
                                let dhS = dh + s * hs
                                guard s < n else {
                                    dhS.update(repeating: 0, count: hs)
                                    continue
                                }
                                let z0 = logits[2 * s], z1 = logits[2 * s + 1]
                                let y = labels[batch[start + s]]
                                // Softmax gradient for two classes: p1 = σ(z1 − z0).
                                let (loss, p1) = Trainer.lossAndMineProbability(z0, z1, y)
                                lossSum += Double(loss)
                                counts[y.rawValue][z1 > z0 ? 1 : 0] += 1
                                let dz1 = (p1 - (y == .mine ? 1 : 0)) * scale
                                let dz0 = -dz1
                                g[oB2] += dz0
                                g[oB2 + 1] += dz1
                                Kernels.backward(
                                    h: UnsafePointer(h + s * hs), mask: useDropout ? UnsafePointer(mask + s * hs) : nil,
                                    w20: w2, w21: w2 + hs, dz0: dz0, dz1: dz1, hs: hs, gw20: gw20, gw21: gw21,
                                    gb1: gb1, dh: dhS)
                            }
                            Kernels.accumulateOuter4(
                                xs,
                                (
                                    UnsafePointer(dh), UnsafePointer(dh + hs), UnsafePointer(dh + 2 * hs),
                                    UnsafePointer(dh + 3 * hs)
                                ),
                                g, d: d, hs: hs)
                            start += 4
                        }
                    }
                }
            }
        }
        regulariser = noise
        confusion.counts = counts
        return lossSum
    }

    /// Coupled L2 weight decay: adds `λ·w` to the gradient of every weight of `W1` and `W2` (not the biases), the
    /// gradient of `(λ/2)·‖W‖²`.
    mutating func addCoupledWeightDecay(_ network: MLP, _ wd: Float) {
        let weightsEnd1 = network.offsetB1, weightsStart2 = network.offsetW2, weightsEnd2 = network.offsetB2
        network.parameters.withUnsafeBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<weightsEnd1 { g[i] += wd * p[i] }
                for i in weightsStart2..<weightsEnd2 { g[i] += wd * p[i] }
            }
        }
    }

    /// One Adam update of every parameter from ``gradient`` (Kingma & Ba 2015, Algorithm 1).
    ///
    /// Weight decay λ touches the weights `W1` and `W2` only, never the biases: a bias shifts a unit's threshold
    /// and does not add to the function's sensitivity to its inputs, so shrinking it regularises nothing and
    /// only biases the fit (the usual practice; Loshchilov & Hutter decay "all weights", and PyTorch users
    /// exclude biases with a parameter group). With ``Optimizer/adam`` it is coupled, `g ← g + λ·w`; with
    /// ``Optimizer/adamW`` it is decoupled, `w ← w·(1 − α·λ)` before the Adam step, exactly as
    /// `torch.optim.AdamW` orders it.
    mutating func adam(_ network: inout MLP, _ c: TrainingConfiguration) {
        step += 1
        let b1 = Float(c.beta1), b2 = Float(c.beta2), eps = Float(c.epsilon), lr = Float(c.learningRate)
        let correction1 = 1 - Float(Foundation.pow(c.beta1, Double(step)))
        let correction2 = 1 - Float(Foundation.pow(c.beta2, Double(step)))
        let wd = Float(c.weightDecay)
        let decoupled = c.optimizer == .adamW
        let shrink = 1 - lr * wd
        let weightsEnd1 = network.offsetB1, weightsStart2 = network.offsetW2, weightsEnd2 = network.offsetB2
        let n = network.parameters.count
        if wd != 0 && !decoupled { addCoupledWeightDecay(network, wd) }
        network.parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        if wd != 0 && decoupled {
                            for i in 0..<weightsEnd1 { p[i] *= shrink }
                            for i in weightsStart2..<weightsEnd2 { p[i] *= shrink }
                        }
                        Kernels.adam(
                            p.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, count: n, beta1: b1,
                            beta2: b2, epsilon: eps, learningRate: lr, correction1: correction1,
                            correction2: correction2)
                    }
                }
            }
        }
    }
}

/// A thread-safe one-way flag that stops a background run between epochs (a key, SIGINT, SIGTERM).
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Creates a lowered signal.
    public init() {}

    /// Raises the signal; it stays raised.
    public func raise() { lock.withLock { value = true } }

    /// Whether the signal has been raised.
    public var isRaised: Bool { lock.withLock { value } }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
