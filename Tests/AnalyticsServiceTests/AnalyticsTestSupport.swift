import AnalyticsService
import EventStore
import Foundation
import HummingbirdTesting
import Kafka
import Platform
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

/// A run's clients by id, all pages.
func runClients(_ client: any TestClientProtocol, _ runId: String, query: String = "") async throws -> [String: [String: Any]] {
    var clients: [String: [String: Any]] = [:]
    var cursor: String?
    repeat {
        let page = try object(
            try await client.send(
                .get, "/classification-runs/\(runId)/clients?limit=2\(query)" + (cursor.map { "&cursor=\($0)" } ?? "")))
        for item in page["items"] as? [[String: Any]] ?? [] { clients[item["clientId"] as! String] = item }
        cursor = page["nextCursor"] as? String
    } while cursor != nil
    return clients
}

func createRun(_ client: any TestClientProtocol, _ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws
    -> [String: Any]
{
    try await client.created("/classification-runs", body, sourceLocation: sourceLocation)
}
