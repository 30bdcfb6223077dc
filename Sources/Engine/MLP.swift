/// A one-hidden-layer perceptron `inputs → hidden (ReLU) → outputs (logits)`; the Sonar default is 60-40-2.
///
/// All parameters live in one flat `Float` array, `[W1 | b1 | W2 | b2]`:
/// - `W1` is `inputs × hidden`, row-major by input (`W1[k, j]` at `k * hidden + j`), so the forward pass and
///   the weight gradient are contiguous AXPY loops over the hidden units;
/// - `b1` has `hidden` values; `W2` is `outputs × hidden` (`W2[c, j]` at `c * hidden + j`); `b2` has `outputs`.
///
/// Initialisation follows PyTorch's `nn.Linear` default: every weight and bias uniform in
/// `[-1/√fan_in, 1/√fan_in]` (He et al. 2015 "Kaiming uniform" with `a = √5`), drawn from a seeded
/// ``SplitMix64`` so the same seed gives the same bits.
public struct MLP: Sendable, Equatable, Codable {
    /// Input features (60 for Sonar).
    public let inputSize: Int
    /// Hidden units.
    public let hiddenSize: Int
    /// Output logits, one per class (2 for Sonar).
    public let outputSize: Int
    /// All parameters, `[W1 | b1 | W2 | b2]`; see the type's discussion for the layout.
    public var parameters: [Float]

    /// Creates a network with the given parameters.
    /// - Precondition: `parameters.count == MLP.parameterCount(...)`.
    public init(inputSize: Int, hiddenSize: Int, outputSize: Int, parameters: [Float]) {
        precondition(
            parameters.count
                == MLP.parameterCount(inputSize: inputSize, hiddenSize: hiddenSize, outputSize: outputSize),
            "MLP: wrong number of parameters")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.outputSize = outputSize
        self.parameters = parameters
    }

    /// Creates a freshly initialised network (PyTorch `nn.Linear` default init, seeded).
    /// - Parameters:
    ///   - inputSize: features per sample, ≥ 1.
    ///   - hiddenSize: hidden units, ≥ 1.
    ///   - outputSize: classes, ≥ 2.
    ///   - generator: the random source; consumed in the order W1, b1, W2, b2.
    public init(inputSize: Int, hiddenSize: Int, outputSize: Int, generator: inout SplitMix64) {
        var p = [Float]()
        p.reserveCapacity(MLP.parameterCount(inputSize: inputSize, hiddenSize: hiddenSize, outputSize: outputSize))
        let bound1 = 1 / Float(inputSize).squareRoot()
        for _ in 0..<(inputSize * hiddenSize + hiddenSize) { p.append(generator.nextFloat(in: -bound1, bound1)) }
        let bound2 = 1 / Float(hiddenSize).squareRoot()
        for _ in 0..<(outputSize * hiddenSize + outputSize) { p.append(generator.nextFloat(in: -bound2, bound2)) }
        self.init(inputSize: inputSize, hiddenSize: hiddenSize, outputSize: outputSize, parameters: p)
    }

    /// Number of parameters of an `inputs-hidden-outputs` network.
    public static func parameterCount(inputSize: Int, hiddenSize: Int, outputSize: Int) -> Int {
        inputSize * hiddenSize + hiddenSize + outputSize * hiddenSize + outputSize
    }

    var offsetB1: Int { inputSize * hiddenSize }
    var offsetW2: Int { offsetB1 + hiddenSize }
    var offsetB2: Int { offsetW2 + outputSize * hiddenSize }

