import Platform

/// The demo's draws, over the shared seeded generator (one seed, one company).
extension SplitMix64 {
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
