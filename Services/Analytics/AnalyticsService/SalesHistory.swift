import Foundation
import GRDB
import WireFormat

/// Every sale (completed, not reversed order) of the clients asked for, by client (merged ones
/// under their survivor), in day order: what conversion and campaign reports look up.
struct SalesHistory {
    struct Sale {
        let day: Int
        let revenue: Decimal
        let grossProfit: Decimal
    }

    private(set) var sales: [String: [Sale]] = [:]
    let clients: KnownClients

    init(_ db: Database, clients: KnownClients) throws {
        self.clients = clients
        let rows = try Row.fetchCursor(db, sql: "SELECT customer_id, completed_on, revenue, cost FROM erp_order WHERE state = 'completed'")
        while let row = try rows.next() {
            let revenue = Decimals.parse(row[2])
            sales[clients.resolve(row[0]), default: []].append(
                Sale(day: row[1], revenue: revenue, grossProfit: revenue - Decimals.parse(row[3])))
        }
        for key in sales.keys { sales[key]!.sort { $0.day < $1.day } }
    }

    /// The day of the client's first sale ever.
    func firstSaleDay(_ clientId: String) -> Int? { sales[clients.resolve(clientId)]?.first?.day }

    /// The days from an inquiry to the client's first sale, when that first sale came on the inquiry's
    /// day or within `horizon` days after it (an earlier first sale means it was a client already).
    func daysToFirstSale(_ clientId: String, inquiryDay: Int, horizon: Int) -> Int? {
        guard let first = firstSaleDay(clientId), first >= inquiryDay, first - inquiryDay <= horizon else { return nil }
        return first - inquiryDay
    }

    /// Revenue and gross profit of the client's sales from `firstDay` to `lastDay` inclusive.
    func totals(_ clientId: String, firstDay: Int, lastDay: Int) -> (revenue: Decimal, grossProfit: Decimal) {
        var revenue: Decimal = 0
        var grossProfit: Decimal = 0
        for sale in sales[clients.resolve(clientId)] ?? [] where sale.day >= firstDay && sale.day <= lastDay {
            revenue += sale.revenue
            grossProfit += sale.grossProfit
        }
        return (revenue, grossProfit)
    }
}
