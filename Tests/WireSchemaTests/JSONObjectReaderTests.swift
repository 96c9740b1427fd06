import Foundation
import Testing
import WireFormat

@testable import WireSchema

/// The streaming reader behind the hot event types: same answers as a parsed tree would give.
@Suite struct JSONObjectReaderTests {
    private func record(_ json: String) throws -> CounterpartyRecord { try CounterpartyRecord.read(Array(json.utf8)) }

    private func reason(_ json: String) -> String {
        do {
            _ = try record(json)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func readsEveryFieldWhateverTheOrderAndSpacing() throws {
        let json = """
            { "tags" : ["vip"], "archived": true, "addresses": {"delivery": "Dock 3", "legal": "Moscow"},
              "roles": ["supplier", "customer"], "legalName": "Acme \\"Best\\" \\u00e9", "kind": "person", "id": "C-1",
              "phones": [], "emails": ["a@b.ru", "c@d.ru"], "notes": null, "website": "acme.example" }
            """
        let parsed = try record(json)
        #expect(
            parsed
                == CounterpartyRecord(
                    id: "C-1", kind: .person, roles: [.supplier, .customer], legalName: "Acme \"Best\" é",
                    addresses: Addresses(legal: "Moscow", delivery: "Dock 3"), emails: ["a@b.ru", "c@d.ru"],
                    website: "acme.example", tags: ["vip"], archived: true))
    }

    @Test func lastOfARepeatedFieldWinsAsInAParsedObject() throws {
        let parsed = try record(#"{"id":"C-1","kind":"person","legalName":"First","legalName":"Second","tags":["a"],"tags":null}"#)
        #expect(parsed.legalName == "Second")
        #expect(parsed.tags.isEmpty)
        #expect(reason(#"{"id":"C-1","kind":"person","legalName":"x","legalName":null}"#) == "missing field 'legalName'")
    }

    @Test func unknownFieldsAreSkippedButMustBeValidJSON() throws {
        let parsed = try record(
            #"{"future":{"deep":[1,{"x":[true,null,"\u0041"]}],"n":-1.5e3},"id":"C-1","kind":"person","legalName":"x"}"#)
        #expect(parsed.id == "C-1")
        #expect(reason(#"{"future":[1,],"id":"C-1","kind":"person","legalName":"x"}"#).contains("invalid JSON"))
    }

    @Test func anEscapedNameMatchesItsField() throws {
        #expect(try record(#"{"\u0069d":"C-1","kind":"person","legal\u004eame":"x"}"#).legalName == "x")
    }

    @Test func errorsNameTheFieldAndWhatWasFound() {
        #expect(reason(#"{"id":"C-1","kind":"person"}"#) == "missing field 'legalName'")
        #expect(reason(#"{"id":"C-1","kind":"person","legalName":5}"#) == "'legalName': expected a string, found a number")
        #expect(reason(#"{"id":"C-1","kind":"robot","legalName":"x"}"#) == "'kind': 'robot' is not one of organization, person")
        #expect(
            reason(#"{"id":"C-1","kind":"person","legalName":"x","roles":["customer","x"]}"#)
                == "'roles': 'x' is not one of customer, supplier, prospect")
        #expect(
            reason(#"{"id":"C-1","kind":"person","legalName":"x","phones":["1",2]}"#) == "'phones[1]': expected a string, found a number")
        #expect(
            reason(#"{"id":"C-1","kind":"person","legalName":"x","phones":"1"}"#)
                == "'phones': expected an array of strings, found a string")
        #expect(
            reason(#"{"id":"C-1","kind":"person","legalName":"x","archived":"yes"}"#) == "'archived': expected a boolean, found a string")
        #expect(
            reason(#"{"id":"C-1","kind":"person","legalName":"x","addresses":{"legal":[]}}"#)
                == "'addresses.legal': expected a string, found an array")
        #expect(
            reason(#"{"id":"C-1","kind":"person","legalName":"x","addresses":"Moscow"}"#)
                == "'addresses': expected an object, found a string")
        #expect(reason(#"["C-1"]"#) == "value: expected an object, found an array")
    }

    @Test(arguments: [
        "", "{", #"{"id":"C-1""#, #"{"id":"C-1",}"#, #"{"id" "C-1"}"#, #"{"id":"C-1"} x"#, #"{"id":"C-1" "kind":"person"}"#,
        #"{"id":"C-1","kind":"person","legalName":"x","addresses":{"legal":"y"}"#, #"{"id":"C-1","roles":["customer"}"#,
    ])
    func malformedDocumentsAreErrors(_ json: String) {
        #expect(throws: WireFormatError.self) { try record(json) }
    }

    /// Reads only `keep`, ignoring other members without skipping them, and may stop early.
    private struct Partial: JSONReadable {
        var keep: String?
        init(reading object: inout JSONObjectReader) throws {
            while let field = try object.nextField() {
                if case "keep" = field {
                    keep = try object.optionalString(field)
                    if keep == "stop" { return }
                }
            }
        }
    }

    @Test func membersATypeLeavesUnreadAreStillChecked() throws {
        #expect(try Partial.read(Array(#"{"a" : [1, {"b": null}] , "keep":"x", "c": true }"#.utf8)).keep == "x")
        #expect(try Partial.read(Array(#"{"keep":"stop", "c": {"d": [1, 2]}}"#.utf8)).keep == "stop")
        #expect(throws: WireFormatError.self) { try Partial.read(Array(#"{"a": [1,], "keep":"x"}"#.utf8)) }
        #expect(throws: WireFormatError.self) { try Partial.read(Array(#"{"keep":"stop", "c": tru}"#.utf8)) }
    }

    @Test func invalidUTF8IsAnError() {
        let bytes = Array(#"{"id":"C-1","kind":"person","legalName":""#.utf8) + [0xFF, 0x22, 0x7D]
        #expect(throws: WireFormatError.self) { try CounterpartyRecord.read(bytes) }
    }

    @Test func nestingIsLimitedInSkippedFields() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: WireFormatError.self) { try record(#"{"x":\#(deep),"id":"C-1","kind":"person","legalName":"x"}"#) }
    }

    /// Nested in a `Decodable` type, or decoded by Foundation (request bodies), the same reading applies.
    @Test func decodableDecodersReadThroughTheSameFields() throws {
        let json = #"{"id":"C-1","kind":"organization","legalName":"Acme","addresses":{"legal":"Moscow"},"archived":false}"#
        let expected = try record(json)
        #expect(try JSONDecoder().decode(CounterpartyRecord.self, from: Data(json.utf8)) == expected)
        #expect(try WireDecoder.decode(CounterpartyRecord.self, from: Array(json.utf8)) == expected)
        do {
            _ = try JSONDecoder().decode([String: Addresses].self, from: Data(#"{"office":{"legal":1}}"#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("'office.legal': expected a string, found a number"))
        }
    }
}
