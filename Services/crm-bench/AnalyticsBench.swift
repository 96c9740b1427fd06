import AnalyticsService
import ArgumentParser
import EventStore
import Foundation
import GRDB
import Kafka
import Logging
import Platform
import WireFormat
import WireSchema

// Benchmark helpers for `scripts/bench-analytics`: a synthetic ERP order stream, the raw SQLite
// reference for its ingest, and a store loaded directly with a large book of business for
// classification runs and scorecards.

/// One synthetic ERP order event: the n-th order of the stream is placed, then completed (nine in
/// ten) or cancelled, over 24 months to 2026-10-31, for `clients` customers and 50 managers.
struct SyntheticOrders {
    let clients: Int
    static let firstDay = CalendarDate("2024-11-01")!.dayNumber
    static let days = 730

    /// The two events of order `n` as (order id, JSON value).
    func events(ofOrder n: Int) -> [(key: String, value: [UInt8], eventId: String)] {
        var random = SplitMix64(seed: UInt64(n) &* 0x2545_F491_4F6C_DD1D)
        let orderId = String(format: "ORD-%09d", n)
        let customer = String(format: "CL-%07d", random.below(clients))
        let manager = String(format: "M-%02d", random.below(50))
        let day = CalendarDate(dayNumber: Self.firstDay + random.below(Self.days))
        let lines = (0..<(1 + random.below(3))).map { _ in
            let price = random.below(500_000)
            return
                #"{"sku":"SKU-\#(random.below(5000))","quantity":"\#(1 + random.below(20))","price":"\#(price / 100).\#(String(format: "%02d", price % 100))","cost":"\#(price * 7 / 1000).\#(String(format: "%01d", price % 10))"}"#
        }
        let placed =
            #"{"eventId":"\#(orderId)-p","type":"OrderPlaced","occurredAt":"\#(day)T09:00:00Z","orderId":"\#(orderId)","customerId":"\#(customer)","managerId":"\#(manager)","currency":"RUB","lines":[\#(lines.joined(separator: ","))]}"#
        let completed = random.below(10) != 0
        let closing =
            completed
            ? #"{"eventId":"\#(orderId)-c","type":"OrderCompleted","occurredAt":"\#(day)T17:00:00Z","orderId":"\#(orderId)","customerId":"\#(customer)","managerId":"\#(manager)"}"#
            : #"{"eventId":"\#(orderId)-x","type":"OrderCancelled","occurredAt":"\#(day)T17:00:00Z","orderId":"\#(orderId)","customerId":"\#(customer)","managerId":"\#(manager)","reason":"price"}"#
        return [
            (orderId, Array(placed.utf8), "\(orderId)-p"), (orderId, Array(closing.utf8), "\(orderId)-\(completed ? "c" : "x")"),
        ]
    }

    /// The first `count` events of the stream (orders in turn, each placed then closed).
    func events(count: Int) -> [(key: String, value: [UInt8], eventId: String)] {
        var events: [(key: String, value: [UInt8], eventId: String)] = []
        events.reserveCapacity(count)
        var n = 0
        while events.count < count {
            events += self.events(ofOrder: n).prefix(count - events.count)
            n += 1
        }
        return events
    }
}

struct AnalyticsProduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics-produce",
        abstract: "Publish N ERP order events (orders placed, then completed or cancelled) to erp.orders.v1.")
    @Option var brokers: String
    @Option var count = 500_000
    @Option var clients = 50_000

    func run() throws {
        let records = SyntheticOrders(clients: clients).events(count: count).map {
            OutgoingRecord(topic: Topics.erpOrders, key: Array($0.key.utf8), value: $0.value)
        }
        let (elapsed, meanBytes) = try produceTimed(records, brokers: brokers)
        print(
            String(
                format: "produced %d ERP order events (%.0f B mean value) in %.2f s: %.0f events/s", count, meanBytes, elapsed,
                Double(count) / elapsed))
    }
}

/// Publishes synthetic records as fast as a bulk producer (lz4, 50 ms linger) takes them: the
/// seconds it took (the first record, which fetches the topic's metadata, included) and the
/// records' mean value size.
func produceTimed(_ records: [OutgoingRecord], brokers: String) throws -> (seconds: Double, meanBytes: Double) {
    var logger = Logger(label: "crm-bench")
    logger.logLevel = .error
    let producer = try KafkaProducer(
        configuration: KafkaConfiguration(brokers: brokers, properties: ["linger.ms": "50", "compression.type": "lz4"]), logger: logger)
    defer { producer.close() }
    let start = ContinuousClock.now
    try producer.sendAllBlocking(records.prefix(1))
    try producer.sendAllBlocking(records.dropFirst())
    let bytes = records.reduce(0) { $0 + ($1.value?.count ?? 0) }
    return (seconds(since: start), Double(bytes) / Double(max(records.count, 1)))
}

