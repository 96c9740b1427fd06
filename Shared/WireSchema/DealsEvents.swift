import Foundation
import WireFormat

// The deals service's topics: `crm.inquiries.v1`, `crm.deals.v1`, `crm.campaigns.v1` and
// `crm.sales-conditions.v1`; the data follows the JSON Schemas of `topics/asyncapi.yaml`.

/// Someone an inquiry came from who is not (yet) a registered counterparty.
public struct Prospect: Codable, Sendable, Equatable {
    public var name: String
    public var company: String?
    public var phone: String?
    public var email: String?

    public init(name: String, company: String? = nil, phone: String? = nil, email: String? = nil) {
        self.name = name
        self.company = company
        self.phone = phone
        self.email = email
    }
}

/// `crm.inquiries.v1`: `InquiryRegistered`, `InquiryUpdated`.
public struct Inquiry: Codable, Sendable, Equatable {
    public var id: String
    public var receivedAt: Date
    public var channel: String
    public var campaignId: String?
    public var source: String?
    public var counterpartyId: String?
    /// `prospect.name`, kept on the wire for consumers that predate `prospect`.
    public var prospectName: String?
    public var prospect: Prospect?
    public var subject: String?
    public var managerId: String?

    public init(
        id: String, receivedAt: Date, channel: String, campaignId: String? = nil, source: String? = nil,
        counterpartyId: String? = nil, prospect: Prospect? = nil, subject: String? = nil, managerId: String? = nil
    ) {
        self.id = id
        self.receivedAt = receivedAt
        self.channel = channel
        self.campaignId = campaignId
        self.source = source
        self.counterpartyId = counterpartyId
        self.prospectName = prospect?.name
        self.prospect = prospect
        self.subject = subject
        self.managerId = managerId
    }
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
    public var nextStep: String?
    public var nextStepAt: Date?

    public init(
        id: String, counterpartyId: String, title: String?, stage: String, expectedAmount: Amount?, currency: String?,
        probability: Int?, expectedCloseDate: CalendarDate?, ownerId: String?, inquiryId: String? = nil, campaignId: String? = nil,
        nextStep: String? = nil, nextStepAt: Date? = nil
    ) {
        self.id = id
        self.counterpartyId = counterpartyId
        self.title = title
        self.stage = stage
        self.expectedAmount = expectedAmount
        self.currency = currency
        self.probability = probability
        self.expectedCloseDate = expectedCloseDate
        self.ownerId = ownerId
        self.inquiryId = inquiryId
        self.campaignId = campaignId
        self.nextStep = nextStep
        self.nextStepAt = nextStepAt
    }
}

/// `crm.deals.v1`: `DealStageChanged`, `DealReopened`.
public struct DealStageChange: Codable, Sendable, Equatable {
    public var id: String
    public var stage: String
    public var probability: Int?

    public init(id: String, stage: String, probability: Int?) {
        self.id = id
        self.stage = stage
        self.probability = probability
    }
}

/// `crm.deals.v1`: `DealClosed`.
public struct DealClosure: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, CaseIterable { case won, lost }
    public var id: String
    public var outcome: Outcome
    public var reason: String?
    public var amount: Amount?
    public var currency: String?
    /// The ERP order whose completion won the deal.
    public var orderId: String?

    public init(id: String, outcome: Outcome, reason: String?, amount: Amount?, currency: String?, orderId: String? = nil) {
        self.id = id
        self.outcome = outcome
        self.reason = reason
        self.amount = amount
        self.currency = currency
        self.orderId = orderId
    }
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

    public init(
        id: String, name: String, channel: String?, startsOn: CalendarDate?, endsOn: CalendarDate?, budget: Amount?, currency: String?
    ) {
        self.id = id
        self.name = name
        self.channel = channel
        self.startsOn = startsOn
        self.endsOn = endsOn
        self.budget = budget
        self.currency = currency
    }
}

/// `crm.campaigns.v1`: `CampaignCostRecorded`.
public struct CampaignCost: Codable, Sendable, Equatable {
    public var id: String
    public var amount: Amount
    public var currency: String?
    public var incurredOn: CalendarDate?
    public var note: String?

    public init(id: String, amount: Amount, currency: String?, incurredOn: CalendarDate?, note: String?) {
        self.id = id
        self.amount = amount
        self.currency = currency
        self.incurredOn = incurredOn
        self.note = note
    }
}

