import Foundation
import WireFormat

/// Query-string values every service reads the same way (400 naming the parameter when malformed).
public enum QueryValue {
    /// A day (`2026-12-05`).
    public static func date(_ text: String?, _ name: String) throws -> CalendarDate? {
        guard let text else { return nil }
        guard let date = CalendarDate(text) else { throw Problem.badRequest("\(name) must be a date (YYYY-MM-DD), got '\(text)'") }
        return date
    }

    /// An instant (RFC 3339, or a date meaning its start, UTC).
    public static func time(_ text: String?, _ name: String) throws -> Date? {
        guard let text else { return nil }
        if let time = Timestamp.parse(text) { return time }
        if let date = CalendarDate(text) { return date.startOfDay }
        throw Problem.badRequest("\(name) must be an RFC 3339 time or a date, got '\(text)'")
    }

    public static func bool(_ text: String?, _ name: String) throws -> Bool? {
        switch text {
        case nil: return nil
        case "true": return true
        case "false": return false
        default: throw Problem.badRequest("\(name) must be true or false")
        }
    }

    public static func int(_ text: String?, _ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw Problem.badRequest("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
