import EventStore
import GRDB
import Logging
import ServiceKit

/// The suppliers service's tables on top of the platform store. Dates are `YYYY-MM-DD` text and
/// times `Timestamp.format` text, so both compare and sort as text.
enum SuppliersStore {
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
            "suppliers-v1",
            { db in
                try db.execute(
                    sql: """
                        -- Counterparties as the contacts service publishes them: a supplier is one with the
                        -- supplier role (the others are kept to tell an unknown id, 404, from a non-supplier, 422).
                        CREATE TABLE counterparty (
                            id TEXT PRIMARY KEY, name TEXT NOT NULL, legal_name TEXT NOT NULL, is_supplier INTEGER NOT NULL,
                            archived INTEGER NOT NULL DEFAULT 0, merged_into TEXT
                        ) WITHOUT ROWID;
                        CREATE INDEX counterparty_suppliers ON counterparty(is_supplier, id);

                        -- A supplier's terms as last set (SupplierTermsSet), with their bookkeeping; what offers show beside them.
                        CREATE TABLE supplier_terms (
                            supplier_id TEXT PRIMARY KEY, record TEXT NOT NULL, promised_lead_time_days INTEGER, minimum_order TEXT,
                            currency TEXT,
                            version INTEGER NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT, last_event_id TEXT NOT NULL
                        ) WITHOUT ROWID;

                        -- The standing last published (SupplierStandingChanged): what "blocked" means everywhere.
                        CREATE TABLE supplier_standing (
                            supplier_id TEXT PRIMARY KEY, standing TEXT, blocked INTEGER NOT NULL, score TEXT,
                            as_of TEXT NOT NULL, record TEXT NOT NULL, changed_at TEXT NOT NULL, event_id TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX supplier_standing_by_standing ON supplier_standing(standing);
                        -- Every standing change, for a supplier's history.
                        CREATE TABLE supplier_standing_history (
                            supplier_id TEXT NOT NULL, changed_at TEXT NOT NULL, event_id TEXT NOT NULL, record TEXT NOT NULL,
                            PRIMARY KEY (supplier_id, changed_at, event_id)
                        ) WITHOUT ROWID;

                        -- One upload of a price list. Its parts may arrive in any order (they are spread over
                        -- the partitions); once all are in it is complete, and the complete publication of a
                        -- price list published last (published_at, then id) is its current one.
                        CREATE TABLE price_publication (
                            id TEXT PRIMARY KEY, supplier_id TEXT NOT NULL, price_list_id TEXT NOT NULL, currency TEXT NOT NULL,
                            valid_from TEXT, valid_to TEXT, published_at TEXT NOT NULL, published_by TEXT,
                            parts INTEGER NOT NULL, parts_received INTEGER NOT NULL, line_count INTEGER NOT NULL,
                            complete INTEGER NOT NULL, current INTEGER NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX price_publication_list ON price_publication(supplier_id, price_list_id, published_at);
                        CREATE TABLE price_part (publication_id TEXT NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (publication_id, part))
                            WITHOUT ROWID;
                        -- Each line of each publication (superseded ones stay: the price history).
                        CREATE TABLE price_line (
                            publication_id TEXT NOT NULL, line INTEGER NOT NULL, supplier_id TEXT NOT NULL, sku TEXT NOT NULL,
                            packaging_unit TEXT, price TEXT NOT NULL, min_quantity TEXT, returnable INTEGER NOT NULL,
                            PRIMARY KEY (publication_id, line)
                        ) WITHOUT ROWID;
                        CREATE INDEX price_line_sku ON price_line(sku, supplier_id);

                        -- Purchase orders as the ERP reports them, and what their receipts made of them:
                        -- delivery_date per domain.md (the receipt that completed it, or the last one), in_full
                        -- when every line's accepted quantity reached the ordered one. placed is 0 while only
                        -- receipts are known. state: open, delivered (in full) or cancelled.
                        CREATE TABLE purchase_order (
                            id TEXT PRIMARY KEY, supplier_id TEXT NOT NULL, placed INTEGER NOT NULL, state TEXT NOT NULL,
                            order_date TEXT, promised_date TEXT, placed_at TEXT, cancelled_at TEXT, cancel_reason TEXT,
                            receipts INTEGER NOT NULL, last_receipt_date TEXT, delivery_date TEXT,
                            in_full INTEGER NOT NULL, last_event_id TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX purchase_order_supplier_due ON purchase_order(supplier_id, promised_date);
                        CREATE INDEX purchase_order_due ON purchase_order(promised_date) WHERE placed = 1 AND state <> 'cancelled';
                        CREATE TABLE purchase_line (
                            order_id TEXT NOT NULL, sku TEXT NOT NULL, ordered TEXT NOT NULL, price TEXT,
                            accepted TEXT NOT NULL, received TEXT NOT NULL, rejected TEXT NOT NULL,
                            delivery_date TEXT, in_full INTEGER NOT NULL,
                            PRIMARY KEY (order_id, sku)
                        ) WITHOUT ROWID;
                        -- Every receipt (a redelivered event id is kept out), also one before its order is known;
                        -- lines as ReceiptLines writes them.
                        CREATE TABLE goods_receipt (
                            event_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, supplier_id TEXT NOT NULL, received_at TEXT NOT NULL,
                            lines TEXT NOT NULL
                        ) WITHOUT ROWID;
                        CREATE INDEX goods_receipt_order ON goods_receipt(order_id, received_at, event_id);

                        -- Each supplier's orders due per month of their promised date: the sums the default
                        -- window (12 complete months) adds up, kept as each order changes.
                        CREATE TABLE supplier_month (
                            supplier_id TEXT NOT NULL, month TEXT NOT NULL, orders_due INTEGER NOT NULL, on_time INTEGER NOT NULL,
                            in_full INTEGER NOT NULL, otif INTEGER NOT NULL, delivered INTEGER NOT NULL, lead_sum INTEGER NOT NULL,
                            lead_square_sum INTEGER NOT NULL, lateness_sum INTEGER NOT NULL,
                            PRIMARY KEY (supplier_id, month)
                        ) WITHOUT ROWID;

                        -- Suppliers whose orders changed, with a rising sequence: the standing work looks
                        -- at those past the last it saw. Not dumped: its order follows the order of applying.
                        CREATE TABLE supplier_touched (supplier_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
                        CREATE INDEX supplier_touched_seq ON supplier_touched(seq);
                        """)
            }
        ),
        (
            "suppliers-v2-offer-index",
            { db in
                // Offers read every supplier's lines of one item: an index that holds what they need
                // answers from a few adjacent pages, where `price_line_sku` sent each of a thousand
                // lines to the table (a thousand random pages of a store of millions of lines).
                try db.execute(
                    sql: """
                        CREATE INDEX price_line_offer ON price_line(sku, supplier_id, price, min_quantity, packaging_unit);
                        DROP INDEX price_line_sku;
                        """)
            }
        ),
    ]
}