/// The terms a client buys on: what the ERP applies to its orders.
public struct Conditions: Codable, Sendable, Hashable {
    public var priceType: String
    public var discountPercent: Amount?
    public var prepaymentPercent: Amount?
    public var deferralDays: Int?
    public var reservationAllowed: Bool?
    public var reservationDays: Int?
    public var creditLimit: Amount?

    public init(
        priceType: String, discountPercent: Amount? = nil, prepaymentPercent: Amount? = nil, deferralDays: Int? = nil,
        reservationAllowed: Bool? = nil, reservationDays: Int? = nil, creditLimit: Amount? = nil
    ) {
        self.priceType = priceType
        self.discountPercent = discountPercent
        self.prepaymentPercent = prepaymentPercent
        self.deferralDays = deferralDays
        self.reservationAllowed = reservationAllowed
        self.reservationDays = reservationDays
        self.creditLimit = creditLimit
    }
}

/// A client's rank: its latest ABC and XYZ classes and status (`ClientClassified`).
public struct ClientRank: Codable, Sendable, Hashable {
    public var abcClass: String?
    public var xyzClass: String?
    public var status: String?

    public init(abcClass: String?, xyzClass: String?, status: String?) {
        self.abcClass = abcClass
        self.xyzClass = xyzClass
        self.status = status
    }

    /// `AX-regular`, with `-` for an absent class or status.
    public var label: String { "\(abcClass ?? "-")\(xyzClass ?? "-")-\(status ?? "-")" }
}

/// Where a client's conditions come from.
public enum ConditionsSource: String, Codable, Sendable, CaseIterable { case rule, override, `default` }

/// `crm.sales-conditions.v1` (compacted): `SalesConditionsAssigned`, the conditions flat beside the
/// rank they were assigned for and where they come from.
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
    @NullEncoded public var abcClass: String?
    @NullEncoded public var xyzClass: String?
    @NullEncoded public var status: String?
    public var source: ConditionsSource?
    public var ruleIndex: Int?
    public var overrideUntil: Date?

    public init(
        clientId: String, rank: ClientRank?, conditions: Conditions, source: ConditionsSource, ruleIndex: Int?, overrideUntil: Date?
    ) {
        self.clientId = clientId
        self.rank = rank?.label
        self.priceType = conditions.priceType
        self.discountPercent = conditions.discountPercent
        self.prepaymentPercent = conditions.prepaymentPercent
        self.deferralDays = conditions.deferralDays
        self.reservationAllowed = conditions.reservationAllowed
        self.reservationDays = conditions.reservationDays
        self.creditLimit = conditions.creditLimit
        self.abcClass = rank?.abcClass
        self.xyzClass = rank?.xyzClass
        self.status = rank?.status
        self.source = source
        self.ruleIndex = ruleIndex
        self.overrideUntil = overrideUntil
    }

    public var conditions: Conditions {
        Conditions(
            priceType: priceType, discountPercent: discountPercent, prepaymentPercent: prepaymentPercent, deferralDays: deferralDays,
            reservationAllowed: reservationAllowed, reservationDays: reservationDays, creditLimit: creditLimit)
    }

    public var clientRank: ClientRank { ClientRank(abcClass: abcClass, xyzClass: xyzClass, status: status) }
}

extension SalesConditions: JSONWritable {
    /// Keys in sorted order and absent classes as null, as `WireEncoder` writes them: a rules
    /// change publishes these by the hundred thousand (`scripts/bench-deals`).
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("abcClass", nullable: abcClass)
            json.field("clientId", clientId)
            json.field("creditLimit", creditLimit)
            json.field("deferralDays", deferralDays)
            json.field("discountPercent", discountPercent)
            json.field("overrideUntil", overrideUntil)
            json.field("prepaymentPercent", prepaymentPercent)
            json.field("priceType", priceType)
            json.field("rank", rank)
            json.field("reservationAllowed", reservationAllowed)
            json.field("reservationDays", reservationDays)
            json.field("ruleIndex", ruleIndex)
            json.field("source", source?.rawValue)
            json.field("status", nullable: status)
            json.field("xyzClass", nullable: xyzClass)
        }
    }
}

