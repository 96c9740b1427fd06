import ArgumentParser
import ContactsService
import EventStore
import Foundation
import GRDB
import Kafka
import Logging
import Platform
import Synchronization
import WireFormat
import WireSchema

/// Benchmark helpers for `scripts/bench`: generate events, and the reference measurements the
/// replay is compared with (raw SQLite inserts of the same rows, decoding alone).
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench", abstract: "Benchmark helpers (see scripts/bench).",
        subcommands: [
            Produce.self, Consume.self, SQLiteRaw.self, Decode.self, PlatformReplay.self, AnalyticsProduce.self, AnalyticsSQLiteRaw.self,
            AnalyticsSeed.self, SuppliersProduce.self, SuppliersSeed.self,
        ])
}

/// The n-th synthetic counterparty id: a UUIDv7 like the ones the service generates (four per
/// millisecond), deterministic so that every run writes the same rows.
func syntheticId(_ n: Int) -> String {
    let ms = UInt64(1_767_225_600_000 + n / 4)
    let tail = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
    return String(
        format: "%08x-%04x-7%03x-%04x-%012llx", UInt32(ms >> 16), UInt32(ms & 0xFFFF), UInt32(n % 4) << 8 | UInt32(tail >> 56),
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
        id: TimeOrderedID.make(now: time), type: CounterpartyEvent.Message.registered.rawValue, source: "crm-bench",
        time: time, subject: record.id, actor: "bench")
    return (record.id, try WireEncoder.encode(record), attributes)
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    seconds(ContinuousClock.now - start)
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

struct Produce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce", abstract: "Publish N CounterpartyRegistered events to crm.counterparties.v1.")
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
            return OutgoingRecord(
                topic: Topics.counterparties, key: Array(event.key.utf8), value: event.value,
                headers: event.attributes.headers, timestampMs: Timestamp.milliseconds(event.attributes.time))
        }
        let bytes = records.reduce(0) { $0 + ($1.value?.count ?? 0) }
        let start = ContinuousClock.now
        // The first record alone, so that the producer knows the topic's partitions before the rest:
        // records queued while it fetched them went out as one message set per partition of up to
        // `batch.size` (1,460 records spanning 95 s of event time, against 110-240 records per set
        // later), which left the partitions that far apart in event time for the whole replay.
        try producer.sendAllBlocking(records.prefix(1))
        try producer.sendAllBlocking(records.dropFirst())
        let elapsed = seconds(since: start)
        print(
            String(
                format: "produced %d events (%.0f B mean value) in %.2f s: %.0f events/s", count,
                Double(bytes) / Double(count), elapsed, Double(count) / elapsed))
    }
}

struct Consume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: """
            Read a topic (crm.counterparties.v1 unless --topic) from the beginning with the projector's consumer and its settings, \
            records converted and dropped: the fastest a replay can be fed.
            """)
    @OptionGroup var kafka: ConsumerOptions
    @Option var count = 500_000
    @Option var topic = Topics.counterparties
    @Flag(help: "The prefetch a fast projection asks for (ProjectorOptions.deepPrefetch).")
    var deepPrefetch = false

    func run() throws {
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        var configuration = try kafka.configuration()
        if deepPrefetch { configuration = configuration.withDefaults(KafkaConsumer.deepPrefetchProperties) }
        let consumer = try KafkaConsumer(configuration: configuration, name: "bench", logger: logger)
        defer { consumer.close() }
        let partitions = try consumer.partitionCounts([topic])[topic] ?? 0
        let start = ContinuousClock.now
        try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), nil) }))
        var records = 0
        var idlePolls = 0
        while records < count {
            let before = records
            for event in consumer.poll(max: 10_000, timeoutMs: 1_000) {
                if case .record = event { records += 1 }
            }
            idlePolls = records == before ? idlePolls + 1 : 0
            if idlePolls == 5 { throw ValidationError("the topic holds \(records) records, fewer than \(count)") }
        }
        let elapsed = seconds(since: start)
        let waited = consumer.waitedForRecords.components
        let settings = (deepPrefetch ? ["deep prefetch"] : []) + kafka.properties
        print(
            String(
                format: "consume%@: %d records in %.2f s: %.0f records/s (waited for records %.2f s)",
                settings.isEmpty ? "" : " (\(settings.joined(separator: ", ")))", records, elapsed,
                Double(records) / elapsed, Double(waited.seconds) + Double(waited.attoseconds) / 1e18))
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
        try store.completeBulkLoad { db in try projection.finishBulkLoad(in: db) }
        let elapsed = seconds(since: start)
        // Timed until complete, as a rebuild is timed until ready; the sync comes after both.
        try store.makeBulkLoadDurable()
        print(
            String(
                format:
                    "raw SQLite: %d rows in %.2f s: %.0f rows/s (rows %.2f s, then indexes and derived data %.2f s; synced %.2f s later)",
                count, elapsed, Double(count) / elapsed, loaded, elapsed - loaded, seconds(since: start) - elapsed))
        try store.close()
        try ServiceStore.deleteFiles(at: path)
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Decode N event values: our decoder beside Foundation's JSONDecoder.")
    @Option var count = 500_000

    func run() throws {
        let records = try (0..<count).map { n -> ConsumedRecord in
            let event = try syntheticEvent(n)
            return ConsumedRecord(
                topic: Topics.counterparties, partition: 0, offset: Int64(n), key: Array(event.key.utf8),
                value: event.value, headers: event.attributes.headers, timestampMs: 0)
        }
        let values = records.map { $0.value ?? [] }
        var start = ContinuousClock.now
        var checksum = 0
        for value in values {
            checksum &+= try CounterpartyEvent.decode(type: CounterpartyEvent.Message.registered.rawValue, data: value).counterpartyId.count
        }
        let ours = seconds(since: start)
        // What the projector's decode does per record: CloudEvents headers, the value, the event around them.
        let projection = RegistrationRowProjection(skipDecode: false)
        start = ContinuousClock.now
        for record in records { checksum &+= try projection.decode(record).event.id.count }
        let whole = seconds(since: start)
        let foundation = JSONDecoder()
        start = ContinuousClock.now
        // The service's request body type: the counterparty's fields with compiler-synthesised `Decodable`.
        for value in values { checksum &+= try foundation.decode(CounterpartyDraft.self, from: Data(value)).id?.count ?? 0 }
        let theirs = seconds(since: start)
        start = ContinuousClock.now
        for value in values { if case .object(let members) = try JSONParser.parse(value) { checksum &+= members.count } }
        let parseOnly = seconds(since: start)
        print(
            String(
                format: "decode: CounterpartyEvent.decode %.0f events/s, whole records (headers too) %.0f/s, JSONParser alone %.0f/s, "
                    + "Foundation JSONDecoder %.0f/s (checksum %d)",
                Double(count) / ours, Double(count) / whole, Double(count) / parseOnly, Double(count) / theirs, checksum))
    }
}

