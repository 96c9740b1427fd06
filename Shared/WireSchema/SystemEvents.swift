import Foundation

// Event data of the topics whose services are not built yet. They follow the JSON Schemas of
// `topics/asyncapi.yaml`; `MessageCatalog` maps each topic's message names to these types.

/// `crm.suppliers.v1`: `SupplierTermsSet`.
public struct SupplierTerms: Codable, Sendable, Equatable {
    public var supplierId: String
    public var deliveryTerms: String?
    public var minimumOrder: Amount?
    public var deliveryDays: [String]?
    public var promisedLeadTimeDays: Int?
    public var paymentTerms: String?
    public var packagingDeposit: Amount?
    public var packagingReturnDays: Int?
}

/// `crm.suppliers.v1`: `PriceListPublished`.
public struct PriceList: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var sku: String
        public var packagingUnit: String?
        public var price: Amount
        public var returnablePackaging: Bool?
    }
    public var supplierId: String
    public var priceListId: String
    public var currency: String
    public var validFrom: CalendarDate?
    public var validTo: CalendarDate?
    public var items: [Item]
}

/// `crm.inquiries.v1`: `InquiryRegistered`, `InquiryUpdated`.
public struct Inquiry: Codable, Sendable, Equatable {
    public var id: String
    public var receivedAt: Date
    public var channel: String
    public var campaignId: String?
    public var source: String?
    public var counterpartyId: String?
    public var prospectName: String?
    public var subject: String?
    public var managerId: String?
}

/// `crm.deals.v1`: `DealOpened`, `DealUpdated`.
public struct Deal: Codable, Sendable, Equatable {
    public var id: String
    public var counterpartyId: String
    public var title: String?
    public var stage: String
    public var expectedAmount: Amount?
    public var currency: String?
    public var probability: Int?
    public var expectedCloseDate: CalendarDate?
    public var ownerId: String?
    public var inquiryId: String?
    public var campaignId: String?
}

/// `crm.deals.v1`: `DealStageChanged`.
public struct DealStageChange: Codable, Sendable, Equatable {
    public var id: String
    public var stage: String
    public var probability: Int?
}

/// `crm.deals.v1`: `DealClosed`.
public struct DealClosure: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, CaseIterable { case won, lost }
    public var id: String
    public var outcome: Outcome
    public var reason: String?
    public var amount: Amount?
}

/// `crm.campaigns.v1`: `CampaignDefined`.
public struct Campaign: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var channel: String?
    public var startsOn: CalendarDate?
    public var endsOn: CalendarDate?
    public var budget: Amount?
    public var currency: String?
}

/// `crm.campaigns.v1`: `CampaignCostRecorded`.
public struct CampaignCost: Codable, Sendable, Equatable {
    public var id: String
    public var amount: Amount
    public var currency: String?
    public var incurredOn: CalendarDate?
    public var note: String?
}

/// `crm.activities.v1`: `ActivityPlanned`, `ActivityRescheduled`.
public struct Activity: Codable, Sendable, Equatable {
    public var id: String
    public var kind: String
    public var ownerId: String
    public var counterpartyId: String?
    public var contactPersonId: String?
    public var dealId: String?
    public var subject: String?
    public var startsAt: Date
    public var endsAt: Date?
    public var remindMinutesBefore: Int?
}

/// `crm.activities.v1`: `ActivityCompleted`, `ActivityCancelled`.
public struct ActivityOutcome: Codable, Sendable, Equatable {
    public var id: String
    public var outcome: String?
    public var interactionId: String?
}

/// `crm.reminders.v1`: `ReminderDue`, keyed by its stable id.
public struct Reminder: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case activityUpcoming = "activity-upcoming", activityOverdue = "activity-overdue", birthday
        case clientDowngraded = "client-downgraded", clientLost = "client-lost"
    }
    public var id: String
    public var recipientId: String
    public var kind: Kind
    public var dueAt: Date
    public var text: String
    public var activityId: String?
    public var counterpartyId: String?
    public var contactPersonId: String?
}

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

/// `crm.sales-conditions.v1` (compacted): `SalesConditionsAssigned`.
public struct SalesConditions: Codable, Sendable, Equatable {
    public var clientId: String
    public var rank: String?
    public var priceType: String
    public var discountPercent: Amount?
    public var prepaymentPercent: Amount?
    public var deferralDays: Int?
    public var reservationAllowed: Bool?
    public var reservationDays: Int?
    public var creditLimit: Amount?
}

extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let flag):
            var container = encoder.singleValueContainer()
            try container.encode(flag)
        case .number(let text):
            var container = encoder.singleValueContainer()
            try container.encode(ExactDecimal.parse(text) ?? 0)
        case .string(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let members):
            var container = encoder.container(keyedBy: MemberKey.self)
            for (key, value) in members { try container.encode(value, forKey: MemberKey(stringValue: key)) }
        }
    }

    private struct MemberKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }
}

/// Every message of every topic: the type names consumers dispatch on, and the data type each
/// decodes to. Tests check it against `topics/asyncapi.yaml`.
public enum MessageCatalog {
    public typealias Decode = @Sendable ([UInt8]) throws -> any Sendable

    static func codable<T: Decodable & Sendable>(_ type: T.Type) -> Decode {
        { bytes in
            do { return try WireDecoder.decode(type, from: bytes) } catch { throw WireFormatError.describing(error) }
        }
    }

    public static let messages: [String: [String: Decode]] = [
        Topics.counterparties: [
            CounterpartyEvent.EventType.registered: { try CounterpartyRecord.read($0) },
            CounterpartyEvent.EventType.updated: { try CounterpartyRecord.read($0) },
            CounterpartyEvent.EventType.archived: { try CounterpartyReference.read($0) },
            CounterpartyEvent.EventType.unarchived: { try CounterpartyReference.read($0) },
            CounterpartyEvent.EventType.contactPersonAdded: codable(ContactPerson.self),
            CounterpartyEvent.EventType.contactPersonUpdated: codable(ContactPerson.self),
            CounterpartyEvent.EventType.contactPersonRemoved: codable(ContactPersonReference.self),
            CounterpartyEvent.EventType.merged: codable(CounterpartyMerge.self),
            CounterpartyEvent.EventType.mergeUndone: codable(CounterpartyMerge.self),
        ],
        Topics.interactions: [
            InteractionEvent.EventType.logged: codable(Interaction.self), InteractionEvent.EventType.corrected: codable(Interaction.self),
        ],
        Topics.staff: [StaffEvent.EventType.registered: codable(StaffMember.self), StaffEvent.EventType.updated: codable(StaffMember.self)],
        Topics.suppliers: ["SupplierTermsSet": codable(SupplierTerms.self), "PriceListPublished": codable(PriceList.self)],
        Topics.inquiries: ["InquiryRegistered": codable(Inquiry.self), "InquiryUpdated": codable(Inquiry.self)],
        Topics.deals: [
            "DealOpened": codable(Deal.self), "DealUpdated": codable(Deal.self),
            "DealStageChanged": codable(DealStageChange.self), "DealClosed": codable(DealClosure.self),
        ],
        Topics.campaigns: ["CampaignDefined": codable(Campaign.self), "CampaignCostRecorded": codable(CampaignCost.self)],
        Topics.activities: [
            "ActivityPlanned": codable(Activity.self), "ActivityRescheduled": codable(Activity.self),
            "ActivityCompleted": codable(ActivityOutcome.self), "ActivityCancelled": codable(ActivityOutcome.self),
        ],
        Topics.reminders: ["ReminderDue": codable(Reminder.self)],
        Topics.segments: ["ClientClassified": codable(ClientClassification.self)],
        Topics.salesConditions: ["SalesConditionsAssigned": codable(SalesConditions.self)],
        Topics.erpOrders: ["ERPOrderEvent": { try ERPOrderEvent.decode($0) }],
        Topics.erpPurchases: ["ERPPurchaseEvent": { try ERPPurchaseEvent.decode($0) }],
        // Dead letters carry the source record's bytes, whatever they are.
        Topics.deadLetter: ["DeadLetter": { $0 }],
    ]

    /// Decodes a record's data by topic and message name; unknown names are wire-format errors.
    public static func decode(topic: String, type: String, data: [UInt8]) throws -> any Sendable {
        guard let decode = messages[topic]?[type] else {
            throw WireFormatError("unknown event type '\(type)' on \(topic)")
        }
        return try decode(data)
    }
}
