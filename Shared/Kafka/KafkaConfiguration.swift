import Foundation

/// librdkafka properties for one client. Anything librdkafka accepts passes through untouched, so
/// SASL and TLS settings for a real cluster need no code here.
public struct KafkaConfiguration: Sendable, Equatable {
    public var properties: [String: String]

    public init(brokers: String, properties: [String: String] = [:]) {
        self.properties = properties
        self.properties["bootstrap.servers"] = brokers
    }

    public var brokers: String { properties["bootstrap.servers"] ?? "" }

    /// Reads `CRM_KAFKA_BROKERS` and every `CRM_KAFKA_<PROPERTY>` variable, where the property name is
    /// lower-cased with `_` turned into `.` (`CRM_KAFKA_SASL_MECHANISM` → `sasl.mechanism`), then
    /// `CRM_KAFKA_CONFIG_FILE`, a Java-style properties file whose lines override nothing set in the
    /// environment.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultBrokers: String = "localhost:9092"
    ) throws -> KafkaConfiguration {
        var properties: [String: String] = [:]
        if let file = environment["CRM_KAFKA_CONFIG_FILE"], !file.isEmpty {
            properties = try parsePropertiesFile(at: file)
        }
        for (name, value) in environment where name.hasPrefix("CRM_KAFKA_") {
            let suffix = name.dropFirst("CRM_KAFKA_".count)
            if suffix == "BROKERS" || suffix == "CONFIG_FILE" { continue }
            properties[suffix.lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        let brokers = environment["CRM_KAFKA_BROKERS"] ?? properties["bootstrap.servers"] ?? defaultBrokers
        return KafkaConfiguration(brokers: brokers, properties: properties)
    }

    static func parsePropertiesFile(at path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KafkaError(message: "cannot read Kafka config file \(path): \(error)")
        }
        var properties: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw KafkaError(message: "Kafka config file \(path): expected key=value, got '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            properties[key] = value
        }
        return properties
    }

    /// Returns a copy with `overrides` applied on top (overrides win).
    public func merging(_ overrides: [String: String]) -> KafkaConfiguration {
        var copy = self
        copy.properties.merge(overrides) { _, new in new }
        return copy
    }

    /// Returns a copy with `defaults` applied only where nothing is configured yet.
    public func withDefaults(_ defaults: [String: String]) -> KafkaConfiguration {
        var copy = self
        copy.properties.merge(defaults) { current, _ in current }
        return copy
    }

    /// The properties safe to print: secrets are masked.
    public var redacted: [String: String] {
        properties.reduce(into: [:]) { result, entry in
            result[entry.key] = Self.isSecret(entry.key) ? "*****" : entry.value
        }
    }

    static func isSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.contains("password") || lower.contains("secret") || lower.hasSuffix(".key.pem")
            || lower.contains("sasl.jaas") || lower.contains("oauthbearer.config")
    }
}
