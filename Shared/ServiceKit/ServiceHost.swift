import EventStore
import Foundation
import Hummingbird
import Kafka
import Logging
import Metrics
import Platform
import Prometheus
import ServiceLifecycle
import Synchronization

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

/// Everything one service process runs, wired with the platform's conventions: its store,
/// producer, projector and the context its handlers see. `buildApplication` makes the HTTP
/// application that `serve` runs and tests drive.
public final class ServiceHost<Service: ServiceDefinition>: Sendable {
    public let configuration: ServiceConfiguration
    public let store: ServiceStore
    public let producer: KafkaProducer
    public let projector: Projector<Service.ReadModel>
    public let context: ServiceContext<Service>
    public let authenticator: any Authenticator
    public let logger: Logger
    /// Where the store is: `GET /health/status` reports its size.
    let storePath: String

    /// - Parameters:
    ///   - authenticator: who a request acts as; by default the static tokens of the configuration.
    ///   - storePath: where the store is (a rebuild builds beside the service's own).
    public init(
        configuration: ServiceConfiguration, settings: Service.Settings, authenticator: (any Authenticator)? = nil,
        projectorOptions: ProjectorOptions = Service.projectorOptions, storePath: String? = nil, logger: Logger
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.storePath = storePath ?? configuration.storePath
        store = try Service.openStore(path: self.storePath, logger: logger)
        let projection = Service.makeProjection(settings: settings)
        let timeoutMs = configuration.commandTimeout.milliseconds
        // A command gives up when its delivery does: the broker being away answers 503, not a hang.
        let producerConfiguration = configuration.kafka.withDefaults(["message.timeout.ms": String(max(1000, timeoutMs))])
        // A service reads back every topic it writes to (a command waits for its event to be
        // applied), so its projection's topics are the ones its producer looks up at start.
        producer = try KafkaProducer(
            configuration: producerConfiguration, name: "\(Service.name)-producer", topics: projection.topics, logger: logger)
        projector = Projector(
            projection: projection, store: store, consumerConfiguration: configuration.kafka, deadLetterProducer: producer,
            logger: logger, options: projectorOptions)
        let commands = CommandGateway(
            publisher: EventPublisher(producer: producer, source: "crm-\(Service.name)", log: configuration.publishedEventLog),
            status: projector.status, timeout: configuration.commandTimeout)
        context = ServiceContext(
            store: store, commands: commands, configuration: configuration, settings: settings, projection: projection)
        self.authenticator = authenticator ?? StaticTokenAuthenticator(tokens: configuration.tokens)
    }

    /// The application: the router (health and metrics, then the service's API behind
    /// authentication, every error a problem document) and the services it runs beside the HTTP
    /// server (the producer and the projector). `serve` runs it; tests drive it with
    /// `app.test(.router)`, which runs the same services.
    ///
    /// Services stop in reverse order, the HTTP server (added by Hummingbird last) first, then the
    /// service's background work, then the projector (which finishes its batch), then the
    /// producer, flushed.
    public func buildApplication(
        metrics registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> some ApplicationProtocol {
        let router = Router(context: CRMRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MetricsMiddleware())
        HealthController(status: projector.status, registry: registry, serviceName: Service.name, storePath: storePath)
            .addRoutes(to: router)
        let api = router.group().add(middleware: AuthenticationMiddleware(authenticator: authenticator))
        if let document = Service.openAPIDocument {
            api.get("/openapi.yaml") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
            }
        }
        Service.addRoutes(to: api, context: context)
        var app = Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "crm-\(Service.name)"),
            onServerRunning: { [logger, configuration] channel in
                let port = channel.localAddress?.port ?? configuration.httpPort
                logger.info("listening", metadata: ["url": "http://\(configuration.httpHost):\(port)"])
            },
            logger: logger)
        app.addServices(ProducerService(producer: producer), ProjectorService(projector: projector))
        app.addServices(Service.backgroundServices(context: context, logger: logger))
        return app
    }

    /// Logs what the process runs with, once, at start.
    func logStart() {
        if let warning = authenticator.startupWarning { logger.warning("\(warning)") }
        logger.info(
            "starting",
            metadata: [
                "service": "\(Service.name)", "store": "\(store.path)", "allocator": "\(Memory.allocator)",
                "kafka":
                    "\(configuration.kafka.redacted.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            ])
    }
}

/// Keeps the producer for the whole run and flushes it when everything else has stopped.
struct ProducerService: ServiceLifecycle.Service {
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
struct ProjectorService<P: Projection>: ServiceLifecycle.Service {
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
