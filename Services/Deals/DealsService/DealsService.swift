import EventStore
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle
import WireFormat
import WireSchema

/// The deals service: campaigns and their costs, inquiries, the deal pipeline, what became of the
/// clients' ERP orders, and the sales conditions each client's rank entitles it to (published on
/// `crm.sales-conditions.v1` for the ERP).
public enum DealsService: ServiceDefinition {
    public static let name = "deals"
    public static let defaultPort = 8083

    public static func openStore(path: String, logger: Logger) throws -> ServiceStore {
        try DealsStore.open(path: path, logger: logger)
    }

    public static func makeProjection(settings: NoSettings) -> DealsProjection {
        DealsProjection()
    }

    public static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: DealsContext) {
        CampaignController(context: context).addRoutes(to: api)
        InquiryController(context: context).addRoutes(to: api)
        PipelineController(context: context).addRoutes(to: api)
        DealAnalysisController(context: context).addRoutes(to: api)
        DealController(context: context).addRoutes(to: api)
        CounterpartyOrdersController(context: context).addRoutes(to: api)
        SalesConditionsController(context: context).addRoutes(to: api)
    }

    public static let openAPIDocument: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? Array(Data(contentsOf: url))
    }()

    /// Work that follows from consumed events, done once the store has caught up.
    public static func backgroundServices(context: DealsContext, logger: Logger) -> [any ServiceLifecycle.Service] {
        [FollowUpWork(context: context, logger: logger)]
    }

    public static func dump(_ db: Database, into dump: CanonicalDump) throws {
        for (table, key) in [
            ("campaign", "id"), ("inquiry", "id"), ("deal", "id"), ("deal_open_totals", "stage, owner_id, currency, month"),
            ("deal_closed_totals", "outcome, owner_id, currency, reason"), ("deal_open_days", "kind, day, owner_id"),
            ("counterparty", "id"), ("staff", "id"),
            ("campaign_cost", "event_id"),
            ("deal_stage", "deal_id, event_id"),
            ("erp_order", "id"), ("setting", "key"), ("client_rank", "client_id"), ("conditions_override", "client_id"),
            ("conditions_assigned", "client_id"), ("conditions_history", "client_id, assigned_at, event_id"),
        ] {
            try dump.emitTable(table, orderBy: key, in: db)
        }
    }
}

public typealias DealsContext = ServiceContext<DealsService>

extension ServiceContext where Service == DealsService {
    /// The actor of what the service publishes on its own account (reconciled sales conditions).
    static var serviceActor: ActingUser { ActingUser(id: "crm-deals") }
    /// The actor of a deal the ERP's completed order won.
    static var erpActor: ActingUser { ActingUser(id: "erp") }

    /// 422 naming `field` unless a counterparty with this id exists (and was not merged away).
    func requireCounterparty(_ id: String, field: String) async throws {
        try await read { db in try ReferenceChecks.requireCounterparty(db, id, field: field) }
    }

    /// 422 naming `field` unless a staff member with this id exists.
    func requireStaff(_ id: String, field: String) async throws {
        try await read { db in try ReferenceChecks.requireStaff(db, id, field: field) }
    }

    func requireCampaign(_ id: String, field: String) async throws {
        try await read { db in try References.requireCampaign(db, id, field: field) }
    }
}

/// What else a command's references must name, checked inside one read (422 naming the field); staff and
/// counterparties are checked by `ReferenceChecks`.
enum References {
    static func requireCampaign(_ db: Database, _ id: String, field: String) throws {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM campaign WHERE id = ?"), arguments: [id]) == nil {
            throw Problem.unprocessable("\(field): no campaign '\(id)'")
        }
    }
}

extension Pipeline {
    /// The stages until someone defines others.
    static let standard = Pipeline(stages: [
        Stage(id: "qualification", name: "Qualification", probability: 10),
        Stage(id: "needs-analysis", name: "Needs analysis", probability: 25),
        Stage(id: "proposal", name: "Proposal", probability: 50),
        Stage(id: "negotiation", name: "Negotiation", probability: 75),
    ])

    static func current(_ db: Database) throws -> Pipeline {
        guard
            let text = try String.fetchOne(
                db.cachedStatement(sql: "SELECT value FROM setting WHERE key = ?"), arguments: [DealSettingsEvent.pipelineKey])
        else { return standard }
        return try WireDecoder.decode(Pipeline.self, from: Array(text.utf8))
    }

    func stage(_ id: String) -> Stage? { stages.first { $0.id == id } }
}

/// A setting's version and last change (the `setting` table): its ETag, and what `If-Match` is
/// checked against.
struct SettingVersion: Sendable {
    var version = 0
    var updatedAt: String?
    var updatedBy: String?

    var etag: String { "\"\(version)\"" }

    static func fetch(_ db: Database, key: String) throws -> SettingVersion {
        guard let row = try Row.fetchOne(db, sql: "SELECT version, updated_at, updated_by FROM setting WHERE key = ?", arguments: [key])
        else { return SettingVersion() }
        return SettingVersion(version: row[0], updatedAt: row[1], updatedBy: row[2])
    }
}
