import Foundation
import ServiceKit
import WireFormat
import WireSchema

/// The JSON of a counterparty in responses: the record's fields plus read-only values
/// (`completeness`, bookkeeping, and `mergedInto` when a dump shows a merged one).
public struct CounterpartyResource: Encodable, Sendable {
    let stored: StoredCounterparty

    public init(_ stored: StoredCounterparty) { self.stored = stored }

    enum Extra: String, CodingKey { case completeness, mergedInto }

    public func encode(to encoder: any Encoder) throws {
        try stored.record.encode(to: encoder)
        try stored.bookkeeping.encode(to: encoder)
        var container = encoder.container(keyedBy: Extra.self)
        try container.encode(stored.completeness, forKey: .completeness)
        try container.encodeIfPresent(stored.mergedInto, forKey: .mergedInto)
    }
}

/// The body of `POST /counterparties` (and of `PUT`, where `id` comes from the path). Public for the
/// benchmark, which decodes events with it to measure Foundation's synthesised `Decodable`.
public struct CounterpartyDraft: Decodable {
    public var id: String?
    var kind: CounterpartyKind
    var roles: [CounterpartyRole]?
    var legalName: String
    var shortName: String?
    var taxId: String?
    var addresses: Addresses?
    var phones: [String]?
    var emails: [String]?
    var website: String?
    var responsibleManagerId: String?
    var source: String?
    var tags: [String]?
    var notes: String?

    func record(id: String, archived: Bool) -> CounterpartyRecord {
        CounterpartyRecord(
            id: id, kind: kind, roles: roles ?? [], legalName: legalName, shortName: shortName, taxId: taxId,
            addresses: addresses ?? Addresses(), phones: phones ?? [], emails: emails ?? [], website: website,
            responsibleManagerId: responsibleManagerId, source: source, tags: tags ?? [], notes: notes, archived: archived)
    }
}
