import Foundation
import GRDB
import Kafka
import Logging
import Platform
import Synchronization
import WireFormat
import WireSchema

// The writer thread: batches of decoded slices, one SQLite transaction each (rows, applied event ids
// and next offsets together); a refused record re-runs its batch record by record.
extension Projector {
    func writeLoop(_ queue: BlockingQueue<DecodingSlice>, _ spent: BlockingQueue<[[Item]]>) throws {
        var catchingUp = true
        while true {
            // Checked before waiting too: a resumed bulk load may have nothing left to apply.
            if catchingUp && status.isCaughtUp {
                catchingUp = false
                try finishCatchingUp()
            }
            let waitStart = ContinuousClock.now
            let taken = queue.take(timeout: .now() + .milliseconds(100))
            var waited = ContinuousClock.now - waitStart
            defer { status.addTimings(writerWaiting: waited) }
            guard let first = taken else {
                if !isRunning { return }
                continue
            }
            // Slices as they came (not concatenated: that would copy every item). After the first,
            // only decoded ones: a writer that is behind must leave the decoding to the consumer.
            var decodedHere = false
            var batches = [first.items(decode, waited: &waited, decodedHere: &decodedHere)]
            var count = batches[0].count
            while count < options.maxBatchRecords, let next = queue.takeFirst(if: { $0.isDecoded }) {
                batches.append(next.items(decode, waited: &waited, decodedHere: &decodedHere))
                count += batches[batches.count - 1].count
            }
            try write(batches)
            // Freed where they were allocated: the first slice here if this thread decoded it.
            if decodedHere { batches.removeFirst() }
            _ = spent.offer(batches)
        }
    }

    func finishCatchingUp() throws {
        if status.isBulkLoading {
            let start = ContinuousClock.now
            do {
                try store.completeBulkLoad(
                    prepare: { [projection] db in try projection.prepareBulkLoadFinish(reading: db) },
                    beforeIndexes: { db in try projection.finishBulkLoadRows(in: db) },
                    rebuildDerived: { db, prepared in try projection.finishBulkLoad(in: db, prepared: prepared) })
            } catch {
                throw ProjectorError.storeFailed("finishing the bulk load: \(error)")
            }
            // Ready before the guard's table and the sync: the store is complete (no event is applied
            // until they are done), and until the mark is cleared a machine restart rebuilds it from
            // the topics, which hold every event applied since.
            status.setBulkLoading(false)
            let completed = ContinuousClock.now
            do {
                try store.makeBulkLoadDurable()
            } catch {
                throw ProjectorError.storeFailed("filling the guard's table and syncing the bulk load: \(error)")
            }
            let synced = ContinuousClock.now
            status.addTimings(bulkLoadFinish: completed - start, bulkLoadSync: synced - completed)
            logger.info(
                "bulk load finished",
                metadata: [
                    "seconds": "\(completed - start)", "sync_seconds": "\(synced - completed)",
                ])
        }
        Memory.releaseFreeHeap()
    }

    struct BatchOutcome {
        var applied = 0
        var deadLettered = 0
        var duplicates = 0
        private var offsets: [TopicPartition: Int64] = [:]
        // Records come in runs from one partition: hash the partition once per run, not per record.
        private var run: (partition: TopicPartition, next: Int64)?

        mutating func recordApplied(_ partition: TopicPartition, offset: Int64) {
            if let current = run, current.partition != partition { offsets[current.partition] = current.next }
            run = (partition, offset + 1)
        }

        var nextOffsets: [TopicPartition: Int64] {
            var all = offsets
            if let run { all[run.partition] = run.next }
            return all
        }
    }

    /// Needs record-by-record savepoints because some record of the batch was refused.
    struct RetryCarefully: Error {}

