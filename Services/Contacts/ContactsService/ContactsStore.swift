import EventStore
import Foundation
import GRDB
import Logging
import ServiceKit
import WireFormat
import WireSchema

/// The contacts service's tables on top of the platform store.
public enum ContactsStore {
    /// Bump when the projection's tables or the way events fill them change: the store rebuilds itself.
    public static let projectionVersion = 2

    public static func open(path: String, logger: Logger) throws -> ServiceStore {
        try open(path: path, logger: logger, migratingThrough: nil)
    }

    /// `migratingThrough` stops after the named migration: tests start from what an older release left.
    static func open(path: String, logger: Logger, migratingThrough last: String?) throws -> ServiceStore {
        try ServiceStore(
            path: path, projectionVersion: projectionVersion, logger: logger,
            prepareConnection: { db in try db.execute(sql: ContactsProjection.dirtyTable) },
            migrations: { migrator in
                for (identifier, migrate) in migrations {
                    migrator.registerMigration(identifier, migrate: migrate)
                    if identifier == last { return }
                }
            })
    }

    /// In the order they run; never edited once shipped.
    private static let migrations: [(String, @Sendable (Database) throws -> Void)] = [
        (
            "contacts-v1",
            { db in
                try db.execute(
                    sql: """
                        -- A rowid table: rows carry ~0.5 KiB of JSON, too large for WITHOUT ROWID to pay off.
                        CREATE TABLE counterparty (
                            id TEXT NOT NULL UNIQUE,
                            tax_id TEXT,
                            responsible_manager_id TEXT,
                            archived INTEGER NOT NULL DEFAULT 0,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL,
                            created_by TEXT,
                            updated_at TEXT NOT NULL,
                            updated_by TEXT,
                            registration_event_id TEXT NOT NULL
                        );
                        CREATE INDEX counterparty_manager ON counterparty(responsible_manager_id, id);
                        CREATE INDEX counterparty_tax_id ON counterparty(tax_id) WHERE tax_id IS NOT NULL;
                        """)
            }
        ),
        (
            "contacts-v2",
            { db in
                try db.execute(
                    sql: """
                        -- A merged counterparty resolves to its survivor; derived values kept with the row.
                        ALTER TABLE counterparty ADD COLUMN merged_into TEXT;
                        ALTER TABLE counterparty ADD COLUMN completeness INTEGER NOT NULL DEFAULT 0;
                        ALTER TABLE counterparty ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
                        CREATE INDEX counterparty_merged_into ON counterparty(merged_into) WHERE merged_into IS NOT NULL;
                        CREATE INDEX counterparty_name_key ON counterparty(name_key);

                        -- Normalised tax ids, e-mails and phones: duplicate checks and the duplicates report.
                        CREATE TABLE counterparty_identity (
                            kind TEXT NOT NULL, value TEXT NOT NULL, counterparty_id TEXT NOT NULL,
                            PRIMARY KEY (kind, value, counterparty_id)) WITHOUT ROWID;
                        CREATE INDEX counterparty_identity_owner ON counterparty_identity(counterparty_id);

                        CREATE TABLE contact_person (
                            id TEXT NOT NULL UNIQUE,
                            counterparty_id TEXT NOT NULL,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        CREATE INDEX contact_person_owner ON contact_person(counterparty_id);

                        CREATE TABLE staff (
                            id TEXT NOT NULL UNIQUE,
                            supervisor_id TEXT,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        CREATE INDEX staff_supervisor ON staff(supervisor_id) WHERE supervisor_id IS NOT NULL;

                        CREATE TABLE interaction (
                            id TEXT NOT NULL UNIQUE,
                            counterparty_id TEXT NOT NULL,
                            kind TEXT NOT NULL,
                            occurred_at TEXT NOT NULL,
                            staff_id TEXT,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        CREATE INDEX interaction_timeline ON interaction(counterparty_id, occurred_at, id);
                        CREATE INDEX interaction_staff ON interaction(staff_id, occurred_at) WHERE staff_id IS NOT NULL;

                        -- One row per counterparty that is not merged (rowid = its rowid): names, identifiers
                        -- (tax id, e-mails, phone digits) and contact persons, those of merged ones included.
                        CREATE VIRTUAL TABLE counterparty_search USING fts5(
                            names, identifiers, persons, tokenize = 'unicode61 remove_diacritics 2');
                        -- Counterparties whose derived values a bulk load still has to rewrite.
                        CREATE TABLE contacts_stale (id TEXT PRIMARY KEY) WITHOUT ROWID;
                        """)
            }
        ),
        (
            "contacts-v3",
            { db in
                // FTS5 merged its segments inside whichever commit completed a level (every 64th
                // single-row commit stalled); the projection merges in small steps after each batch
                // instead (`ContactsProjection.finishBatch`).
                try db.execute(sql: "INSERT INTO counterparty_search(counterparty_search, rank) VALUES ('automerge', 0)")
            }
        ),
        (
            "contacts-v4",
            { db in
                // Identities keyed by their counterparty first: a replay inserts them in about the
                // order counterparties were registered (time-ordered ids) instead of in the random
                // order of their values, and a bulk load builds the lookup by value once, sorted
                // (`ContactsProjection.bulkLoadDeferredIndexes`). The index by owner becomes the key.
                try db.execute(
                    sql: """
                        CREATE TABLE counterparty_identity_v4 (
                            counterparty_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
                            PRIMARY KEY (counterparty_id, kind, value)) WITHOUT ROWID;
                        INSERT INTO counterparty_identity_v4(counterparty_id, kind, value)
                            SELECT counterparty_id, kind, value FROM counterparty_identity;
                        DROP TABLE counterparty_identity;
                        ALTER TABLE counterparty_identity_v4 RENAME TO counterparty_identity;
                        CREATE INDEX counterparty_identity_value ON counterparty_identity(kind, value);
                        """)
            }
        ),
    ]
}
