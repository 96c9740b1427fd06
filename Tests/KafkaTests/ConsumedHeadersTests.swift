import Kafka
import Testing

@Suite struct ConsumedHeadersTests {
    /// The one-buffer layout gives back exactly the headers it was made from: order, repeated names,
    /// headers without a value, empty values and names too long for a 16-bit length.
    @Test func headersRoundTripThroughOneBuffer() {
        let longName = String(repeating: "n", count: 70_000)
        let headers = [
            KafkaHeader("ce_id", "1"), KafkaHeader("none", nil), KafkaHeader("empty", []),
            KafkaHeader("ce_id", "second"), KafkaHeader(longName, "v"), KafkaHeader("ünï", [0, 255, 7]),
        ]
        let block = ConsumedHeaders(headers)
        #expect(block.count == headers.count)
        #expect(block.list == headers)
        let record = ConsumedRecord(topic: "t", partition: 0, offset: 0, key: nil, value: nil, headers: headers, timestampMs: 0)
        #expect(record.header("ce_id")?.stringValue == "1")
        #expect(record.header("none") != nil && record.header("none")?.value == nil)
        #expect(record.header("empty")?.value.map(Array.init) == [])
        #expect(record.header(longName)?.stringValue == "v")
        #expect(record.header("missing") == nil)
        #expect(ConsumedHeaders([]).list.isEmpty)
    }
}
