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

/// Events on `crm.suppliers.v1`, keyed by supplier (counterparty) id.
public enum SupplierEvent: TopicEvents, Equatable {
    case termsSet(SupplierTerms)
    case priceListPublished(PriceList)

    public static let topic = Topics.suppliers

    public enum Message: String, CaseIterable, Sendable {
        case termsSet = "SupplierTermsSet"
        case priceListPublished = "PriceListPublished"
    }

    public var message: Message {
        switch self {
        case .termsSet: .termsSet
        case .priceListPublished: .priceListPublished
        }
    }

    public var key: String {
        switch self {
        case .termsSet(let data): data.supplierId
        case .priceListPublished(let data): data.supplierId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> SupplierEvent {
        switch message {
        case .termsSet: .termsSet(try WireDecoder.decode(SupplierTerms.self, from: data))
        case .priceListPublished: .priceListPublished(try WireDecoder.decode(PriceList.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .termsSet(let data): try WireEncoder.encode(data)
        case .priceListPublished(let data): try WireEncoder.encode(data)
        }
    }
}
