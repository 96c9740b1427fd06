import EventStore
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle
import WireFormat

/// The analytics service: classification runs (ABC/XYZ and statuses, published on
/// `crm.segments.v1`), the churn early warning, manager scorecards, campaign and inquiry
/// conversion, and failure analysis, from the ERP's orders and the CRM's topics.
public enum AnalyticsService: ServiceDefinition {
    public static let name = "analytics"
    public static let defaultPort = 8085

    public static func openStore(path: String, logger: Logger) throws -> ServiceStore {
        try AnalyticsStore.open(path: path, logger: logger)
    }

    /// A replay of ERP orders applies faster than the shallow default prefetch refills: with it,
    /// fetching stalled for up to a second whenever 100,000 records were queued.
    public static var projectorOptions: ProjectorOptions {
        var options = ProjectorOptions()
        options.deepPrefetch = true
        return options
    }

    public static func makeProjection(settings: AnalyticsSettings) -> AnalyticsProjection {
        AnalyticsProjection()
    }

    public static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: AnalyticsContext) {
        ClassificationController(context: context).addRoutes(to: api)
        ClientsController(context: context).addRoutes(to: api)
        ScorecardController(context: context).addRoutes(to: api)
        ConversionController(context: context).addRoutes(to: api)
        OrdersController(context: context).addRoutes(to: api)
    }

    public static let openAPIDocument: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? Array(Data(contentsOf: url))
    }()

    public static func backgroundServices(context: AnalyticsContext, logger: Logger) -> [any ServiceLifecycle.Service] {
        guard let minute = context.settings.scheduleMinute else { return [] }
        return [ScheduledClassification(context: context, minuteOfDay: minute, logger: logger)]
    }

    public static func dump(_ db: Database, into dump: CanonicalDump) throws {
        for (table, key) in [
            ("client", "id"), ("contact_person", "id"), ("staff", "id"), ("interaction", "id"), ("erp_order", "id"),
            ("client_month", "client_id, month"), ("manager_day", "manager_id, day"), ("inquiry", "id"), ("campaign", "id"),
            ("campaign_cost", "event_id"),
            ("deal", "id"), ("segment", "client_id"), ("classification_run", "id"), ("classification_result", "run_id, client_id"),
        ] {
            try dump.emitTable(table, orderBy: key, in: db)
        }
    }
}

/// The daily classification run (`CRM_ANALYTICS_SCHEDULE`, default 02:00 UTC), as of that day and
/// published. A run that fails is logged and tried again at the next time.
struct ScheduledClassification: ServiceLifecycle.Service {
    let context: AnalyticsContext
    let minuteOfDay: Int
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = Date().timeIntervalSince1970
            let today = (now / 86_400).rounded(.down) * 86_400
            let scheduled = today + Double(minuteOfDay * 60)
            let next = scheduled > now ? scheduled : scheduled + 86_400
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(next - now)) }
            } catch {
                return
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            // Only once the store has caught up, so the run sees every order the topics hold.
            while !context.status.isReady {
                guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: .seconds(5)) })) != nil else { return }
            }
            do {
                let run = try await ClassificationRunner(context: context).run(
                    asOf: CalendarDate(utc: Date()), parameters: context.settings.classification, publish: true, trigger: "schedule",
                    user: nil)
                logger.info("scheduled classification run", metadata: ["run": "\(run.id)", "clients": "\(run.clients)"])
            } catch {
                logger.error("scheduled classification run failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
