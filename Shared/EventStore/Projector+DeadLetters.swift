import Foundation
import GRDB
import Kafka
import Logging
import Platform
import Synchronization
import WireFormat
import WireSchema

// Dead letters: written to the outbox table in the batch transaction, published by the outbox
// thread, deleted once Kafka has them.
extension Projector {
    func enqueueDeadLetter(_ record: ConsumedRecord, reason: String, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO crm_outbox(topic, record_key, record_value, headers) VALUES (?, ?, ?, ?)",
            arguments: [
                Topics.deadLetter, record.key.map { Data($0) }, record.value.map { Data($0) },
                Self.deadLetterHeaders(
                    topic: record.topic, partition: record.partition, offset: record.offset, reason: reason,
                    consumer: projection.name, eventType: record.header(CloudEventAttributes.Header.type)?.stringValue),
            ])
        logger.warning(
            "dead-lettered a record",
            metadata: [
                "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)", "reason": "\(reason)",
            ])
    }

    static func deadLetterHeaders(
        topic: String, partition: Int32, offset: Int64, reason: String, consumer: String, eventType: String?
    ) -> String {
        var headers: [String: String] = [
            DeadLetterHeader.sourceTopic: topic,
            DeadLetterHeader.sourcePartition: String(partition),
            DeadLetterHeader.sourceOffset: String(offset),
            DeadLetterHeader.error: reason,
            DeadLetterHeader.consumer: consumer,
        ]
        if let eventType { headers[CloudEventAttributes.Header.type] = eventType }
        let data = try? JSONSerialization.data(withJSONObject: headers, options: [.sortedKeys])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Publishes dead letters written by committed batches, deleting each once Kafka has it.
    func outboxLoop() {
        guard let producer = deadLetters else { return }
        while true {
            _ = outboxSignal.wait(timeout: .now() + .seconds(1))
            let stopping = !isRunning
            do {
                try drainOutbox(producer)
            } catch {
                logger.warning("dead letters not published yet; will retry", metadata: ["error": "\(error)"])
            }
            if stopping { return }
        }
    }

    func drainOutbox(_ producer: KafkaProducer) throws {
        while true {
            let rows = try store.database.read { db in
                try Row.fetchAll(db, sql: "SELECT id, topic, record_key, record_value, headers FROM crm_outbox ORDER BY id LIMIT 1000")
            }
            if rows.isEmpty { return }
            var records: [OutgoingRecord] = []
            for row in rows {
                let headerText: String = row[4]
                let map = (try? JSONSerialization.jsonObject(with: Data(headerText.utf8))) as? [String: String] ?? [:]
                let key: Data? = row[2]
                let value: Data? = row[3]
                records.append(
                    OutgoingRecord(
                        topic: row[1], key: key.map { Array($0) }, value: value.map { Array($0) },
                        headers: map.sorted { $0.key < $1.key }.map { KafkaHeader($0.key, $0.value) }))
            }
            try producer.sendAllBlocking(records)
            let lastId: Int64 = rows.last![0]
            try store.database.write { db in
                try db.execute(sql: "DELETE FROM crm_outbox WHERE id <= ?", arguments: [lastId])
            }
        }
    }
}
