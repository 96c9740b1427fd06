import WireFormat

/// The events of one topic, declared once: the topic, its messages (the `ce_type` names consumers
/// dispatch on, as `topics/asyncapi.yaml` names them), how each message decodes, and each event's
/// record key. Typed decoding and the message catalogue both derive from this declaration.
///
/// A conforming enum has one case per message and a `Message` enum of the names; the compiler
/// checks that both switches (`message`, `decode`) cover every case.
public protocol TopicEvents: Sendable {
    associatedtype Message: RawRepresentable, CaseIterable, Sendable where Message.RawValue == String
    /// The topic these events travel on.
    static var topic: String { get }
    /// The message this event is.
    var message: Message { get }
    /// The record key: the id of what the event is about.
    var key: String { get }
    /// One message's data; any error is reworded by `decode(type:data:)`.
    static func decode(_ message: Message, data: [UInt8]) throws -> Self
    /// The record value: the event data as JSON.
    func encodeData() throws -> [UInt8]
}

// Inlinable, so that a caller in another module (every projection) gets these specialised for its
// concrete events rather than calling through the protocol's witnesses on every record.
extension TopicEvents {
    /// The message name (`ce_type`).
    @inlinable public var type: String { message.rawValue }

    /// Every message of the topic, by name.
    public static var messageNames: [String] { Message.allCases.map(\.rawValue) }

    /// Decodes a record's data by its `ce_type`; an unknown type or bad data is a `WireFormatError`
    /// naming the field (the projector dead-letters the record with it).
    @inlinable public static func decode(type: String, data: [UInt8]) throws -> Self {
        guard let message = Message(rawValue: type) else {
            throw WireFormatError("unknown event type '\(type)' on \(topic)")
        }
        do {
            return try decode(message, data: data)
        } catch {
            throw WireFormatError.describing(error)
        }
    }
}

/// Every message of every topic, derived from the declarations above (and, for the topics whose
/// records carry no `ce_type`, the one message the contract names for them). Tests check it
/// against `topics/asyncapi.yaml`.
public enum MessageCatalog {
    /// One topic: its message names and how a record of it decodes.
    public struct Topic: Sendable {
        public let topic: String
        public let messages: [String]
        let decode: @Sendable (_ type: String, _ data: [UInt8]) throws -> any Sendable

        static func events<E: TopicEvents>(_ events: E.Type) -> Topic {
            Topic(topic: E.topic, messages: E.messageNames, decode: { type, data in try E.decode(type: type, data: data) })
        }

        /// A topic of plain records (the ERP's, dead letters): one message, whatever the headers say.
        static func plain(_ topic: String, message: String, _ decode: @escaping @Sendable ([UInt8]) throws -> any Sendable) -> Topic {
            Topic(topic: topic, messages: [message], decode: { _, data in try decode(data) })
        }
    }

    public static let topics: [Topic] = [
        .events(CounterpartyEvent.self), .events(InteractionEvent.self), .events(StaffEvent.self),
        .events(SupplierEvent.self),
        .events(InquiryEvent.self), .events(DealEvent.self), .events(CampaignEvent.self), .events(SalesConditionsEvent.self),
        .events(DealSettingsEvent.self),
        .events(ActivityEvent.self), .events(ReminderEvent.self), .events(WebhookEvent.self),
        .events(SegmentEvent.self), .events(ClassificationRunEvent.self),
        .plain(Topics.erpOrders, message: "ERPOrderEvent") { try ERPOrderEvent.decode($0) },
        .plain(Topics.erpPurchases, message: "ERPPurchaseEvent") { try ERPPurchaseEvent.decode($0) },
        // Dead letters carry the source record's bytes, whatever they are.
        .plain(Topics.deadLetter, message: "DeadLetter") { $0 },
    ]

    /// Topic → its message names.
    public static let messages: [String: [String]] = Dictionary(uniqueKeysWithValues: topics.map { ($0.topic, $0.messages) })

    /// Every message name of every topic: a consumer passes these to `CloudEventAttributes` so that
    /// a known `ce_type` is one shared String rather than a new one per record.
    public static let eventTypes: [String] = Set(topics.flatMap(\.messages)).sorted()

    /// Decodes a record's data by topic and message name; unknown names are wire-format errors.
    public static func decode(topic: String, type: String, data: [UInt8]) throws -> any Sendable {
        guard let entry = topics.first(where: { $0.topic == topic }) else {
            throw WireFormatError("no messages are declared for topic \(topic)")
        }
        guard entry.messages.contains(type) else { throw WireFormatError("unknown event type '\(type)' on \(topic)") }
        return try entry.decode(type, data)
    }
}
