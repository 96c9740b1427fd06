import Foundation

/// `crmctl status`: every service's health, readiness, lag per topic, store size and memory, as
/// each one reports it on `GET /health/status`.
public struct StatusReport: Sendable {
    public struct Entry: @unchecked Sendable {  // the JSON document is never mutated
        public let endpoint: ServiceEndpoint
        /// The status document, or nil when the service did not answer.
        public let status: [String: Any]?
        public let unreachable: String?

        public var isReady: Bool { status?["ready"] as? Bool == true }
    }

    public let entries: [Entry]
    public var allReady: Bool { entries.allSatisfy(\.isReady) }

    /// Asks every service at once; one that does not answer within `timeout` is unreachable.
    public static func collect(_ endpoints: [ServiceEndpoint], timeout: TimeInterval = 3) async -> StatusReport {
        await withTaskGroup(of: (Int, Entry).self) { group in
            for (index, endpoint) in endpoints.enumerated() {
                group.addTask {
                    let client = ServiceClient(base: endpoint.url, timeout: timeout)
                    do {
                        let answer = try await client.send("GET", "/health/status")
                        guard answer.status == 200, let object = answer.json as? [String: Any] else {
                            return (index, Entry(endpoint: endpoint, status: nil, unreachable: "answered \(answer.status)"))
                        }
                        return (index, Entry(endpoint: endpoint, status: object, unreachable: nil))
                    } catch {
                        return (index, Entry(endpoint: endpoint, status: nil, unreachable: "not answering"))
                    }
                }
            }
            var entries: [(Int, Entry)] = []
            for await entry in group { entries.append(entry) }
            return StatusReport(entries: entries.sorted { $0.0 < $1.0 }.map(\.1))
        }
    }

    /// A table, one service per row, then the lag of every topic each one reads.
    public func rendered() -> String {
        var rows = [["service", "health", "state", "fetching", "lag", "applied", "dead letters", "store", "memory", "url"]]
        for entry in entries {
            guard let status = entry.status else {
                rows.append([
                    entry.endpoint.name, "down", entry.unreachable ?? "", "", "", "", "", "", "", entry.endpoint.url.absoluteString,
                ])
                continue
            }
            let lag = (status["lag"] as? [String: Any] ?? [:]).values.compactMap { ($0 as? NSNumber)?.int64Value }.reduce(0, +)
            rows.append([
                entry.endpoint.name, "live", status["state"] as? String ?? "?", status["fetching"] as? String ?? "?", String(lag),
                Self.number(status["appliedRecords"]),
                Self.number(status["deadLetters"]), Self.bytes(status["storeBytes"]), Self.bytes(status["residentMemoryBytes"]),
                entry.endpoint.url.absoluteString,
            ])
        }
        var text = Self.table(rows)
        var lagRows = [["service", "topic", "lag"]]
        for entry in entries {
            for (topic, lag) in (entry.status?["lag"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                lagRows.append([entry.endpoint.name, topic, Self.number(lag)])
            }
        }
        if lagRows.count > 1 { text += "\nconsumer lag per topic (records not yet applied):\n" + Self.table(lagRows) }
        for entry in entries {
            if let failure = entry.status?["failure"] as? String { text += "\n\(entry.endpoint.name) failed: \(failure)\n" }
        }
        return text
    }

    static func number(_ value: Any?) -> String {
        guard let number = value as? NSNumber else { return "" }
        return number.int64Value.formatted(.number.grouping(.automatic))
    }

    static func bytes(_ value: Any?) -> String {
        guard let number = (value as? NSNumber)?.int64Value else { return "" }
        if number < 1_000_000 { return "\(number / 1000) kB" }
        return "\(number / 1_000_000).\(number / 100_000 % 10) MB"
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
