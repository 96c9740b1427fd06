import Foundation
import GRDB
import WireSchema

/// `GET /counterparties?q=`: one box over names, tax id, e-mails, phones and contact persons, on
/// SQLite FTS5 (`counterparty_search`), ranked by BM25 with names weighted highest.
enum CounterpartySearch {
    struct Query: Sendable {
        /// The FTS5 MATCH expression.
        let expression: String

        /// Every word becomes a quoted prefix term (all must match); a word with `@` or `.` (an
        /// e-mail, a site) is matched as written, since a prefix on its last part (`com`*) would
        /// expand to half the index. Text that looks like a phone number matches the phone's digits
        /// only, however it was written.
        init?(_ text: String, normalization: ContactNormalization) {
            let phoneLike = text.allSatisfy { $0.isNumber || " +-().".contains($0) }
            let digits = text.filter(\.isNumber)
            if phoneLike && digits.count >= 5 {
                // Not the separate words: a lone "8"* would match every token that starts with 8.
                var alternatives = ["\"\(digits)\"*"]
                if let normalized = normalization.phone(text), normalized != digits { alternatives.append("\"\(normalized)\"") }
                expression = alternatives.joined(separator: " OR ")
                return
            }
            let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
            let terms = words.compactMap { word -> String? in
                guard word.contains(where: { $0.isLetter || $0.isNumber }) else { return nil }
                let quoted = "\"\(word.replacingOccurrences(of: "\"", with: "\"\""))\""
                return word.contains("@") || word.contains(".") ? quoted : quoted + "*"
            }
            if terms.isEmpty { return nil }
            expression = terms.joined(separator: " AND ")
        }
    }

    static func run(
        _ db: Database, query: Query, filter: StoredCounterparty.ListFilter, offset: Int, limit: Int
    ) throws -> (items: [StoredCounterparty], more: Bool) {
        var conditions = ["counterparty_search MATCH ?", "c.merged_into IS NULL"]
        var arguments: StatementArguments = [query.expression]
        if let archived = filter.archived { conditions.append("c.archived = ?"); arguments += [archived] }
        if let manager = filter.responsibleManagerId { conditions.append("c.responsible_manager_id = ?"); arguments += [manager] }
        if let role = filter.role {
            conditions.append("EXISTS (SELECT 1 FROM json_each(c.record, '$.roles') WHERE value = ?)")
            arguments += [role.rawValue]
        }
        arguments += [limit + 1, offset]
        let columns = StoredCounterparty.columns.split(separator: ",").map { "c.\($0.trimmingCharacters(in: .whitespaces))" }
            .joined(separator: ", ")
        let rows = try Row.fetchAll(db, sql: """
            SELECT \(columns) FROM counterparty_search JOIN counterparty c ON c.rowid = counterparty_search.rowid
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY bm25(counterparty_search, 10.0, 5.0, 2.0), c.id LIMIT ? OFFSET ?
            """, arguments: arguments)
        return (try rows.prefix(limit).map(StoredCounterparty.init(row:)), rows.count > limit)
    }
}
