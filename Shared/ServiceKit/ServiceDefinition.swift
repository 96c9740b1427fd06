import EventStore
import GRDB
import Hummingbird
import Logging
import ServiceLifecycle

/// What makes one service: everything the kit needs to serve it, rebuild its store and dump it.
/// A service declares one type conforming to this in its library (tests use the same type), and
/// its `main.swift` hands that type to `ServiceCommand`. `docs/architecture.md`, "Adding a
/// service", walks through writing one.
public protocol ServiceDefinition: Sendable {
    /// How the service's topics become its store.
    associatedtype ReadModel: Projection
    /// The service's own configuration, beyond the kit's (`NoSettings` when it has none).
    associatedtype Settings: ServiceSettings = NoSettings

    /// Names the executable (`crm-<name>`), the store (`<name>.sqlite`), logs, metrics and the
    /// consumer in dead letters.
    static var name: String { get }
    static var defaultPort: Int { get }

    /// Opens (or creates, migrating) the service's store: the platform tables and its own.
    static func openStore(path: String, logger: Logger) throws -> ServiceStore
    static func makeProjection(settings: Settings) -> ReadModel
    /// How the projector runs (e.g. a deep prefetch for a fast projection). A rebuild takes these
    /// and accepts a truncated log besides.
    static var projectorOptions: ProjectorOptions { get }

    /// The service's API. It sits behind authentication, beside the kit's health and metrics routes.
    static func addRoutes(to api: RouterGroup<CRMRequestContext>, context: ServiceContext<Self>)
    /// The API reference served at `GET /openapi.yaml`, when the service has one.
    static var openAPIDocument: [UInt8]? { get }

    /// Work the service runs beside its HTTP server (a schedule), started after the producer and the
    /// projector and stopped before them.
    static func backgroundServices(context: ServiceContext<Self>, logger: Logger) -> [any ServiceLifecycle.Service]

    /// Writes every row a replay builds as canonical JSON lines (each table in key order, keys
    /// sorted, times from the events), so that two stores built from one log dump identically.
    static func dump(_ db: Database, into dump: CanonicalDump) throws
}

extension ServiceDefinition {
    public static var projectorOptions: ProjectorOptions { ProjectorOptions() }
    public static var openAPIDocument: [UInt8]? { nil }
    public static func backgroundServices(context: ServiceContext<Self>, logger: Logger) -> [any ServiceLifecycle.Service] { [] }
}

/// A service's own configuration: read from the environment at start (after the kit's `CRM_*`
/// variables), so a bad value stops the service with an error naming the variable.
public protocol ServiceSettings: Sendable {
    /// The settings of `environment`; every variable absent takes its default, so `[:]` gives the
    /// defaults (tests use that).
    init(environment: [String: String]) throws
}

/// For a service with no configuration of its own.
public struct NoSettings: ServiceSettings {
    public init() {}
    public init(environment: [String: String]) {}
}
