/// Per-feature standardisation `(x − mean) / sd`, fitted on the training split only.
///
/// A feature with zero spread keeps `sd = 1` so it maps to 0 instead of dividing by zero.
/// `sd` is the population standard deviation (divide by n), as scikit-learn's `StandardScaler`.
public struct Standardizer: Sendable, Equatable, Codable {
    /// Mean of each feature on the fitted data.
    public let mean: [Float]
    /// Standard deviation of each feature on the fitted data (1 where it was 0).
    public let standardDeviation: [Float]

    /// Creates a standardiser from known statistics (e.g. read from a model artefact).
    public init(mean: [Float], standardDeviation: [Float]) {
        precondition(mean.count == standardDeviation.count)
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Fits mean and standard deviation per column, accumulating in `Double`.
    /// - Parameter features: `n × d`, `n ≥ 1`.
    public init(fitting features: Matrix) {
        let n = features.rows, d = features.columns
        var sum = [Double](repeating: 0, count: d)
        var sumSquares = [Double](repeating: 0, count: d)
        for r in 0..<n {
            for c in 0..<d {
                let v = Double(features.values[r * d + c])
                sum[c] += v
                sumSquares[c] += v * v
            }
        }
        var mean = [Float](), sd = [Float]()
        for c in 0..<d {
            let m = sum[c] / Double(max(n, 1))
            let variance = max(sumSquares[c] / Double(max(n, 1)) - m * m, 0)
            mean.append(Float(m))
            let s = variance.squareRoot()
            sd.append(s > 1e-12 ? Float(s) : 1)
        }
        self.init(mean: mean, standardDeviation: sd)
    }

    /// Returns standardised features of the same shape.
    public func transform(_ features: Matrix) -> Matrix {
        precondition(
            features.columns == mean.count, "Standardizer: \(features.columns) columns, fitted on \(mean.count)")
        var out = features
        let d = features.columns
        out.values.withUnsafeMutableBufferPointer { v in
            for r in 0..<features.rows {
                for c in 0..<d { v[r * d + c] = (v[r * d + c] - mean[c]) / standardDeviation[c] }
            }
        }
        return out
    }
}
