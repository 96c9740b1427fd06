import Testing

@testable import EventStore

@Suite struct EventIdSetTests {
    /// Ids of each kind the set stores differently; a UUID and a text that pack into the same 16
    /// bytes must not be taken for each other.
    func key(_ n: Int) -> AppliedEventKey {
        switch n % 4 {
        case 0: .uuid(UInt64(n / 4), 0)
        case 1: .text("t\(n / 4)")
        case 2: .text(String(repeating: "long-", count: 4) + "\(n / 4)")
        default: .uuid(UInt64(n / 4) &* 0x9E37_79B9_7F4A_7C15, UInt64(n))
        }
    }

    @Test func agreesWithSwiftsSetOverInsertsAndRemovals() {
        var set = EventIdSet()
        var model = Set<AppliedEventKey>()
        var random = SystemRandomNumberGenerator()
        for _ in 0..<60_000 {
            let k = key(Int.random(in: 0..<20_000, using: &random))
            if Int.random(in: 0..<5, using: &random) == 0 {
                set.remove(k)
                model.remove(k)
            } else {
                let inserted = set.insert(k)
                #expect(inserted == model.insert(k).inserted)
            }
        }
        #expect(set.count == model.count)
        for n in 0..<20_000 { #expect(set.contains(key(n)) == model.contains(key(n))) }
    }

    @Test func aShortTextAndAUUIDWithTheSameBytesStayApart() {
        var set = EventIdSet()
        // "abc" packs as 61 62 63 00 … 00 03: the same 16 bytes as this UUID.
        var packed = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &packed) { bytes in
            bytes[0] = 0x61
            bytes[1] = 0x62
            bytes[2] = 0x63
            bytes[15] = 3
        }
        let inserted = [
            set.insert(.text("abc")), set.insert(.uuid(packed.0, packed.1)), set.insert(.text("abc\0")), set.insert(.text("abc")),
        ]
        #expect(inserted == [true, true, true, false], "a UUID with the same bytes, and a trailing NUL, make other ids")
        #expect(set.count == 3)
    }
}
