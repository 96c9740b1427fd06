import Foundation
import ServiceKit
import WireFormat

/// The scheduler's configuration. A bad value stops the service with an error naming the variable.
public struct SchedulerSettings: ServiceSettings {
    /// `CRM_CLOCK_START`: the scheduler's clock (see `ServiceClock`).
    public var clock = ServiceClock()
    /// `CRM_BIRTHDAY_DAYS_BEFORE`: also remind this many days ahead of a birthday (nil: only on the day).
    public var birthdayDaysBefore: Int?
    /// `CRM_BIRTHDAY_REMINDER_TIME` (HH:MM): the time of day, in the manager's time zone, of birthday reminders.
    public var birthdayMinuteOfDay = 9 * 60
    /// `CRM_SCHEDULER_CATCH_UP_HOURS`: a reminder not sent by its due moment (the service was down)
    /// still goes out, marked late, for this long; older ones are not sent.
    public var catchUp: TimeInterval = 7 * 24 * 3600
    /// `CRM_SCHEDULER_LATE_AFTER_SECONDS`: a reminder sent later than this after its due moment is late.
    public var lateAfter: TimeInterval = 60
    /// `CRM_SCHEDULER_GROUP`: the consumer group the instances share reminders through; `off` for
    /// an instance that sends every reminder itself.
    public var group: String? = "crm-scheduler"
    /// `CRM_WEBHOOK_TIMEOUT_MS`: how long a receiver may take to answer.
    public var webhookTimeout: TimeInterval = 15
    /// `CRM_WEBHOOK_RETRY_BASE_MS`: the first retry's delay; each next one doubles, up to an hour.
    public var webhookRetryBase: TimeInterval = 5
    /// `CRM_WEBHOOK_RETRY_HOURS`: how long a failing delivery is retried before it is given up.
    public var webhookRetryWindow: TimeInterval = 24 * 3600
    /// `CRM_WEBHOOK_ALLOW_PRIVATE`: whether webhooks may call loopback and private addresses.
    public var webhookAllowPrivate = false
    /// How deliveries reach receivers (tests record them instead).
    public var webhookTransport: any WebhookTransport = URLSessionWebhookTransport()
    /// How long the reminder dispatcher waits at most between two looks for due reminders (it also
    /// looks when a planned reminder falls due and after the projector applies something).
    public var dispatchInterval: Duration = .seconds(1)
    /// How long the dispatcher waits at least between two looks, so that a stream of applied
    /// events does not make it look after each one (unless a planned reminder falls due sooner).
    public var dispatchPause: Duration = .milliseconds(200)

    public init() {}

    public init(environment: [String: String]) throws {
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound) (got '\(text)')")
            }
            return value
        }
        clock = try ServiceClock(environment: environment)
        birthdayDaysBefore = try integer("CRM_BIRTHDAY_DAYS_BEFORE", 1...60)
        if let text = environment["CRM_BIRTHDAY_REMINDER_TIME"] {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute)
            else { throw ConfigurationError("CRM_BIRTHDAY_REMINDER_TIME must be HH:MM (got '\(text)')") }
            birthdayMinuteOfDay = hour * 60 + minute
        }
        if let hours = try integer("CRM_SCHEDULER_CATCH_UP_HOURS", 1...24 * 28) { catchUp = TimeInterval(hours) * 3600 }
        if let seconds = try integer("CRM_SCHEDULER_LATE_AFTER_SECONDS", 1...3600) { lateAfter = TimeInterval(seconds) }
        if let group = environment["CRM_SCHEDULER_GROUP"] {
            if group == "off" {
                self.group = nil
            } else {
                guard Validation.isValidId(group) else { throw ConfigurationError("CRM_SCHEDULER_GROUP must be a group id or off") }
                self.group = group
            }
        }
        if let ms = try integer("CRM_WEBHOOK_TIMEOUT_MS", 100...120_000) { webhookTimeout = TimeInterval(ms) / 1000 }
        if let ms = try integer("CRM_WEBHOOK_RETRY_BASE_MS", 10...3_600_000) { webhookRetryBase = TimeInterval(ms) / 1000 }
        if let hours = try integer("CRM_WEBHOOK_RETRY_HOURS", 1...24 * 7) { webhookRetryWindow = TimeInterval(hours) * 3600 }
        switch environment["CRM_WEBHOOK_ALLOW_PRIVATE"] {
        case nil, "false": webhookAllowPrivate = false
        case "true": webhookAllowPrivate = true
        case let other?: throw ConfigurationError("CRM_WEBHOOK_ALLOW_PRIVATE must be true or false (got '\(other)')")
        }
    }
}
