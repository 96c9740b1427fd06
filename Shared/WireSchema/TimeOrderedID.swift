import Foundation
import Synchronization

/// UUIDv7 (RFC 9562): time-ordered, so generated keys append to SQLite's B-trees instead of
/// scattering writes across them, and sort by creation time.
public enum TimeOrderedID {
    private static let last = Mutex<(ms: UInt64, counter: UInt16)>((0, 0))

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
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        var random = SystemRandomNumberGenerator()
        for i in 8..<16 { bytes[i] = random.next() }
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }
}
