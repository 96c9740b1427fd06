import EventStore
import Foundation
import GRDB
import WireFormat

/// What one deal adds to the analysis's totals (`deal_open_totals` or `deal_closed_totals`). The
/// projection reads it before and after each deal event and moves the difference, so the totals
/// always equal the sums over the deals, and the analysis reads a few hundred rows instead of every
/// deal.
struct DealContribution: Equatable {
    var open: Bool
    var stage: String
    var owner: String
    var currency: String
    var month: String
    var amountMinor: Int64
    var probability: Int64
    var outcome: String
    var reason: String
    var closedAmountMinor: Int64
    var cycleSeconds: Int64
    var closeDay: String
    var changeDay: String

    static func fetch(_ db: Database, dealId: String) throws -> DealContribution? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT open, stage, owner_id, currency, substr(expected_close_date, 1, 7), amount_minor, probability, outcome,
                        close_reason, closed_amount_minor, cycle_seconds, expected_close_date, substr(updated_at, 1, 10)
                    FROM deal WHERE id = ?
                    """), arguments: [dealId]
        ).map { row in
            DealContribution(
                open: row[0], stage: row[1], owner: row[2] ?? "", currency: row[3] ?? "", month: row[4] ?? "", amountMinor: row[5],
                probability: row[6], outcome: row[7] ?? "", reason: row[8] ?? "", closedAmountMinor: row[9] ?? 0,
                cycleSeconds: row[10] ?? 0, closeDay: row[11] ?? "", changeDay: row[12])
        }
    }

    /// Moves a deal's contribution from what it was to what it is (nil: not there).
    static func move(from before: DealContribution?, to after: DealContribution?, _ db: Database) throws {
        if before == after { return }
        if let before { try before.add(sign: -1, db) }
        if let after { try after.add(sign: 1, db) }
    }

    private func add(sign: Int64, _ db: Database) throws {
        let (amountHigh, amountLow) = Self.split(amountMinor)
        if open {
            let (weightedHigh, weightedLow) = Self.split(amountMinor * probability)
            try db.cachedStatement(
                sql: """
                    INSERT INTO deal_open_totals(stage, owner_id, currency, month, deals, amount_high, amount_low, weighted_high,
                        weighted_low)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                    ON CONFLICT(stage, owner_id, currency, month) DO UPDATE SET deals = deals + ?5, amount_high = amount_high + ?6,
                        amount_low = amount_low + ?7, weighted_high = weighted_high + ?8, weighted_low = weighted_low + ?9
                    """
            ).execute(arguments: [
                stage, owner, currency, month, sign, sign * amountHigh, sign * amountLow, sign * weightedHigh, sign * weightedLow,
            ])
            try db.cachedStatement(
                sql: "DELETE FROM deal_open_totals WHERE stage = ? AND owner_id = ? AND currency = ? AND month = ? AND deals = 0"
            )
            .execute(arguments: [stage, owner, currency, month])
            for (kind, day) in [("close", closeDay), ("change", changeDay)] {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO deal_open_days(kind, day, owner_id, deals) VALUES (?1, ?2, ?3, ?4)
                        ON CONFLICT(kind, day, owner_id) DO UPDATE SET deals = deals + ?4
                        """
                ).execute(arguments: [kind, day, owner, sign])
                try db.cachedStatement(sql: "DELETE FROM deal_open_days WHERE kind = ? AND day = ? AND owner_id = ? AND deals = 0")
                    .execute(arguments: [kind, day, owner])
            }
        } else {
            let (closedHigh, closedLow) = Self.split(closedAmountMinor)
            try db.cachedStatement(
                sql: """
                    INSERT INTO deal_closed_totals(outcome, owner_id, currency, reason, deals, amount_high, amount_low, cycle_seconds)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    ON CONFLICT(outcome, owner_id, currency, reason) DO UPDATE SET deals = deals + ?5, amount_high = amount_high + ?6,
                        amount_low = amount_low + ?7, cycle_seconds = cycle_seconds + ?8
                    """
            ).execute(arguments: [outcome, owner, currency, reason, sign, sign * closedHigh, sign * closedLow, sign * cycleSeconds])
            try db.cachedStatement(
                sql: "DELETE FROM deal_closed_totals WHERE outcome = ? AND owner_id = ? AND currency = ? AND reason = ? AND deals = 0"
            )
            .execute(arguments: [outcome, owner, currency, reason])
        }
    }

    /// Ten-thousandths in two parts, below and above 10^8, as `CurrencySums` adds them up.
    static func split(_ minor: Int64) -> (high: Int64, low: Int64) { (minor / 100_000_000, minor % 100_000_000) }
}
