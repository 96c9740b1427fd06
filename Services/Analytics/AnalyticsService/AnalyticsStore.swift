import EventStore
import GRDB
import Logging
import ServiceKit

/// The analytics service's tables on top of the platform store. Amounts are exact decimal text,
/// summed in Swift (`Decimal`), never by SQLite (which would sum them as binary floats).
enum AnalyticsStore {
    /// Bump when the projection's tables or the way events fill them change: the store rebuilds itself.
    /// 2: each registered client's completeness is kept in `client.completeness`.
    /// 3: a client's order manager is that of its latest order event by the ERP's time, not by the
    ///    order events were applied in.
    /// 4: each order keeps the manager note of its latest event naming one (a bulk load works out
    ///    the clients' order managers from them at its end).
    static let projectionVersion = 4

    static func open(path: String, logger: Logger) throws -> ServiceStore {
        try ServiceStore(
            path: path, projectionVersion: projectionVersion, logger: logger,
            prepareConnection: { db in try db.execute(sql: AnalyticsProjection.completenessDirtyTable) },
            migrations: { migrator in
                for (identifier, migrate) in migrations { migrator.registerMigration(identifier, migrate: migrate) }
            })
    }

    /// In the order they run; never edited once shipped.
    private static let migrations: [(String, @Sendable (Database) throws -> Void)] = [
        (
            "analytics-v1",
            { db in
                try db.execute(
                    sql: """
                        -- Everyone who is or may become a client: counterparties registered as customers or
                        -- prospects (or with no role), and whoever an order, inquiry or deal names.
                        CREATE TABLE client (
                            id TEXT PRIMARY KEY,
                            registered INTEGER NOT NULL DEFAULT 0,   -- a counterparty record names it
                            is_client_role INTEGER NOT NULL DEFAULT 0, -- its roles make it a client
                            mentioned INTEGER NOT NULL DEFAULT 0,    -- an order, inquiry or deal names it
                            name TEXT,
                            responsible_manager_id TEXT,
                            order_manager_id TEXT,                   -- the manager of its latest order event
                            source TEXT,
                            archived INTEGER NOT NULL DEFAULT 0,
                            merged_into TEXT,
                            record TEXT                              -- the counterparty record (completeness)
                        ) WITHOUT ROWID;
                        CREATE INDEX client_manager ON client(responsible_manager_id) WHERE responsible_manager_id IS NOT NULL;

                        CREATE TABLE contact_person (
                            id TEXT PRIMARY KEY, counterparty_id TEXT NOT NULL, record TEXT NOT NULL) WITHOUT ROWID;
                        CREATE INDEX contact_person_owner ON contact_person(counterparty_id);

                        CREATE TABLE staff (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, supervisor_id TEXT, active INTEGER NOT NULL DEFAULT 1
                        ) WITHOUT ROWID;

                        CREATE TABLE interaction (
                            id TEXT PRIMARY KEY, counterparty_id TEXT NOT NULL, staff_id TEXT, occurred_on INTEGER NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX interaction_staff ON interaction(staff_id, occurred_on) WHERE staff_id IS NOT NULL;

                        -- ERP orders: state is placed, completed (a sale), cancelled (failed before completion)
                        -- or reversed (cancelled after completion). Days are days since 1970-01-01, UTC.
                        CREATE TABLE erp_order (
                            id TEXT PRIMARY KEY,
                            customer_id TEXT NOT NULL,
                            manager_id TEXT,
                            deal_id TEXT,
                            currency TEXT,
                            state TEXT NOT NULL,
                            placed_on INTEGER,
                            completed_on INTEGER,
                            cancelled_on INTEGER,
                            reason TEXT,
                            revenue TEXT NOT NULL,
                            cost TEXT NOT NULL,
                            last_event_id TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX erp_order_sales ON erp_order(customer_id, completed_on) WHERE state = 'completed';
                        -- Covers the scorecard's retention: who sold to whom in a period.
                        CREATE INDEX erp_order_completed_on ON erp_order(completed_on, manager_id, customer_id) WHERE state = 'completed';
                        CREATE INDEX erp_order_cancelled_on ON erp_order(cancelled_on) WHERE state = 'cancelled';

                        -- Sales per ERP customer and calendar month (year * 12 + month - 1): what month and
                        -- quarter classification runs read. Kept exact as each order completes or is reversed.
                        CREATE TABLE client_month (
                            client_id TEXT NOT NULL, month INTEGER NOT NULL,
                            revenue TEXT NOT NULL, gross_profit TEXT NOT NULL, sales INTEGER NOT NULL,
                            PRIMARY KEY (client_id, month)) WITHOUT ROWID;

                        -- Sales per manager (the order's) and day: what the scorecard sums.
                        CREATE TABLE manager_day (
                            manager_id TEXT NOT NULL, day INTEGER NOT NULL,
                            revenue TEXT NOT NULL, gross_profit TEXT NOT NULL, orders INTEGER NOT NULL,
                            PRIMARY KEY (manager_id, day)) WITHOUT ROWID;

                        CREATE TABLE inquiry (
                            id TEXT PRIMARY KEY, received_on INTEGER NOT NULL, received_at TEXT NOT NULL, channel TEXT NOT NULL,
                            campaign_id TEXT, source TEXT, counterparty_id TEXT, manager_id TEXT
                        ) WITHOUT ROWID;
                        CREATE INDEX inquiry_received ON inquiry(received_on);

                        CREATE TABLE campaign (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, channel TEXT, starts_on TEXT, ends_on TEXT, budget TEXT
                        ) WITHOUT ROWID;
                        CREATE TABLE campaign_cost (
                            event_id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, amount TEXT NOT NULL, incurred_on TEXT
                        ) WITHOUT ROWID;
                        CREATE INDEX campaign_cost_campaign ON campaign_cost(campaign_id);

                        CREATE TABLE deal (
                            id TEXT PRIMARY KEY, counterparty_id TEXT, owner_id TEXT, campaign_id TEXT, inquiry_id TEXT,
                            stage TEXT, outcome TEXT
                        ) WITHOUT ROWID;

                        -- What crm.segments.v1 holds for each client: a run publishes only what differs.
                        CREATE TABLE segment (
                            client_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, as_of TEXT NOT NULL,
                            abc_class TEXT, xyz_class TEXT, status TEXT NOT NULL
                        ) WITHOUT ROWID;

                        -- Classification runs and their results, from crm.classification-runs.v1.
                        CREATE TABLE classification_run (
                            id TEXT PRIMARY KEY, as_of TEXT NOT NULL, published INTEGER NOT NULL, record TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE TABLE classification_result (
                            run_id TEXT NOT NULL, client_id TEXT NOT NULL, manager_id TEXT,
                            abc_class TEXT, xyz_class TEXT, status TEXT NOT NULL, changed INTEGER NOT NULL,
                            record TEXT NOT NULL,
                            PRIMARY KEY (run_id, client_id)) WITHOUT ROWID;
                        CREATE INDEX classification_result_client ON classification_result(client_id, run_id);
                        """)
            }
        ),
        (
            "analytics-v2",
            { db in
                try db.execute(
                    sql: """
                        -- Completeness per registered client, kept as its record, its contact persons or its
                        -- merges change (AnalyticsProjection+Completeness): a scorecard decodes nothing.
                        ALTER TABLE client ADD COLUMN completeness INTEGER;
                        CREATE INDEX client_merged_into ON client(merged_into) WHERE merged_into IS NOT NULL;

                        -- The scorecard reads each of these indexes alone, never the rows behind them (a row
                        -- lookup per sale or per client was most of its time): who sold to whom by day (with
                        -- `state` in it, SQLite looks up no order: 30 ms, not 0.3 s, for 230,000 sales), who
                        -- contacted whom by day, each manager's counterparties with their completeness, and
                        -- the counterparties that are not buyers (every one an interaction names has a row).
                        DROP INDEX erp_order_completed_on;
                        CREATE INDEX erp_order_sale_day ON erp_order(completed_on, manager_id, customer_id, state)
                            WHERE state = 'completed';
                        DROP INDEX interaction_staff;
                        CREATE INDEX interaction_day ON interaction(occurred_on, staff_id, counterparty_id);
                        DROP INDEX client_manager;
                        CREATE INDEX client_scorecard ON client(responsible_manager_id, registered, archived, merged_into, completeness);
                        CREATE INDEX client_not_buyer ON client(id) WHERE is_client_role = 0 AND mentioned = 0;
                        """)
            }
        ),
        (
            "analytics-v3",
            { db in
                try db.execute(
                    sql: """
                        -- When the order event that named the client's order manager happened (ms since
                        -- 1970, UTC), and its order: a later event by these replaces the manager, so that
                        -- a replay interleaving the ERP's partitions differently keeps the same one.
                        ALTER TABLE client ADD COLUMN order_manager_at INTEGER;
                        ALTER TABLE client ADD COLUMN order_manager_order TEXT;
                        """)
            }
        ),
        (
            "analytics-v4",
            { db in
                try db.execute(
                    sql: """
                        -- The order's latest event by the ERP's time that named a manager: that manager,
                        -- and when (ms since 1970, UTC). Its customer's order manager is the latest of these.
                        ALTER TABLE erp_order ADD COLUMN noted_manager_id TEXT;
                        ALTER TABLE erp_order ADD COLUMN noted_manager_at INTEGER;
                        """)
            }
        ),
    ]
}
