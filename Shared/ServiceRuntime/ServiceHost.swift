import Platform
import EventStore
import Foundation
import Hummingbird
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import WireFormat
import WireSchema

/// Process-wide set-up that may happen once: JSON logs and the Prometheus registry.
public enum RuntimeBootstrap {
    private static let state = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Installs JSON logging and Prometheus metrics (idempotent); returns the registry.
    @discardableResult
    public static func bootstrap(logLevel: Logger.Level) -> PrometheusCollectorRegistry {
        state.withLock { registry in
            if let registry { return registry }
            let created = PrometheusCollectorRegistry()
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: logLevel) }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: created))
            registry = created
            return created
        }
    }
}

/// Everything one service process runs: its store, producer, projector and HTTP API, wired with
/// the platform's conventions. Services supply their projection and routes.
public final class ServiceHost<P: Projection>: Sendable {
    public let configuration: ServiceConfiguration
    public let projection: P
    public let store: ServiceStore
    public let producer: KafkaProducer
    public let projector: Projector<P>
    public let commands: CommandGateway
    public let authenticator: StaticTokenAuthenticator
    public let logger: Logger

    public init(
        configuration: ServiceConfiguration, projection: P, store: ServiceStore, logger: Logger,
        projectorOptions: ProjectorOptions = ProjectorOptions()
    ) throws {
        self.configuration = configuration
        self.projection = projection
        self.store = store
        self.logger = logger
        let timeoutMs = configuration.commandTimeout.components.seconds * 1000
            + configuration.commandTimeout.components.attoseconds / 1_000_000_000_000_000
        // A command gives up when its delivery does: the broker being away answers 503, not a hang.
        let producerConfiguration = configuration.kafka.withDefaults(["message.timeout.ms": String(max(1000, timeoutMs))])
        producer = try KafkaProducer(configuration: producerConfiguration, name: "\(configuration.serviceName)-producer", logger: logger)
        projector = Projector(
            projection: projection, store: store, consumerConfiguration: configuration.kafka,
            deadLetterProducer: producer, logger: logger, options: projectorOptions)
        commands = CommandGateway(
            publisher: EventPublisher(producer: producer, source: "crm-\(configuration.serviceName)"),
            status: projector.status, timeout: configuration.commandTimeout)
        authenticator = StaticTokenAuthenticator(tokens: configuration.tokens)
    }

    /// The router with the platform routes (health, metrics) and a group for the service's API,
    /// behind authentication.
    public func makeRouter(
        registry: PrometheusCollectorRegistry?, apiRoutes: (RouterGroup<CRMRequestContext>) -> Void
    ) -> Router<CRMRequestContext> {
        let router = Router(context: CRMRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        if registry != nil { router.add(middleware: MetricsMiddleware()) }
        HealthController(status: projector.status, registry: registry, serviceName: configuration.serviceName)
            .addRoutes(to: router)
        apiRoutes(router.group().add(middleware: AuthenticationMiddleware(authenticator: authenticator)))
        return router
    }

    /// Runs until SIGINT/SIGTERM: HTTP stops first, then the projector, then the producer is flushed.
    public func run(apiRoutes: (RouterGroup<CRMRequestContext>) -> Void) async throws {
        let registry = RuntimeBootstrap.bootstrap(logLevel: configuration.logLevel)
        if authenticator.isOpen {
            logger.warning("no auth tokens configured (CRM_AUTH_TOKENS): every request acts as the built-in local administrator '\(ServiceConfiguration.localAdministrator)'")
        }
        logger.info("starting", metadata: [
            "service": "\(configuration.serviceName)", "store": "\(store.path)",
            "allocator": "\(Memory.allocator)",
            "kafka": "\(configuration.kafka.redacted.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
        ])
        let router = makeRouter(registry: registry, apiRoutes: apiRoutes)
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort),
                                 serverName: "crm-\(configuration.serviceName)"),
            onServerRunning: { [logger, configuration] channel in
                let port = channel.localAddress?.port ?? configuration.httpPort
                logger.info("listening", metadata: ["url": "http://\(configuration.httpHost):\(port)"])
            },
            logger: logger)
        // Services stop in reverse order, and the HTTP server (added by Hummingbird last) first.
        app.addServices(ProducerService(producer: producer), ProjectorService(projector: projector))
        try await app.runService()
    }
}

/// Keeps the producer for the whole run and flushes it when everything else has stopped.
struct ProducerService: Service {
    let producer: KafkaProducer

    func run() async throws {
        try? await gracefulShutdown()
        let producer = producer
        try await runOnThread(name: "producer-flush") { producer.close(flushTimeoutMs: 10_000) }
    }
}

/// Runs the projector's blocking loops on threads of their own, off Swift's cooperative pool.
/// Stopped by a graceful shutdown, and by cancellation too: when another service fails (the HTTP
/// port is taken) the group cancels the rest, and a projector that ignored it kept the process
/// alive without its HTTP server.
struct ProjectorService<P: Projection>: Service {
    let projector: Projector<P>

    func run() async throws {
        let projector = projector
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await projector.run()
            } onGracefulShutdown: {
                projector.stop()
            }
        } onCancel: {
            projector.stop()
        }
    }
}
