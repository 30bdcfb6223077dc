public import Engine
import Foundation

/// How a sweep chooses each trial's parameters.
public enum SweepStrategy: String, Sendable, Equatable, Codable, CaseIterable {
    /// Every combination of the lists (and whole-number ranges), last parameter fastest.
    case grid
    /// Independent uniform draws (log-uniform for `:log` ranges).
    case random
    /// Tree-structured Parzen Estimator (``TPESampler``).
    case tpe
}

/// A finished trial as a sampler sees it: its parameters and its score (higher is better).
public struct Observation: Sendable, Equatable {
    /// Values by key id (`mlp.lr` → `0.003`).
    public let parameters: [String: String]
    /// Mean held-out accuracy.
    public let score: Double

    /// Creates an observation.
    /// - Parameters:
    ///   - parameters: Values by key id.
    ///   - score: Higher is better.
    public init(parameters: [String: String], score: Double) {
        self.parameters = parameters
        self.score = score
    }
}

/// The grid of a space: every combination of its values.
public enum GridSampler {
    /// The most points a grid may have.
    public static let maximumPoints = 100_000

    /// Every point of the grid, the last dimension varying fastest.
    /// - Parameter space: Lists, choices and whole-number ranges only.
    /// - Returns: The points as key id → text.
    /// - Throws: ``SweepError`` `unsupported` for a real range (a grid cannot enumerate it) or a grid of more than
    ///   ``maximumPoints`` points.
    public static func points(of space: SearchSpace) throws(SweepError) -> [[String: String]] {
        var axes = [[String]]()
        for dimension in space.dimensions {
            switch dimension.domain {
            case .values(let values): axes.append(values)
            case .integer(let low, let high, _):
                guard high - low < maximumPoints else {
                    throw SweepError(
                        .unsupported, place: dimension.place, reason: "\(dimension.text) has too many points for a grid"
                    )
                }
                axes.append((low...high).map(String.init))
            case .real:
                throw SweepError(
                    .unsupported, place: dimension.place,
                    reason: "a grid cannot enumerate the real range \(dimension.text); give a list "
                        + "(e.g. 0.001,0.003,0.01) or use --strategy random or tpe")
            }
        }
        let total = axes.reduce(1.0) { $0 * Double($1.count) }
        guard total <= Double(maximumPoints) else {
            throw SweepError(
                .unsupported, place: "search space",
                reason: "the grid has \(Int(total)) points, more than \(maximumPoints); use --strategy random or tpe")
        }
        var points = [[String: String]]()
        for n in 0..<Int(total) {
            var rest = n
            var point = [String: String]()
            for (d, axis) in axes.enumerated().reversed() {
                point[space.dimensions[d].id] = axis[rest % axis.count]
                rest /= axis.count
            }
            points.append(point)
        }
        return points
    }
}

/// Uniform draws from a space.
public enum RandomSampler {
    /// One point, each dimension drawn from its own stream of `rng`.
    /// - Parameters:
    ///   - space: The space.
    ///   - rng: The trial's generator.
    /// - Returns: Values by key id.
    public static func point(of space: SearchSpace, using rng: inout SplitMix64) -> [String: String] {
        let seed = rng.next()
        var point = [String: String]()
        for (d, dimension) in space.dimensions.enumerated() {
            var stream = SplitMix64.derived(seed: seed, stream: UInt64(d))
            point[dimension.id] = value(of: dimension.domain, using: &stream)
        }
        return point
    }

    /// One uniform value of a domain as text.
    static func value(of domain: SearchSpace.Domain, using rng: inout SplitMix64) -> String {
        switch domain {
        case .values(let values): return values[Int(rng.next() % UInt64(values.count))]
        case .real, .integer:
            let bounds = NumericAxis(domain)!
            return bounds.text(bounds.low + (bounds.high - bounds.low) * unit(&rng))
        }
    }
}

/// A numeric domain in its sampling space: the logarithm for `:log`, widened by ½ at each end for whole numbers
/// (as Optuna does for integer distributions).
struct NumericAxis {
    let low: Double
    let high: Double
    let isLog: Bool
    let integerBounds: ClosedRange<Int>?

    init?(_ domain: SearchSpace.Domain) {
        switch domain {
        case .values: return nil
        case .real(let low, let high, let scale):
            isLog = scale == .log
            integerBounds = nil
            self.low = isLog ? Foundation.log(low) : low
            self.high = isLog ? Foundation.log(high) : high
        case .integer(let low, let high, let scale):
            isLog = scale == .log
            integerBounds = low...high
            self.low = isLog ? Foundation.log(Double(low) - 0.5) : Double(low) - 0.5
            self.high = isLog ? Foundation.log(Double(high) + 0.5) : Double(high) + 0.5
        }
    }

