import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/reminders/{id}`: a reminder that was sent, and its deliveries to webhooks.
struct ReminderController {
    let context: SchedulerContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/reminders/{id}", use: show)
    }

    struct SentReminder: Encodable, Sendable {
        var reminder: Reminder
        var publishedAt: Date?
        var deliveries: [Delivery]

        enum Keys: String, CodingKey { case publishedAt, deliveries }

        func encode(to encoder: any Encoder) throws {
            try reminder.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(publishedAt, forKey: .publishedAt)
            try container.encode(deliveries, forKey: .deliveries)
        }
    }

    /// A reminder's delivery to one webhook: the latest attempt's result and every attempt.
    struct Delivery: Encodable, Sendable {
        var webhookId: String
        var reminderId: String
        var outcome: String
        var attempts: Int
        var firstAttemptAt: Date?
        var lastAttemptAt: Date?
        var status: Int?
        var error: String?
        var nextAttemptAt: Date?
        var history: [WebhookDeliveryAttempt]

        static func fetch(_ db: Database, where condition: String, _ arguments: StatementArguments, limit: Int? = nil) throws -> [Delivery]
        {
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT webhook_id, reminder_id, outcome, attempts, first_attempt_at, last_attempt_at, status, error, next_attempt_at
                    FROM webhook_delivery WHERE \(condition) ORDER BY last_attempt_at DESC, reminder_id\(limit.map { " LIMIT \($0)" } ?? "")
                    """, arguments: arguments)
            return try rows.map { row in
                let history = try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT attempt, attempted_at, status, error, duration_ms, outcome, next_attempt_at FROM webhook_attempt
                            WHERE webhook_id = ? AND reminder_id = ? ORDER BY attempt
                            """), arguments: [row[0], row[1]]
                ).map { attempt in
                    WebhookDeliveryAttempt(
                        webhookId: row[0], reminderId: row[1], attempt: attempt[0],
                        attemptedAt: Timestamp.parse(attempt[1]) ?? .distantPast,
                        status: attempt[2], error: attempt[3], durationMs: attempt[4],
                        outcome: WebhookDeliveryAttempt.Outcome(rawValue: attempt[5]) ?? .retrying,
                        nextAttemptAt: (attempt[6] as String?).flatMap(Timestamp.parse))
                }
                return Delivery(
                    webhookId: row[0], reminderId: row[1], outcome: row[2], attempts: row[3],
                    firstAttemptAt: (row[4] as String?).flatMap(Timestamp.parse),
                    lastAttemptAt: (row[5] as String?).flatMap(Timestamp.parse), status: row[6], error: row[7],
                    nextAttemptAt: (row[8] as String?).flatMap(Timestamp.parse), history: history)
            }
        }
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let sent = try await self.context.read { db -> SentReminder? in
            guard let row = try Row.fetchOne(db, sql: "SELECT record, published_at FROM reminder_sent WHERE id = ?", arguments: [id]) else {
                return nil
            }
            return SentReminder(
                reminder: try decodeStoredRecord(Reminder.self, row), publishedAt: (row[1] as String?).flatMap(Timestamp.parse),
                deliveries: try Delivery.fetch(db, where: "reminder_id = ?", [id]))
        }
        guard let sent else { throw Problem.notFound("no reminder '\(id)' was sent") }
        return try jsonResponse(sent)
    }
}
