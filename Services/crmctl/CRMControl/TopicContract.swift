import Foundation
import Kafka
import Yams

/// The topics of the whole system, read from `topics/asyncapi.yaml`.
public struct TopicContract: Sendable {
    public struct Topic: Sendable, Equatable {
        public var channel: String
        public var spec: TopicSpec
        public var writer: String
        public var consumers: [String]
        public var key: String
        public var messages: [String]
    }

    public var topics: [Topic]

    public static let defaultPath = "topics/asyncapi.yaml"

    public struct ContractError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(path: String = defaultPath) throws -> TopicContract {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ContractError(description: "cannot read the topic contract at \(path) (run from the repository root or pass --topics)")
        }
        return try parse(text)
    }

    public static func parse(_ text: String) throws -> TopicContract {
        guard let document = try Yams.load(yaml: text) as? [String: Any] else {
            throw ContractError(description: "the topic contract is not a YAML mapping")
        }
        guard let channels = document["channels"] as? [String: Any] else {
            throw ContractError(description: "the topic contract has no channels")
        }
        var topics: [Topic] = []
        for (channel, value) in channels.sorted(by: { $0.key < $1.key }) {
            guard let body = value as? [String: Any], let address = body["address"] as? String else {
                throw ContractError(description: "channel \(channel) has no address")
            }
            let kafka = (body["bindings"] as? [String: Any])?["kafka"] as? [String: Any] ?? [:]
            guard let partitions = kafka["partitions"] as? Int, partitions > 0 else {
                throw ContractError(description: "channel \(channel) has no kafka binding with partitions")
            }
            let replicas = kafka["replicas"] as? Int ?? 3
            var config: [String: String] = [:]
            for (name, setting) in kafka["topicConfiguration"] as? [String: Any] ?? [:] {
                if let list = setting as? [Any] {
                    config[name] = list.map { "\($0)" }.joined(separator: ",")
                } else {
                    config[name] = "\(setting)"
                }
            }
            guard let writer = body["x-crm-writer"] as? String else {
                throw ContractError(description: "channel \(channel) names no writer (x-crm-writer)")
            }
            let messages = (body["messages"] as? [String: Any] ?? [:]).keys.sorted()
            topics.append(
                Topic(
                    channel: channel,
                    spec: TopicSpec(name: address, partitions: Int32(partitions), replicationFactor: Int32(replicas), config: config),
                    writer: writer,
                    consumers: body["x-crm-consumers"] as? [String] ?? [],
                    key: body["x-crm-key"] as? String ?? "",
                    messages: messages))
        }
        return TopicContract(topics: topics)
    }

    public var specs: [TopicSpec] { topics.map(\.spec) }

    public func topic(named name: String) -> Topic? { topics.first { $0.spec.name == name } }
}
