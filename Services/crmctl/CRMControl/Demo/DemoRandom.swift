/// SplitMix64: a small, fast generator whose sequence depends on its seed alone, on every platform
/// (the system generator is not seedable), so one seed always makes the same demo company.
struct DemoRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly chosen integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}

/// Money in kopecks (hundredths), formatted as the exact decimal string the APIs and the ERP take.
struct Kopecks: Comparable, Hashable {
    var value: Int

    static func < (a: Kopecks, b: Kopecks) -> Bool { a.value < b.value }

    var decimal: String {
        let sign = value < 0 ? "-" : ""
        let magnitude = abs(value)
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// `self` × `percent` / 100, rounded half up to a kopeck.
    func scaled(percent: Int) -> Kopecks { Kopecks(value: (value * percent + 50) / 100) }
}