    /// A value's position in the sampling space, `nil` for text that is not a number.
    func position(_ text: String) -> Double? {
        guard let x = Double(text), x.isFinite, !isLog || x > 0 else { return nil }
        return isLog ? Foundation.log(x) : x
    }

    /// The text of a position: the shortest round-trip decimal, or a whole number clamped to the range.
    func text(_ position: Double) -> String {
        let x = isLog ? exp(position) : position
        if let bounds = integerBounds {
            return String(min(bounds.upperBound, max(bounds.lowerBound, Int(x.rounded()))))
        }
        return String(x)
    }
}

/// A uniform double in [0, 1) from the top 53 bits.
func unit(_ rng: inout SplitMix64) -> Double {
    Double(rng.next() >> 11) / 9_007_199_254_740_992.0
}

/// The Tree-structured Parzen Estimator sampler.
///
/// Source: J. Bergstra, R. Bardenet, Y. Bengio, B. Kégl, "Algorithms for Hyper-Parameter Optimization",
/// NeurIPS 2011, §4; implemented in the spirit of Optuna's default `TPESampler` (independent per parameter):
/// - the first ``startupTrials`` trials are random;
/// - then the observed trials are split at the γ quantile, γ(n) = min(⌈0.1·n⌉, 25) best trials forming the "good"
///   set (Optuna's `default_gamma`), the rest the "bad" set;
/// - each set gives a Parzen estimator per parameter, l(x) from the good and g(x) from the bad: a mixture of
///   Gaussians truncated to the range, one at each observation plus a prior at the range's centre with σ equal
///   to the range, the other σ the larger distance to a neighbour, clipped to [range / min(100, 1 + n), range]
///   ("magic clip"); lists and choices get a categorical estimator (counts plus the prior weight spread evenly);
/// - ``candidates`` values are drawn from l, and the one with the largest log l(x) − log g(x) (the expected
///   improvement's maximiser) is proposed.
/// Every kernel weighs 1 (Optuna ramps down the weights of old trials after 25; we do not).
public struct TPESampler: Sendable, Equatable {
    /// Random trials before the model is used: default 10 (Optuna's `n_startup_trials`).
    public var startupTrials = 10
    /// Candidates drawn from l(x) per parameter: default 24 (Optuna's `n_ei_candidates`).
    public var candidates = 24
    /// Weight of the prior kernel: default 1 (Optuna's `prior_weight`).
    public var priorWeight = 1.0

    /// Creates a sampler with Optuna's defaults.
    public init() {}

    /// The number of observations in the good set: γ(n) = min(⌈0.1·n⌉, 25), at least 1.
    /// - Parameter n: Observations.
    /// - Returns: The size of the good set.
    public static func goodCount(_ n: Int) -> Int { max(1, min(Int((0.1 * Double(n)).rounded(.up)), 25)) }

    /// Proposes one point.
    /// - Parameters:
    ///   - space: The space.
    ///   - history: Finished trials, in trial order.
    ///   - rng: The trial's generator.
    /// - Returns: Values by key id: random while `history` has fewer than ``startupTrials`` (at least 2) entries.
    public func point(
        of space: SearchSpace, history: [Observation], using rng: inout SplitMix64
    ) -> [String: String] {
        guard history.count >= max(2, startupTrials) else { return RandomSampler.point(of: space, using: &rng) }
        let seed = rng.next()
        let ranked = history.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.map(\.element)
        let good = Array(ranked.prefix(Self.goodCount(history.count)))
        let bad = Array(ranked.dropFirst(good.count))
        var point = [String: String]()
        for (d, dimension) in space.dimensions.enumerated() {
            var stream = SplitMix64.derived(seed: seed, stream: UInt64(d))
            point[dimension.id] = value(of: dimension, good: good, bad: bad, using: &stream)
        }
        return point
    }

