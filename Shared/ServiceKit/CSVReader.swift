import Hummingbird

/// An incremental RFC 4180 reader: feed it the bytes of a stream as they come, get whole rows back.
/// Handles quoted fields across chunk boundaries, doubled quotes, CRLF/LF/CR line ends, a UTF-8
/// byte-order mark, and detects the delimiter (comma, semicolon or tab) from the header line.
public struct CSVReader {
    public struct Row: Sendable {
        /// The line the row starts on (1-based, counting physical lines).
        public let line: Int
        public let fields: [String]
        /// Set when a field is not valid UTF-8.
        public let invalid: Bool
    }

    public enum Failure: Error { case unterminatedQuote(line: Int) }

    public private(set) var delimiter: UInt8?
    private var field: [UInt8] = []
    private var fields: [String] = []
    private var invalid = false
    private var inQuotes = false
    private var quoteInQuotes = false  // a quote seen inside quotes: either the closing one or the first of a pair
    private var atFieldStart = true
    private var lastWasCR = false
    private var line = 1
    private var rowLine = 1
    private var started = false
    private var pendingBOM: [UInt8] = []
    private var headerProbe: [UInt8]? = []

    public init(delimiter: UInt8? = nil) {
        self.delimiter = delimiter
    }

    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [Row] {
        var rows: [Row] = []
        for byte in bytes { consume(byte, into: &rows) }
        return rows
    }

    public mutating func finish() throws -> [Row] {
        var rows: [Row] = []
        if delimiter == nil {
            detectDelimiter()
            replayProbe(into: &rows)
        }
        if inQuotes && !quoteInQuotes { throw Failure.unterminatedQuote(line: rowLine) }
        if !field.isEmpty || !fields.isEmpty || !atFieldStart { endRow(into: &rows) }
        return rows
    }

    private mutating func consume(_ byte: UInt8, into rows: inout [Row]) {
        if !started {
            // Skip a UTF-8 BOM (EF BB BF) at the very start.
            pendingBOM.append(byte)
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            if pendingBOM.count < 3 && bom.starts(with: pendingBOM) { return }
            started = true
            let replay = pendingBOM == bom ? [] : pendingBOM
            pendingBOM = []
            for b in replay { consume(b, into: &rows) }
            return
        }
        if delimiter == nil {
            // Hold the first line until its delimiter is known.
            headerProbe!.append(byte)
            if byte == 0x0A || byte == 0x0D, !probeInQuotes() {
                detectDelimiter()
                replayProbe(into: &rows)
            }
            return
        }
        process(byte, into: &rows)
    }

    private func probeInQuotes() -> Bool {
        (headerProbe ?? []).filter { $0 == UInt8(ascii: "\"") }.count % 2 == 1
    }

    private mutating func detectDelimiter() {
        guard delimiter == nil else { return }
        var counts: [UInt8: Int] = [UInt8(ascii: ","): 0, UInt8(ascii: ";"): 0, 0x09: 0]
        var quoted = false
        for byte in headerProbe ?? [] {
            if byte == UInt8(ascii: "\"") { quoted.toggle() } else if !quoted, counts[byte] != nil { counts[byte]! += 1 }
        }
        delimiter = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.map {
            $0.value > 0 ? $0.key : UInt8(ascii: ",")
        }
    }

    private mutating func replayProbe(into rows: inout [Row]) {
        let probe = headerProbe ?? []
        headerProbe = nil
        for byte in probe { process(byte, into: &rows) }
    }

    private mutating func process(_ byte: UInt8, into rows: inout [Row]) {
        let quote = UInt8(ascii: "\"")
        if lastWasCR && byte == 0x0A {
            // CRLF: the CR already ended the row (or, inside quotes, counted the line).
            lastWasCR = false
            if inQuotes && !quoteInQuotes { field.append(byte) }
            return
        }
        lastWasCR = false
        if inQuotes {
            if quoteInQuotes {
                quoteInQuotes = false
                if byte == quote {
                    field.append(quote)
                    return
                }
                inQuotes = false  // that quote closed the field; handle this byte normally below
            } else if byte == quote {
                quoteInQuotes = true
                return
            } else {
                if byte == 0x0A || byte == 0x0D {
                    line += 1
                    lastWasCR = byte == 0x0D
                }
                field.append(byte)
                return
            }
        }
        if byte == quote && atFieldStart {
            inQuotes = true
            atFieldStart = false
            return
        }
        if byte == delimiter {
            endField()
            return
        }
        if byte == 0x0A || byte == 0x0D {
            lastWasCR = byte == 0x0D
            endRow(into: &rows)
            line += 1
            rowLine = line
            return
        }
        atFieldStart = false
        field.append(byte)
    }

    private mutating func endField() {
        if let text = String(validating: field, as: UTF8.self) {
            fields.append(text)
        } else {
            fields.append("")
            invalid = true
        }
        field.removeAll(keepingCapacity: true)
        atFieldStart = true
        inQuotes = false
        quoteInQuotes = false
    }

    private mutating func endRow(into rows: inout [Row]) {
        endField()
        // A blank line is not a row.
        if !(fields.count == 1 && fields[0].isEmpty) { rows.append(Row(line: rowLine, fields: fields, invalid: invalid)) }
        fields.removeAll(keepingCapacity: true)
        invalid = false
    }
}

extension CSVReader {
    /// The reader an upload asks for: `?delimiter=comma|semicolon|tab`, or detected from the header
    /// line when absent (400 for anything else).
    public init(_ request: Request) throws {
        switch request.uri.queryParameters.get("delimiter") {
        case nil: self.init()
        case "comma": self.init(delimiter: UInt8(ascii: ","))
        case "semicolon": self.init(delimiter: UInt8(ascii: ";"))
        case "tab": self.init(delimiter: 0x09)
        case let other?: throw Problem.badRequest("delimiter must be comma, semicolon or tab (got '\(other)')")
        }
    }
}
