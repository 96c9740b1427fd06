import Foundation
import Kafka
import Logging
import Synchronization

/// `crmctl dev-broker`: librdkafka's mock cluster with every contract topic, a journal that keeps
/// local data across restarts, fault commands on stdin, and loud warnings near the mock's capacity.
public final class DevBroker: Sendable {
    public struct Options: Sendable {
        public var brokers: Int32 = 3
        public var dataDirectory: String? = "./data"
        public var contract: TopicContract
        /// The mock drops a partition's oldest data past about 5 MiB of stored batches.
        public var capacityWarningBytes: Int64 = 4 * 1024 * 1024

        public init(contract: TopicContract) { self.contract = contract }
    }

    public let cluster: MockCluster
    private let options: Options
    private let logger: Logger
    private let journal: Journal?
    private let running = Mutex(true)
    private let journalDone = DispatchSemaphore(value: 0)

    public init(options: Options, logger: Logger) throws {
        self.options = options
        self.logger = logger
        cluster = try MockCluster(brokers: options.brokers, logger: logger)
        for spec in options.contract.specs {
            try cluster.createTopic(spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor)
        }
        if let directory = options.dataDirectory {
            journal = try Journal(directory: URL(fileURLWithPath: directory).appendingPathComponent("dev-broker/journal"))
        } else {
            journal = nil
        }
    }

    public var bootstrapServers: String { cluster.bootstrapServers }

    private var partitions: [TopicPartition] {
        options.contract.specs.flatMap { spec in (0..<spec.partitions).map { TopicPartition(spec.name, $0) } }
    }