    func write(_ batches: [[Item]]) throws {
        let start = ContinuousClock.now
        defer { status.addTimings(write: ContinuousClock.now - start) }
        if let held = store.bulkLoadEventIds.heldCount, held >= options.bulkLoadIdsInMemory {
            do {
                try store.moveBulkLoadEventIdsToTable()
            } catch {
                throw ProjectorError.storeFailed("moving the bulk load's event ids to the guard's table: \(error)")
            }
            logger.info("the bulk load's event ids moved to the guard's table", metadata: ["ids": "\(held)"])
        }
        var outcome: BatchOutcome
        do {
            outcome = try writeTransaction(batches, careful: false)
        } catch is RetryCarefully {
            outcome = try writeTransaction(batches, careful: true)
        }
        store.bulkLoadEventIds.commitBatch()
        status.committed(nextOffsets: outcome.nextOffsets, applied: outcome.applied, deadLettered: outcome.deadLettered)
        if outcome.deadLettered > 0 { outboxSignal.signal() }
        if outcome.duplicates > 0 {
            logger.info("skipped redelivered events", metadata: ["count": "\(outcome.duplicates)"])
        }
    }

    func writeTransaction(_ batches: [[Item]], careful: Bool) throws -> BatchOutcome {
        let bulkLoading = status.isBulkLoading
        do {
            return try store.database.writeWithoutTransaction { db in
                var outcome = BatchOutcome()
                try db.inTransaction(.immediate) {
                    try projection.beginBatch(in: db, bulkLoading: bulkLoading)
                    let applied = try AppliedEventGuard.forBatch(db, bulkLoad: bulkLoading ? store.bulkLoadEventIds : nil)
                    for items in batches {
                        for item in items {
                            try write(item, careful: careful, bulkLoading: bulkLoading, applied: applied, db, &outcome)
                        }
                    }
                    try projection.finishBatch(in: db, bulkLoading: bulkLoading)
                    try applied.finishBatch(db)
                    let saveOffset = try db.cachedStatement(
                        sql: """
                            INSERT INTO crm_partition_offsets(topic, partition, next_offset) VALUES (?, ?, ?)
                            ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                            """)
                    for (tp, next) in outcome.nextOffsets {
                        saveOffset.setUncheckedArguments([tp.topic, tp.partition, next])
                        try saveOffset.execute()
                    }
                    return .commit
                }
                return outcome
            }
        } catch is RetryCarefully {
            throw RetryCarefully()
        } catch {
            throw ProjectorError.storeFailed("\(error)")
        }
    }

    /// Applies one item inside the batch transaction. Careful mode gives each event a savepoint, so
    /// a refused one is dead-lettered alone; otherwise a refusal restarts the batch in careful mode.
    func write(
        _ item: Item, careful: Bool, bulkLoading: Bool, applied: AppliedEventGuard, _ db: Database, _ outcome: inout BatchOutcome
    ) throws {
        switch item {
        case .event(let event):
            if careful {
                do {
                    try db.inSavepoint {
                        if try applied.markNew(event.appliedKey) {
                            try projection.apply(event, in: db, bulkLoading: bulkLoading)
                            outcome.applied += 1
                        } else {
                            outcome.duplicates += 1
                        }
                        return .commit
                    }
                } catch let error where Self.isRejection(error) {
                    applied.rolledBack(event.appliedKey)
                    try enqueueDeadLetter(event.record, reason: Self.reason(error), db)
                    outcome.deadLettered += 1
                }
            } else if try applied.markNew(event.appliedKey) {
                do {
                    try projection.apply(event, in: db, bulkLoading: bulkLoading)
                } catch let error where Self.isRejection(error) {
                    throw RetryCarefully()
                }
                outcome.applied += 1
            } else {
                outcome.duplicates += 1
            }
        case .deadLetter(let record, let reason):
            try enqueueDeadLetter(record, reason: reason, db)
            outcome.deadLettered += 1
        }
        outcome.recordApplied(item.partition, offset: item.offset)
    }

    static func isRejection(_ error: any Error) -> Bool {
        if error is ProjectionRejection || error is DecodingError || error is WireFormatError { return true }
        if let error = error as? DatabaseError {
            return error.resultCode == .SQLITE_CONSTRAINT
        }
        return false
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? ProjectionRejection { return error.description }
        return WireFormatError.describing(error).description
    }
}
