import Foundation
import Kafka

/// CloudEvents 1.0 attributes carried as Kafka headers (binary content mode): the record value is
/// the event data, the key is the id of the thing the event is about.
public struct CloudEventAttributes: Sendable, Equatable {
    public var id: String
    public var type: String
    public var source: String
    public var time: Date
    public var subject: String?
    /// The user whose request caused the event (extension attribute `actor`): the audit trail.
    public var actor: String?
    public var traceparent: String?

    public init(
        id: String, type: String, source: String, time: Date, subject: String? = nil,
        actor: String? = nil, traceparent: String? = nil
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.time = time
        self.subject = subject
        self.actor = actor
        self.traceparent = traceparent
    }

    public enum Header {
        public static let specVersion = "ce_specversion"
        public static let id = "ce_id"
        public static let type = "ce_type"
        public static let source = "ce_source"
        public static let time = "ce_time"
        public static let subject = "ce_subject"
        public static let actor = "ce_actor"
        public static let contentType = "content-type"
        public static let traceparent = "traceparent"
    }

    public var headers: [KafkaHeader] {
        var headers = [
            KafkaHeader(Header.specVersion, "1.0"),
            KafkaHeader(Header.id, id),
            KafkaHeader(Header.type, type),
            KafkaHeader(Header.source, source),
            KafkaHeader(Header.time, Timestamp.format(time)),
            KafkaHeader(Header.contentType, "application/json"),
        ]
        if let subject { headers.append(KafkaHeader(Header.subject, subject)) }
        if let actor { headers.append(KafkaHeader(Header.actor, actor)) }
        if let traceparent { headers.append(KafkaHeader(Header.traceparent, traceparent)) }
        return headers
    }

    /// Reads the attributes of a record in binary mode; nil when it carries no `ce_type`/`ce_id`.
    public init?(headers: [KafkaHeader]) {
        // On the replay hot path: one pass, no intermediate dictionary, each name told apart by its
        // length first (a `switch` over strings compares a name with every case in turn).
        var id: String?, type: String?, source: String?, time: Date?, subject: String?, actor: String?
        var traceparent: String?
        for header in headers {
            guard let value = header.value else { continue }
            let name = header.name
            switch name.utf8.count {
            case 5 where name == Header.id: id = Self.text(value)
            case 7 where name == Header.type: type = Self.text(value)
            case 7 where name == Header.time: time = value.withUnsafeBufferPointer { Timestamp.parse(utf8: $0) }
            case 8 where name == Header.actor: actor = Self.text(value)
            case 9 where name == Header.source: source = Self.text(value)
            case 10 where name == Header.subject: subject = Self.text(value)
            case 11 where name == Header.traceparent: traceparent = Self.text(value)
            default: break
            }
        }
        guard let id, let type else { return nil }
        self.id = id
        self.type = type
        self.source = source ?? ""
        self.time = time ?? Date(timeIntervalSince1970: 0)
        self.subject = subject
        self.actor = actor
        self.traceparent = traceparent
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }
}

/// Why a record could not become an event. The projector dead-letters it with this text.
public struct WireFormatError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Turns a decoding failure into a one-line reason naming the field.
    public static func describing(_ error: any Error) -> WireFormatError {
        if let error = error as? WireFormatError { return error }
        if let error = error as? JSONParseError { return WireFormatError(error.description) }
        if let error = error as? DecodingError {
            func path(_ context: DecodingError.Context) -> String {
                let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                return text.isEmpty ? "value" : "'\(text)'"
            }
            switch error {
            case .keyNotFound(let key, let context):
                let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
                return WireFormatError("missing field '\(key.stringValue)'\(parent)")
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return WireFormatError("\(path(context)): \(context.debugDescription)")
            @unknown default:
                return WireFormatError("\(error)")
            }
        }
        return WireFormatError("\(error)")
    }
}