    private func value(
        of dimension: SearchSpace.Dimension, good: [Observation], bad: [Observation], using rng: inout SplitMix64
    ) -> String {
        if case .values(let values) = dimension.domain {
            let l = CategoricalEstimator(
                values: values, observed: good.compactMap { $0.parameters[dimension.id] },
                priorWeight: priorWeight)
            let g = CategoricalEstimator(
                values: values, observed: bad.compactMap { $0.parameters[dimension.id] },
                priorWeight: priorWeight)
            var best = (index: 0, score: -Double.infinity)
            for _ in 0..<max(1, candidates) {
                let c = l.sample(&rng)
                let score = log(l.probabilities[c]) - log(g.probabilities[c])
                if score > best.score { best = (c, score) }
            }
            return values[best.index]
        }
        let axis = NumericAxis(dimension.domain)!
        let l = ParzenEstimator(
            observations: good.compactMap { $0.parameters[dimension.id].flatMap(axis.position) }, axis: axis,
            priorWeight: priorWeight)
        let g = ParzenEstimator(
            observations: bad.compactMap { $0.parameters[dimension.id].flatMap(axis.position) }, axis: axis,
            priorWeight: priorWeight)
        var best = (position: 0.0, score: -Double.infinity)
        for _ in 0..<max(1, candidates) {
            let x = l.sample(&rng)
            let score = l.logDensity(x) - g.logDensity(x)
            if score > best.score { best = (x, score) }
        }
        return axis.text(best.position)
    }
}

/// A categorical Parzen estimator: observed counts plus the prior weight spread evenly.
struct CategoricalEstimator {
    let probabilities: [Double]

    init(values: [String], observed: [String], priorWeight: Double) {
        var weights = [Double](repeating: priorWeight / Double(values.count), count: values.count)
        for value in observed { if let i = values.firstIndex(of: value) { weights[i] += 1 } }
        let total = weights.reduce(0, +)
        probabilities = weights.map { $0 / total }
    }

    func sample(_ rng: inout SplitMix64) -> Int {
        var u = unit(&rng)
        for (i, p) in probabilities.enumerated() {
            if u < p { return i }
            u -= p
        }
        return probabilities.count - 1
    }
}

/// A mixture of Gaussians truncated to an axis.
///
/// Bergstra et al. 2011 §4.1; σ as Optuna's univariate estimator.
struct ParzenEstimator {
    let mus: [Double]
    let sigmas: [Double]
    let weights: [Double]
    let low: Double
    let high: Double

    init(observations: [Double], axis: NumericAxis, priorWeight: Double) {
        low = axis.low
        high = axis.high
        let range = high - low
        let all = observations + [(low + high) / 2]
        let order = all.indices.sorted { all[$0] != all[$1] ? all[$0] < all[$1] : $0 < $1 }
        let sorted = order.map { all[$0] }
        let ends = [low] + sorted + [high]
        var sortedSigmas = sorted.indices.map { i in max(ends[i + 1] - ends[i], ends[i + 2] - ends[i + 1]) }
        if sorted.count >= 2 {
            sortedSigmas[0] = ends[2] - ends[1]
            sortedSigmas[sorted.count - 1] = ends[sorted.count] - ends[sorted.count - 1]
        }
        var sigmas = [Double](repeating: 0, count: all.count)
        for (rank, i) in order.enumerated() { sigmas[i] = sortedSigmas[rank] }
        let minimum = range / min(100, 1 + Double(all.count))
        sigmas = sigmas.map { min(range, max(minimum, $0)) }
        sigmas[all.count - 1] = range
        var weights = [Double](repeating: 1, count: all.count)
        weights[all.count - 1] = priorWeight
        let total = weights.reduce(0, +)
        self.mus = all
        self.sigmas = sigmas
        self.weights = weights.map { $0 / total }
    }

    func sample(_ rng: inout SplitMix64) -> Double {
        var u = unit(&rng)
        var k = weights.count - 1
        for (i, w) in weights.enumerated() {
            if u < w {
                k = i
                break
            }
            u -= w
        }
        for _ in 0..<100 {
            let u1 = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_992.0
            let u2 = unit(&rng)
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            let x = mus[k] + sigmas[k] * z
            if x >= low && x <= high { return x }
        }
        return min(high, max(low, mus[k]))
    }

    func logDensity(_ x: Double) -> Double {
        var terms = [Double]()
        for i in mus.indices {
            let s = sigmas[i]
            let z = (x - mus[i]) / s
            let mass = normalCDF((high - mus[i]) / s) - normalCDF((low - mus[i]) / s)
            terms.append(log(weights[i]) - 0.5 * z * z - log(s) - 0.5 * log(2 * Double.pi) - log(max(mass, 1e-300)))
        }
        let peak = terms.max() ?? 0
        return peak + log(terms.reduce(0) { $0 + exp($1 - peak) })
    }
}

/// Φ(z), the standard normal distribution function.
func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
