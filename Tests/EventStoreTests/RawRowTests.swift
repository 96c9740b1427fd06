import EventStore
import GRDB
import Testing

// Rows read with `RawStatement.forEachRow`, and the `TextKey`s reports count them by.
struct RawRowTests {
    @Test func rowsAreReadAndTextKeysRoundTrip() throws {
        let queue = try DatabaseQueue()
        let long = "a counterparty id longer than fifteen bytes"
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER, s TEXT)")
            for (n, s) in [(1, "M-01"), (2, long), (3, ""), (4, "ПОСТАВЩИК"), (5, nil), (6, long), (7, "M-01")] as [(Int, String?)] {
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [n, s])
            }
        }
        var keys = TextKeys()
        var read: [(Int64, TextKey?)] = []
        try queue.read { db in
            let statement = try RawStatement(db, sql: "SELECT n, s FROM t WHERE n >= ? ORDER BY n")
            statement.bind(1, Int64(1))
            try statement.forEachRow { row in read.append((row.int64(0), row.utf8(1).map { keys.key($0) })) }
        }
        #expect(read.map(\.0) == [1, 2, 3, 4, 5, 6, 7])
        #expect(read.map { $0.1.map(keys.text) } == ["M-01", long, "", "ПОСТАВЩИК", nil, long, "M-01"])
        // Equal text, equal keys (short or long); a short text and its prefix differ by their length.
        #expect(read[0].1 == read[6].1 && read[1].1 == read[5].1 && read[0].1 != read[1].1)
        #expect(keys.key("M-0") != keys.key("M-01") && keys.key("") == read[2].1)
        #expect(Set(read.compactMap(\.1)).count == 4)
    }
}
