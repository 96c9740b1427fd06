import Foundation
import Kafka
import Logging

/// Everything a service reads at start: environment first, then command-line overrides.
public struct ServiceConfiguration: Sendable {
    public var serviceName: String
    public var httpHost: String
    public var httpPort: Int
    public var dataDirectory: String
    public var kafka: KafkaConfiguration
    /// Bearer token → user id. Empty: every request acts as the local administrator.
    public var tokens: [String: String]
    /// How long a command may wait for Kafka and for its own projector before answering 503.
    public var commandTimeout: Duration
    public var logLevel: Logger.Level
    public var maxRequestBodyBytes: Int
    /// A file every published event is appended to, as JSON lines (contract tests, diagnosis).
    public var publishedEventLog: String?

    public static let localAdministrator = "local-admin"

    public init(
        serviceName: String, httpHost: String = "127.0.0.1", httpPort: Int, dataDirectory: String = "./data",
        kafka: KafkaConfiguration, tokens: [String: String] = [:], commandTimeout: Duration = .seconds(5),
        logLevel: Logger.Level = .info, maxRequestBodyBytes: Int = 1 << 20, publishedEventLog: String? = nil
    ) {
        self.serviceName = serviceName
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.dataDirectory = dataDirectory
        self.kafka = kafka
        self.tokens = tokens
        self.commandTimeout = commandTimeout
        self.logLevel = logLevel
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.publishedEventLog = publishedEventLog
    }

    /// Reads `CRM_HTTP_HOST`, `CRM_HTTP_PORT`, `CRM_DATA_DIR`, `CRM_KAFKA_*`, `CRM_AUTH_TOKENS`
    /// (`token=user,token2=user2`) or `CRM_AUTH_TOKENS_FILE` (one `token=user` per line),
    /// `CRM_COMMAND_TIMEOUT_MS`, `CRM_LOG_LEVEL`, `CRM_PUBLISHED_EVENTS_LOG`.
    public static func fromEnvironment(
        serviceName: String, defaultPort: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceConfiguration {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        var configuration = ServiceConfiguration(
            serviceName: serviceName, httpPort: defaultPort,
            kafka: try KafkaConfiguration.fromEnvironment(environment))
        if let host = value("CRM_HTTP_HOST") { configuration.httpHost = host }
        if let port = value("CRM_HTTP_PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigurationError("CRM_HTTP_PORT must be a port number, got '\(port)'")
            }
            configuration.httpPort = number
        }
        if let directory = value("CRM_DATA_DIR") { configuration.dataDirectory = directory }
        if let timeout = value("CRM_COMMAND_TIMEOUT_MS") {
            guard let ms = Int(timeout), ms > 0 else { throw ConfigurationError("CRM_COMMAND_TIMEOUT_MS must be a positive integer") }
            configuration.commandTimeout = .milliseconds(ms)
        }
        if let level = value("CRM_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError("CRM_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = parsed
        }
        configuration.publishedEventLog = value("CRM_PUBLISHED_EVENTS_LOG")
        var tokenText = value("CRM_AUTH_TOKENS") ?? ""
        if let file = value("CRM_AUTH_TOKENS_FILE") {
            do {
                tokenText += "," + (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "\n", with: ",")
            } catch {
                throw ConfigurationError("cannot read CRM_AUTH_TOKENS_FILE \(file): \(error)")
            }
        }
        configuration.tokens = try parseTokens(tokenText)
        return configuration
    }

    static func parseTokens(_ text: String) throws -> [String: String] {
        var tokens: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let pair = entry.trimmingCharacters(in: .whitespaces)
            if pair.isEmpty || pair.hasPrefix("#") { continue }
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex, pair.index(after: eq) != pair.endIndex else {
                throw ConfigurationError("auth tokens must be token=user pairs")
            }
            tokens[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return tokens
    }

    /// The store file of this service.
    public var storePath: String { (dataDirectory as NSString).appendingPathComponent("\(serviceName).sqlite") }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
