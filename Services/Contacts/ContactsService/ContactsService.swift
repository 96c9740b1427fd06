import EventStore
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceKit

/// The contacts service: counterparties, contact persons, interaction history and staff over HTTP,
/// published on `crm.counterparties.v1`, `crm.interactions.v1` and `crm.staff.v1`.
public enum ContactsService: ServiceDefinition {
    public static let name = "contacts"
    public static let defaultPort = 8081

    public static func openStore(path: String, logger: Logger) throws -> ServiceStore {
        try ContactsStore.open(path: path, logger: logger)
    }

    public static func makeProjection(settings: ContactsSettings) -> ContactsProjection {
        ContactsProjection(normalization: ContactNormalization(countryCode: settings.phoneCountryCode))
    }

    public static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: ContactsContext) {
        // Fixed paths (duplicates, export.csv) before `/counterparties/{id}`, so they are not taken for ids.
        MergeController(context: context).addRoutes(to: api)
        ExportController(context: context).addRoutes(to: api)
        ImportController(context: context).addRoutes(to: api)
        CounterpartyController(context: context).addRoutes(to: api)
        ContactPersonController(context: context).addRoutes(to: api)
        InteractionController(context: context).addRoutes(to: api)
        StaffController(context: context).addRoutes(to: api)
    }

    public static let openAPIDocument: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? Array(Data(contentsOf: url))
    }()

    public static func dump(_ db: Database, into dump: CanonicalDump) throws {
        try ContactsDump.write(db, into: dump)
    }
}

/// The contacts service's own configuration.
public struct ContactsSettings: ServiceSettings {
    /// `CRM_PHONE_COUNTRY_CODE` (default 7): the country calling code assumed for phone numbers
    /// written without one (duplicate checks and search). After changing it, rebuild the store.
    public var phoneCountryCode: String

    public init(phoneCountryCode: String = "7") {
        self.phoneCountryCode = phoneCountryCode
    }

    public init(environment: [String: String]) throws {
        let code = environment["CRM_PHONE_COUNTRY_CODE"] ?? "7"
        guard !code.isEmpty, code.count <= 3, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else {
            throw ConfigurationError("CRM_PHONE_COUNTRY_CODE must be a country calling code such as 7 or 49 (got '\(code)')")
        }
        self.init(phoneCountryCode: code)
    }
}
