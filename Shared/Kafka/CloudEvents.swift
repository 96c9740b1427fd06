import Foundation
import WireFormat

/// CloudEvents 1.0 attributes carried as Kafka headers (the Kafka protocol binding, binary content mode): the record value is
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
        self.init(headers: ConsumedHeaders(headers))
    }

    /// The same, straight from a consumed record's header buffer (on the replay hot path: one pass,
    /// names compared as bytes, by length first). A `ce_type` among `knownTypes` comes back as that
    /// String, so a consumer that passes its message names makes no String per record for it.
    public init?(headers: ConsumedHeaders, knownTypes: [String] = []) {
        var id: String?
        var type: String?
        var source: String?
        var time: Date?
        var subject: String?
        var actor: String?
        var traceparent: String?
        headers.visit { name, value in
            guard let value else { return true }
            switch name.count {
            case 5 where Self.equal(name, Header.id): id = Self.text(value)
            case 7 where Self.equal(name, Header.type): type = Self.eventType(value, knownTypes)
            case 7 where Self.equal(name, Header.time): time = Timestamp.parse(utf8: value.assumingMemoryBound(to: UInt8.self))
            case 8 where Self.equal(name, Header.actor): actor = Self.text(value)
            case 9 where Self.equal(name, Header.source): source = Self.text(value)
            case 10 where Self.equal(name, Header.subject): subject = Self.text(value)
            case 11 where Self.equal(name, Header.traceparent): traceparent = Self.text(value)
            default: break
            }
            return true
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

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { name in
            name.count == bytes.count && (name.isEmpty || memcmp(name.baseAddress!, bytes.baseAddress!, name.count) == 0)
        }
    }

    private static func text(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private static func eventType(_ bytes: UnsafeRawBufferPointer, _ knownTypes: [String]) -> String {
        for known in knownTypes where known.utf8.count == bytes.count && equal(bytes, known) { return known }
        return text(bytes)
    }
}
