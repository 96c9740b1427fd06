import EventStore
import Foundation
import GRDB
import WireFormat
import WireSchema

/// Reads what a classification run needs from the store: every known client (merged ones
/// counted under their survivor) with its sales over the window, and what the segments topic
/// holds for each.
enum ClassificationInput {
    static func load(_ db: Database, window: AnalysisWindow, measure: Measure) throws -> [ClientSales] {
        let clients = try KnownClients(db)
        var sales: [String: ClientSales] = [:]
        for id in clients.ids {
            sales[id] = ClientSales(
                clientId: id, managerId: clients.manager[id] ?? nil, values: Array(repeating: 0, count: window.count), sales: 0,
                hadSalesBefore: false)
        }
        func add(customer: String, period: Int, revenue: String, grossProfit: String, count: Int) {
            let id = clients.resolve(customer)
            if sales[id] == nil {
                sales[id] = ClientSales(
                    clientId: id, managerId: clients.manager[id] ?? nil, values: Array(repeating: 0, count: window.count), sales: 0,
                    hadSalesBefore: false)
            }
            guard let position = window.position(ofPeriod: period) else {
                if period < window.firstPeriod { sales[id]!.hadSalesBefore = true }
                return
            }
            sales[id]!.values[position] += Decimals.parse(measure == .revenue ? revenue : grossProfit)
            sales[id]!.sales += count
        }
        switch window.kind {
        case .month, .quarter:
            // Monthly sums; a quarter is three of them.
            let endMonth = window.kind == .month ? window.endPeriod : window.endPeriod * 3
            let rows = try Row.fetchCursor(
                db, sql: "SELECT client_id, month, revenue, gross_profit, sales FROM client_month WHERE month < ?", arguments: [endMonth])
            while let row = try rows.next() {
                add(customer: row[0], period: window.kind.index(ofMonth: row[1]), revenue: row[2], grossProfit: row[3], count: row[4])
            }
        case .week:
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT customer_id, completed_on, revenue, cost FROM erp_order
                    WHERE state = 'completed' AND completed_on <= ?
                    """, arguments: [window.lastDay])
            while let row = try rows.next() {
                let revenue = Decimals.parse(row[2])
                let grossProfit = revenue - Decimals.parse(row[3])
                add(
                    customer: row[0], period: PeriodKind.week.index(ofDay: row[1]), revenue: row[2],
                    grossProfit: Decimals.text(grossProfit), count: 1)
            }
        }
        return sales.values.sorted { $0.clientId.utf8.lexicographicallyPrecedes($1.clientId.utf8) }
    }

    /// What `crm.segments.v1` holds, per client.
    static func segments(_ db: Database) throws -> [String: PriorClassification] {
        var prior: [String: PriorClassification] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT client_id, abc_class, xyz_class, status FROM segment")
        while let row = try rows.next() {
            prior[row[0]] = PriorClassification(abcClass: row[1], xyzClass: row[2], status: row[3])
        }
        return prior
    }
}

/// Where merged counterparties went: a merged one's sales and persons count under its survivor.
struct Merges {
    private var mergedInto: [String: String]

    init(mergedInto: [String: String]) {
        self.mergedInto = mergedInto
    }

    /// Only the merged rows (there are few): for reports that need no list of clients.
    init(_ db: Database) throws {
        var mergedInto: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, merged_into FROM client WHERE merged_into IS NOT NULL") {
            mergedInto[row[0]] = row[1]
        }
        self.init(mergedInto: mergedInto)
    }

    var isEmpty: Bool { mergedInto.isEmpty }

    /// Each merged id's survivor, as keys for counting rows read by `RawRow`.
    func survivorKeys(_ keys: inout TextKeys) -> [TextKey: TextKey] {
        var survivors: [TextKey: TextKey] = [:]
        for id in mergedInto.keys { survivors[keys.key(id)] = keys.key(resolve(id)) }
        return survivors
    }

    /// The id a client's sales count under: itself, or the survivor of the merges it went through.
    func resolve(_ id: String) -> String {
        var current = id
        for _ in 0..<32 {
            guard let next = mergedInto[current] else { return current }
            current = next
        }
        return current
    }
}

/// The clients the store knows, with their managers and merges.
struct KnownClients {
    var ids: [String] = []
    var manager: [String: String?] = [:]
    private(set) var merges = Merges(mergedInto: [:])

    init(_ db: Database) throws {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT id, merged_into, COALESCE(responsible_manager_id, order_manager_id), is_client_role OR mentioned FROM client
                """)
        var candidates: [String] = []
        var mergedInto: [String: String] = [:]
        while let row = try rows.next() {
            let id: String = row[0]
            if let survivor: String = row[1] {
                mergedInto[id] = survivor
            } else {
                manager[id] = row[2] as String?
            }
            if row[3] as Bool { candidates.append(id) }
        }
        merges = Merges(mergedInto: mergedInto)
        // A merged client counts under its survivor, which is then a client too.
        ids = Array(Set(candidates.map(merges.resolve)))
    }

    func resolve(_ id: String) -> String { merges.resolve(id) }
}
