import EngineKernels

/// The MLP's inner loops, four samples at a time.
///
/// The hidden layer is computed in blocks of eight units held in SIMD registers (`SIMD8<Float>`), so each
/// weight row block is loaded once per four samples and the accumulators never leave registers during the
/// sum over the inputs. The order of every floating-point sum is the same as the plain loop
/// `h[j] = b1[j]; for k { h[j] += x[k] * W1[k, j] }` (and, for the weight gradient, samples in batch order),
/// so results do not depend on how samples are grouped.
///
/// On a processor with AVX the two matrix kernels run in C (`EngineKernels`, 256-bit AVX, eight units per
/// instruction, no fused multiply-add) with the same operations in the same order, so the bits are the same as
/// the portable Swift kernels' (a test compares them); elsewhere the portable kernels run.
enum Kernels {
    typealias V = SIMD8<Float>
    /// Four read-only rows (one per sample of a group).
    typealias Rows4 = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)
    /// Four writable rows (one per sample of a group).
    typealias MutableRows4 = (
        UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
        UnsafeMutablePointer<Float>
    )

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Whether the AVX kernels of `EngineKernels` run on this processor (checked once).
    static let hasAVX = sonar_kernels_have_avx() != 0

    /// Hidden activations `h_s = ReLU(x_s·W1 + b1)` for four samples: the AVX kernel for the blocks of eight
    /// units when the processor has AVX, else ``hidden4Portable(_:_:_:d:hs:_:)``; the same bits either way.
    @inline(__always)
    static func hidden4(
        _ x: Rows4,
        _ w1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, d: Int, hs: Int,
        _ h: MutableRows4
    ) {
        guard hasAVX else { return hidden4Portable(x, w1, b1, d: d, hs: hs, h) }
        sonar_hidden4_avx(x.0, x.1, x.2, x.3, w1, b1, d, hs, h.0, h.1, h.2, h.3)
        hidden4Tail(x, w1, b1, d: d, hs: hs, h)
    }

    /// Adds `Σ_s x_s[k] · dh_s[j]` to `g[k, j]` (samples in order 0…3): the AVX kernel for the blocks of eight
    /// units when the processor has AVX, else ``accumulateOuter4Portable(_:_:_:d:hs:)``; the same bits either way.
    @inline(__always)
    static func accumulateOuter4(
        _ x: Rows4,
        _ dh: Rows4,
        _ g: UnsafeMutablePointer<Float>, d: Int, hs: Int
    ) {
        guard hasAVX else { return accumulateOuter4Portable(x, dh, g, d: d, hs: hs) }
        sonar_outer4_avx(x.0, x.1, x.2, x.3, dh.0, dh.1, dh.2, dh.3, g, d, hs)
        accumulateOuter4Tail(x, dh, g, d: d, hs: hs)
    }

    /// Hidden activations `h_s = ReLU(x_s·W1 + b1)` for four samples, in `SIMD8` blocks (portable Swift).
    /// - Parameters:
    ///   - x: four pointers to `d` inputs each (a padding sample may point at zeros).
    ///   - w1: `d × hs` weights, row-major by input; `b1`: `hs` biases.
    ///   - h: four pointers receiving `hs` activations each.
    static func hidden4Portable(
        _ x: Rows4,
        _ w1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, d: Int, hs: Int,
        _ h: MutableRows4
    ) {
        let blocked = hs - hs % 8
        var j0 = 0
        let zero = V(repeating: 0)
        while j0 < blocked {
            let b = load(b1 + j0)
            var a0 = b, a1 = b, a2 = b, a3 = b
            var w = w1 + j0
            for k in 0..<d {
                let row = load(w)
                a0 += x.0[k] * row
                a1 += x.1[k] * row
                a2 += x.2[k] * row
                a3 += x.3[k] * row
                w += hs
            }
            store(a0.replacing(with: zero, where: a0 .< zero), h.0 + j0)
            store(a1.replacing(with: zero, where: a1 .< zero), h.1 + j0)
            store(a2.replacing(with: zero, where: a2 .< zero), h.2 + j0)
            store(a3.replacing(with: zero, where: a3 .< zero), h.3 + j0)
            j0 += 8
        }
        hidden4Tail(x, w1, b1, d: d, hs: hs, h)
    }

    /// The last `hs % 8` hidden units of ``hidden4(_:_:_:d:hs:_:)``, one at a time.
    @inline(__always)
    static func hidden4Tail(
        _ x: Rows4,
        _ w1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, d: Int, hs: Int,
        _ h: MutableRows4
    ) {
        for j in (hs - hs % 8)..<hs {
            var a0 = b1[j], a1 = b1[j], a2 = b1[j], a3 = b1[j]
            for k in 0..<d {
                let wk = w1[k * hs + j]
                a0 += x.0[k] * wk
                a1 += x.1[k] * wk
                a2 += x.2[k] * wk
                a3 += x.3[k] * wk
            }
            h.0[j] = max(a0, 0)
            h.1[j] = max(a1, 0)
            h.2[j] = max(a2, 0)
            h.3[j] = max(a3, 0)
        }
    }

    /// Adds `Σ_s x_s[k] · dh_s[j]` to the weight gradient `g[k, j]`, samples in order 0…3.
    /// - Parameters:
    ///   - x: four pointers to `d` inputs; `dh`: four pointers to `hs` hidden gradients (zero for padding).
    ///   - g: `d × hs` gradient, row-major by input.
    static func accumulateOuter4Portable(
        _ x: Rows4,
        _ dh: Rows4,
        _ g: UnsafeMutablePointer<Float>, d: Int, hs: Int
    ) {
        let blocked = hs - hs % 8
        var j0 = 0
        while j0 < blocked {
            let d0 = load(dh.0 + j0), d1 = load(dh.1 + j0), d2 = load(dh.2 + j0), d3 = load(dh.3 + j0)
            var row = g + j0
            for k in 0..<d {
                var acc = load(row)
                acc += x.0[k] * d0
                acc += x.1[k] * d1
                acc += x.2[k] * d2
                acc += x.3[k] * d3
                store(acc, row)
                row += hs
            }
            j0 += 8
        }
        accumulateOuter4Tail(x, dh, g, d: d, hs: hs)
    }

    /// The last `hs % 8` hidden units of ``accumulateOuter4(_:_:_:d:hs:)``, one at a time.
    @inline(__always)
    static func accumulateOuter4Tail(
        _ x: Rows4,
        _ dh: Rows4,
        _ g: UnsafeMutablePointer<Float>, d: Int, hs: Int
    ) {
        for j in (hs - hs % 8)..<hs {
            for k in 0..<d {
                var acc = g[k * hs + j]
                acc += x.0[k] * dh.0[j]
                acc += x.1[k] * dh.1[j]
                acc += x.2[k] * dh.2[j]
                acc += x.3[k] * dh.3[j]
                g[k * hs + j] = acc
            }
        }
    }

    /// Logits of a two-class output layer for four samples, `z_s = W2·h_s + b2`, into `z[2s]`, `z[2s + 1]`.
    ///
    /// Each of the eight dot products sums in hidden-unit order from 0, then adds the bias, exactly as
    /// ``MLP/output(_:_:_:)``; interleaving the eight independent sums only hides the adds' latency.
    @inline(__always)
    static func output4(
        _ h: Rows4,
        _ w2: UnsafePointer<Float>, _ b2: UnsafePointer<Float>, hs: Int, _ z: UnsafeMutablePointer<Float>
    ) {
        var a00: Float = 0, a01: Float = 0, a10: Float = 0, a11: Float = 0
        var a20: Float = 0, a21: Float = 0, a30: Float = 0, a31: Float = 0
        let w21 = w2 + hs
        for j in 0..<hs {
            let u = w2[j], w = w21[j]
            let h0 = h.0[j], h1 = h.1[j], h2 = h.2[j], h3 = h.3[j]
            a00 += u * h0
            a01 += w * h0
            a10 += u * h1
            a11 += w * h1
            a20 += u * h2
            a21 += w * h2
            a30 += u * h3
            a31 += w * h3
        }
        z[0] = a00 + b2[0]
        z[1] = a01 + b2[1]
        z[2] = a10 + b2[0]
        z[3] = a11 + b2[1]
        z[4] = a20 + b2[0]
        z[5] = a21 + b2[1]
        z[6] = a30 + b2[0]
        z[7] = a31 + b2[1]
    }

    /// The backward pass of one sample through a two-class output layer and the ReLU (and dropout) hidden layer:
    /// `gW2[c, j] += dz_c · h_j`, `dh_j = (h_j > 0 ? dz0·W2[0, j] + dz1·W2[1, j] : 0)` times the dropout
    /// multiplier when `mask` is given, and `gb1[j] += dh_j`. Element-wise, so blocks of eight give the same bits
    /// as the scalar loop.
    @inline(__always)
    static func backward(
        h: UnsafePointer<Float>, mask: UnsafePointer<Float>?, w20: UnsafePointer<Float>, w21: UnsafePointer<Float>,
        dz0: Float, dz1: Float, hs: Int, gw20: UnsafeMutablePointer<Float>, gw21: UnsafeMutablePointer<Float>,
        gb1: UnsafeMutablePointer<Float>, dh: UnsafeMutablePointer<Float>
    ) {
        let blocked = hs - hs % 8
        let v0 = V(repeating: dz0), v1 = V(repeating: dz1), zero = V(repeating: 0)
        var j = 0
        while j < blocked {
            let hj = load(h + j)
            store(load(gw20 + j) + v0 * hj, gw20 + j)
            store(load(gw21 + j) + v1 * hj, gw21 + j)
            var back = v0 * load(w20 + j) + v1 * load(w21 + j)
            if let mask { back = back * load(mask + j) }
            let d = zero.replacing(with: back, where: hj .> zero)
            store(d, dh + j)
            store(load(gb1 + j) + d, gb1 + j)
            j += 8
        }
        while j < hs {
            let hj = h[j]
            gw20[j] += dz0 * hj
            gw21[j] += dz1 * hj
            var back = dz0 * w20[j] + dz1 * w21[j]
            if let mask { back = back * mask[j] }
            dh[j] = hj > 0 ? back : 0
            gb1[j] += dh[j]
            j += 1
        }
    }

    /// One Adam update of `count` parameters (Kingma & Ba 2015, Algorithm 1), eight at a time:
    /// `m ← β1·m + (1−β1)·g`, `v ← β2·v + ((1−β2)·g)·g`, `θ ← θ − (α·(m/c1)) / (√(v/c2) + ε)`.
    /// Every operation is element-wise and correctly rounded, so the bits equal the scalar loop's.
    @inline(__always)
    static func adam(
        _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, count: Int, beta1: Float, beta2: Float, epsilon: Float,
        learningRate: Float, correction1: Float, correction2: Float
    ) {
        let b1 = V(repeating: beta1), b2 = V(repeating: beta2)
        let c1 = V(repeating: 1 - beta1), c2 = V(repeating: 1 - beta2)
        let k1 = V(repeating: correction1), k2 = V(repeating: correction2)
        let lr = V(repeating: learningRate), eps = V(repeating: epsilon)
        let blocked = count - count % 8
        var i = 0
        while i < blocked {
            let gi = load(g + i)
            let mi = b1 * load(m + i) + c1 * gi
            let vi = b2 * load(v + i) + c2 * gi * gi
            store(mi, m + i)
            store(vi, v + i)
            let mHat = mi / k1
            let vHat = vi / k2
            store(load(p + i) - lr * mHat / (vHat.squareRoot() + eps), p + i)
            i += 8
        }
        while i < count {
            let gi = g[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            let mHat = m[i] / correction1
            let vHat = v[i] / correction2
            p[i] -= learningRate * mHat / (vHat.squareRoot() + epsilon)
            i += 1
        }
    }
}
