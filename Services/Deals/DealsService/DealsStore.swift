import EventStore
import GRDB
import Logging
import ServiceKit

/// The deals service's tables on top of the platform store. Amounts a report sums are kept as
/// integers of ten-thousandths (`*_minor`) beside their decimal text, so SQLite sums them exactly.
enum DealsStore {
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
            "deals-v1",
            { db in
                try db.execute(
                    sql: """
                        -- Counterparties and staff as the contacts service publishes them: what deals and
                        -- inquiries may name.
                        CREATE TABLE counterparty (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0, merged_into TEXT
                        ) WITHOUT ROWID;
                        CREATE TABLE staff (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, supervisor_id TEXT, active INTEGER NOT NULL DEFAULT 1
                        ) WITHOUT ROWID;

                        CREATE TABLE campaign (
                            id TEXT NOT NULL UNIQUE,
                            channel TEXT,
                            starts_on TEXT,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        -- Each cost event adds one row (its event id keeps a redelivery out).
                        CREATE TABLE campaign_cost (
                            event_id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, amount TEXT NOT NULL, currency TEXT,
                            incurred_on TEXT, note TEXT, recorded_at TEXT NOT NULL, recorded_by TEXT
                        ) WITHOUT ROWID;
                        CREATE INDEX campaign_cost_campaign ON campaign_cost(campaign_id, incurred_on);

                        CREATE TABLE inquiry (
                            id TEXT NOT NULL UNIQUE,
                            received_at TEXT NOT NULL,
                            channel TEXT NOT NULL,
                            campaign_id TEXT,
                            manager_id TEXT,
                            counterparty_id TEXT,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        CREATE INDEX inquiry_received ON inquiry(received_at);
                        CREATE INDEX inquiry_campaign ON inquiry(campaign_id) WHERE campaign_id IS NOT NULL;

                        -- A deal: its record as last published (stage included) and, beside it, what the
                        -- reports group and sum by. open is 0 once won or lost; amount_minor is the
                        -- expected amount and closed_amount_minor the amount it closed with, in
                        -- ten-thousandths. created_at is when it was opened, updated_at its last change.
                        CREATE TABLE deal (
                            id TEXT NOT NULL UNIQUE,
                            counterparty_id TEXT NOT NULL,
                            owner_id TEXT,
                            stage TEXT NOT NULL,
                            open INTEGER NOT NULL,
                            campaign_id TEXT,
                            inquiry_id TEXT,
                            currency TEXT,
                            amount_minor INTEGER NOT NULL,
                            probability INTEGER NOT NULL,
                            expected_close_date TEXT,
                            closed_at TEXT,
                            outcome TEXT,
                            close_reason TEXT,
                            closed_amount TEXT,
                            closed_amount_minor INTEGER,
                            cycle_seconds INTEGER,                   -- from opening to closing
                            won_order_id TEXT,
                            record TEXT NOT NULL,
                            version INTEGER NOT NULL,
                            created_at TEXT NOT NULL, created_by TEXT, updated_at TEXT NOT NULL, updated_by TEXT,
                            last_event_id TEXT NOT NULL);
                        -- The analysis counts stale and overdue open deals over these (owner in the index
                        -- for a team's figures); its sums come from the totals below.
                        CREATE INDEX deal_open_updated ON deal(updated_at, owner_id) WHERE open = 1;
                        CREATE INDEX deal_open_close_date ON deal(expected_close_date, owner_id) WHERE open = 1;
                        -- The same by owner first, for a team's lists (a few owners' deals, not every open one).
                        CREATE INDEX deal_open_owner_updated ON deal(owner_id, updated_at) WHERE open = 1;
                        CREATE INDEX deal_open_owner_close_date ON deal(owner_id, expected_close_date) WHERE open = 1;
                        CREATE INDEX deal_closed_at ON deal(closed_at) WHERE open = 0;
                        CREATE INDEX deal_by_stage ON deal(stage);
                        CREATE INDEX deal_by_owner ON deal(owner_id);
                        CREATE INDEX deal_counterparty ON deal(counterparty_id);
                        CREATE INDEX deal_campaign ON deal(campaign_id) WHERE campaign_id IS NOT NULL;

                        -- What the analysis sums, kept as each deal event changes a deal: open deals per
                        -- stage, owner, currency and expected close month; closed deals per outcome, owner,
                        -- currency and reason ('' for none). Sums of ten-thousandths in two parts (below and
                        -- above 10^8, see CurrencySums) so they cannot overflow.
                        CREATE TABLE deal_open_totals (
                            stage TEXT NOT NULL, owner_id TEXT NOT NULL, currency TEXT NOT NULL, month TEXT NOT NULL,
                            deals INTEGER NOT NULL, amount_high INTEGER NOT NULL, amount_low INTEGER NOT NULL,
                            weighted_high INTEGER NOT NULL, weighted_low INTEGER NOT NULL,
                            PRIMARY KEY (stage, owner_id, currency, month)
                        ) WITHOUT ROWID;
                        -- Open deals per day of their expected close and of their last change, per owner:
                        -- what the stale and overdue counts add up.
                        CREATE TABLE deal_open_days (
                            kind TEXT NOT NULL, day TEXT NOT NULL, owner_id TEXT NOT NULL, deals INTEGER NOT NULL,
                            PRIMARY KEY (kind, day, owner_id)
                        ) WITHOUT ROWID;
                        CREATE TABLE deal_closed_totals (
                            outcome TEXT NOT NULL, owner_id TEXT NOT NULL, currency TEXT NOT NULL, reason TEXT NOT NULL,
                            deals INTEGER NOT NULL, amount_high INTEGER NOT NULL, amount_low INTEGER NOT NULL,
                            cycle_seconds INTEGER NOT NULL,
                            PRIMARY KEY (outcome, owner_id, currency, reason)
                        ) WITHOUT ROWID;

                        -- Every stage a deal entered, closing and reopening included.
                        CREATE TABLE deal_stage (
                            deal_id TEXT NOT NULL, event_id TEXT NOT NULL, stage TEXT NOT NULL, probability INTEGER,
                            entered_at TEXT NOT NULL, entered_by TEXT,
                            PRIMARY KEY (deal_id, event_id)
                        ) WITHOUT ROWID;

                        -- ERP orders as the ERP reports them (state per ERPOrderState); deal_id links one to a deal.
                        CREATE TABLE erp_order (
                            id TEXT PRIMARY KEY,
                            customer_id TEXT NOT NULL,
                            deal_id TEXT,
                            state TEXT NOT NULL,
                            amount TEXT NOT NULL,
                            currency TEXT,
                            reason TEXT,
                            placed_at TEXT,
                            completed_at TEXT,
                            cancelled_at TEXT,
                            last_event_id TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX erp_order_customer ON erp_order(customer_id, state);
                        CREATE INDEX erp_order_deal ON erp_order(deal_id) WHERE deal_id IS NOT NULL;
                        -- Deals an ERP order completed while they were open: closed as won by the
                        -- service (ce_actor erp), then removed. Not dumped: it drains.
                        CREATE TABLE deal_won_by_order (
                            deal_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount TEXT NOT NULL, currency TEXT
                        ) WITHOUT ROWID;

                        -- The pipeline and the sales-condition rules: one row each, the latest set.
                        CREATE TABLE setting (
                            key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL,
                            updated_at TEXT NOT NULL, updated_by TEXT, last_event_id TEXT NOT NULL
                        ) WITHOUT ROWID;

                        -- Sales conditions: each client's rank (its latest ClientClassified), its override,
                        -- and what was last assigned to it (read back from crm.sales-conditions.v1).
                        CREATE TABLE client_rank (
                            client_id TEXT PRIMARY KEY, abc_class TEXT, xyz_class TEXT, status TEXT, run_id TEXT, as_of TEXT
                        ) WITHOUT ROWID;
                        CREATE TABLE conditions_override (
                            client_id TEXT PRIMARY KEY, conditions TEXT NOT NULL, until TEXT NOT NULL, reason TEXT NOT NULL,
                            set_at TEXT NOT NULL, set_by TEXT
                        ) WITHOUT ROWID;
                        CREATE INDEX conditions_override_until ON conditions_override(until);
                        CREATE TABLE conditions_assigned (
                            client_id TEXT PRIMARY KEY, record TEXT NOT NULL, conditions TEXT NOT NULL, source TEXT NOT NULL,
                            assigned_at TEXT NOT NULL, event_id TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE TABLE conditions_history (
                            client_id TEXT NOT NULL, assigned_at TEXT NOT NULL, event_id TEXT NOT NULL, record TEXT NOT NULL,
                            assigned_by TEXT,
                            PRIMARY KEY (client_id, assigned_at, event_id)
                        ) WITHOUT ROWID;
                        -- Clients whose conditions may have changed (a classification, an override), with a
                        -- rising sequence: the reconciler compares those past the last it saw. Not dumped:
                        -- its order follows the order of applying.
                        CREATE TABLE conditions_touched (client_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
                        CREATE INDEX conditions_touched_seq ON conditions_touched(seq);
                        """)
            }
        )
    ]
}