/// The least a projection can do with a registration: keep its id and JSON. What the platform costs
/// per event (consume, decode, redelivery guard, offsets, batching) shows against the same insert
/// done raw, without the contacts projection's search index and identities in the way.
struct RegistrationRowProjection: Projection {
    /// The registration's id, and the decoded event unless decoding is skipped for the measurement.
    struct Registration: Sendable {
        let id: String
        let event: CounterpartyEvent?
    }

    /// Takes the id from the record key without parsing the JSON: shows what the pipeline costs
    /// without the decoding.
    let skipDecode: Bool
    var name: String { "bench" }
    var topics: [String] { [Topics.counterparties] }

    static func open(path: String, logger: Logger) throws -> ServiceStore {
        try ServiceStore(path: path, projectionVersion: 1, logger: logger) { migrator in
            migrator.registerMigration("registration") { db in
                try db.execute(sql: "CREATE TABLE registration (id TEXT NOT NULL UNIQUE, record TEXT NOT NULL)")
            }
        }
    }

    func decode(_ record: ConsumedRecord) throws -> ProjectedEvent<Registration> {
        try decodeCloudEvent(record) { type, data in
            if skipDecode { return Registration(id: record.keyString ?? "", event: nil) }
            let event = try CounterpartyEvent.decode(type: type, data: data)
            return Registration(id: event.counterpartyId, event: event)
        }
    }

    func apply(_ event: ProjectedEvent<Registration>, in db: Database) throws {
        try insert(id: event.event.id, json: event.record.value ?? [], db)
    }

    func insert(id: String, json: [UInt8], _ db: Database) throws {
        let statement = try RawStatement(db, sql: "INSERT INTO registration(id, record) VALUES (?, ?)")
        statement.bind(1, id)
        try statement.execute(bindingUTF8: json, at: 2)
    }
}

