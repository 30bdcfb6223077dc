import Foundation

/// A trained network together with the standardisation it expects.
public struct TrainedModel: Sendable, Equatable, Codable {
    /// The network's weights.
    public var network: MLP
    /// Standardisation fitted on the training split.
    public var standardizer: Standardizer

    /// Creates a model from its parts.
    public init(network: MLP, standardizer: Standardizer) {
        self.network = network
        self.standardizer = standardizer
    }

    /// P(mine) for each row of raw (unstandardised) features, `n × 60` → `n` values in `[0, 1]`.
    public func mineProbabilities(_ features: Matrix) -> [Float] {
        let p = network.probabilities(standardizer.transform(features))
        return (0..<p.rows).map { p.values[$0 * p.columns + SonarClass.mine.rawValue] }
    }

    /// The predicted class of each row: mine when its logit is strictly larger, otherwise rock.
    public func predict(_ features: Matrix) -> [SonarClass] {
        let z = network.logits(standardizer.transform(features))
        return (0..<z.rows).map { z.values[$0 * 2 + 1] > z.values[$0 * 2] ? .mine : .rock }
    }

    /// Mean cross-entropy and confusion matrix on a labelled dataset.
    public func evaluate(_ dataset: Dataset) -> (metrics: SplitMetrics, confusion: ConfusionMatrix) {
        let z = network.logits(standardizer.transform(dataset.features))
        return Trainer.score(logits: z, labels: dataset.labels)
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
///   `m̂ = m/(1−β1ᵗ)`, `v̂ = v/(1−β2ᵗ)`, `t` counting updates.
/// - Deterministic: the same configuration, seed and data give bit-identical weights and metrics on one
///   machine (all reductions run in a fixed order).
public struct Trainer: Sendable {
    /// The run's hyper-parameters.
    public var configuration: TrainingConfiguration

    /// Creates a trainer.
    public init(configuration: TrainingConfiguration) {
        self.configuration = configuration
    }

    /// Trains synchronously, calling `onEpoch` after every epoch.
    /// - Parameters:
    ///   - trainingSet: raw features and labels to fit; at least one row.
    ///   - validationSet: raw features and labels to measure after every epoch; at least one row.
    ///   - onEpoch: called on the training thread after each epoch; return ``TrainingControl/stop`` to cancel.
    ///     The run also stops between epochs when the current task is cancelled.
    /// - Returns: the kept model, the per-epoch history and the confusion matrices.
    public func train(
        trainingSet: Dataset, validationSet: Dataset,
        onEpoch: (EpochMetrics) -> TrainingControl = { _ in .proceed }
    ) -> TrainingResult {
        precondition(trainingSet.count > 0 && validationSet.count > 0, "Trainer needs non-empty splits")
        precondition(configuration.epochs >= 1, "Trainer needs at least one epoch")
        let config = configuration
        let standardizer = Standardizer(fitting: trainingSet.features)
        let xTrain = standardizer.transform(trainingSet.features)
        let xValidation = standardizer.transform(validationSet.features)
        var rng = SplitMix64(seed: config.seed)
        var network = MLP(
            inputSize: trainingSet.featureCount, hiddenSize: config.hiddenSize,
            outputSize: SonarClass.allCases.count, generator: &rng)
        var workspace = Workspace(network: network)
        var order = Array(0..<trainingSet.count)
        let batchSize = min(config.batchSize ?? trainingSet.count, trainingSet.count)
        let start = ContinuousClock.now
        var history = [EpochMetrics]()
        history.reserveCapacity(config.epochs)
        var best: (epoch: Int, parameters: [Float])? = nil
        var bestLoss = Double.infinity
        var epochsWithoutImprovement = 0
        var stoppedEarly = false
        var wasCancelled = false

        for epoch in 1...config.epochs {
            if batchSize < trainingSet.count { order.shuffle(using: &rng) }
            var confusion = ConfusionMatrix()
            var lossSum = 0.0
            var batchStart = 0
            while batchStart < order.count {
                let batch = order[batchStart..<min(batchStart + batchSize, order.count)]
                lossSum += workspace.step(
                    network: &network, features: xTrain, labels: trainingSet.labels, batch: batch,
                    configuration: config, confusion: &confusion)
                batchStart += batchSize
            }
            let trainMetrics = SplitMetrics(loss: lossSum / Double(trainingSet.count), confusion: confusion)
            let validation = Trainer.score(logits: network.logits(xValidation), labels: validationSet.labels)
            let elapsed = (ContinuousClock.now - start).seconds
            let record = EpochMetrics(
                epoch: epoch, train: trainMetrics, validation: validation.metrics, elapsedSeconds: elapsed)
            history.append(record)

            if best == nil || isBetter(record, than: history[best!.epoch - 1]) {
                best = (epoch, network.parameters)
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
        var kept = network
        if let best { kept.parameters = best.parameters }
        let model = TrainedModel(network: kept, standardizer: standardizer)
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

    /// Softmax cross-entropy of two logits, computed stably as `logsumexp(z) − z_y`.
    @inline(__always)
    static func crossEntropy(_ z0: Float, _ z1: Float, _ y: SonarClass) -> Float {
        let m = max(z0, z1)
        let lse = m + ((z0 - m).exp + (z1 - m).exp).log
        return lse - (y == .mine ? z1 : z0)
    }
}

/// Gradient and Adam buffers, allocated once per run.
struct Workspace {
    var gradient: [Float]
    var firstMoment: [Float]
    var secondMoment: [Float]
    var hidden: [Float]
    var hiddenGradient: [Float]
    /// An all-zero input row that pads the last group of four samples.
    var zeros: [Float]
    var step = 0

    init(network: MLP) {
        let n = network.parameters.count
        gradient = [Float](repeating: 0, count: n)
        firstMoment = gradient
        secondMoment = gradient
        hidden = [Float](repeating: 0, count: 4 * network.hiddenSize)
        hiddenGradient = hidden
        zeros = [Float](repeating: 0, count: network.inputSize)
    }

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
    /// batch loss. Counts predictions into `confusion`.
    mutating func computeGradient(
        network: MLP, features: Matrix, labels: [SonarClass], batch: ArraySlice<Int>, confusion: inout ConfusionMatrix
    ) -> Double {
        let d = network.inputSize, hs = network.hiddenSize
        let oB1 = network.offsetB1, oW2 = network.offsetW2, oB2 = network.offsetB2
        let scale = 1 / Float(batch.count)
        var lossSum = 0.0
        var counts = confusion.counts
        gradient.withUnsafeMutableBufferPointer { gBuf in
            let g = gBuf.baseAddress!
            g.update(repeating: 0, count: gBuf.count)
            network.parameters.withUnsafeBufferPointer { p in
                features.values.withUnsafeBufferPointer { xAll in
                    hidden.withUnsafeMutableBufferPointer { hBuf in
                        hiddenGradient.withUnsafeMutableBufferPointer { dhBuf in
                            zeros.withUnsafeBufferPointer { zBuf in
                                let h = hBuf.baseAddress!, dh = dhBuf.baseAddress!
                                let w2 = p.baseAddress! + oW2
                                let gw20 = g + oW2, gw21 = g + oW2 + hs, gb1 = g + oB1
                                var z = [Float](repeating: 0, count: 2)
                                var start = batch.startIndex
                                while start < batch.endIndex {
                                    let n = min(4, batch.endIndex - start)
                                    func row(_ i: Int) -> UnsafePointer<Float> {
                                        i < n ? xAll.baseAddress! + batch[start + i] * d : zBuf.baseAddress!
                                    }
                                    let xs = (row(0), row(1), row(2), row(3))
                                    Kernels.hidden4(
                                        xs, p.baseAddress!, p.baseAddress! + oB1, d: d, hs: hs,
                                        (h, h + hs, h + 2 * hs, h + 3 * hs))
                                    for s in 0..<4 {
                                        let hsS = h + s * hs, dhS = dh + s * hs
                                        guard s < n else {
                                            dhS.update(repeating: 0, count: hs)
                                            continue
                                        }
                                        z.withUnsafeMutableBufferPointer {
                                            network.output(p, UnsafePointer(hsS), $0.baseAddress!)
                                        }
                                        let y = labels[batch[start + s]]
                                        lossSum += Double(Trainer.crossEntropy(z[0], z[1], y))
                                        counts[y.rawValue][z[1] > z[0] ? 1 : 0] += 1
                                        // Softmax gradient for two classes: p1 = σ(z1 − z0).
                                        let p1 = 1 / (1 + (z[0] - z[1]).exp)
                                        let dz1 = (p1 - (y == .mine ? 1 : 0)) * scale
                                        let dz0 = -dz1
                                        g[oB2] += dz0
                                        g[oB2 + 1] += dz1
                                        let w20 = w2, w21 = w2 + hs
                                        for j in 0..<hs {
                                            let hj = hsS[j]
                                            gw20[j] += dz0 * hj
                                            gw21[j] += dz1 * hj
                                            let back = dz0 * w20[j] + dz1 * w21[j]
                                            dhS[j] = hj > 0 ? back : 0
                                        }
                                        for j in 0..<hs { gb1[j] += dhS[j] }
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
            }
        }
        confusion.counts = counts
        return lossSum
    }

    /// One Adam update of every parameter from ``gradient`` (Kingma & Ba 2015, Algorithm 1).
    mutating func adam(_ network: inout MLP, _ c: TrainingConfiguration) {
        step += 1
        let b1 = Float(c.beta1), b2 = Float(c.beta2), eps = Float(c.epsilon), lr = Float(c.learningRate)
        let correction1 = 1 - Float(Foundation.pow(c.beta1, Double(step)))
        let correction2 = 1 - Float(Foundation.pow(c.beta2, Double(step)))
        let wd = Float(c.weightDecay)
        let weightsEnd1 = network.offsetB1, weightsStart2 = network.offsetW2, weightsEnd2 = network.offsetB2
        let n = network.parameters.count
        network.parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        if wd != 0 {
                            for i in 0..<weightsEnd1 { g[i] += wd * p[i] }
                            for i in weightsStart2..<weightsEnd2 { g[i] += wd * p[i] }
                        }
                        for i in 0..<n {
                            let gi = g[i]
                            m[i] = b1 * m[i] + (1 - b1) * gi
                            v[i] = b2 * v[i] + (1 - b2) * gi * gi
                            let mHat = m[i] / correction1
                            let vHat = v[i] / correction2
                            p[i] -= lr * mHat / (vHat.squareRoot() + eps)
                        }
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
