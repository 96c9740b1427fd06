import Foundation
import GRDB
import Kafka
import Logging
import Metrics
import Platform
import ServiceKit
import ServiceLifecycle
import WireFormat
import WireSchema

/// Sends reminders as they fall due. At each look it asks the planner for what falls due before
/// the next few looks (and what changes since the last look made due in the past); when a planned
/// reminder's moment comes, it checks that it is still wanted and not on `crm.reminders.v1` yet,
/// and publishes it there, stamped with when it was sent and whether that was late. It looks again
/// when the next planned reminder falls due, when the projector has applied something (at most once
/// every `dispatchPause`), and at the latest after `dispatchInterval`: an idle scheduler looks once
/// a second instead of five times. It starts once the store has caught up, so after a crash or a
/// rebuild it knows what was sent and sends only what was not; at start it looks back `catchUp`
/// for reminders missed while the service was down.
///
/// With a consumer group (`CRM_SCHEDULER_GROUP`), each instance sends only the reminders whose ids
/// fall in the partitions of `crm.reminders.v1` the group gave it; on every new assignment it first
/// reads those partitions to their end, so it sees what their previous holder sent.
struct ReminderDispatcher: ServiceLifecycle.Service {
    let context: SchedulerContext
    let logger: Logger

    private var settings: SchedulerSettings { context.settings }

    private struct Cursor {
        /// Everything scheduled up to here has been planned (ids, recipients, texts made).
        var plannedThrough: Date
        /// The changes looked at.
        var progress: ReminderPlanner.Progress
        /// Reminders planned ahead of their due moment, sent when it comes (if still valid then).
        var ahead: [Reminder] = []
    }

    /// How far ahead reminders are planned: making thousands of them takes a while, and the work is
    /// done before they fall due rather than after. Longer than `dispatchInterval`, so that a
    /// reminder is planned before its moment even when nothing wakes the dispatcher in between.
    static let lookahead: TimeInterval = 3

    /// How long until the first reminder planned ahead falls due (a few milliseconds after, so the
    /// look finds it due); nil if none is planned.
    private func untilNextDue(_ cursor: Cursor?) -> Duration? {
        guard let next = cursor?.ahead.lazy.map(\.dueAt).min() else { return nil }
        return .seconds(max(0, next.timeIntervalSince(settings.clock.now()))) + .milliseconds(5)
    }

