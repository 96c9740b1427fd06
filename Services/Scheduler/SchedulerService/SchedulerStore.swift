import EventStore
import GRDB
import Logging
import ServiceKit

/// The scheduler's tables on top of the platform store. Times are stored as `Timestamp.format`
/// text (UTC, fixed width), so they compare and sort as text.
enum SchedulerStore {
    /// Bump when the projection's tables or the way events fill them change: the store rebuilds itself.
    static let projectionVersion = 1

    static func open(path: String, logger: Logger) throws -> ServiceStore {
        try ServiceStore(path: path, projectionVersion: projectionVersion, logger: logger) { migrator in
            for (identifier, migrate) in migrations { migrator.registerMigration(identifier, migrate: migrate) }
        }
    }

    /// In the order they run; never edited once shipped.
    private static let migrations: [(String, @Sendable (Database) throws -> Void)] = [
        (
            "scheduler-v1",
            { db in
                try db.execute(
                    sql: """
                        -- Staff, counterparties, contact persons and deals as their owners publish them:
                        -- who is reminded, in which time zone, and what activities may name.
                        CREATE TABLE staff (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, supervisor_id TEXT, time_zone TEXT,
                            active INTEGER NOT NULL DEFAULT 1
                        ) WITHOUT ROWID;
                        CREATE INDEX staff_supervisor ON staff(supervisor_id) WHERE supervisor_id IS NOT NULL;
                        CREATE TABLE counterparty (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, responsible_manager_id TEXT, merged_into TEXT
                        ) WITHOUT ROWID;
                        CREATE INDEX counterparty_manager ON counterparty(responsible_manager_id)
                            WHERE responsible_manager_id IS NOT NULL;
                        -- birthday_md is the birthday's MM-DD; seq orders changes, so the dispatcher can look
                        -- at the persons changed since it last looked.
                        CREATE TABLE contact_person (
                            id TEXT PRIMARY KEY, counterparty_id TEXT NOT NULL, name TEXT NOT NULL, birthday TEXT,
                            birthday_md TEXT, removed INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX contact_person_birthday ON contact_person(birthday_md) WHERE birthday_md IS NOT NULL;
                        CREATE INDEX contact_person_seq ON contact_person(seq);
                        CREATE INDEX contact_person_counterparty ON contact_person(counterparty_id);
                        CREATE TABLE deal (
                            id TEXT PRIMARY KEY, counterparty_id TEXT NOT NULL, title TEXT
                        ) WITHOUT ROWID;

                        -- An activity: the record as last planned, and beside it what plans query. ends_at is
                        -- the effective end (endsAt, or 30 minutes after the start); state is planned, done
                        -- or cancelled (overdue is planned past its end, decided when read).
                        CREATE TABLE activity (
                            id TEXT NOT NULL UNIQUE,
                            owner_id TEXT NOT NULL,
                            kind TEXT NOT NULL,
                            subject TEXT,
                            counterparty_id TEXT,
                            starts_at TEXT NOT NULL,
                            ends_at TEXT NOT NULL,
                            state TEXT NOT NULL DEFAULT 'planned',
                            completed_at TEXT,
                            outcome TEXT,
                            cancel_reason TEXT,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        CREATE INDEX activity_owner_start ON activity(owner_id, starts_at);
                        CREATE INDEX activity_counterparty ON activity(counterparty_id, starts_at) WHERE counterparty_id IS NOT NULL;

                        -- Reminders the topics have scheduled: an activity's upcoming and overdue moments, a
                        -- client's downgrade. Recipients are resolved when one is sent. Birthdays recur, so
                        -- the dispatcher finds them from contact_person instead.
                        CREATE TABLE reminder_schedule (
                            subject_id TEXT NOT NULL,
                            kind TEXT NOT NULL,
                            due_at TEXT NOT NULL,
                            seq INTEGER NOT NULL,
                            detail TEXT,
                            PRIMARY KEY (subject_id, kind, due_at)
                        ) WITHOUT ROWID;
                        CREATE INDEX reminder_schedule_due ON reminder_schedule(due_at);
                        CREATE INDEX reminder_schedule_seq ON reminder_schedule(seq);

                        -- Every reminder on crm.reminders.v1: what was sent (once, whoever sent it). seq is
                        -- the order this store applied them in (webhook deliveries follow it); published_at
                        -- is the event's time.
                        CREATE TABLE reminder_sent (
                            id TEXT PRIMARY KEY,
                            kind TEXT NOT NULL,
                            recipient_id TEXT NOT NULL,
                            due_at TEXT NOT NULL,
                            sent_at TEXT NOT NULL,
                            late INTEGER NOT NULL,
                            activity_id TEXT,
                            counterparty_id TEXT,
                            record TEXT NOT NULL,
                            published_at TEXT NOT NULL,
                            seq INTEGER NOT NULL,
                            event_id TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX reminder_sent_recipient ON reminder_sent(recipient_id, due_at);
                        CREATE INDEX reminder_sent_seq ON reminder_sent(seq);

                        CREATE TABLE webhook (
                            id TEXT PRIMARY KEY,
                            url TEXT NOT NULL,
                            kinds TEXT,
                            recipient_ids TEXT,
                            secret TEXT NOT NULL,
                            state TEXT NOT NULL,
                            state_reason TEXT,
                            registered_at TEXT NOT NULL, registered_by TEXT,
                            changed_at TEXT NOT NULL
                        ) WITHOUT ROWID;
                        -- One reminder's delivery to one webhook: the latest attempt's result. outcome is
                        -- delivered, retrying, failed or gone.
                        CREATE TABLE webhook_delivery (
                            webhook_id TEXT NOT NULL,
                            reminder_id TEXT NOT NULL,
                            attempts INTEGER NOT NULL,
                            first_attempt_at TEXT NOT NULL,
                            last_attempt_at TEXT NOT NULL,
                            status INTEGER,
                            error TEXT,
                            outcome TEXT NOT NULL,
                            next_attempt_at TEXT,
                            PRIMARY KEY (webhook_id, reminder_id)
                        ) WITHOUT ROWID;
                        CREATE INDEX webhook_delivery_retry ON webhook_delivery(webhook_id, next_attempt_at) WHERE outcome = 'retrying';
                        CREATE INDEX webhook_delivery_reminder ON webhook_delivery(reminder_id);
                        CREATE TABLE webhook_attempt (
                            webhook_id TEXT NOT NULL,
                            reminder_id TEXT NOT NULL,
                            attempt INTEGER NOT NULL,
                            attempted_at TEXT NOT NULL,
                            status INTEGER,
                            error TEXT,
                            duration_ms INTEGER,
                            outcome TEXT NOT NULL,
                            next_attempt_at TEXT,
                            PRIMARY KEY (webhook_id, reminder_id, attempt)
                        ) WITHOUT ROWID;
                        """)
            }
        ),
        (
            "scheduler-v2-plan-index",
            { db in
                // A plan reads every activity of its owner in the period, a team plan tens of
                // thousands: an index holding what a plan shows answers without visiting each
                // activity's row (with its JSON record) in the table. It serves what
                // `activity_owner_start`, its prefix, served.
                try db.execute(
                    sql: """
                        CREATE INDEX activity_plan ON activity(owner_id, starts_at, id, kind, subject, counterparty_id, ends_at, state,
                            completed_at);
                        DROP INDEX activity_owner_start;
                        """)
            }
        ),
    ]
}
