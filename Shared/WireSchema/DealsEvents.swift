import Foundation
import WireFormat

// The deals service's topics: `crm.inquiries.v1`, `crm.deals.v1`, `crm.campaigns.v1` and
// `crm.sales-conditions.v1`; the data follows the JSON Schemas of `topics/asyncapi.yaml`.

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

/// Events on `crm.inquiries.v1`, keyed by inquiry id.
public enum InquiryEvent: TopicEvents, Equatable {
    case registered(Inquiry)
    case updated(Inquiry)

    public static let topic = Topics.inquiries

    public enum Message: String, CaseIterable, Sendable {
        case registered = "InquiryRegistered"
        case updated = "InquiryUpdated"
    }

    public var message: Message {
        switch self {
        case .registered: .registered
        case .updated: .updated
        }
    }

    public var key: String {
        switch self {
        case .registered(let data): data.id
        case .updated(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> InquiryEvent {
        switch message {
        case .registered: .registered(try WireDecoder.decode(Inquiry.self, from: data))
        case .updated: .updated(try WireDecoder.decode(Inquiry.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .registered(let data): try WireEncoder.encode(data)
        case .updated(let data): try WireEncoder.encode(data)
        }
    }
}

/// Events on `crm.deals.v1`, keyed by deal id.
public enum DealEvent: TopicEvents, Equatable {
    case opened(Deal)
    case updated(Deal)
    case stageChanged(DealStageChange)
    case closed(DealClosure)

    public static let topic = Topics.deals

    public enum Message: String, CaseIterable, Sendable {
        case opened = "DealOpened"
        case updated = "DealUpdated"
        case stageChanged = "DealStageChanged"
        case closed = "DealClosed"
    }

    public var message: Message {
        switch self {
        case .opened: .opened
        case .updated: .updated
        case .stageChanged: .stageChanged
        case .closed: .closed
        }
    }

    public var key: String {
        switch self {
        case .opened(let data): data.id
        case .updated(let data): data.id
        case .stageChanged(let data): data.id
        case .closed(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> DealEvent {
        switch message {
        case .opened: .opened(try WireDecoder.decode(Deal.self, from: data))
        case .updated: .updated(try WireDecoder.decode(Deal.self, from: data))
        case .stageChanged: .stageChanged(try WireDecoder.decode(DealStageChange.self, from: data))
        case .closed: .closed(try WireDecoder.decode(DealClosure.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .opened(let data): try WireEncoder.encode(data)
        case .updated(let data): try WireEncoder.encode(data)
        case .stageChanged(let data): try WireEncoder.encode(data)
        case .closed(let data): try WireEncoder.encode(data)
        }
    }
}

/// Events on `crm.campaigns.v1`, keyed by campaign id.
public enum CampaignEvent: TopicEvents, Equatable {
    case defined(Campaign)
    case costRecorded(CampaignCost)

    public static let topic = Topics.campaigns

    public enum Message: String, CaseIterable, Sendable {
        case defined = "CampaignDefined"
        case costRecorded = "CampaignCostRecorded"
    }

    public var message: Message {
        switch self {
        case .defined: .defined
        case .costRecorded: .costRecorded
        }
    }

    public var key: String {
        switch self {
        case .defined(let data): data.id
        case .costRecorded(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> CampaignEvent {
        switch message {
        case .defined: .defined(try WireDecoder.decode(Campaign.self, from: data))
        case .costRecorded: .costRecorded(try WireDecoder.decode(CampaignCost.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .defined(let data): try WireEncoder.encode(data)
        case .costRecorded(let data): try WireEncoder.encode(data)
        }
    }
}

/// Events on `crm.sales-conditions.v1` (compacted), keyed by client id: the conditions the ERP applies.
public enum SalesConditionsEvent: TopicEvents, Equatable {
    case assigned(SalesConditions)

    public static let topic = Topics.salesConditions

    public enum Message: String, CaseIterable, Sendable {
        case assigned = "SalesConditionsAssigned"
    }

    public var message: Message {
        switch self {
        case .assigned: .assigned
        }
    }

    public var key: String {
        switch self {
        case .assigned(let data): data.clientId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> SalesConditionsEvent {
        switch message {
        case .assigned: .assigned(try WireDecoder.decode(SalesConditions.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .assigned(let data): try WireEncoder.encode(data)
        }
    }
}
