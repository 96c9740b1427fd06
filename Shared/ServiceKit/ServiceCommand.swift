import ArgumentParser
import EventStore
import Foundation
import Logging

/// The command line of every service executable: `serve` (the default), `rebuild` and `dump`,
/// configured by `CRM_*` environment variables. A service's `main.swift` is
/// `await ServiceCommand<TheService>.execute()`.
public struct ServiceCommand<Service: ServiceDefinition>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "crm-\(Service.name)",
            abstract: "The CRM \(Service.name) service. Configured by CRM_* environment variables.",
            subcommands: [Serve.self, Rebuild.self, Dump.self],
            defaultSubcommand: Serve.self)
    }

    public init() {}

    /// Parses the command line and runs the subcommand it names, exiting with a message on error
    /// (`main()` as `@main` would run it; called by name, the synchronous `main()` of
    /// `ParsableCommand` is chosen, which refuses an asynchronous command).
    public static func execute() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// The service's configuration and settings, from this process's environment.
    static func environmentConfiguration() throws -> (ServiceConfiguration, Service.Settings) {
        let environment = ProcessInfo.processInfo.environment
        let configuration = try ServiceConfiguration.fromEnvironment(
            serviceName: Service.name, defaultPort: Service.defaultPort, environment: environment)
        return (configuration, try Service.Settings(environment: environment))
    }

    public struct Serve: AsyncParsableCommand {
        public static var configuration: CommandConfiguration {
            CommandConfiguration(abstract: "Run the HTTP API and the projector.")
        }

        @Option(help: "HTTP port (overrides CRM_HTTP_PORT).") var port: Int?

        public init() {}

        public func run() async throws {
            var (configuration, settings) = try environmentConfiguration()
            if let port { configuration.httpPort = port }
            try await Service.serve(configuration, settings: settings)
        }
    }

    public struct Rebuild: AsyncParsableCommand {
        public static var configuration: CommandConfiguration {
            CommandConfiguration(
                abstract: "Delete the store and rebuild it from what the topics hold now, then exit.",
                discussion: "Use when the service refuses to start because the log lost events it had not applied.")
        }

        public init() {}

        public func run() async throws {
            let (configuration, settings) = try environmentConfiguration()
            RuntimeBootstrap.bootstrap(logLevel: configuration.logLevel)
            let report = try await Service.rebuild(configuration, settings: settings)
            let seconds = Double(report.duration.components.seconds) + Double(report.duration.components.attoseconds) / 1e18
            print("rebuilt \(configuration.storePath): \(report.applied) events applied, \(report.deadLettered) dead-lettered")
            print(
                String(format: "replay: %.2f s, %.0f events/s; ", seconds, Double(report.applied) / max(seconds, 1e-9))
                    + report.timings.description)
        }
    }

    public struct Dump: ParsableCommand {
        public static var configuration: CommandConfiguration {
            CommandConfiguration(abstract: "Print the store canonically (JSON lines in id order).")
        }

        public init() {}

        public func run() throws {
            let (configuration, _) = try environmentConfiguration()
            var buffer = ""
            try Service.dump(configuration) { line in
                buffer += line + "\n"
                if buffer.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(buffer.utf8))
                    buffer = ""
                }
            }
            FileHandle.standardOutput.write(Data(buffer.utf8))
        }
    }
}

/// What a rebuild applied, and how long it took.
public struct RebuildReport: Sendable {
    public let applied: Int64
    public let deadLettered: Int64
    public let duration: Duration
    public let timings: ProjectorTimings
}

extension ServiceDefinition {
    /// Runs the service until SIGINT/SIGTERM.
    public static func serve(_ configuration: ServiceConfiguration, settings: Settings) async throws {
        let registry = RuntimeBootstrap.bootstrap(logLevel: configuration.logLevel)
        let host = try ServiceHost<Self>(configuration: configuration, settings: settings, logger: Logger(label: "crm-\(name)"))
        host.logStart()
        try await host.buildApplication(metrics: registry).runService()
    }

    /// Rebuilds the store from what the topics hold now, even if the log has lost its beginning.
    /// The new store is built beside the old one (`<name>.sqlite.rebuild`) and replaces it only
    /// once complete: a rebuild that cannot reach Kafka, or is stopped, leaves the old store as it was.
    public static func rebuild(
        _ configuration: ServiceConfiguration, settings: Settings, options: ProjectorOptions = projectorOptions,
        logger: Logger = Logger(label: "crm-\(name)")
    ) async throws -> RebuildReport {
        let building = configuration.storePath + ".rebuild"
        try ServiceStore.deleteFiles(at: building)
        var options = options
        options.acceptTruncatedLog = true
        let host = try ServiceHost<Self>(
            configuration: configuration, settings: settings, projectorOptions: options, storePath: building, logger: logger)
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
            applied: projector.status.appliedCount, deadLettered: projector.status.deadLetterCount, duration: duration,
            timings: projector.status.timings)
    }

    /// Writes the canonical dump of the store (see `dump(_:into:)`).
    public static func dump(_ configuration: ServiceConfiguration, output: @escaping (String) -> Void) throws {
        let store = try openStore(path: configuration.storePath, logger: Logger(label: "crm-\(name)"))
        try store.database.read { db in try dump(db, into: CanonicalDump(output: output)) }
    }
}
