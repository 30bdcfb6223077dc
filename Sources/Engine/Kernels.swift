/// The MLP's inner loops, four samples at a time.
///
/// The hidden layer is computed in blocks of eight units held in SIMD registers (`SIMD8<Float>`), so each
/// weight row block is loaded once per four samples and the accumulators never leave registers during the
/// sum over the inputs. The order of every floating-point sum is the same as the plain loop
/// `h[j] = b1[j]; for k { h[j] += x[k] * W1[k, j] }` (and, for the weight gradient, samples in batch order),
/// so results do not depend on how samples are grouped.
enum Kernels {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Hidden activations `h_s = ReLU(x_s·W1 + b1)` for four samples.
    /// - Parameters:
    ///   - x: four pointers to `d` inputs each (a padding sample may point at zeros).
    ///   - w1: `d × hs` weights, row-major by input; `b1`: `hs` biases.
    ///   - h: four pointers receiving `hs` activations each.
    @inline(__always)
    static func hidden4(
        _ x: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
        _ w1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, d: Int, hs: Int,
        _ h: (
            UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
            UnsafeMutablePointer<Float>
        )
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
        for j in blocked..<hs {
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
    @inline(__always)
    static func accumulateOuter4(
        _ x: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
        _ dh: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
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
        for j in blocked..<hs {
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
}
