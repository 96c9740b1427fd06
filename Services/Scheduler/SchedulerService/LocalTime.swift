import Foundation
import WireFormat

/// Times in a staff member's time zone (IANA; UTC when unknown or not one Foundation knows).
struct LocalTime: Sendable {
    let zone: TimeZone
    private let calendar: Calendar

    init(identifier: String?) {
        zone = identifier.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        self.calendar = calendar
    }

    var identifier: String { zone.identifier }

    /// The local day an instant falls on.
    func date(of instant: Date) -> CalendarDate {
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        return CalendarDate(uncheckedYear: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// The instant of a local day's minute (a minute a clock change skips moves forward with it).
    func instant(_ day: CalendarDate, minuteOfDay: Int) -> Date {
        let components = DateComponents(
            year: day.year, month: day.month, day: day.day, hour: minuteOfDay / 60, minute: minuteOfDay % 60)
        return calendar.date(from: components) ?? day.startOfDay.addingTimeInterval(TimeInterval(minuteOfDay * 60))
    }

    /// RFC 3339 with the zone's offset at that instant: `2026-12-05T12:30:00+03:00`.
    func format(_ instant: Date) -> String {
        format(instant, offset: zone.secondsFromGMT(for: instant))
    }

    /// The same, with the offsets already looked up kept in `offsets` (by quarter hour: every
    /// zone's offsets and changes fall on quarter hours), for pages of many times: Foundation
    /// takes microseconds to find an offset.
    func format(_ instant: Date, offsets: inout [Int: Int]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(25)
        append(instant, offsets: &offsets, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `format(_:offsets:)`'s text appended to `bytes`: a team plan writes tens of thousands.
    func append(_ instant: Date, offsets: inout [Int: Int], to bytes: inout [UInt8]) {
        let quarter = Int((instant.timeIntervalSince1970 / 900).rounded(.down))
        let offset: Int
        if let known = offsets[quarter] {
            offset = known
        } else {
            offset = zone.secondsFromGMT(for: instant)
            offsets[quarter] = offset
        }
        append(instant, offset: offset, to: &bytes)
    }

    private func format(_ instant: Date, offset: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(25)
        append(instant, offset: offset, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private func append(_ instant: Date, offset: Int, to bytes: inout [UInt8]) {
        Timestamp.appendSeconds(instant.addingTimeInterval(TimeInterval(offset)), to: &bytes)
        let minutes = abs(offset) / 60
        bytes.append(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        Timestamp.appendDigits(minutes / 60, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        Timestamp.appendDigits(minutes % 60, width: 2, to: &bytes)
    }
}

/// Contact persons' birthdays: `MM-DD` or `YYYY-MM-DD`. 29 February is kept on 28 February in
/// years without one.
enum Birthday {
    /// The `MM-DD` of a birthday, or nil when it is none.
    static func monthDay(_ birthday: String?) -> String? {
        guard let birthday else { return nil }
        let monthDay = String(birthday.suffix(5))
        let parts = monthDay.split(separator: "-")
        guard parts.count == 2, let month = Int(parts[0]), let day = Int(parts[1]), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return monthDay
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    /// The day a birthday is celebrated in `year`.
    static func day(_ monthDay: String, in year: Int) -> CalendarDate? {
        let parts = monthDay.split(separator: "-")
        guard parts.count == 2, let month = Int(parts[0]), var day = Int(parts[1]) else { return nil }
        if month == 2 && day == 29 && !isLeap(year) { day = 28 }
        return CalendarDate("\(String(format: "%04d-%02d-%02d", year, month, day))")
    }

    /// The `MM-DD` values whose birthdays fall on `date`: its own, and 02-29 on 28 February of a
    /// year without a 29th.
    static func monthDays(celebratedOn date: CalendarDate) -> [String] {
        let own = String(format: "%02d-%02d", date.month, date.day)
        return date.month == 2 && date.day == 28 && !isLeap(date.year) ? [own, "02-29"] : [own]
    }
}