struct PlatformReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform-replay",
        abstract: """
            Replay crm.counterparties.v1 through the platform's projector into a store that keeps only each \
            registration's id and JSON, beside a raw SQLite insert of the same rows (same insert code, \
            redelivery guard and bulk load; no Kafka, no decoding).
            """)
    @OptionGroup var kafka: ConsumerOptions
    @Option var count = 500_000
    @Option var path = NSTemporaryDirectory() + "crm-bench-platform.sqlite"
    @Flag(help: "Take each id from the record key instead of decoding the event (what the pipeline costs without decoding).")
    var skipDecode = false
    @Flag(help: "Only the replay, without the raw SQLite references (for comparing builds run after run).")
    var replayOnly = false

    func run() throws {
        var logger = Logger(label: "crm-bench")
        logger.logLevel = .error
        let projection = RegistrationRowProjection(skipDecode: skipDecode)

        let rows = try (0..<count).map { n -> (String, [UInt8], AppliedEventKey) in
            let event = try syntheticEvent(n)
            return (event.key, event.value, AppliedEventKey(event.attributes.id))
        }
        /// Inserts the rows as the replay would, in their order, 10k per transaction; the seconds it took
        /// until the store was complete, as the replay is timed until ready (both syncs come after).
        func rawInsert(_ rows: [(String, [UInt8], AppliedEventKey)]) throws -> Double {
            try ServiceStore.deleteFiles(at: path)
            let store = try RegistrationRowProjection.open(path: path, logger: logger)
            let start = ContinuousClock.now
            try store.beginBulkLoad(deferring: [])
            for chunk in stride(from: 0, to: rows.count, by: 10_000) {
                try store.database.write { db in
                    let applied = try AppliedEventGuard(db)
                    for (id, json, key) in rows[chunk..<min(chunk + 10_000, rows.count)] where try applied.markNew(key) {
                        try projection.insert(id: id, json: json, db)
                    }
                }
            }
            try store.completeBulkLoad()
            let elapsed = seconds(since: start)
            try store.makeBulkLoadDurable()
            try store.close()
            try ServiceStore.deleteFiles(at: path)
            return elapsed
        }
        let raw = replayOnly ? .nan : try rawInsert(rows)

        try ServiceStore.deleteFiles(at: path)
        let store = try RegistrationRowProjection.open(path: path, logger: logger)
        // A projection this fast is what the deep prefetch is for (see `ProjectorOptions`).
        var options = ProjectorOptions()
        options.deepPrefetch = true
        let projector = Projector(
            projection: projection, store: store,
            consumerConfiguration: try kafka.configuration(),
            deadLetterProducer: nil, logger: logger, options: options)
        let cpuBefore = threadCPUSeconds()
        let start = ContinuousClock.now
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        startThread(name: "bench-consumer") {
            do { try projector.runBlocking() } catch { failure.withLock { $0 = error } }
            done.signal()
        }
        while !projector.status.isReady {
            if let error = failure.withLock({ $0 }) { throw error }
            usleep(1_000)
        }
        let replay = seconds(since: start)
        let cpu = threadCPUSeconds().map { ($0.key, $0.value - (cpuBefore[$0.key] ?? 0)) }.filter { $0.1 >= 0.005 }
        projector.stop()
        done.wait()
        let timings = projector.status.timings
        // The order the replay applied them in: partition after partition as librdkafka fetched them,
        // so each index grows at up to as many places as there are partitions.
        let appliedOrder = try store.database.read { db in try String.fetchAll(db, sql: "SELECT id FROM registration ORDER BY rowid") }
        try store.close()
        guard appliedOrder.count == count else { throw ValidationError("the replay applied \(appliedOrder.count) of \(count) events") }
        let position = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1.0, $0) })
        let appliedPositions = appliedOrder.map { position[$0]! }
        let rawInLogOrder = replayOnly ? .nan : try rawInsert(appliedPositions.map { rows[$0] })
        // How far from the log's own order the replay applied them: each row's distance behind the
        // newest row applied before it (rows are produced 1 ms of event time apart).
        var newest = -1
        var behind = 0
        for row in appliedPositions {
            behind += max(0, newest - row)
            newest = max(newest, row)
        }
        let synced = seconds(timings.bulkLoadSync)
        if replayOnly {
            print(
                String(
                    format: "platform%@: replay %.0f events/s (%.2f s until ready, synced %.2f s later)",
                    skipDecode ? " (decoding skipped)" : "", Double(count) / replay, replay, synced))
        } else {
            print(
                String(
                    format: "platform%@: raw SQLite %.0f rows/s (%.2f s), in the replay's order %.0f rows/s (%.2f s); "
                        + "replay %.0f events/s (%.2f s until ready, synced %.2f s later; %.2f x raw, %.2f x raw in the same order)",
                    skipDecode ? " (decoding skipped)" : "", Double(count) / raw, raw, Double(count) / rawInLogOrder, rawInLogOrder,
                    Double(count) / replay, replay, synced, raw / replay, rawInLogOrder / replay))
        }
        print("  \(timings)")
        print(String(format: "  applied order: on average %.0f events behind the newest applied before", Double(behind) / Double(count)))
        print(
            "  allocator: \(Memory.allocator); CPU seconds by thread during the replay: "
                + cpu.sorted { $0.0 < $1.0 }.map { String(format: "%@ %.2f", $0.0, $0.1) }.joined(separator: ", "))
    }
}

/// The brokers and librdkafka overrides of a command that reads the topic.
struct ConsumerOptions: ParsableArguments {
    @Option var brokers: String
    @Option(name: .customLong("property"), help: "A librdkafka property over the consumer's defaults, as name=value (repeatable).")
    var properties: [String] = []

    func configuration() throws -> KafkaConfiguration {
        var overrides: [String: String] = [:]
        for property in properties {
            guard let equals = property.firstIndex(of: "=") else { throw ValidationError("expected name=value: \(property)") }
            overrides[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        return KafkaConfiguration(brokers: brokers, properties: overrides)
    }
}

/// User + system CPU seconds of this process's threads so far, summed by thread name (Linux /proc).
func threadCPUSeconds() -> [String: Double] {
    var result: [String: Double] = [:]
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { continue }
        let name = String(stat[stat.index(after: open)..<close])
        // After the name: state is field 3 of the line, utime and stime fields 14 and 15.
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
        result[name, default: 0] += (user + system) / ticks
    }
    return result
}
