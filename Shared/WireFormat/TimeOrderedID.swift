import Foundation
import Synchronization

/// UUIDv7 (RFC 9562): time-ordered, so generated keys append to SQLite's B-trees instead of
/// scattering writes across them, and sort by creation time.
public enum TimeOrderedID {
    private static let last = Mutex<(ms: UInt64, counter: UInt16)>((0, 0))
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Runs on every command and twice per imported row: formatted by hand, with one draw of randomness.
    public static func make(now: Date = Date()) -> String {
        let nowMs = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        // A 12-bit counter keeps ids from the same millisecond in creation order.
        let (ms, counter) = last.withLock { state -> (UInt64, UInt16) in
            if nowMs > state.ms {
                state = (nowMs, UInt16.random(in: 0..<0x400))
            } else {
                state.counter += 1
                if state.counter > 0xFFF { state = (state.ms + 1, 0) }
            }
            return state
        }
        var random = SystemRandomNumberGenerator()
        // 62 random bits behind the variant bits `10`.
        let bits: UInt64 = random.next()
        let tail = 0x8000_0000_0000_0000 | (bits & 0x3FFF_FFFF_FFFF_FFFF)
        let high = ms << 16 | 0x7000 | UInt64(counter)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[position] = hexDigits[Int((value >> UInt64(shift)) & 0xF)]
                    position += 1
                }
            }
            func dash() {
                buffer[position] = UInt8(ascii: "-")
                position += 1
            }
            put(high >> 32, nibbles: 8)
            dash()
            put(high >> 16, nibbles: 4)
            dash()
            put(high, nibbles: 4)
            dash()
            put(tail >> 48, nibbles: 4)
            dash()
            put(tail, nibbles: 12)
            return position
        }
    }
}
