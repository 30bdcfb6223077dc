/// A small, fast, seedable pseudo-random generator (SplitMix64).
///
/// Every random choice in the Engine (split, weight initialisation, mini-batch order) draws from one of
/// these, so the same seed gives the same bits on one machine.
///
/// Source: Guy L. Steele Jr., Doug Lea, Christine H. Flood, "Fast Splittable Pseudorandom Number
/// Generators", OOPSLA 2014; constants as in Java's `SplittableRandom`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose whole sequence is fixed by `seed`.
    /// - Parameter seed: any 64-bit value; 0 is fine.
    public init(seed: UInt64) {
        state = seed
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Float` in `[low, high)` built from the top 24 bits, so the value is exact and portable.
    public mutating func nextFloat(in low: Float, _ high: Float) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return low + (high - low) * unit
    }

    /// A generator for a derived stream, e.g. one per cross-validation fit, independent of this one's state.
    /// - Parameter stream: the index of the derived stream.
    public static func derived(seed: UInt64, stream: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: mixer.next())
    }
}
