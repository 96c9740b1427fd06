import Foundation
import Hummingbird

/// RFC 4180 CSV: fields with the delimiter, quotes or line breaks are quoted (quotes doubled), lines
/// end with CRLF. On export a cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`,
/// so a spreadsheet shows it as text instead of running it as a formula (CSV injection).
public struct CSVFormat: Sendable {
    public var delimiter: Character = ","
    /// UTF-8 byte-order mark first: Excel needs it to read UTF-8.
    public var byteOrderMark = false

    public init(delimiter: Character = ",", byteOrderMark: Bool = false) {
        self.delimiter = delimiter
        self.byteOrderMark = byteOrderMark
    }

    /// The format a download asks for: `?delimiter=comma|semicolon|tab` and `?bom=true|false`
    /// (400 for anything else).
    public init(_ request: Request) throws {
        self.init()
        let query = request.uri.queryParameters
        switch query.get("delimiter") {
        case nil, "comma": delimiter = ","
        case "semicolon": delimiter = ";"
        case "tab": delimiter = "\t"
        case let other?: throw Problem.badRequest("delimiter must be comma, semicolon or tab (got '\(other)')")
        }
        switch query.get("bom") {
        case nil, "false": byteOrderMark = false
        case "true": byteOrderMark = true
        case let other?: throw Problem.badRequest("bom must be true or false (got '\(other)')")
        }
    }

    public func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: String(delimiter)) + "\r\n"
    }

    public func escape(_ field: String) -> String {
        var text = field
        if let first = text.first, Self.formulaStarts.contains(first) { text = "'" + text }
        if text.contains(delimiter) || text.contains("\"") || text.contains("\n") || text.contains("\r") {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    /// A cell as it was before `escape` guarded it against CSV injection (`'=…` → `=…`): an
    /// exported file imports back unchanged.
    public static func unescapedCell(_ cell: String) -> String {
        guard cell.hasPrefix("'"), let next = cell.dropFirst().first, formulaStarts.contains(next) else { return cell }
        return String(cell.dropFirst())
    }

    private static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]
}

extension CSVFormat {
    /// A whole CSV download: the header line, then each row, as an attachment named `filename`.
    public func response(header: [String], rows: [[String]], filename: String) -> Response {
        var text = byteOrderMark ? "\u{FEFF}" : ""
        text += line(header)
        for row in rows { text += line(row) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension Request {
    /// Whether the client asked for CSV (`Accept: text/csv`).
    public var wantsCSV: Bool { headers[.accept]?.lowercased().contains("text/csv") == true }
}