struct AnalyticsSQLiteRaw: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics-sqlite-raw",
        abstract: """
            Insert the same N ERP order events raw: one row per event (ids, customer, type, day, and the \
            JSON), with the redelivery guard, 10k per transaction, into a fresh analytics store: no Kafka, \
            no decoding, no order state.
            """)
    @Option var count = 500_000
    @Option var clients = 50_000
    @Option var path = NSTemporaryDirectory() + "crm-bench-analytics-raw.sqlite"

    func run() throws {
        try ServiceStore.deleteFiles(at: path)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        let store = try AnalyticsService.openStore(path: path, logger: logger)
        let events = SyntheticOrders(clients: clients).events(count: count).map { ($0.key, $0.value, AppliedEventKey($0.eventId)) }
        try store.database.write { db in
            try db.execute(sql: "CREATE TABLE raw_event (order_id TEXT NOT NULL, value BLOB NOT NULL)")
        }
        let start = ContinuousClock.now
        for chunk in stride(from: 0, to: count, by: 10_000) {
            try store.database.write { db in
                let applied = try AppliedEventGuard(db)
                let insert = try db.cachedStatement(sql: "INSERT INTO raw_event(order_id, value) VALUES (?, ?)")
                for (key, value, eventKey) in events[chunk..<min(chunk + 10_000, count)] where try applied.markNew(eventKey) {
                    try insert.execute(arguments: [key, Data(value)])
                }
            }
        }
        let elapsed = seconds(since: start)
        print(String(format: "raw SQLite: %d events in %.2f s: %.0f rows/s", count, elapsed, Double(count) / elapsed))
        try store.close()
        try ServiceStore.deleteFiles(at: path)
    }
}

