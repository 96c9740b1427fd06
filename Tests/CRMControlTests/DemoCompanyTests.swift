import Foundation
import Testing
import WireSchema

@testable import CRMControl

@Suite struct DemoCompanyTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-29T01:33:20Z

    @Test func oneSeedMakesOneCompany() {
        let first = DemoCompany(seed: 7, now: Self.now)
        let again = DemoCompany(seed: 7, now: Self.now)
        let other = DemoCompany(seed: 8, now: Self.now)
        #expect(first.orders.map(\.value) == again.orders.map(\.value))
        #expect(first.purchases.map(\.value) == again.purchases.map(\.value))
        #expect(
            first.counterparties.map { $0.body["legalName"] as? String } == again.counterparties.map { $0.body["legalName"] as? String })
        #expect(first.orders.map(\.value) != other.orders.map(\.value))
    }

    @Test func theCompanyHasWhatTheIssueNames() throws {
        let company = DemoCompany(seed: 1, now: Self.now)
        #expect(company.staff.count == 12)
        #expect(company.counterparties.count == 5_000)
        let roles = company.counterparties.flatMap { $0.body["roles"] as? [String] ?? [] }
        #expect(roles.filter { $0 == "supplier" }.count == 40)
        #expect(roles.contains("prospect") && roles.contains("customer"))
        #expect(company.supplierTerms.count == 40 && company.supplierTerms.allSatisfy { $0.then.count == 1 })
        let stages = Set(company.deals.map { $0.body["stage"] as? String ?? "" })
        #expect(stages == Set(DemoCompany.stages))
        let closes = company.deals.flatMap(\.then).map { $0.body["outcome"] as? String }
        #expect(closes.contains("won") && closes.contains("lost"))
        #expect(!company.activities.isEmpty && !company.inquiries.isEmpty && company.campaigns.count == DemoCompany.campaignPlan.count)
    }

    /// Every ERP record is one the services accept (their own decoders), keyed by its order, and
    /// dated within the two years before today.
    @Test func erpRecordsFollowTheContract() throws {
        let company = DemoCompany(seed: 1, now: Self.now)
        var kinds = Set<String>()
        for record in company.orders {
            let event = try ERPOrderEvent.decode(record.value)
            #expect(event.orderId == record.key && event.occurredAt < Self.now)
            #expect(event.occurredAt > Self.now.addingTimeInterval(-740 * 86_400))
            kinds.insert(event.type.rawValue)
            if event.type == .cancelled { #expect(event.reason != nil) }
        }
        #expect(kinds == ["OrderPlaced", "OrderCompleted", "OrderCancelled"])
        for record in company.purchases {
            let event = try ERPPurchaseEvent.decode(record.value)
            #expect(event.purchaseOrderId == record.key && event.occurredAt < Self.now)
        }
        let closed = company.orders.filter { (try? ERPOrderEvent.decode($0.value).type) != .placed }.count
        #expect(closed == company.closedOrders)
    }

    @Test func datesAreWrittenLikeTheSystemFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        for offset in stride(from: -800_000_000.0, to: 4_000_000_000.0, by: 9_876_543.21) {
            let date = Date(timeIntervalSince1970: offset.rounded(.down))
            #expect(DemoCompany.date(date) == formatter.string(from: date))
        }
    }
}
