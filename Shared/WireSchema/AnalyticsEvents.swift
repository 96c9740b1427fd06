import Foundation
import WireFormat

// The analytics service's topic, `crm.segments.v1`; the data follows the JSON Schema of
// `topics/asyncapi.yaml`.

/// `crm.segments.v1` (compacted): `ClientClassified`.
public struct ClientClassification: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case potential, oneTime = "one-time", regular, lost }
    public var clientId: String
    public var runId: String
    public var asOf: CalendarDate
    public var abcClass: String?
    public var xyzClass: String?
    public var status: Status
    public var previousAbcClass: String?
    public var previousXyzClass: String?
    public var previousStatus: String?
    public var parameters: JSONValue?
}

/// Events on `crm.segments.v1` (compacted), keyed by client id: the latest classification.
public enum SegmentEvent: TopicEvents, Equatable {
    case clientClassified(ClientClassification)

    public static let topic = Topics.segments

    public enum Message: String, CaseIterable, Sendable {
        case clientClassified = "ClientClassified"
    }

    public var message: Message {
        switch self {
        case .clientClassified: .clientClassified
        }
    }

    public var key: String {
        switch self {
        case .clientClassified(let data): data.clientId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> SegmentEvent {
        switch message {
        case .clientClassified: .clientClassified(try WireDecoder.decode(ClientClassification.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .clientClassified(let data): try WireEncoder.encode(data)
        }
    }
}
