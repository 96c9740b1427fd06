/// RFC 4180 CSV: fields with the delimiter, quotes or line breaks are quoted (quotes doubled), lines
/// end with CRLF. On export a cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`,
/// so a spreadsheet shows it as text instead of running it as a formula (CSV injection).
struct CSVFormat: Sendable {
    var delimiter: Character = ","
    /// UTF-8 byte-order mark first: Excel needs it to read UTF-8.
    var byteOrderMark = false

    func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: String(delimiter)) + "\r\n"
    }

    func escape(_ field: String) -> String {
        var text = field
        if let first = text.first, "=+-@\t\r".contains(first) { text = "'" + text }
        if text.contains(delimiter) || text.contains("\"") || text.contains("\n") || text.contains("\r") {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }
}
