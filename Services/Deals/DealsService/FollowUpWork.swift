import Foundation
import GRDB
import Kafka
import Logging
import Platform
import ServiceKit
import ServiceLifecycle
import WireFormat
import WireSchema

/// What consumed events leave for the service to do, done once its store has caught up (so a
/// rebuild or restart never acts on a half-read log), after the projector applies something (at
/// most once every `pause`: under a stream of commands it would otherwise run after each) and
/// at the latest every `interval` (overrides run out with time alone):
/// - close as won each open deal whose ERP order completed (`DealClosed`, actor `erp`);
/// - publish `SalesConditionsAssigned` for each client whose effective conditions changed: all
///   clients after a start or a rules change, those a classification or override touched since the
///   last pass, and those whose override ran out.
/// Every step compares with what the store says was already published, so repeating one after a
/// crash publishes nothing twice.
struct FollowUpWork: ServiceLifecycle.Service {
    let context: DealsContext
    let logger: Logger
    var interval: Duration = .seconds(1)
    var pause: Duration = .milliseconds(200)

    func run() async throws {
        var sweptRulesVersion: Int?
        var touchedSeen = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Counted before the pass: what is applied while it runs wakes the next one at once.
            let commits = context.status.commitCount
            if context.status.isReady {
                do {
                    try await closeDealsWonByOrders()
                    let now = Date()
                    let rulesVersion = try await context.read { db in try ConditionsInputs.rules(db).version }
                    let started = ContinuousClock.now
                    let after = sweptRulesVersion == rulesVersion ? touchedSeen : nil
                    let inputs = try await context.read { db in try ConditionsInputs.read(db, touchedAfter: after) }
                    let read = ContinuousClock.now
                    // Comparing every client is CPU work by the hundred thousand: off the cooperative pool.
                    let changes =
                        after == nil ? try await runOnThread(name: "conditions") { inputs.changes(now: now) } : inputs.changes(now: now)
                    let compared = ContinuousClock.now
                    try await publish(changes)
                    if after == nil || !changes.isEmpty {
                        logger.info(
                            after == nil ? "sales conditions compared for every client" : "sales conditions compared for touched clients",
                            metadata: [
                                "clients": "\(inputs.clients.count)", "changed": "\(changes.count)", "rules": "\(inputs.rulesVersion)",
                                "readMs": "\((read - started).milliseconds)", "compareMs": "\((compared - read).milliseconds)",
                                "publishMs": "\((ContinuousClock.now - compared).milliseconds)",
                            ])
                    }
                    // Only a full sweep compared every client with these rules. Rules changed between
                    // the version check and this pass's read were applied to the touched clients alone:
                    // the next pass sees the new version and sweeps.
                    if after == nil { sweptRulesVersion = inputs.rulesVersion }
                    touchedSeen = inputs.touchedUpTo
                    let expired = try await context.read { db in try ConditionsInputs.expiredOverrides(db, now: now) }
                    if !expired.isEmpty {
                        let ended = try await context.read { db in try ConditionsInputs.read(db, touchedAfter: nil, ids: expired) }
                        try await publish(ended.changes(now: now))
                    }
                } catch {
                    logger.error("follow-up work failed; retrying", metadata: ["error": "\(error)"])
                }
            }
            await context.waitForCommit(after: commits, pause: pause, timeout: interval)
        }
    }

    /// Assignments sent at a time; at most two such chunks are queued ahead of a command's event.
    static let chunk = 1_000

    /// Sends the assignments chunk by chunk, each as soon as the one before the last is applied: the
    /// projector stays busy with them, a command's event waits behind two chunks at most, and when
    /// this returns every one is applied (so the next pass compares against them).
    private func publish(_ changes: [SalesConditions]) async throws {
        var inFlight: [TopicPartition: Int64]?
        var start = 0
        while start < changes.count {
            let end = min(start + Self.chunk, changes.count)
            let sent = try await context.sendAll(changes[start..<end].map(SalesConditionsEvent.assigned), by: DealsContext.serviceActor)
            if let inFlight { try await context.waitUntilApplied(inFlight, timeout: .seconds(60)) }
            inFlight = sent
            start = end
        }
        if let inFlight { try await context.waitUntilApplied(inFlight, timeout: .seconds(60)) }
    }

    /// The few rows waiting drive the join (CROSS JOIN keeps SQLite from walking every open deal
    /// instead, which cost 0.3 s a pass over 70,000 open deals).
    private func closeDealsWonByOrders() async throws {
        let closures = try await context.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT w.deal_id, w.order_id, w.amount, w.currency FROM deal_won_by_order w CROSS JOIN deal d ON d.id = w.deal_id
                    WHERE d.open = 1 ORDER BY w.deal_id LIMIT 1000
                    """
            ).map { row in
                DealEvent.closed(
                    DealClosure(id: row[0], outcome: .won, reason: nil, amount: Amount(row[2] as String), currency: row[3], orderId: row[1])
                )
            }
        }
        if closures.isEmpty { return }
        try await context.publishAll(closures, by: DealsContext.erpActor)
        logger.info("deals won by completed ERP orders", metadata: ["deals": "\(closures.count)"])
    }
}
