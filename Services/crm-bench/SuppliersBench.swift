import ArgumentParser
import EventStore
import Foundation
import GRDB
import Kafka
import Logging
import Platform
import SuppliersService
import WireFormat
import WireSchema

// Benchmark helpers for `scripts/bench-suppliers`: a synthetic stream of purchase orders and
// receipts, and a store loaded directly with every supplier's price list for the offers query.

/// The events of purchase order `n`: placed over 2026, then received in one or two receipts (one
/// in ten short or with a rejection), or cancelled (one in twenty), for `suppliers` suppliers.
struct SyntheticPurchases {
    let suppliers: Int
    static let firstDay = CalendarDate("2026-01-01")!.dayNumber

    func events(ofOrder n: Int) -> [(key: String, value: [UInt8])] {
        var random = SplitMix64(seed: UInt64(n) &* 0x2545_F491_4F6C_DD1D &+ 7)
        let order = String(format: "PO-%09d", n)
        let supplier = String(format: "SUP-%05d", random.below(suppliers))
        let day = CalendarDate(dayNumber: Self.firstDay + random.below(330))
        let promised = CalendarDate(dayNumber: day.dayNumber + 3 + random.below(14))
        let skus = (0..<(1 + random.below(3))).map { "SKU-\(random.below(10_000) * 3 + $0)" }
        let quantities = skus.map { _ in 1 + random.below(50) }
        func lines(_ quantity: (Int) -> String) -> String {
            skus.indices.map { #"{"sku":"\#(skus[$0])","quantity":"\#(quantity($0))","price":"\#(10 + random.below(990)).50"}"# }
                .joined(separator: ",")
        }
        func event(_ suffix: String, _ type: String, _ day: CalendarDate, _ extra: String) -> (key: String, value: [UInt8]) {
            let value =
                #"{"eventId":"\#(order)-\#(suffix)","type":"\#(type)","occurredAt":"\#(day)T10:00:00Z","purchaseOrderId":"\#(order)","supplierId":"\#(supplier)"\#(extra)}"#
            return (order, Array(value.utf8))
        }
        var events = [
            event("p", "PurchaseOrderPlaced", day, #","promisedDate":"\#(promised)","lines":[\#(lines { "\(quantities[$0])" })]"#)
        ]
        if random.below(20) == 0 {
            events.append(event("x", "PurchaseOrderCancelled", CalendarDate(dayNumber: day.dayNumber + 1), #","reason":"not needed""#))
            return events
        }
        let arrival = CalendarDate(dayNumber: promised.dayNumber - 3 + random.below(8))
        let short = random.below(10) == 0
        if random.below(3) == 0 {
            events.append(event("r1", "GoodsReceived", arrival, #","lines":[\#(lines { "\((quantities[$0] + 1) / 2)" })]"#))
            events.append(
                event(
                    "r2", "GoodsReceived", CalendarDate(dayNumber: arrival.dayNumber + 2),
                    #","lines":[\#(lines { "\(max(0, quantities[$0] / 2 - (short ? 1 : 0)))" })]"#))
        } else {
            events.append(event("r1", "GoodsReceived", arrival, #","lines":[\#(lines { "\(quantities[$0] - (short ? 1 : 0))" })]"#))
        }
        return events
    }
}

struct SuppliersProduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suppliers-produce",
        abstract: "Publish about N ERP purchase events (orders placed, then received or cancelled) to erp.purchases.v1.")
    @Option var brokers: String
    @Option var count = 300_000
    @Option var suppliers = 1_000

    func run() throws {
        let generator = SyntheticPurchases(suppliers: suppliers)
        var records: [OutgoingRecord] = []
        var n = 0
        while records.count < count {
            records += generator.events(ofOrder: n).map {
                OutgoingRecord(topic: Topics.erpPurchases, key: Array($0.key.utf8), value: $0.value)
            }
            n += 1
        }
        let (elapsed, meanBytes) = try produceTimed(records, brokers: brokers)
        print(
            String(
                format: "produced %d ERP purchase events of %d orders (%.0f B mean value) in %.2f s", records.count, n, meanBytes, elapsed))
    }
}

struct SuppliersSeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suppliers-seed",
        abstract: """
            Write a suppliers store directly (no Kafka: the dev broker could not hold the parts): SUPPLIERS \
            suppliers, each with terms, a year of monthly reliability sums and one current price list of every one \
            of ITEMS items.
            """)
    @Option var suppliers = 1_000
    @Option var items = 10_000
    @Option var path: String

    func run() throws {
        try ServiceStore.deleteFiles(at: path)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        let store = try SuppliersService.openStore(path: path, logger: logger)
        let start = ContinuousClock.now
        for first in stride(from: 0, to: suppliers, by: 50) {
            try store.database.write { db in
                let line = try db.makeStatement(
                    sql: """
                        INSERT INTO price_line(publication_id, line, supplier_id, sku, packaging_unit, price, min_quantity, returnable)
                        VALUES (?, ?, ?, ?, 'box', ?, NULL, 0)
                        """)
                for s in first..<min(first + 50, suppliers) {
                    var random = SplitMix64(seed: UInt64(s) &* 0x9E37_79B9_7F4A_7C15 &+ 3)
                    let id = String(format: "SUP-%05d", s)
                    try db.execute(
                        sql: "INSERT INTO counterparty(id, name, legal_name, is_supplier) VALUES (?, ?, ?, 1)",
                        arguments: [id, "Supplier \(s)", "Supplier \(s) LLC"])
                    let terms = SupplierTerms(
                        supplierId: id, minimumOrder: 100, promisedLeadTimeDays: 3 + random.below(20), currency: "EUR")
                    try db.execute(
                        sql: """
                            INSERT INTO supplier_terms(supplier_id, record, promised_lead_time_days, minimum_order, currency, version,
                                updated_at, last_event_id)
                            VALUES (?, ?, ?, '100', 'EUR', 1, '2026-01-01T00:00:00.000Z', ?)
                            """,
                        arguments: [
                            id, String(decoding: try WireEncoder.encode(terms), as: UTF8.self), terms.promisedLeadTimeDays, "t-\(id)",
                        ])
                    for month in 1...12 {
                        let due = 5 + random.below(20)
                        let onTime = random.below(due + 1)
                        let inFull = random.below(due + 1)
                        try db.execute(
                            sql: """
                                INSERT INTO supplier_month(supplier_id, month, orders_due, on_time, in_full, otif, delivered, lead_sum,
                                    lead_square_sum, lateness_sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                                """,
                            arguments: [
                                id, String(format: "2026-%02d", month), due, onTime, inFull, min(onTime, inFull), due, due * 9, due * 90,
                                due,
                            ])
                    }
                    let publication = "pub-\(id)"
                    try db.execute(
                        sql: """
                            INSERT INTO price_publication(id, supplier_id, price_list_id, currency, valid_from, valid_to, published_at,
                                parts, parts_received, line_count, complete, current)
                            VALUES (?, ?, 'main', 'EUR', '2026-01-01', NULL, '2026-01-01T00:00:00.000Z', 1, 1, ?, 1, 1)
                            """, arguments: [publication, id, items])
                    for item in 0..<items {
                        let price = 100 + random.below(100_000)
                        try line.execute(arguments: [
                            publication, item + 1, id, "SKU-\(item)", "\(price / 100).\(String(format: "%02d", price % 100))",
                        ])
                    }
                }
            }
        }
        print(
            String(
                format: "seeded %d suppliers × %d items (%d price lines) in %.1f s", suppliers, items, suppliers * items,
                seconds(since: start)))
        try store.close()
    }
}
