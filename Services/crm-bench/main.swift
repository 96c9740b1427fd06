import ArgumentParser
import ContactsService
import EventStore
import Foundation
import GRDB
import Kafka
import Logging
import ServiceRuntime
import WireSchema

/// Benchmark helpers for `scripts/bench`: generate events, and the reference measurements the
/// replay is compared with (raw SQLite inserts of the same rows, decoding alone).
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench", abstract: "Benchmark helpers (see scripts/bench).",
        subcommands: [Produce.self, SQLiteRaw.self, Decode.self])
}

/// The n-th synthetic counterparty id: a UUIDv7 like the ones the service generates (four per
/// millisecond), deterministic so that every run writes the same rows.
func syntheticId(_ n: Int) -> String {
    let ms = UInt64(1_767_225_600_000 + n / 4)
    let tail = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
    return String(format: "%08x-%04x-7%03x-%04x-%012llx", UInt32(ms >> 16), UInt32(ms & 0xFFFF), UInt32(n % 4) << 8 | UInt32(tail >> 56),
                  0x8000 | UInt32((tail >> 32) & 0x3FFF), tail & 0xFFFF_FFFF_FFFF)
}

/// The n-th synthetic counterparty: realistic field sizes (~400 B of JSON), time-ordered ids.
func syntheticRecord(_ n: Int) -> CounterpartyRecord {
    CounterpartyRecord(
        id: syntheticId(n), kind: n % 5 == 0 ? .person : .organization,
        roles: n % 3 == 0 ? [.customer, .supplier] : [.customer], legalName: "Benchmark Trading Company No. \(n) LLC",
        shortName: "BTC \(n)", taxId: String(format: "77%08d", n),
        addresses: Addresses(legal: "Moscow, Tverskaya street \(n % 200), office \(n % 50)"),
        phones: [String(format: "+7 495 %03d-%02d-%02d", n % 1000, n % 100, (n / 100) % 100)],
        emails: ["sales\(n)@example.com"], responsibleManagerId: "S-\(n % 40)", source: "campaign-\(n % 12)",
        tags: n % 7 == 0 ? ["vip"] : [])
}

func syntheticEvent(_ n: Int) throws -> (key: String, value: [UInt8], attributes: CloudEventAttributes) {
    let record = syntheticRecord(n)
    let time = Date(timeIntervalSince1970: 1_767_225_600 + Double(n) / 1000)
    let attributes = CloudEventAttributes(
        id: TimeOrderedID.make(now: time), type: CounterpartyEvent.EventType.registered, source: "crm-bench",
        time: time, subject: record.id, actor: "bench")
    return (record.id, try WireEncoder.encode(record), attributes)
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

struct Produce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "produce", abstract: "Publish N CounterpartyRegistered events to crm.counterparties.v1.")
    @Option var brokers: String
    @Option var count = 500_000

    func run() throws {
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(brokers: brokers, properties: ["linger.ms": "50"]), logger: logger)
        defer { producer.close() }
        let records = try (0..<count).map { n -> OutgoingRecord in
            let event = try syntheticEvent(n)
            return OutgoingRecord(topic: Topics.counterparties, key: Array(event.key.utf8), value: event.value,
                                  headers: event.attributes.headers, timestampMs: Timestamp.milliseconds(event.attributes.time))
        }
        let bytes = records.reduce(0) { $0 + ($1.value?.count ?? 0) }
        let start = ContinuousClock.now
        try producer.sendAllBlocking(records)
        let elapsed = seconds(since: start)
        print(String(format: "produced %d events (%.0f B mean value) in %.2f s: %.0f events/s", count,
                     Double(bytes) / Double(count), elapsed, Double(count) / elapsed))
    }
}

struct SQLiteRaw: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlite-raw",
        abstract: """
            Write what a replay of N registrations writes into a fresh contacts store with the same code \
            (rows, identities, applied-event ids; bulk load on, so completeness and the search index are \
            built at the end, included in the time), 10k per transaction: no Kafka, no decoding.
            """)
    @Option var count = 500_000
    @Option var path = NSTemporaryDirectory() + "crm-bench-raw.sqlite"

    func run() throws {
        try ServiceStore.deleteFiles(at: path)
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        let store = try ContactsStore.open(path: path, logger: logger)
        let rows = try (0..<count).map { n -> (CounterpartyRecord, [UInt8], String, String, AppliedEventKey) in
            let event = try syntheticEvent(n)
            let id = event.attributes.id
            return (syntheticRecord(n), event.value, Timestamp.format(event.attributes.time), id, AppliedEventKey(id))
        }
        let start = ContinuousClock.now
        let projection = ContactsProjection()
        try store.beginBulkLoad(deferring: projection.bulkLoadDeferredIndexes)
        for chunk in stride(from: 0, to: count, by: 10_000) {
            try store.database.write { db in
                let applied = try AppliedEventGuard(db)
                for (record, json, time, id, key) in rows[chunk..<min(chunk + 10_000, count)] {
                    guard try applied.markNew(key) else { continue }
                    try projection.register(record, json: json, time: time, actor: "bench", eventId: id, in: db)
                }
                try projection.finishBatch(in: db, bulkLoading: true)
            }
        }
        let loaded = seconds(since: start)
        try store.finishBulkLoad { db in try projection.finishBulkLoad(in: db) }
        let elapsed = seconds(since: start)
        print(String(format: "raw SQLite: %d rows in %.2f s: %.0f rows/s (rows %.2f s, then indexes and derived data %.2f s)",
                     count, elapsed, Double(count) / elapsed, loaded, elapsed - loaded))
        try store.close()
        try ServiceStore.deleteFiles(at: path)
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Decode N event values: our decoder beside Foundation's JSONDecoder.")
    @Option var count = 500_000

    func run() throws {
        let values = try (0..<count).map { try syntheticEvent($0).value }
        var start = ContinuousClock.now
        var checksum = 0
        for value in values { checksum &+= try CounterpartyEvent.decode(type: CounterpartyEvent.EventType.registered, data: value).counterpartyId.count }
        let ours = seconds(since: start)
        let foundation = JSONDecoder()
        start = ContinuousClock.now
        // The service's request body type: the counterparty's fields with compiler-synthesised `Decodable`.
        for value in values { checksum &+= try foundation.decode(CounterpartyDraft.self, from: Data(value)).id?.count ?? 0 }
        let theirs = seconds(since: start)
        start = ContinuousClock.now
        for value in values { if case .object(let members) = try JSONParser.parse(value) { checksum &+= members.count } }
        let parseOnly = seconds(since: start)
        print(String(format: "decode: CounterpartyEvent.decode %.0f events/s, JSONParser alone %.0f/s, Foundation JSONDecoder %.0f/s (checksum %d)",
                     Double(count) / ours, Double(count) / parseOnly, Double(count) / theirs, checksum))
    }
}