    /// Re-produces the journal into the fresh cluster, partition by partition, at the same offsets.
    public func restore() throws -> Int {
        guard let journal else { return 0 }
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(brokers: bootstrapServers, properties: ["linger.ms": "20"]),
            name: "dev-broker-restore", logger: logger)
        defer { producer.close() }
        var total = 0
        for tp in partitions {
            let records = try journal.read(tp)
            if records.isEmpty { continue }
            for (index, record) in records.enumerated() where record.offset != Int64(index) {
                throw KafkaError(message: "journal \(tp) is not contiguous at record \(index) (offset \(record.offset))")
            }
            try producer.sendAllBlocking(
                records.map {
                    OutgoingRecord(
                        topic: tp.topic, partition: tp.partition, key: $0.key, value: $0.value,
                        headers: $0.headers, timestampMs: $0.timestampMs)
                })
            let high = try cluster.watermarks(tp).high
            if high != Int64(records.count) {
                throw KafkaError(message: "restored \(tp) to offset \(high), expected \(records.count)")
            }
            total += records.count
        }
        return total
    }

    /// Copies every new record into the journal until `stop()`. Blocking: run it on a thread.
    public func journalLoop() throws {
        defer { journalDone.signal() }
        guard let journal else {
            // No journal, no byte counts: still report data the mock has dropped.
            var dropped: [TopicPartition: Int64] = [:]
            var lastCheck = ContinuousClock.now
            while running.withLock({ $0 }) {
                usleep(100_000)
                guard ContinuousClock.now - lastCheck > .seconds(5) else { continue }
                lastCheck = ContinuousClock.now
                for tp in partitions {
                    if let low = try? cluster.watermarks(tp, timeoutMs: 1000).low { reportDrop(tp, logStart: low, &dropped) }
                }
            }
            return
        }
        // Journaling may trail by a fraction of a second (a stop drains it to the high watermarks);
        // the services' 3 ms fetch wait would keep the idle broker busy answering this consumer.
        var configuration = KafkaConfiguration(brokers: bootstrapServers)
        configuration.properties["fetch.wait.max.ms"] = "100"
        let consumer = try KafkaConsumer(configuration: configuration, name: "dev-broker-journal", logger: logger)
        defer { consumer.close() }
        var starts: [TopicPartition: Int64?] = [:]
        for tp in partitions { starts[tp] = journal.counts[tp] ?? 0 }
        try consumer.assign(starts)
        var lastSync = ContinuousClock.now
        var lastCapacityCheck = ContinuousClock.now
        var warned: Set<TopicPartition> = []
        var droppedReported: [TopicPartition: Int64] = [:]
        // On stop: the high watermarks the journal must reach before exit, and a deadline.
        var drainTargets: [TopicPartition: Int64]?
        var drainDeadline = ContinuousClock.now
        while true {
            if drainTargets == nil && !running.withLock({ $0 }) {
                var targets: [TopicPartition: Int64] = [:]
                for tp in partitions { targets[tp] = (try? consumer.watermarks(tp, timeoutMs: 2000).high) ?? 0 }
                drainTargets = targets
                drainDeadline = ContinuousClock.now + .seconds(30)
            }
            let events = consumer.poll(max: 10_000, timeoutMs: 50)
            for event in events {
                switch event {
                case .record(let record): journal.append(record)
                case .endOfPartition: break
                case .error(_, let error): logger.warning("journal consumer error", metadata: ["error": "\(error)"])
                }
            }
            if !events.isEmpty { try journal.flush(sync: false) }
            if ContinuousClock.now - lastSync > .milliseconds(500) {
                try journal.flush(sync: true)
                lastSync = ContinuousClock.now
            }
            if ContinuousClock.now - lastCapacityCheck > .seconds(2) {
                lastCapacityCheck = ContinuousClock.now
                checkCapacity(consumer: consumer, journal: journal, warned: &warned, dropped: &droppedReported)
            }
            // On stop, drain: everything acknowledged so far must be on disk before exit.
            if let targets = drainTargets {
                if targets.allSatisfy({ (journal.counts[$0.key] ?? 0) >= $0.value }) { break }
                if ContinuousClock.now > drainDeadline {
                    logger.error("journal could not catch up before exit; the newest records may be lost")
                    break
                }
            }
        }
        try journal.close()
    }

    private func checkCapacity(
        consumer: KafkaConsumer, journal: Journal, warned: inout Set<TopicPartition>, dropped: inout [TopicPartition: Int64]
    ) {
        for (tp, size) in journal.bytes where size > options.capacityWarningBytes && !warned.contains(tp) {
            warned.insert(tp)
            logger.warning(
                "partition nears the mock broker's capacity (~5 MiB of stored batches per partition); beyond it the oldest records are DROPPED. Use more partitions or compression.",
                metadata: ["partition": "\(tp)", "journal_bytes": "\(size)"])
        }
        for tp in partitions {
            if let marks = consumer.cachedWatermarks(tp) { reportDrop(tp, logStart: marks.low, &dropped) }
        }
    }

    private func reportDrop(_ tp: TopicPartition, logStart: Int64, _ reported: inout [TopicPartition: Int64]) {
        guard logStart > 0, logStart != reported[tp] else { return }
        reported[tp] = logStart
        logger.critical(
            "THE MOCK BROKER DROPPED DATA: the log start moved above 0; consumers replaying from the beginning miss records\(journal == nil ? "" : " (the journal still has them)")",
            metadata: ["partition": "\(tp)", "log_start": "\(logStart)"])
    }

    public func stop() {
        running.withLock { $0 = false }
    }

    public func waitForJournal() { journalDone.wait() }

    /// Executes one control command; returns the reply line.
    public func execute(_ line: String) -> String {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let command = words.first else { return "error empty command" }
        func brokers(_ word: String) throws -> [Int32] {
            if word == "all" { return cluster.brokerIds }
            guard let id = Int32(word), cluster.brokerIds.contains(id) else {
                throw KafkaError(
                    message: "unknown broker '\(word)' (brokers: \(cluster.brokerIds.map(String.init).joined(separator: ", ")), all)")
            }
            return [id]
        }
        do {
            switch (command, words.count) {
            case ("broker", 3) where words[1] == "down":
                for id in try brokers(words[2]) { try cluster.setBrokerDown(id) }
            case ("broker", 3) where words[1] == "up":
                for id in try brokers(words[2]) { try cluster.setBrokerUp(id) }
            case ("rtt", 3):
                guard let ms = Int32(words[2]) else { return "error rtt BROKER|all MILLISECONDS" }
                for id in try brokers(words[1]) { try cluster.setRoundTripTime(id, milliseconds: ms) }
            case ("leader", 4):
                guard let partition = Int32(words[2]), let broker = Int32(words[3]) else { return "error leader TOPIC PARTITION BROKER" }
                try cluster.setLeader(topic: words[1], partition: partition, broker: broker)
            case ("request-errors", 4):
                guard let api = MockCluster.API.allCases.first(where: { "\($0)".lowercased() == words[1].lowercased() }),
                    let count = Int(words[2]), let code = Int32(words[3])
                else {
                    return "error request-errors produce|fetch|listoffsets|metadata|initproducerid COUNT KAFKA_ERROR_CODE"
                }
                cluster.pushRequestErrors(api: api, count: count, error: code)
            case ("create-topic", 3):
                guard let partitions = Int32(words[2]) else { return "error create-topic NAME PARTITIONS" }
                try cluster.createTopic(words[1], partitions: partitions)
            case ("watermarks", 3):
                guard let partition = Int32(words[2]) else { return "error watermarks TOPIC PARTITION" }
                let marks = try cluster.watermarks(TopicPartition(words[1], partition))
                return "ok \(marks.low) \(marks.high)"
            case ("ping", 1):
                break
            default:
                return
                    "error unknown command '\(line)'; commands: broker down|up N|all, rtt N|all MS, leader TOPIC P BROKER, request-errors API COUNT CODE, create-topic NAME P, watermarks TOPIC P, ping, quit"
            }
            return "ok"
        } catch {
            return "error \(error)"
        }
    }
}
