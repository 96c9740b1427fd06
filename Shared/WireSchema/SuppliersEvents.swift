import Foundation
import WireFormat

// The suppliers service's topic, `crm.suppliers.v1`; the data follows the JSON Schemas of
// `topics/asyncapi.yaml`.

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
    public var currency: String?

    public init(
        supplierId: String, deliveryTerms: String? = nil, minimumOrder: Amount? = nil, deliveryDays: [String]? = nil,
        promisedLeadTimeDays: Int? = nil, paymentTerms: String? = nil, packagingDeposit: Amount? = nil, packagingReturnDays: Int? = nil,
        currency: String? = nil
    ) {
        self.supplierId = supplierId
        self.deliveryTerms = deliveryTerms
        self.minimumOrder = minimumOrder
        self.deliveryDays = deliveryDays
        self.promisedLeadTimeDays = promisedLeadTimeDays
        self.paymentTerms = paymentTerms
        self.packagingDeposit = packagingDeposit
        self.packagingReturnDays = packagingReturnDays
        self.currency = currency
    }
}

/// `crm.suppliers.v1`: `PriceListPublished`, one part of a publication (an upload) of a price list.
/// A publication of at most `PriceList.partSize` lines is one part.
public struct PriceList: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var sku: String
        public var packagingUnit: String?
        public var price: Amount
        public var minQuantity: Amount?
        public var returnablePackaging: Bool?

        public init(sku: String, packagingUnit: String? = nil, price: Amount, minQuantity: Amount? = nil, returnablePackaging: Bool? = nil)
        {
            self.sku = sku
            self.packagingUnit = packagingUnit
            self.price = price
            self.minQuantity = minQuantity
            self.returnablePackaging = returnablePackaging
        }
    }
    public var supplierId: String
    public var priceListId: String
    public var currency: String
    public var validFrom: CalendarDate?
    public var validTo: CalendarDate?
    public var publicationId: String?
    public var publishedAt: Date?
    public var part: Int?
    public var parts: Int?
    public var firstLine: Int?
    public var lineCount: Int?
    public var items: [Item]

    /// Lines per part: a part of long SKUs and packaging units stays well under Kafka's 1 MB message limit.
    public static let partSize = 2_000

    public init(
        supplierId: String, priceListId: String, currency: String, validFrom: CalendarDate?, validTo: CalendarDate?,
        publicationId: String?, publishedAt: Date?, part: Int?, parts: Int?, firstLine: Int?, lineCount: Int?, items: [Item]
    ) {
        self.supplierId = supplierId
        self.priceListId = priceListId
        self.currency = currency
        self.validFrom = validFrom
        self.validTo = validTo
        self.publicationId = publicationId
        self.publishedAt = publishedAt
        self.part = part
        self.parts = parts
        self.firstLine = firstLine
        self.lineCount = lineCount
        self.items = items
    }

    /// The publication this part belongs to (a list of one part without an id: the list's own id).
    public var publication: String { publicationId ?? priceListId }
}

// A large upload is thousands of parts of 2,000 lines: written by hand (`JSONWriter`), the same
// bytes as the encoder's (`SuppliersEventsTests`), at a fraction of `JSONEncoder`'s cost.
extension PriceList: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("currency", currency)
            json.field("firstLine", firstLine)
            json.field(
                "items",
                array: { items in
                    for item in self.items { item.write(to: &items) }
                })
            json.field("lineCount", lineCount)
            json.field("part", part)
            json.field("parts", parts)
            json.field("priceListId", priceListId)
            json.field("publicationId", publicationId)
            if let publishedAt { json.field("publishedAt", publishedAt) }
            json.field("supplierId", supplierId)
            json.field("validFrom", validFrom?.description)
            json.field("validTo", validTo?.description)
        }
    }
}

extension PriceList.Item: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            if let minQuantity { json.field("minQuantity", minQuantity) }
            json.field("packagingUnit", packagingUnit)
            json.field("price", price)
            json.field("returnablePackaging", returnablePackaging)
            json.field("sku", sku)
        }
    }
}

/// The four standings a reliability score falls into (`domain.md`, Suppliers).
public enum SupplierStandingLevel: String, Codable, Sendable, CaseIterable, Comparable {
    case veryPoor = "very-poor"
    case poor
    case average
    case excellent

    /// A score in percent: very poor below 30, poor below 50, average below 80, excellent from 80.
    public init(score: Decimal) {
        self = score < 30 ? .veryPoor : score < 50 ? .poor : score < 80 ? .average : .excellent
    }

    /// A very poor supplier gets no new purchase orders.
    public var blocksPurchaseOrders: Bool { self == .veryPoor }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// `crm.suppliers.v1`: `SupplierStandingChanged`.
public struct SupplierStanding: Codable, Sendable, Equatable {
    public var supplierId: String
    public var standing: SupplierStandingLevel?
    public var previousStanding: SupplierStandingLevel?
    public var blocked: Bool
    public var score: Amount?
    public var ordersDue: Int
    public var onTimeRate: Amount?
    public var inFullRate: Amount?
    public var otifRate: Amount?
    public var asOf: CalendarDate
    public var windowFrom: CalendarDate
    public var windowTo: CalendarDate

    public init(
        supplierId: String, standing: SupplierStandingLevel?, previousStanding: SupplierStandingLevel?, score: Amount?, ordersDue: Int,
        onTimeRate: Amount?, inFullRate: Amount?, otifRate: Amount?, asOf: CalendarDate, windowFrom: CalendarDate, windowTo: CalendarDate
    ) {
        self.supplierId = supplierId
        self.standing = standing
        self.previousStanding = previousStanding
        self.blocked = standing?.blocksPurchaseOrders ?? false
        self.score = score
        self.ordersDue = ordersDue
        self.onTimeRate = onTimeRate
        self.inFullRate = inFullRate
        self.otifRate = otifRate
        self.asOf = asOf
        self.windowFrom = windowFrom
        self.windowTo = windowTo
    }
}

/// Events on `crm.suppliers.v1`: terms and standings keyed by supplier (counterparty) id, price
/// list parts by supplier id, publication and part, so a large list spreads over the partitions.
public enum SupplierEvent: TopicEvents, Equatable {
    case termsSet(SupplierTerms)
    case priceListPublished(PriceList)
    case standingChanged(SupplierStanding)

    public static let topic = Topics.suppliers

    public enum Message: String, CaseIterable, Sendable {
        case termsSet = "SupplierTermsSet"
        case priceListPublished = "PriceListPublished"
        case standingChanged = "SupplierStandingChanged"
    }

    public var message: Message {
        switch self {
        case .termsSet: .termsSet
        case .priceListPublished: .priceListPublished
        case .standingChanged: .standingChanged
        }
    }

    public var key: String {
        switch self {
        case .termsSet(let data): data.supplierId
        case .priceListPublished(let data): "\(data.supplierId)/\(data.publication)/\(data.part ?? 1)"
        case .standingChanged(let data): data.supplierId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> SupplierEvent {
        switch message {
        case .termsSet: .termsSet(try WireDecoder.decode(SupplierTerms.self, from: data))
        case .priceListPublished: .priceListPublished(try WireDecoder.decode(PriceList.self, from: data))
        case .standingChanged: .standingChanged(try WireDecoder.decode(SupplierStanding.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .termsSet(let data): try WireEncoder.encode(data)
        case .priceListPublished(let data): try WireEncoder.encode(data)
        case .standingChanged(let data): try WireEncoder.encode(data)
        }
    }
}
