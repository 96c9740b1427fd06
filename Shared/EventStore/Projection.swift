import GRDB
import Kafka
import WireFormat
import WireSchema

/// A decoded record, ready to apply. `id` is the event id used to refuse a redelivered event.
/// A class: it travels from the consumer thread to the writer inside batches, and passing one
/// reference is far cheaper than copying (retaining) every field it holds at each step.
public final class ProjectedEvent<Event: Sendable>: Sendable {
    public let id: String
    public let event: Event
    public let attributes: CloudEventAttributes?
    /// The record it came from, kept so a refused event is dead-lettered with its original bytes.
    public let record: ConsumedRecord
    /// `id` as the redelivery guard stores it, worked out here, off the write transaction.
    let appliedKey: AppliedEventKey

    public init(id: String, event: Event, attributes: CloudEventAttributes?, record: ConsumedRecord) {
        self.id = id
        self.appliedKey = AppliedEventKey(id)
        self.event = event
        self.attributes = attributes
        self.record = record
    }

    public var topic: String { record.topic }
    public var partition: Int32 { record.partition }
    public var offset: Int64 { record.offset }
}

/// A service's read model: how records of its topics become rows.
///
/// `decode` runs off the write transaction (on the consumer thread, or on the writer thread between
/// transactions when it has nothing to write), so it must not touch the store; `apply` runs inside
/// the batch transaction. Either may throw `ProjectionRejection` (or a decoding error) to dead-letter
/// the record; any other error stops the projector, since it means the store itself is failing.
public protocol Projection: Sendable {
    associatedtype Event: Sendable
    /// Names the consumer in logs and dead letters (`contacts`).
    var name: String { get }
    var topics: [String] { get }
    func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<Event>
    func apply(_ event: ProjectedEvent<Event>, in db: Database) throws
    /// What the projector calls: `apply(_:in:)` unless the projection leaves derived data (sums a
    /// later scan can compute at once) to `finishBulkLoad` while a bulk load fills an empty store.
    func apply(_ event: ProjectedEvent<Event>, in db: Database, bulkLoading: Bool) throws
    /// Indexes that only serve queries (never `apply`): a bulk load builds them once at the end
    /// instead of updating them row by row.
    var bulkLoadDeferredIndexes: [String] { get }
    /// Runs at the start of every batch transaction, including a batch retried record by record after
    /// a refusal rolled its first attempt back: the place to forget what the projection remembers
    /// of an earlier attempt.
    func beginBatch(in db: Database, bulkLoading: Bool) throws
    /// Runs at the end of every batch, inside its transaction (before its offsets are stored): the
    /// place to bring derived data up to date once per batch rather than once per event. During a
    /// bulk load it may leave that to `finishBulkLoad`.
    func finishBatch(in db: Database, bulkLoading: Bool) throws
    /// Runs once when a bulk load has caught up, in the transaction that rebuilds the deferred
    /// indexes, before them: rows written here cost no upkeep of those indexes.
    func finishBulkLoadRows(in db: Database) throws
    /// What `prepareBulkLoadFinish` works out for `finishBulkLoad(in:prepared:)`.
    associatedtype BulkLoadPreparation: Sendable = Void
    /// Runs once when a bulk load has caught up, on a read-only connection of its own, while the
    /// writer rebuilds the deferred indexes: reading and computing here what the end of the load
    /// writes puts the second core to work. It sees every row the load wrote, but no deferred index.
    func prepareBulkLoadFinish(reading db: Database) throws -> BulkLoadPreparation
    /// Runs once when a bulk load has caught up, in the transaction that rebuilds the deferred
    /// indexes, after them, with what `prepareBulkLoadFinish` returned.
    func finishBulkLoad(in db: Database, prepared: BulkLoadPreparation) throws
    /// The same for a projection that prepares nothing (`BulkLoadPreparation` is `Void`).
    func finishBulkLoad(in db: Database) throws
}

/// A record that is well-formed but cannot be applied (it contradicts the state): dead-lettered.
public struct ProjectionRejection: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Projection where BulkLoadPreparation == Void {
    public func prepareBulkLoadFinish(reading db: Database) throws {}
    public func finishBulkLoad(in db: Database, prepared: Void) throws { try finishBulkLoad(in: db) }
}

extension Projection {
    public var bulkLoadDeferredIndexes: [String] { [] }
    public func apply(_ event: ProjectedEvent<Event>, in db: Database, bulkLoading: Bool) throws { try apply(event, in: db) }
    public func beginBatch(in db: Database, bulkLoading: Bool) throws {}
    public func finishBatch(in db: Database, bulkLoading: Bool) throws {}
    public func finishBulkLoad(in db: Database) throws {}
    public func finishBulkLoadRows(in db: Database) throws {}

    /// Decodes a CloudEvents binary-mode record: attributes from headers, data from the value.
    public func decodeCloudEvent(
        _ record: ConsumedRecord, _ decodeData: (_ type: String, _ data: [UInt8]) throws -> Event
    ) throws -> ProjectedEvent<Event> {
        guard let attributes = CloudEventAttributes(headers: record.headerBlock, knownTypes: MessageCatalog.eventTypes) else {
            throw WireFormatError("record has no CloudEvents ce_id/ce_type headers")
        }
        guard let value = record.value else {
            throw WireFormatError("event \(attributes.type) has no value (tombstone)")
        }
        let event = try decodeData(attributes.type, value)
        return ProjectedEvent(id: attributes.id, event: event, attributes: attributes, record: record)
    }

    /// Decodes a record of `erp.orders.v1` (plain JSON, keyed by order id), refusing one whose key
    /// is not its order id; the event is identified by its `eventId`, so a redelivery is applied once.
    public func decodeERPOrder(_ record: ConsumedRecord, _ wrap: (ERPOrderEvent) -> Event) throws -> ProjectedEvent<Event> {
        try decodeERPRecord(record, what: "order", decode: ERPOrderEvent.decode, ids: { ($0.eventId, $0.orderId) }, wrap)
    }

    /// Decodes a record of `erp.purchases.v1` (plain JSON, keyed by purchase order id), like an order.
    public func decodeERPPurchase(_ record: ConsumedRecord, _ wrap: (ERPPurchaseEvent) -> Event) throws -> ProjectedEvent<Event> {
        try decodeERPRecord(
            record, what: "purchase order", decode: ERPPurchaseEvent.decode, ids: { ($0.eventId, $0.purchaseOrderId) }, wrap)
    }

    private func decodeERPRecord<Record>(
        _ record: ConsumedRecord, what: String, decode: ([UInt8]) throws -> Record, ids: (Record) -> (event: String, key: String),
        _ wrap: (Record) -> Event
    ) throws -> ProjectedEvent<Event> {
        guard let value = record.value else { throw WireFormatError("an ERP \(what) record has no value") }
        let decoded = try decode(value)
        let (eventId, key) = ids(decoded)
        if let recordKey = record.key, !recordKey.elementsEqual(key.utf8) {
            throw WireFormatError("record key '\(record.keyString ?? "")' is not the \(what) id ('\(key)')")
        }
        return ProjectedEvent(id: eventId, event: wrap(decoded), attributes: nil, record: record)
    }
}