/// Read by hand for the same reason: the deals service applies every one it publishes, and other
/// systems' consumers read them by the hundred thousand.
extension SalesConditions: JSONReadable {
    public init(reading object: inout JSONObjectReader) throws {
        var clientId: String?
        var rank: String?
        var priceType: String?
        var discountPercent: Amount?
        var prepaymentPercent: Amount?
        var deferralDays: Int?
        var reservationAllowed: Bool?
        var reservationDays: Int?
        var creditLimit: Amount?
        var abcClass: String?
        var xyzClass: String?
        var status: String?
        var source: ConditionsSource?
        var ruleIndex: Int?
        var overrideUntil: Date?
        while let field = try object.nextField() {
            switch field {
            case "clientId": clientId = try object.optionalString(field)
            case "rank": rank = try object.optionalString(field)
            case "priceType": priceType = try object.optionalString(field)
            case "discountPercent": discountPercent = try object.optionalAmount(field)
            case "prepaymentPercent": prepaymentPercent = try object.optionalAmount(field)
            case "deferralDays": deferralDays = try object.optionalInt(field)
            case "reservationAllowed": reservationAllowed = try object.optionalBool(field)
            case "reservationDays": reservationDays = try object.optionalInt(field)
            case "creditLimit": creditLimit = try object.optionalAmount(field)
            case "abcClass": abcClass = try object.optionalString(field)
            case "xyzClass": xyzClass = try object.optionalString(field)
            case "status": status = try object.optionalString(field)
            case "source": source = try object.optionalEnumeration(field, ConditionsSource.self)
            case "ruleIndex": ruleIndex = try object.optionalInt(field)
            case "overrideUntil": overrideUntil = try object.optionalTime(field)
            default: try object.skip()
            }
        }
        guard let clientId else { throw object.missing("clientId") }
        guard let priceType else { throw object.missing("priceType") }
        self.init(
            clientId: clientId, rank: nil,
            conditions: Conditions(
                priceType: priceType, discountPercent: discountPercent, prepaymentPercent: prepaymentPercent, deferralDays: deferralDays,
                reservationAllowed: reservationAllowed, reservationDays: reservationDays, creditLimit: creditLimit),
            source: .rule, ruleIndex: ruleIndex, overrideUntil: overrideUntil)
        // As published, not as a rank would label them.
        self.rank = rank
        self.abcClass = abcClass
        self.xyzClass = xyzClass
        self.status = status
        self.source = source
    }
}

/// `crm.deal-settings.v1`: `PipelineDefined`, the open stages of a deal in order.
public struct Pipeline: Codable, Sendable, Equatable {
    public struct Stage: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var probability: Int

        public init(id: String, name: String, probability: Int) {
            self.id = id
            self.name = name
            self.probability = probability
        }
    }
    public var stages: [Stage]

    public init(stages: [Stage]) { self.stages = stages }
}

/// A value of a rule's match: one value or any of several (`"A"` or `["A", "B"]`).
public struct MatchValues: Codable, Sendable, Equatable {
    public var values: [String]

    public init(_ values: [String]) { self.values = values }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            values = [one]
        } else {
            values = try container.decode([String].self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if values.count == 1 { try container.encode(values[0]) } else { try container.encode(values) }
    }

    public func matches(_ value: String?) -> Bool { value.map(values.contains) ?? false }
}

/// One rule of `SalesConditionRulesSet`: the ranks it matches (each attribute given must match) and
/// the conditions they get.
public struct SalesConditionRule: Codable, Sendable, Equatable {
    public struct Match: Codable, Sendable, Equatable {
        public var abcClass: MatchValues?
        public var xyzClass: MatchValues?
        public var status: MatchValues?

        public init(abcClass: MatchValues? = nil, xyzClass: MatchValues? = nil, status: MatchValues? = nil) {
            self.abcClass = abcClass
            self.xyzClass = xyzClass
            self.status = status
        }

        public func matches(_ rank: ClientRank?) -> Bool {
            (abcClass?.matches(rank?.abcClass) ?? true) && (xyzClass?.matches(rank?.xyzClass) ?? true)
                && (status?.matches(rank?.status) ?? true)
        }
    }
    public var match: Match
    public var conditions: Conditions

    public init(match: Match, conditions: Conditions) {
        self.match = match
        self.conditions = conditions
    }
}

/// `crm.deal-settings.v1`: `SalesConditionRulesSet`, keyed `sales-condition-rules`.
public struct SalesConditionRules: Codable, Sendable, Equatable {
    public var rules: [SalesConditionRule]
    public var `default`: Conditions

    public init(rules: [SalesConditionRule], default: Conditions) {
        self.rules = rules
        self.default = `default`
    }

    /// The conditions a rank gets: the first rule that matches, else the default.
    public func conditions(for rank: ClientRank?) -> (conditions: Conditions, ruleIndex: Int?) {
        for (index, rule) in rules.enumerated() where rule.match.matches(rank) { return (rule.conditions, index) }
        return (self.default, nil)
    }
}

