/// SplitMix64: a small, fast generator whose sequence depends on its seed alone, on every
/// platform (the system generator cannot be seeded), for synthetic data that must come out the
/// same on every run: the benchmarks' records and the demo company.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<n by modulo (slightly uneven for huge n; the benchmarks' streams rely on it).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
