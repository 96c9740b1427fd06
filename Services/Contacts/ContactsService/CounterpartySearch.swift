import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

/// `GET /counterparties?q=`: one box over names, tax id, e-mails, phones and contact persons, on
/// SQLite FTS5 (`counterparty_search`), ranked by BM25 with names weighted highest.
enum CounterpartySearch {
    struct Query: Sendable {
        /// Alternative sets of FTS5 terms, narrowest first; every term of a set must match. The
        /// first set that matches anything is the one ranked.
        let alternatives: [[String]]

        /// Every word must match. Words before the last are tried as whole words first and as
        /// prefixes only if that finds nothing: FTS5 expands a prefix into the merged list of every
        /// row holding a token that starts with it, so a prefix of a word most names contain
        /// (`company`*, `ооо`*) costs tens of milliseconds on a million rows, while a whole word is
        /// read lazily, only where the other words match. The last word is always a prefix (typing
        /// goes on there). A word with `@` or `.` (an e-mail, a site) is matched as written, since a
        /// prefix on its last part (`com`*) would expand to half the index. Text that looks like a
        /// phone number matches the phone's digits only, however it was written.
        init?(_ text: String, normalization: ContactNormalization) {
            let phoneLike = text.allSatisfy { $0.isNumber || " +-().".contains($0) }
            let digits = text.filter(\.isNumber)
            if phoneLike && digits.count >= 5 {
                // Not the separate words: a lone "8"* would match every token that starts with 8.
                var forms = ["\"\(digits)\"*"]
                if let normalized = normalization.phone(text), normalized != digits { forms.append("\"\(normalized)\"") }
                alternatives = [["(" + forms.joined(separator: " OR ") + ")"]]
                return
            }
            let words = text.split(whereSeparator: \.isWhitespace).map(String.init).filter { word in
                word.contains(where: { $0.isLetter || $0.isNumber })
            }
            if words.isEmpty { return nil }
            func term(_ word: String, prefix: Bool) -> String {
                let quoted = "\"\(word.replacingOccurrences(of: "\"", with: "\"\""))\""
                return prefix && !word.contains("@") && !word.contains(".") ? quoted + "*" : quoted
            }
            let prefixes = words.map { term($0, prefix: true) }
            let wholeWords = words.enumerated().map { term($1, prefix: $0 == words.count - 1) }
            alternatives = wholeWords == prefixes ? [prefixes] : [wholeWords, prefixes]
        }
    }

    /// A whole word in more rows than this is left out of the ranking (still required to match).
    /// BM25 weighs a word by the number of rows holding it, and FTS5 counts them by reading the
    /// word's whole row list, which is long for a word in most names, while such a word's weight
    /// is near zero anyway.
    static let commonWordRows = 10_000

    static func run(
        _ db: Database, query: Query, filter: StoredCounterparty.ListFilter, offset: Int, limit: Int,
        commonWordRows: Int = commonWordRows
    ) throws -> (items: [StoredCounterparty], more: Bool) {
        var conditions = ["c.merged_into IS NULL"]
        var filterArguments: StatementArguments = []
        if let archived = filter.archived {
            conditions.append("c.archived = ?")
            filterArguments += [archived]
        }
        if let manager = filter.responsibleManagerId {
            conditions.append("c.responsible_manager_id = ?")
            filterArguments += [manager]
        }
        if let role = filter.role {
            conditions.append("EXISTS (SELECT 1 FROM json_each(c.record, '$.roles') WHERE value = ?)")
            filterArguments += [role.rawValue]
        }
        let matching = matchingClause(conditions)
        // The same choice on every page: whether anything matches, not what this page holds.
        var terms = query.alternatives[query.alternatives.count - 1]
        for narrower in query.alternatives.dropLast() {
            let expression = narrower.joined(separator: " AND ")
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 \(matching))", arguments: [expression] + filterArguments) == true {
                terms = narrower
                break
            }
        }
        let expression = terms.joined(separator: " AND ")
        let ranked = try rankedTerms(db, terms, commonWordRows: commonWordRows)
        let columns = StoredCounterparty.columns.split(separator: ",").map { "c.\($0.trimmingWhitespace())" }
            .joined(separator: ", ")
        let rows: [Row]
        if ranked == terms {
            rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(columns) \(matching)
                    ORDER BY bm25(counterparty_search, 10.0, 5.0, 2.0), c.id LIMIT ? OFFSET ?
                    """, arguments: [expression] + filterArguments + [limit + 1, offset])
        } else {
            rows = try Row.fetchAll(
                db, sql: rankedOnRarerWordsSQL(columns: columns, matching: matching),
                arguments: [ranked.joined(separator: " AND ")] + filterArguments + [expression, limit + 1, offset])
        }
        return (try rows.prefix(limit).map(StoredCounterparty.init(row:)), rows.count > limit)
    }

    /// Rows whose search row matches the first argument and that meet the conditions.
    static func matchingClause(_ conditions: [String]) -> String {
        """
        FROM counterparty_search JOIN counterparty c ON c.rowid = counterparty_search.rowid
        WHERE counterparty_search MATCH ? AND \(conditions.joined(separator: " AND "))
        """
    }

    /// Ranked on the rarer words; every word still has to match (the list of rows matching all of
    /// them, built once). The `+` keeps that list from driving the FTS5 scan: as a rowid constraint,
    /// FTS5 ran the match once per listed row, expanding a prefix anew each time (seconds instead
    /// of milliseconds for `company no 15`).
    static func rankedOnRarerWordsSQL(columns: String, matching: String) -> String {
        """
        SELECT \(columns) \(matching)
            AND +counterparty_search.rowid IN (SELECT rowid FROM counterparty_search WHERE counterparty_search MATCH ?)
        ORDER BY bm25(counterparty_search, 10.0, 5.0, 2.0), c.id LIMIT ? OFFSET ?
        """
    }

    /// The terms BM25 ranks on: all but the whole words held by more than `commonWordRows` rows
    /// (all of them when every one is that common). Prefix terms are not counted: counting one
    /// costs what ranking it does.
    static func rankedTerms(_ db: Database, _ terms: [String], commonWordRows: Int) throws -> [String] {
        if terms.count < 2 { return terms }
        let rare = try terms.filter { term in
            if term.hasSuffix("*") { return true }
            let rows =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM (SELECT 1 FROM counterparty_search WHERE counterparty_search MATCH ? LIMIT ?)
                        """, arguments: [term, commonWordRows + 1]) ?? 0
            return rows <= commonWordRows
        }
        return rare.isEmpty ? terms : rare
    }
}