/// `crm.deal-settings.v1`: `SalesConditionsOverrideSet`, keyed by client id.
public struct SalesConditionsOverride: Codable, Sendable, Equatable {
    public var clientId: String
    public var conditions: Conditions
    public var until: Date
    public var reason: String

    public init(clientId: String, conditions: Conditions, until: Date, reason: String) {
        self.clientId = clientId
        self.conditions = conditions
        self.until = until
        self.reason = reason
    }
}

/// `crm.deal-settings.v1`: `SalesConditionsOverrideRemoved`, keyed by client id.
public struct SalesConditionsOverrideRemoval: Codable, Sendable, Equatable {
    public var clientId: String

    public init(clientId: String) { self.clientId = clientId }
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
    case reopened(DealStageChange)

    public static let topic = Topics.deals

    public enum Message: String, CaseIterable, Sendable {
        case opened = "DealOpened"
        case updated = "DealUpdated"
        case stageChanged = "DealStageChanged"
        case closed = "DealClosed"
        case reopened = "DealReopened"
    }

    public var message: Message {
        switch self {
        case .opened: .opened
        case .updated: .updated
        case .stageChanged: .stageChanged
        case .closed: .closed
        case .reopened: .reopened
        }
    }

    public var key: String {
        switch self {
        case .opened(let data): data.id
        case .updated(let data): data.id
        case .stageChanged(let data): data.id
        case .closed(let data): data.id
        case .reopened(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> DealEvent {
        switch message {
        case .opened: .opened(try WireDecoder.decode(Deal.self, from: data))
        case .updated: .updated(try WireDecoder.decode(Deal.self, from: data))
        case .stageChanged: .stageChanged(try WireDecoder.decode(DealStageChange.self, from: data))
        case .closed: .closed(try WireDecoder.decode(DealClosure.self, from: data))
        case .reopened: .reopened(try WireDecoder.decode(DealStageChange.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .opened(let data): try WireEncoder.encode(data)
        case .updated(let data): try WireEncoder.encode(data)
        case .stageChanged(let data): try WireEncoder.encode(data)
        case .closed(let data): try WireEncoder.encode(data)
        case .reopened(let data): try WireEncoder.encode(data)
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
        case .assigned: .assigned(try SalesConditions.read(data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .assigned(let data): try WireEncoder.encode(data)
        }
    }
}

/// Events on `crm.deal-settings.v1`: the deals service's pipeline, sales-condition rules and
/// per-client overrides.
public enum DealSettingsEvent: TopicEvents, Equatable {
    case pipelineDefined(Pipeline)
    case rulesSet(SalesConditionRules)
    case overrideSet(SalesConditionsOverride)
    case overrideRemoved(SalesConditionsOverrideRemoval)

    public static let topic = Topics.dealSettings
    public static let pipelineKey = "pipeline"
    public static let rulesKey = "sales-condition-rules"

    public enum Message: String, CaseIterable, Sendable {
        case pipelineDefined = "PipelineDefined"
        case rulesSet = "SalesConditionRulesSet"
        case overrideSet = "SalesConditionsOverrideSet"
        case overrideRemoved = "SalesConditionsOverrideRemoved"
    }

    public var message: Message {
        switch self {
        case .pipelineDefined: .pipelineDefined
        case .rulesSet: .rulesSet
        case .overrideSet: .overrideSet
        case .overrideRemoved: .overrideRemoved
        }
    }

    public var key: String {
        switch self {
        case .pipelineDefined: Self.pipelineKey
        case .rulesSet: Self.rulesKey
        case .overrideSet(let data): data.clientId
        case .overrideRemoved(let data): data.clientId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> DealSettingsEvent {
        switch message {
        case .pipelineDefined: .pipelineDefined(try WireDecoder.decode(Pipeline.self, from: data))
        case .rulesSet: .rulesSet(try WireDecoder.decode(SalesConditionRules.self, from: data))
        case .overrideSet: .overrideSet(try WireDecoder.decode(SalesConditionsOverride.self, from: data))
        case .overrideRemoved: .overrideRemoved(try WireDecoder.decode(SalesConditionsOverrideRemoval.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .pipelineDefined(let data): try WireEncoder.encode(data)
        case .rulesSet(let data): try WireEncoder.encode(data)
        case .overrideSet(let data): try WireEncoder.encode(data)
        case .overrideRemoved(let data): try WireEncoder.encode(data)
        }
    }
}
