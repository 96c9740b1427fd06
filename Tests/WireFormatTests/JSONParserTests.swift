import Testing

@testable import WireFormat

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#"{"a": [1, -2.5e3, "x", true, false, null], "b": {"c": "\u00e9\n"}}"#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .string("x"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("é\n"))
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"abc", "\"\\x\"", "{\"a\" 1}", "[1] 2", "\"\\ud83d\"",
        "tru", "nul", "{\"a\":}", "\"\u{01}\"",
    ])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONParser.parse(fine) }
    }

    @Test func lastDuplicateKeyWins() throws {
        #expect(try JSONParser.parse(#"{"a":1,"a":2}"#)["a"] == .number("2"))
    }

    @Test func mergePatchFollowsRFC7396() throws {
        let target = try JSONParser.parse(#"{"a":"b","c":{"d":"e","f":"g"}}"#)
        let patch = try JSONParser.parse(#"{"a":"z","c":{"f":null},"n":[1]}"#)
        #expect(target.merged(with: patch) == (try JSONParser.parse(#"{"a":"z","c":{"d":"e"},"n":[1]}"#)))
    }
}

@Suite struct UTF8ValidationTests {
    @Test(
        arguments: [
            [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8], [0x80], [0xC3], [0xE2, 0x82],
        ] as [[UInt8]])
    func rejectsInvalidSequences(_ sequence: [UInt8]) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22] + sequence + [0x22]) }
    }

    @Test func acceptsEveryPlane() throws {
        let text = "Aé€😀Юникод"
        #expect(try JSONParser.parse("\"" + text + "\"") == .string(text))
        #expect(try JSONParser.parse("\"" + text + "\\n\"") == .string(text + "\n"))
    }
}
