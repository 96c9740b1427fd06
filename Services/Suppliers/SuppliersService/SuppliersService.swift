import EventStore
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle
import WireFormat
import WireSchema

/// The suppliers service: each supplier's terms, price lists and returnable packaging, every
/// supplier's offer for an item, and how reliable each one is, measured from the ERP's purchase
/// orders and receipts as they arrive; a change of standing is published on `crm.suppliers.v1`.
public enum SuppliersService: ServiceDefinition {
    public static let name = "suppliers"
    public static let defaultPort = 8082

    public static func openStore(path: String, logger: Logger) throws -> ServiceStore {
        try SuppliersStore.open(path: path, logger: logger)
    }

    public static func makeProjection(settings: SuppliersSettings) -> SuppliersProjection {
        SuppliersProjection()
    }

    public static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: SuppliersContext) {
        ReliabilityController(context: context).addRoutes(to: api)
        SupplierController(context: context).addRoutes(to: api)
        PriceListController(context: context).addRoutes(to: api)
        OfferController(context: context).addRoutes(to: api)
    }

    public static let openAPIDocument: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? Array(Data(contentsOf: url))
    }()

    /// Publishing standing changes, once the store has caught up.
    public static func backgroundServices(context: SuppliersContext, logger: Logger) -> [any ServiceLifecycle.Service] {
        if context.settings.clock.isShifted {
            logger.warning(
                "CRM_CLOCK_START is set: the service's clock is not the system's (for tests and demos only)",
                metadata: ["now": "\(Timestamp.format(context.settings.clock.now()))"])
        }
        return [StandingWork(context: context, logger: logger)]
    }

    public static func dump(_ db: Database, into dump: CanonicalDump) throws {
        for (table, key) in [
            ("counterparty", "id"), ("supplier_terms", "supplier_id"), ("supplier_standing", "supplier_id"),
            ("supplier_standing_history", "supplier_id, changed_at, event_id"), ("price_publication", "id"),
            ("price_part", "publication_id, part"), ("price_line", "publication_id, line"), ("purchase_order", "id"),
            ("purchase_line", "order_id, sku"), ("goods_receipt", "event_id"), ("supplier_month", "supplier_id, month"),
        ] {
            try dump.emitTable(table, orderBy: key, in: db)
        }
    }
}

public typealias SuppliersContext = ServiceContext<SuppliersService>

/// The suppliers service's configuration. A bad value stops the service with an error naming the variable.
public struct SuppliersSettings: ServiceSettings {
    /// `CRM_CLOCK_START`: the service's clock (today's date: the default window, late orders).
    public var clock = ServiceClock()
    /// The longest time between two comparisons of standings with what was published: a change
    /// the projector applies starts one sooner, but no sooner than `standingPause` after the last.
    public var standingInterval: Duration = .seconds(1)
    public var standingPause: Duration = .milliseconds(200)

    public init() {}

    public init(environment: [String: String]) throws {
        clock = try ServiceClock(environment: environment)
    }
}

extension ServiceContext where Service == SuppliersService {
    /// The actor of what the service publishes on its own account (standing changes).
    static var serviceActor: ActingUser { ActingUser(id: "crm-suppliers") }

    var today: CalendarDate { CalendarDate(utc: settings.clock.now()) }

    /// The supplier named by the path: 404 for an unknown counterparty, 422 for one that is not a supplier.
    func requireSupplier(_ id: String) async throws -> SupplierName {
        try await read { db in try SupplierName.require(db, id) }
    }
}

/// What terms and price lists accept alike.
enum SupplierInput {
    /// An ISO 4217 code, any case (stored in capitals).
    static func currency(_ code: String) throws -> String {
        let upper = code.uppercased()
        guard upper.count == 3, upper.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw Problem.unprocessable("currency must be an ISO 4217 code such as EUR (got '\(code)')")
        }
        return upper
    }
}

/// A supplier's name as the contacts service publishes it.
struct SupplierName: Sendable {
    var id: String
    var name: String
    var legalName: String
    var archived: Bool

    static func require(_ db: Database, _ id: String) throws -> SupplierName {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT name, legal_name, is_supplier, archived, merged_into FROM counterparty WHERE id = ?"),
                arguments: [id])
        else { throw Problem.notFound("no counterparty '\(id)'") }
        if let survivor = row[4] as String? { throw Problem.notFound("counterparty '\(id)' was merged into '\(survivor)'") }
        guard row[2] as Bool else { throw Problem.unprocessable("counterparty '\(id)' is not a supplier (it has no supplier role)") }
        return SupplierName(id: id, name: row[0], legalName: row[1], archived: row[3])
    }
}
