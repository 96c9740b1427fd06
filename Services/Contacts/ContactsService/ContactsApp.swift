import EventStore
import Foundation
import Hummingbird
import Logging
import ServiceRuntime
import WireFormat
import WireSchema

/// The contacts service: counterparties, contact persons, interaction history and staff over HTTP,
/// published on `crm.counterparties.v1`, `crm.interactions.v1` and `crm.staff.v1`.
public enum ContactsApp {
    public static let serviceName = "contacts"
    public static let defaultPort = 8081

    public static func configuration() throws -> ServiceConfiguration {
        try ServiceConfiguration.fromEnvironment(serviceName: serviceName, defaultPort: defaultPort)
    }

    public static func makeHost(
        _ configuration: ServiceConfiguration, logger: Logger, options: ProjectorOptions = ProjectorOptions(),
        storePath: String? = nil
    ) throws -> ServiceHost<ContactsProjection> {
        let store = try ContactsStore.open(path: storePath ?? configuration.storePath, logger: logger)
        // Phone numbers written without a country code are taken to be in this one.
        let countryCode = ProcessInfo.processInfo.environment["CRM_PHONE_COUNTRY_CODE"] ?? "7"
        guard !countryCode.isEmpty, countryCode.count <= 3, countryCode.allSatisfy(\.isASCII), countryCode.allSatisfy(\.isNumber) else {
            throw ConfigurationError("CRM_PHONE_COUNTRY_CODE must be a country calling code such as 7 or 49 (got '\(countryCode)')")
        }
        let projection = ContactsProjection(normalization: ContactNormalization(countryCode: countryCode))
        return try ServiceHost(
            configuration: configuration, projection: projection, store: store, logger: logger,
            projectorOptions: options)
    }

    /// The service's API routes (also used by tests with `app.test(.router)`).
    public static func addRoutes(to group: RouterGroup<CRMRequestContext>, host: ServiceHost<ContactsProjection>) {
        let context = ContactsContext(
            store: host.store, commands: host.commands, maxBodyBytes: host.configuration.maxRequestBodyBytes,
            normalization: host.projection.normalization)
        // Fixed paths (duplicates, export.csv) before `/counterparties/{id}`, so they are not taken for ids.
        MergeController(context: context).addRoutes(to: group)
        ExportController(context: context).addRoutes(to: group)
        ImportController(context: context, publisher: host.commands.publisher, status: host.projector.status).addRoutes(to: group)
        CounterpartyController(context: context).addRoutes(to: group)
        ContactPersonController(context: context).addRoutes(to: group)
        InteractionController(context: context).addRoutes(to: group)
        StaffController(context: context).addRoutes(to: group)
        group.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: openAPIDocument)))
        }
    }

    static let openAPIDocument: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let data = try? Data(contentsOf: url) else { return Array("openapi: 3.1.0\n".utf8) }
        return Array(data)
    }()

    public static func serve(_ configuration: ServiceConfiguration) async throws {
        RuntimeBootstrap.bootstrap(logLevel: configuration.logLevel)
        let logger = Logger(label: "crm-\(serviceName)")
        let host = try makeHost(configuration, logger: logger)
        try await host.run { group in addRoutes(to: group, host: host) }
    }

    /// Rebuilds the store from what the topics hold now, even if the log has lost its beginning, and
    /// returns what it applied. The new store is built beside the old one (`contacts.sqlite.rebuild`)
    /// and replaces it only once complete: a rebuild that cannot reach Kafka, or is stopped, leaves
    /// the old store as it was.
    public struct RebuildReport: Sendable {
        public let applied: Int64
        public let deadLettered: Int64
        public let duration: Duration
        public let timings: ProjectorTimings
    }

    public static func rebuild(_ configuration: ServiceConfiguration) async throws -> RebuildReport {
        RuntimeBootstrap.bootstrap(logLevel: configuration.logLevel)
        let logger = Logger(label: "crm-\(serviceName)")
        let building = configuration.storePath + ".rebuild"
        try ServiceStore.deleteFiles(at: building)
        var options = ProjectorOptions()
        options.acceptTruncatedLog = true
        let host = try makeHost(configuration, logger: logger, options: options, storePath: building)
        let projector = host.projector
        let started = ContinuousClock.now
        let run = Task { try await projector.run() }
        guard await projector.status.waitUntilReady(timeout: .seconds(7 * 24 * 3600)) else {
            throw ConfigurationError("rebuild failed: \(projector.status.failure ?? "stopped before catching up")")
        }
        let duration = ContinuousClock.now - started
        // Stopping lets the outbox publish pending dead letters first.
        projector.stop()
        try await run.value
        host.producer.close()
        try host.store.close()
        try ServiceStore.replaceFiles(at: configuration.storePath, with: building)
        return RebuildReport(
            applied: projector.status.appliedCount, deadLettered: projector.status.deadLetterCount,
            duration: duration, timings: projector.status.timings)
    }

    /// Writes the canonical dump of the store (one JSON line per counterparty, in id order).
    public static func dump(_ configuration: ServiceConfiguration, output: (String) -> Void) throws {
        let logger = Logger(label: "crm-\(serviceName)")
        let store = try ContactsStore.open(path: configuration.storePath, logger: logger)
        try store.database.read { db in try ContactsDump.write(db, into: output) }
    }
}
