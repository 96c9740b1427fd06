import Foundation
import GRDB
import WireSchema

/// `GET /counterparties?q=`: one box over names, tax id, e-mails, phones and contact persons, on
/// SQLite FTS5 (`counterparty_search`), ranked by BM25 with names weighted highest.
enum CounterpartySearch {
    struct Query: Sendable {
        /// FTS5 MATCH expressions, narrowest first: the first one that matches anything is ranked.
        let expressions: [String]

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
                var alternatives = ["\"\(digits)\"*"]
                if let normalized = normalization.phone(text), normalized != digits { alternatives.append("\"\(normalized)\"") }
                expressions = [alternatives.joined(separator: " OR ")]
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
            let prefixes = words.map { term($0, prefix: true) }.joined(separator: " AND ")
            let wholeWords = words.enumerated().map { term($1, prefix: $0 == words.count - 1) }.joined(separator: " AND ")
            expressions = wholeWords == prefixes ? [prefixes] : [wholeWords, prefixes]
        }
    }

    static func run(
        _ db: Database, query: Query, filter: StoredCounterparty.ListFilter, offset: Int, limit: Int
    ) throws -> (items: [StoredCounterparty], more: Bool) {
        var conditions = ["counterparty_search MATCH ?", "c.merged_into IS NULL"]
        var filterArguments: StatementArguments = []
        if let archived = filter.archived { conditions.append("c.archived = ?"); filterArguments += [archived] }
        if let manager = filter.responsibleManagerId { conditions.append("c.responsible_manager_id = ?"); filterArguments += [manager] }
        if let role = filter.role {
            conditions.append("EXISTS (SELECT 1 FROM json_each(c.record, '$.roles') WHERE value = ?)")
            filterArguments += [role.rawValue]
        }
        let matching = """
            FROM counterparty_search JOIN counterparty c ON c.rowid = counterparty_search.rowid
            WHERE \(conditions.joined(separator: " AND "))
            """
        // The same choice on every page: whether anything matches, not what this page holds.
        var expression = query.expressions[query.expressions.count - 1]
        for narrower in query.expressions.dropLast() {
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 \(matching))", arguments: [narrower] + filterArguments) == true {
                expression = narrower
                break
            }
        }
        let columns = StoredCounterparty.columns.split(separator: ",").map { "c.\($0.trimmingWhitespace())" }
            .joined(separator: ", ")
        let rows = try Row.fetchAll(db, sql: """
            SELECT \(columns) \(matching)
            ORDER BY bm25(counterparty_search, 10.0, 5.0, 2.0), c.id LIMIT ? OFFSET ?
            """, arguments: [expression] + filterArguments + [limit + 1, offset])
        return (try rows.prefix(limit).map(StoredCounterparty.init(row:)), rows.count > limit)
    }
}
