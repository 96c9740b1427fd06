import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle
import WireFormat
import WireSchema

/// Publishes `SupplierStandingChanged` whenever a supplier's standing over the default window (the
/// 12 complete months before today) differs from the one last published: after a start and when
/// the window moves (a new month) for every supplier, otherwise for the suppliers whose orders
/// changed since the last pass. Runs once the store has caught up, after the projector applies
/// something (at most once every `standingPause`: under a stream of receipts it would otherwise
/// run after each batch) and at the latest every `standingInterval` (the window moves with the
/// date alone), and compares with what the store says was published, so a crash or a second pass
/// publishes nothing twice.
struct StandingWork: ServiceLifecycle.Service {
    let context: SuppliersContext
    let logger: Logger

    func run() async throws {
        var comparedWindow: ReliabilityWindow?
        var touchedSeen = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Counted before the pass: what is applied while it runs wakes the next one at once.
            let commits = context.status.commitCount
            if context.status.isReady {
                do {
                    let today = context.today
                    let window = ReliabilityWindow.standard(today: today)
                    let everyone = window != comparedWindow
                    let after = everyone ? nil : touchedSeen
                    let (changes, touchedUpTo, ids, sums) = try await context.read { db in
                        try Self.changes(db, window: window, today: today, touchedAfter: after)
                    }
                    if everyone {
                        context.projection.windowSums.replaceAll(window: window, sums)
                    } else {
                        context.projection.windowSums.update(window: window, ids: ids, sums)
                    }
                    for start in stride(from: 0, to: changes.count, by: 1_000) {
                        let chunk = changes[start..<min(start + 1_000, changes.count)].map(SupplierEvent.standingChanged)
                        try await context.publishAll(Array(chunk), by: SuppliersContext.serviceActor, timeout: .seconds(60))
                    }
                    if !changes.isEmpty || everyone {
                        logger.info(
                            everyone ? "standings compared for every supplier" : "standings compared for changed suppliers",
                            metadata: ["changed": "\(changes.count)", "window": "\(window.from)..\(window.to)"])
                    }
                    comparedWindow = window
                    touchedSeen = touchedUpTo
                } catch {
                    logger.error("standing work failed; retrying", metadata: ["error": "\(error)"])
                }
            }
            await context.waitForCommit(after: commits, pause: context.settings.standingPause, timeout: context.settings.standingInterval)
        }
    }

    /// The standings that differ from the published ones: of every supplier (`touchedAfter` nil)
    /// or of those touched after that sequence number; the highest sequence number seen, and the
    /// suppliers compared with their sums.
    static func changes(
        _ db: Database, window: ReliabilityWindow, today: CalendarDate, touchedAfter: Int?
    ) throws -> ([SupplierStanding], Int, [String], [String: ReliabilitySums]) {
        let touchedUpTo = try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM supplier_touched") ?? 0
        var ids: [String]
        var published: [String: SupplierStandingLevel] = [:]
        let sums: [String: ReliabilitySums]
        if let touchedAfter {
            ids = try String.fetchAll(
                db, sql: "SELECT supplier_id FROM supplier_touched WHERE seq > ? AND seq <= ? ORDER BY supplier_id",
                arguments: [touchedAfter, touchedUpTo])
            if ids.isEmpty { return ([], touchedUpTo, [], [:]) }
            sums = try ReliabilityQueries.standardSums(db, supplierIds: ids, window: window)
            let statement = try db.cachedStatement(sql: "SELECT standing FROM supplier_standing WHERE supplier_id = ?")
            for id in ids {
                if let level = try String.fetchOne(statement, arguments: [id]).flatMap(SupplierStandingLevel.init) { published[id] = level }
            }
        } else {
            sums = try ReliabilityQueries.standardSums(db, window: window)
            var all = Set(sums.keys)
            for row in try Row.fetchAll(db, sql: "SELECT supplier_id, standing FROM supplier_standing") {
                all.insert(row[0])
                if let level = (row[1] as String?).flatMap(SupplierStandingLevel.init) { published[row[0]] = level }
            }
            ids = all.sorted()
        }
        var changes: [SupplierStanding] = []
        for id in ids {
            let before = published[id]
            let figures = (sums[id] ?? ReliabilitySums()).figures
            guard figures.standing != before else { continue }
            changes.append(
                SupplierStanding(
                    supplierId: id, standing: figures.standing, previousStanding: before, score: figures.score.map(Amount.init),
                    ordersDue: figures.ordersDue, onTimeRate: figures.onTimeRate.map(Amount.init),
                    inFullRate: figures.inFullRate.map(Amount.init), otifRate: figures.otifRate.map(Amount.init), asOf: today,
                    windowFrom: window.from, windowTo: window.to))
        }
        return (changes, touchedUpTo, ids, sums)
    }
}