    func run() async throws {
        let membership = try settings.group.map { group in
            try KafkaGroupMembership(
                configuration: context.configuration.kafka, group: group, topic: Topics.reminders, name: "scheduler-group",
                logger: logger)
        }
        try membership?.start()
        var partitionCount: Int32?
        var generation: Int?
        var cursor: Cursor?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Counted before the look: what is applied while it runs wakes the next one at once.
            let commits = context.status.commitCount
            if context.status.isReady {
                do {
                    var owned: Set<Int32>?
                    var ready = true
                    if let membership {
                        if partitionCount == nil {
                            partitionCount = try await runOnThread(name: "group-metadata") { try membership.partitionCount() }
                        }
                        if let assignment = membership.assignment {
                            if assignment.generation != generation {
                                try await catchUp(membership, assignment.partitions)
                                generation = assignment.generation
                                cursor = nil
                            }
                            owned = assignment.partitions
                        } else {
                            ready = false
                        }
                    }
                    if ready {
                        cursor = try await dispatch(from: cursor, owned: owned.map { ($0, partitionCount ?? 1) })
                    }
                } catch {
                    logger.error("reminder dispatch failed; retrying", metadata: ["error": "\(error)"])
                }
            }
            let latest = min(settings.dispatchInterval, untilNextDue(cursor) ?? settings.dispatchInterval)
            let pause = min(settings.dispatchPause, latest)
            await context.waitForCommit(after: commits, pause: pause, timeout: latest - pause)
        }
        // Leaving the group hands this instance's partitions to the others at once.
        if let membership { try? await runOnThread(name: "group-leave") { membership.stop() } }
    }

    /// Waits until the store holds everything on these partitions of `crm.reminders.v1`.
    private func catchUp(_ membership: KafkaGroupMembership, _ partitions: Set<Int32>) async throws {
        let highs = try await runOnThread(name: "group-watermarks") { try membership.highWatermarks(partitions) }
        for (partition, high) in highs where high > 0 {
            guard
                await context.status.waitUntilApplied(TopicPartition(Topics.reminders, partition), offset: high - 1, timeout: .seconds(60))
            else { throw Problem.unavailable("reminders partition \(partition) was not read to its end in time") }
        }
        logger.info("sending the reminders of partitions", metadata: ["partitions": "\(partitions.sorted())"])
    }

    /// One look: plans what falls due before the next few looks, sends what is due and still valid
    /// and unsent; returns where the next look starts.
    private func dispatch(from cursor: Cursor?, owned: (partitions: Set<Int32>, of: Int32)?) async throws -> Cursor {
        let now = settings.clock.now()
        let oldest = now.addingTimeInterval(-settings.catchUp)
        let horizon = now.addingTimeInterval(Self.lookahead)
        let planner = ReminderPlanner(settings: settings)
        let started = ContinuousClock.now
        let (planned, progress) = try await context.read { db in
            var reminders = try planner.due(db, after: cursor?.plannedThrough ?? oldest, through: horizon)
            if let cursor { reminders += try planner.dueAmongChanges(db, since: cursor.progress, after: oldest, through: horizon) }
            return (reminders, try ReminderPlanner.Progress.current(db))
        }
        if planned.count >= 1000 {
            logger.info(
                "reminders planned ahead",
                metadata: ["reminders": "\(planned.count)", "ms": "\((ContinuousClock.now - started).milliseconds)"])
        }
        var ahead =
            (cursor?.ahead ?? [])
            + planned.filter { reminder in
                owned.map { $0.partitions.contains(KafkaPartitioner.partition(of: reminder.id, partitions: $0.of)) } ?? true
            }
        let dueNow = ahead.filter { $0.dueAt <= now }
        ahead.removeAll { $0.dueAt <= now }
        if !dueNow.isEmpty {
            let checking = ContinuousClock.now
            let valid = try await context.read { db in try ReminderPlanner.stillToSend(dueNow, db) }
            if !valid.isEmpty { try await send(valid, checkedIn: ContinuousClock.now - checking) }
        }
        return Cursor(plannedThrough: horizon, progress: progress, ahead: ahead)
    }

    /// Reminders handed to Kafka at a time. They all go at once, chunk after chunk, without waiting
    /// for this store to apply the ones before: a reminder is due now, and commands arriving
    /// meanwhile wait behind them in the projector (about 2 s for 10,000; `docs/benchmarks.md`).
    static let chunk = 2_000

    private func send(_ reminders: [Reminder], checkedIn checking: Duration) async throws {
        let started = ContinuousClock.now
        var applied: [TopicPartition: Int64] = [:]
        var start = 0
        var late = 0
        while start < reminders.count {
            let end = min(start + Self.chunk, reminders.count)
            let sentAt = settings.clock.now()
            let chunk = reminders[start..<end].map { reminder in
                var reminder = reminder
                reminder.sentAt = sentAt
                reminder.late = sentAt.timeIntervalSince(reminder.dueAt) > settings.lateAfter
                if reminder.late == true { late += 1 }
                return ReminderEvent.due(reminder)
            }
            applied.merge(try await context.sendAll(chunk, by: SchedulerContext.serviceActor)) { max($0, $1) }
            start = end
        }
        let handedOver = ContinuousClock.now
        // The next look compares with what is applied, so this one ends when all of them are.
        try await context.waitUntilApplied(applied, timeout: .seconds(120))
        SchedulerMetrics.remindersSent.increment(by: reminders.count)
        SchedulerMetrics.remindersLate.increment(by: late)
        logger.info(
            "reminders sent",
            metadata: [
                "reminders": "\(reminders.count)", "late": "\(late)", "checkMs": "\(checking.milliseconds)",
                "sendMs": "\((handedOver - started).milliseconds)", "appliedMs": "\((ContinuousClock.now - handedOver).milliseconds)",
            ])
    }
}

/// What `/metrics` shows of the scheduler's work.
enum SchedulerMetrics {
    static let remindersSent = Counter(label: "crm_scheduler_reminders_sent_total")
    static let remindersLate = Counter(label: "crm_scheduler_reminders_late_total")
    static let webhookDeliveries = Counter(label: "crm_scheduler_webhook_deliveries_total")
    static let webhookFailures = Counter(label: "crm_scheduler_webhook_failures_total")
    static let webhookQueueDepth = Gauge(label: "crm_scheduler_webhook_queue_depth")
}
