import EventStore
import Foundation
import GRDB
import WireFormat
import WireSchema

/// Reads what a classification run needs from the store: every known client (merged ones
/// counted under their survivor) with its sales over the window, and what the segments topic
/// holds for each.
enum ClassificationInput {
    /// Every known client's sales over the window, its amounts read as `Number`s. Throws
    /// `ArithmeticOverflow` when an amount does not fit them.
    static func load<Number: ClassificationNumber>(_ db: Database, window: AnalysisWindow, measure: Measure, as: Number.Type) throws
        -> SalesBook<Number>
    {
        let clients = try KnownClients(db)
        var book = SalesBook<Number>()
        var scale = 0  // apart from the book: reading an amount may rescale the book
        var position: [String: Int] = [:]
        for id in clients.ids {
            position[id] = book.clients.count
            book.clients.append(ClientSales(clientId: id, managerId: clients.manager[id] ?? nil, periods: window.count))
        }
        func client(_ customer: String) -> Int {
            let id = clients.resolve(customer)
            if let known = position[id] { return known }
            position[id] = book.clients.count
            book.clients.append(ClientSales(clientId: id, managerId: clients.manager[id] ?? nil, periods: window.count))
            return book.clients.count - 1
        }
        /// Brings every amount read so far to a finer scale.
        func rescale(_ factor: Number) throws(ArithmeticOverflow) {
            for index in book.clients.indices {
                for period in 0..<window.count {
                    book.clients[index].values[period] = try Number.product(book.clients[index].values[period], factor)
                }
            }
        }
        /// Where a period's amounts go in a client's values; nil outside the window (noting a sale
        /// before it), so that amounts outside it are not even read.
        func slot(_ period: Int, of index: Int) -> Int? {
            let slot = window.position(ofPeriod: period)
            if slot == nil && period < window.firstPeriod { book.clients[index].hadSalesBefore = true }
            return slot
        }
        func add(_ amount: Number, count: Int, to index: Int, slot: Int) throws(ArithmeticOverflow) {
            book.clients[index].values[slot] = try Number.sum(book.clients[index].values[slot], amount)
            book.clients[index].sales += count
        }
        switch window.kind {
        case .month, .quarter:
            // Monthly sums, a quarter being three of them, read in key order: the customer is looked
            // up once per run of its months, not once per row.
            let endMonth = window.kind == .month ? window.endPeriod : window.endPeriod * 3
            let rows = try RawStatement(
                db,
                sql: "SELECT client_id, month, \(measure == .revenue ? "revenue" : "gross_profit"), sales FROM client_month WHERE month < ?"
            )
            rows.bind(1, Int64(endMonth))
            var current: (customer: [UInt8], index: Int)?
            try rows.forEachRow { row in
                guard let customer = row.utf8(0), let amount = row.utf8(2) else { return }
                if current == nil || !current!.customer.withUnsafeBufferPointer({ $0.elementsEqual(customer) }) {
                    current = (Array(customer), client(String(decoding: customer, as: UTF8.self)))
                }
                let index = current!.index
                guard let slot = slot(window.kind.index(ofMonth: Int(row.int64(1))), of: index) else { return }
                try add(try Number.read(amount, scale: &scale, rescale: rescale), count: Int(row.int64(3)), to: index, slot: slot)
            }
        case .week:
            let rows = try RawStatement(
                db, sql: "SELECT customer_id, completed_on, revenue, cost FROM erp_order WHERE state = 'completed' AND completed_on <= ?")
            rows.bind(1, Int64(window.lastDay))
            try rows.forEachRow { row in
                guard let customer = row.text(0), let revenueText = row.utf8(2), let costText = row.utf8(3) else { return }
                let index = client(customer)
                guard let slot = slot(PeriodKind.week.index(ofDay: Int(row.int64(1))), of: index) else { return }
                var amount = try Number.read(revenueText, scale: &scale, rescale: rescale)
                if measure == .grossProfit {
                    let cost = try Number.read(costText, scale: &scale, rescale: rescale)
                    // The revenue may have been read at a coarser scale than the cost: read it again.
                    amount = try Number.sum(
                        try Number.read(revenueText, scale: &scale, rescale: rescale), try Number.product(Number(-1), cost))
                }
                try add(amount, count: 1, to: index, slot: slot)
            }
        }
        book.scale = scale
        // In id order: the known clients come in it, so a sort is rarely needed.
        let inOrder = { (a: ClientSales<Number>, b: ClientSales<Number>) in a.clientId.utf8.lexicographicallyPrecedes(b.clientId.utf8) }
        if zip(book.clients, book.clients.dropFirst()).contains(where: { !inOrder($0, $1) }) { book.clients.sort(by: inOrder) }
        return book
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
        let rows = try RawStatement(
            db,
            sql: """
                SELECT id, merged_into, COALESCE(responsible_manager_id, order_manager_id), is_client_role OR mentioned FROM client
                """)
        var candidates: [String] = []
        var mergedInto: [String: String] = [:]
        try rows.forEachRow { row in
            guard let id = row.text(0) else { return }
            if let survivor = row.text(1) {
                mergedInto[id] = survivor
            } else {
                manager[id] = row.text(2)
            }
            if row.int64(3) != 0 { candidates.append(id) }
        }
        merges = Merges(mergedInto: mergedInto)
        // A merged client counts under its survivor, which is then a client too. In id order (the
        // table's) but for survivors of merges.
        var seen = Set<String>()
        ids = candidates.map(merges.resolve).filter { seen.insert($0).inserted }
    }

    func resolve(_ id: String) -> String { merges.resolve(id) }
}
