import EventStore
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle
import WireFormat
import WireSchema

/// The scheduler: planned contacts and tasks (work plans of each employee and of a supervisor's
/// team), reminders of them, of contact persons' birthdays and of clients that slipped, sent on
/// `crm.reminders.v1`, to signed webhooks and into each employee's calendar feed.
public enum SchedulerService: ServiceDefinition {
    public static let name = "scheduler"
    public static let defaultPort = 8084

    public static func openStore(path: String, logger: Logger) throws -> ServiceStore {
        try SchedulerStore.open(path: path, logger: logger)
    }

    public static func makeProjection(settings: SchedulerSettings) -> SchedulerProjection {
        SchedulerProjection()
    }

    public static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: SchedulerContext) {
        ActivityController(context: context).addRoutes(to: api)
        PlanController(context: context).addRoutes(to: api)
        ReminderController(context: context).addRoutes(to: api)
        WebhookController(context: context).addRoutes(to: api)
        CalendarController(context: context).addRoutes(to: api)
    }

    public static let openAPIDocument: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? Array(Data(contentsOf: url))
    }()

    /// Sending reminders and delivering them to webhooks, once the store has caught up.
    public static func backgroundServices(context: SchedulerContext, logger: Logger) -> [any ServiceLifecycle.Service] {
        if context.settings.clock.isShifted {
            logger.warning(
                "CRM_CLOCK_START is set: the scheduler's clock is not the system's (for tests and demos only)",
                metadata: ["now": "\(Timestamp.format(context.settings.clock.now()))"])
        }
        return [ReminderDispatcher(context: context, logger: logger), WebhookDeliverer(context: context, logger: logger)]
    }

    public static func dump(_ db: Database, into dump: CanonicalDump) throws {
        for (table, key) in [
            ("staff", "id"), ("counterparty", "id"), ("contact_person", "id"), ("deal", "id"), ("activity", "id"),
            ("reminder_schedule", "subject_id, kind, due_at"), ("reminder_sent", "id"), ("webhook", "id"),
            ("webhook_delivery", "webhook_id, reminder_id"), ("webhook_attempt", "webhook_id, reminder_id, attempt"),
        ] {
            // Sequence numbers order changes for the dispatcher; a replay may number them otherwise.
            try dump.emitTable(table, orderBy: key, excluding: ["seq"], in: db)
        }
    }
}

public typealias SchedulerContext = ServiceContext<SchedulerService>

extension ServiceContext where Service == SchedulerService {
    /// The actor of what the service publishes on its own account (reminders, delivery attempts).
    static var serviceActor: ActingUser { ActingUser(id: "crm-scheduler") }

    var clock: ServiceClock { settings.clock }
}

/// What else a command's references must name, checked inside one read (422 naming the field); staff and
/// counterparties are checked by `ReferenceChecks`.
enum References {
    /// The counterparty of a contact person (422 naming the field when there is no such person).
    static func contactPersonCounterparty(_ db: Database, _ id: String, field: String) throws -> String {
        guard
            let counterparty = try String.fetchOne(
                db.cachedStatement(sql: "SELECT counterparty_id FROM contact_person WHERE id = ? AND removed = 0"), arguments: [id])
        else { throw Problem.unprocessable("\(field): no contact person '\(id)'") }
        return counterparty
    }

    static func requireDeal(_ db: Database, _ id: String, field: String) throws {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM deal WHERE id = ?"), arguments: [id]) == nil {
            throw Problem.unprocessable("\(field): no deal '\(id)'")
        }
    }
}