struct AnalyticsSeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics-seed",
        abstract: """
            Write an analytics store directly (no Kafka): CLIENTS clients with monthly sums over MONTHS months \
            to 2026-10, 50 managers under 5 supervisors, each client's sales of the last two quarters as \
            orders with their sums per manager and day, its counterparty record and contact persons, and \
            interactions (what the scorecard reads).
            """)
    @Option var clients = 100_000
    @Option var months = 24
    @Option var path: String

    func run() throws {
        try ServiceStore.deleteFiles(at: path)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        let store = try AnalyticsService.openStore(path: path, logger: logger)
        let lastMonth = 2026 * 12 + 9  // October 2026
        let start = ContinuousClock.now
        var monthRows = 0
        var orderRows = 0
        var personRows = 0
        var interactionRows = 0
        // The scorecard's sums per manager and day, as the projection keeps them.
        var managerDays: [String: (revenue: Int, grossProfit: Int, orders: Int)] = [:]
        try store.database.write { db in
            for supervisor in 0..<5 {
                try db.execute(
                    sql: "INSERT INTO staff(id, name) VALUES (?, ?)", arguments: ["S-\(supervisor)", "Supervisor \(supervisor)"])
            }
            for manager in 0..<50 {
                try db.execute(
                    sql: "INSERT INTO staff(id, name, supervisor_id) VALUES (?, ?, ?)",
                    arguments: [String(format: "M-%02d", manager), "Manager \(manager)", "S-\(manager % 5)"])
            }
            let client = try db.makeStatement(
                sql: """
                    INSERT INTO client(id, mentioned, order_manager_id, registered, is_client_role, name, responsible_manager_id, record)
                    VALUES (?, 1, ?, 1, 1, ?, ?, ?)
                    """)
            let person = try db.makeStatement(sql: "INSERT INTO contact_person(id, counterparty_id, record) VALUES (?, ?, ?)")
            let interaction = try db.makeStatement(
                sql: "INSERT INTO interaction(id, counterparty_id, staff_id, occurred_on) VALUES (?, ?, ?, ?)")
            let month = try db.makeStatement(
                sql: "INSERT INTO client_month(client_id, month, revenue, gross_profit, sales) VALUES (?, ?, ?, ?, ?)")
            let order = try db.makeStatement(
                sql: """
                    INSERT INTO erp_order(id, customer_id, manager_id, state, placed_on, completed_on, revenue, cost, last_event_id)
                    VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?)
                    """)
            for n in 0..<clients {
                var random = SplitMix64(seed: UInt64(n) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
                let id = String(format: "CL-%07d", n)
                let manager = String(format: "M-%02d", random.below(50))
                // Registered as a counterparty, with what completeness checks filled or not, and a
                // contact person or two: the scorecard's completeness covers them all.
                let record = CounterpartyRecord(
                    id: id, kind: .organization, roles: [.customer], legalName: "Client \(n)",
                    taxId: random.below(4) == 0 ? nil : String(format: "77%08d", n), phones: ["+7 495 \(100 + n % 900) 00 00"],
                    emails: random.below(3) == 0 ? [] : ["office@client\(n).example"], responsibleManagerId: manager,
                    source: random.below(2) == 0 ? "exhibition" : nil)
                try client.execute(arguments: [
                    id, manager, record.legalName, manager, String(decoding: try WireEncoder.encode(record), as: UTF8.self),
                ])
                for p in 0..<random.below(3) {
                    let contact = ContactPerson(
                        id: "\(id)-P\(p)", counterpartyId: id, name: "Person \(p)",
                        phones: random.below(2) == 0 ? [] : ["+7 900 000 00 0\(p)"],
                        birthday: random.below(2) == 0 ? nil : "1980-05-0\(p + 1)")
                    try person.execute(arguments: [contact.id, id, String(decoding: try WireEncoder.encode(contact), as: UTF8.self)])
                    personRows += 1
                }
                // A few contacts by the manager over the last two quarters.
                for i in 0..<random.below(5) {
                    let day = PeriodKind.month.firstDay(ofPeriod: lastMonth - 5) + random.below(183)
                    try interaction.execute(arguments: ["\(id)-I\(i)", id, manager, day])
                    interactionRows += 1
                }
                // A mix: some buy nearly every month, some now and then, some stopped a year ago.
                let kind = random.below(10)
                let probability = kind < 4 ? 90 : kind < 8 ? 25 : 50
                let stopped = kind >= 8 ? 12 : 0
                for offset in 0..<months where offset >= stopped || kind < 8 {
                    let monthIndex = lastMonth - offset
                    if kind >= 8 && offset < stopped { continue }
                    guard random.below(100) < probability else { continue }
                    let sales = 1 + random.below(3)
                    let revenue = 1000 + random.below(100_000)
                    let cost = revenue * (50 + random.below(40)) / 100
                    try month.execute(arguments: [id, monthIndex, "\(revenue).\(random.below(100))", "\(revenue - cost)", sales])
                    monthRows += 1
                    // The last two quarters' sales as orders, for the scorecard.
                    if offset < 6 {
                        let day = PeriodKind.month.firstDay(ofPeriod: monthIndex) + random.below(28)
                        try order.execute(arguments: [
                            "O-\(n)-\(offset)", id, manager, day, day, "\(revenue)", "\(cost)", "seed-\(n)-\(offset)",
                        ])
                        orderRows += 1
                        let key = "\(manager)|\(day)"
                        managerDays[key, default: (0, 0, 0)].revenue += revenue
                        managerDays[key, default: (0, 0, 0)].grossProfit += revenue - cost
                        managerDays[key, default: (0, 0, 0)].orders += 1
                    }
                }
            }
        }
        try store.database.write { db in
            for (key, sums) in managerDays {
                let parts = key.split(separator: "|")
                try db.execute(
                    sql: "INSERT INTO manager_day(manager_id, day, revenue, gross_profit, orders) VALUES (?, ?, ?, ?, ?)",
                    arguments: [String(parts[0]), Int(parts[1])!, String(sums.revenue), String(sums.grossProfit), sums.orders])
            }
        }
        // Completeness as the projection computes it at the end of a bulk load (not its sums: the
        // monthly ones here have no orders behind them).
        let completenessStart = ContinuousClock.now
        try store.database.write { db in try AnalyticsProjection().recomputeCompleteness(db) }
        let completenessSeconds = seconds(since: completenessStart)
        try store.close()
        print(
            String(
                format:
                    "seeded %d clients, %d client-months, %d orders, %d contact persons, %d interactions in %.1f s (completeness of all: %.2f s)",
                clients, monthRows, orderRows, personRows, interactionRows, seconds(since: start), completenessSeconds))
    }
}
