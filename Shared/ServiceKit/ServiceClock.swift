import Foundation
import Synchronization
import WireFormat

/// A service's idea of now. It runs at the speed of the system clock from wherever it was started
/// (`CRM_CLOCK_START`, for tests and demos); Swift tests move it by hand. Everything in a service
/// that depends on the time of day (due reminders, overdue activities, late purchase orders, the
/// reliability window) reads it, never `Date()`.
public final class ServiceClock: Sendable {
    private let offset: Mutex<TimeInterval>

    /// The system clock, or one that reads `start` now and runs on from there.
    public init(start: Date? = nil) {
        offset = Mutex(start.map { $0.timeIntervalSinceNow } ?? 0)
    }

    public func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// Whether it differs from the system clock (then the start-up log warns).
    public var isShifted: Bool { offset.withLock { $0 } != 0 }

    /// Moves the clock (tests).
    public func advance(by interval: TimeInterval) { offset.withLock { $0 += interval } }

    /// Sets the clock to read `date` now (tests).
    public func set(_ date: Date) { offset.withLock { $0 = date.timeIntervalSinceNow } }

    /// `CRM_CLOCK_START` of `environment`: the system clock when absent.
    public convenience init(environment: [String: String]) throws {
        guard let text = environment["CRM_CLOCK_START"] else {
            self.init()
            return
        }
        guard let start = Timestamp.parse(text) else {
            throw ConfigurationError("CRM_CLOCK_START must be an RFC 3339 instant such as 2027-02-28T08:59:00Z (got '\(text)')")
        }
        self.init(start: start)
    }
}
