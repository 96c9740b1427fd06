import Foundation
import Testing

@testable import WireFormat

@Suite struct ScalarTests {
    @Test(arguments: ["0", "-1", "100.00", "0.1", "1e3", "-2.5E-2", "12345678901234567890.123456789"])
    func acceptsDecimals(_ text: String) {
        #expect(ExactDecimal.parse(text) != nil)
    }

    @Test(arguments: ["", "abc", "1.", ".5", "1e", "12abc", "1,5", "--1", "+1", "1.2.3", "1e+", "NaN", String(repeating: "9", count: 39)])
    func rejectsNonDecimals(_ text: String) {
        #expect(ExactDecimal.parse(text) == nil)
    }

    @Test func decimalsAreExact() throws {
        let a = try #require(ExactDecimal.parse("0.1"))
        let b = try #require(ExactDecimal.parse("0.2"))
        #expect(a + b == ExactDecimal.parse("0.3"))
        #expect(ExactDecimal.format(try #require(ExactDecimal.parse("100.50"))) == "100.5")
    }

    /// The fast paths (parts-built parse, direct format) agree with Foundation's text conversions.
    @Test func decimalTextAgreesWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        let posix = Locale(identifier: "en_US_POSIX")
        var texts = [
            "0", "-0", "0.000", "1", "-1", "100.50", "0.05", "1e3", "2.5E-2", "-12.340e1", "18446744073709551615", "9999999999999999999.9",
        ]
        for _ in 0..<5000 {
            let integer = UInt64.random(in: 0...999_999_999_999, using: &generator)
            let fraction = UInt64.random(in: 0...999_999, using: &generator)
            let sign = Bool.random(using: &generator) ? "-" : ""
            texts.append("\(sign)\(integer).\(fraction)")
            texts.append("\(sign)\(fraction)e-\(Int.random(in: 0...12, using: &generator))")
        }
        for text in texts {
            let ours = try #require(ExactDecimal.parse(text), "\(text)")
            let theirs = try #require(Decimal(string: text, locale: posix), "\(text)")
            #expect(ours == theirs, "\(text)")
            var copy = theirs
            #expect(ExactDecimal.format(ours) == NSDecimalString(&copy, posix), "\(text)")
        }
        // Sums and products, as the services make them.
        let a = try #require(ExactDecimal.parse("1234.5678"))
        for product in [a * a, a * 3 - a, a / 4, -a * 1000] {
            var copy = product
            #expect(ExactDecimal.format(product) == NSDecimalString(&copy, posix))
        }
    }

    @Test func productsAgreeWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        var pairs: [(String, String)] = [
            ("0", "5"), ("-2.5", "4"), ("-0.001", "-1000"), ("18446744073709551615", "2"), ("4294967296", "4294967296"),
            ("1e60", "1e60"), ("1e-60", "1e-60"), ("99999999999999999999999", "3.5"),
        ]
        for _ in 0..<2000 {
            let a =
                "\(Bool.random(using: &generator) ? "-" : "")\(UInt64.random(in: 0...99_999_999, using: &generator)).\(UInt64.random(in: 0...9999, using: &generator))"
            pairs.append((a, "\(UInt64.random(in: 0...10_000, using: &generator))e-\(Int.random(in: 0...6, using: &generator))"))
        }
        for (x, y) in pairs {
            let a = try #require(ExactDecimal.parse(x))
            let b = try #require(ExactDecimal.parse(y))
            #expect(ExactDecimal.product(a, b) == a * b, "\(x) × \(y)")
            #expect(ExactDecimal.format(ExactDecimal.product(a, b)) == ExactDecimal.format(a * b), "\(x) × \(y)")
        }
    }

    @Test func timestampsRoundTripInUTC() throws {
        let date = try #require(Timestamp.parse("2026-03-14T09:30:00Z"))
        #expect(Timestamp.format(date) == "2026-03-14T09:30:00.000Z")
        let offset = try #require(Timestamp.parse("2026-03-14T12:30:00.250+03:00"))
        #expect(Timestamp.format(offset) == "2026-03-14T09:30:00.250Z")
        #expect(Timestamp.format(try #require(Timestamp.parse("1969-12-31T23:59:59.500Z"))) == "1969-12-31T23:59:59.500Z")
        #expect(Timestamp.format(try #require(Timestamp.parse("2024-02-29T00:00:00Z"))) == "2024-02-29T00:00:00.000Z")
    }

    @Test(arguments: ["2026-02-30T00:00:00Z", "2026-03-14", "2026-03-14T09:30:00", "2026-13-01T00:00:00Z", "2026-03-14T25:00:00Z", "x"])
    func rejectsBadTimestamps(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func timestampAgreesWithFoundation() throws {
        let formatter = ISO8601DateFormatter()
        for seconds in stride(from: -86_400.0 * 800, to: 86_400.0 * 20_000, by: 86_400.0 * 37.3) {
            let date = Date(timeIntervalSince1970: seconds.rounded())
            #expect(Timestamp.parse(formatter.string(from: date)) == date)
        }
    }

    @Test func calendarDates() {
        #expect(CalendarDate("2026-03-20")?.description == "2026-03-20")
        #expect(CalendarDate("2026-02-29") == nil)
        #expect(CalendarDate("2026-3-20") == nil)
    }

    @Test func timeOrderedIdsSortByCreation() {
        let ids = (0..<2000).map { _ in TimeOrderedID.make() }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids[0].count == 36)
    }

    @Test func timeOrderedIdsAreVersion7WithTheirMillisecond() throws {
        let time = Date()
        let id = TimeOrderedID.make(now: time)
        let uuid = try #require(UUID(uuidString: id))
        #expect(uuid.uuidString.lowercased() == id)
        let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 7)
        #expect(bytes[8] >> 6 == 0b10)
        let ms = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // Never behind an id made before it, so possibly a little ahead of the clock.
        let clock = UInt64(time.timeIntervalSince1970 * 1000)
        #expect(ms >= clock && ms < clock + 1000)
    }

    @Test func whitespaceTrimming() {
        #expect("  ООО Ромашка\t".trimmingWhitespace() == "ООО Ромашка")
        #expect("plain".trimmingWhitespace() == "plain")
        #expect("\u{00A0}\n x y \r\n".trimmingWhitespace() == "x y")
        #expect(" \t\n ".trimmingWhitespace() == "")
        #expect("".trimmingWhitespace() == "")
        #expect("a\u{2003}"[...].trimmingWhitespace() == "a")
    }
}