    /// Logits for every row.
    /// - Parameter features: `n × inputSize` (already standardised).
    /// - Returns: `n × outputSize` logits.
    public func logits(_ features: Matrix) -> Matrix {
        precondition(features.columns == inputSize, "MLP: \(features.columns) features, expected \(inputSize)")
        var out = Matrix(rows: features.rows, columns: outputSize)
        let hs = hiddenSize
        // Four rows of hidden activations, then eight logits of the group.
        var hidden = [Float](repeating: 0, count: 4 * hs + 8)
        let zeros = [Float](repeating: 0, count: inputSize)
        parameters.withUnsafeBufferPointer { p in
            features.values.withUnsafeBufferPointer { x in
                hidden.withUnsafeMutableBufferPointer { hBuf in
                    zeros.withUnsafeBufferPointer { zBuf in
                        out.values.withUnsafeMutableBufferPointer { z in
                            let h = hBuf.baseAddress!
                            let four = h + 4 * hs
                            var start = 0
                            while start < features.rows {
                                let n = min(4, features.rows - start)
                                func row(_ i: Int) -> UnsafePointer<Float> {
                                    i < n ? x.baseAddress! + (start + i) * inputSize : zBuf.baseAddress!
                                }
                                Kernels.hidden4(
                                    (row(0), row(1), row(2), row(3)), p.baseAddress!, p.baseAddress! + offsetB1,
                                    d: inputSize, hs: hs, (h, h + hs, h + 2 * hs, h + 3 * hs))
                                if outputSize == 2 {
                                    Kernels.output4(
                                        (
                                            UnsafePointer(h), UnsafePointer(h + hs), UnsafePointer(h + 2 * hs),
                                            UnsafePointer(h + 3 * hs)
                                        ),
                                        p.baseAddress! + offsetW2, p.baseAddress! + offsetB2, hs: hs, four)
                                    (z.baseAddress! + start * 2).update(from: four, count: 2 * n)
                                } else {
                                    for s in 0..<n {
                                        output(p, UnsafePointer(h + s * hs), z.baseAddress! + (start + s) * outputSize)
                                    }
                                }
                                start += 4
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Class probabilities (softmax of the logits) for every row; `n × outputSize`.
    public func probabilities(_ features: Matrix) -> Matrix {
        var z = logits(features)
        for r in 0..<z.rows {
            let row = r * z.columns
            var m = -Float.infinity
            for c in 0..<z.columns { m = max(m, z.values[row + c]) }
            var sum: Float = 0
            for c in 0..<z.columns {
                let e = (z.values[row + c] - m).exp
                z.values[row + c] = e
                sum += e
            }
            for c in 0..<z.columns { z.values[row + c] /= sum }
        }
        return z
    }

    /// The output layer for one sample: `z = W2·h + b2` (`h` has `hiddenSize` values, `z` receives
    /// `outputSize`). Each dot product sums in hidden-unit order.
    @inline(__always)
    func output(_ p: UnsafeBufferPointer<Float>, _ h: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        let hs = hiddenSize
        let w2 = p.baseAddress! + offsetW2, b2 = p.baseAddress! + offsetB2
        for c in 0..<outputSize {
            let row = w2 + c * hs
            var acc: Float = 0
            for j in 0..<hs { acc += row[j] * h[j] }
            z[c] = acc + b2[c]
        }
    }

    /// ``output(_:_:_:)`` for a two-class network, into two scalars (no buffer).
    @inline(__always)
    func output2(_ p: UnsafeBufferPointer<Float>, _ h: UnsafePointer<Float>, _ z0: inout Float, _ z1: inout Float) {
        let hs = hiddenSize
        let w2 = p.baseAddress! + offsetW2, b2 = p.baseAddress! + offsetB2
        var a0: Float = 0, a1: Float = 0
        for j in 0..<hs { a0 += w2[j] * h[j] }
        for j in 0..<hs { a1 += w2[hs + j] * h[j] }
        z0 = a0 + b2[0]
        z1 = a1 + b2[1]
    }
}

extension Float {
    /// e raised to this value.
    @inline(__always) var exp: Float { Float(Foundation.exp(Double(self))) }
    /// Natural logarithm of this value.
    @inline(__always) var log: Float { Float(Foundation.log(Double(self))) }
}

import Foundation
