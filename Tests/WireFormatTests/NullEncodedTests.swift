import Foundation
import Testing
import WireFormat

struct NullEncodedTests {
    struct Resource: Codable, Equatable {
        var id: String
        @NullEncoded var note: String?
        var plain: String?
    }

    @Test func absentValuesAreWrittenAsNullAndReadBackFromNullOrAMissingKey() throws {
        let empty = Resource(id: "a", note: nil, plain: nil)
        #expect(String(decoding: try WireEncoder.encode(empty), as: UTF8.self) == #"{"id":"a","note":null}"#)
        #expect(
            String(decoding: try WireEncoder.encode(Resource(id: "b", note: "x", plain: "y")), as: UTF8.self)
                == #"{"id":"b","note":"x","plain":"y"}"#)
        #expect(try WireDecoder.decode(Resource.self, from: Array(#"{"id":"a"}"#.utf8)) == empty)
        #expect(try WireDecoder.decode(Resource.self, from: Array(#"{"id":"a","note":null}"#.utf8)) == empty)
        #expect(try WireDecoder.decode(Resource.self, from: Array(#"{"id":"a","note":"n"}"#.utf8)).note == "n")
        #expect(throws: (any Error).self) { try WireDecoder.decode(Resource.self, from: Array(#"{"id":"a","note":1}"#.utf8)) }
    }
}
