import ContactsService
import EventStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

/// The contacts service as `serve` builds it, on an in-process mock cluster.
func withContactsService(
    tokens: [String: String] = [:], _ body: @Sendable (any TestClientProtocol, ServiceHost<ContactsService>) async throws -> Void
) async throws {
    try await withService(ContactsService.self, tokens: tokens) { service in try await body(service.client, service.host) }
}

@Suite(.serialized) struct CounterpartyAPITests {
    @Test func createReadUpdateArchive() async throws {
        try await withContactsService { client, _ in
            let created = try await client.execute(
                uri: "/counterparties", method: .post, headers: jsonHeaders,
                body: json(
                    #"{"kind":"organization","legalName":"  Acme Trading ","roles":["customer","customer"],"taxId":"7701234567","emails":["sales@acme.example"],"phones":["+7 495 123-45-67"]}"#
                ))
            #expect(created.status == .created)
            let body = try object(created)
            let id = try #require(body["id"] as? String)
            #expect(created.headers[.location] == "/counterparties/\(id)")
            #expect(body["legalName"] as? String == "Acme Trading", "names are trimmed")
            #expect(body["roles"] as? [String] == ["customer"], "roles are deduplicated")
            #expect(body["version"] as? Int == 1)
            #expect(body["createdBy"] as? String == ServiceConfiguration.localAdministrator)

            let read = try await client.execute(uri: "/counterparties/\(id)", method: .get)
            #expect(read.status == .ok)
            #expect(read.headers[.eTag] == "\"1\"")

            let patched = try await client.execute(
                uri: "/counterparties/\(id)", method: .patch, headers: [.contentType: "application/merge-patch+json", .ifMatch: "\"1\""],
                body: json(#"{"notes":"key account","taxId":null,"addresses":{"legal":"Moscow"}}"#))
            #expect(patched.status == .ok)
            let patchedBody = try object(patched)
            #expect(patchedBody["notes"] as? String == "key account")
            #expect(patchedBody["taxId"] == nil)
            #expect((patchedBody["addresses"] as? [String: Any])?["legal"] as? String == "Moscow")
            #expect(patchedBody["emails"] as? [String] == ["sales@acme.example"], "untouched fields stay")
            #expect(patchedBody["version"] as? Int == 2)

            let stale = try await client.execute(
                uri: "/counterparties/\(id)", method: .patch, headers: [.contentType: "application/json", .ifMatch: "\"1\""],
                body: json(#"{"notes":"lost update"}"#))
            try expectProblem(stale, .preconditionFailed)

            let replaced = try await client.execute(
                uri: "/counterparties/\(id)", method: .put, headers: jsonHeaders,
                body: json(#"{"kind":"person","legalName":"Ivan Petrov"}"#))
            #expect(replaced.status == .ok)
            let replacedBody = try object(replaced)
            #expect(replacedBody["kind"] as? String == "person")
            #expect(replacedBody["emails"] as? [String] == [])
            #expect(replacedBody["version"] as? Int == 3)

            let archived = try await client.execute(uri: "/counterparties/\(id)/archive", method: .post)
            #expect(try object(archived)["archived"] as? Bool == true)
            let active = try await client.execute(uri: "/counterparties", method: .get)
            #expect((try object(active)["items"] as? [Any])?.isEmpty == true, "archived ones are hidden by default")
            let any = try await client.execute(uri: "/counterparties?archived=any", method: .get)
            #expect((try object(any)["items"] as? [Any])?.count == 1)
            let unarchived = try await client.execute(uri: "/counterparties/\(id)/unarchive", method: .post)
            #expect(try object(unarchived)["archived"] as? Bool == false)
        }
    }

    @Test func pagesThroughTheListWithCursors() async throws {
        try await withContactsService { client, _ in
            for index in 0..<7 {
                let response = try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders,
                    body: json(
                        #"{"id":"P-\#(index)","kind":"organization","legalName":"Company \#(index)","roles":["\#(index % 2 == 0 ? "customer" : "supplier")"]}"#
                    ))
                #expect(response.status == .created)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/counterparties?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try object(try await client.execute(uri: uri, method: .get))
                let items = try #require(page["items"] as? [[String: Any]])
                #expect(items.count <= 3)
                seen += items.compactMap { $0["id"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(seen == (0..<7).map { "P-\($0)" })
            let customers = try object(try await client.execute(uri: "/counterparties?role=customer", method: .get))
            #expect((customers["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["P-0", "P-2", "P-4", "P-6"])
        }
    }

    @Test func badInputGetsProblemsNeverServerErrors() async throws {
        try await withContactsService { client, _ in
            try expectProblem(
                try await client.execute(uri: "/counterparties", method: .post, headers: jsonHeaders, body: json("{nope")), .badRequest,
                containing: "malformed JSON")
            try expectProblem(
                try await client.execute(uri: "/counterparties", method: .post, headers: jsonHeaders, body: json("")), .badRequest)
            try expectProblem(
                try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(#"{"kind":"organization","legalName":42}"#)),
                .unprocessableContent, containing: "legalName")
            try expectProblem(
                try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(#"{"kind":"organization"}"#)),
                .unprocessableContent, containing: "legalName")
            try expectProblem(
                try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(#"{"kind":"alien","legalName":"x"}"#)),
                .unprocessableContent, containing: "kind")
            try expectProblem(
                try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(#"{"kind":"person","legalName":"   "}"#)),
                .unprocessableContent, containing: "empty")
            try expectProblem(
                try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders,
                    body: json(#"{"kind":"person","legalName":"x","emails":["not-an-email"]}"#)), .unprocessableContent,
                containing: "e-mail")
            try expectProblem(
                try await client.execute(
                    uri: "/counterparties", method: .post, headers: jsonHeaders,
                    body: json(#"{"id":"bad id!","kind":"person","legalName":"x"}"#)), .unprocessableContent, containing: "id")
            try expectProblem(
                try await client.execute(uri: "/counterparties", method: .post, headers: jsonHeaders, body: json("[1,2]")),
                .unprocessableContent)
            try expectProblem(
                try await client.execute(uri: "/counterparties", method: .post, headers: [.contentType: "text/plain"], body: json("{}")),
                .unsupportedMediaType)
            let huge = #"{"kind":"person","legalName":""# + String(repeating: "x", count: 100_000) + #""}"#
            try expectProblem(
                try await client.execute(uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(huge)), .contentTooLarge)
            try expectProblem(try await client.execute(uri: "/counterparties/nobody", method: .get), .notFound)
            try expectProblem(
                try await client.execute(uri: "/counterparties/nobody", method: .patch, headers: jsonHeaders, body: json("{}")), .notFound)
            try expectProblem(try await client.execute(uri: "/counterparties/nobody/archive", method: .post), .notFound)
            try expectProblem(try await client.execute(uri: "/counterparties?limit=0", method: .get), .badRequest)
            try expectProblem(try await client.execute(uri: "/counterparties?cursor=%%%", method: .get), .badRequest)
            try expectProblem(try await client.execute(uri: "/counterparties?role=boss", method: .get), .badRequest)

            let first = try await client.execute(
                uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(#"{"id":"DUP","kind":"person","legalName":"x"}"#))
            #expect(first.status == .created)
            let again = try await client.execute(
                uri: "/counterparties", method: .post, headers: jsonHeaders, body: json(#"{"id":"DUP","kind":"person","legalName":"y"}"#))
            try expectProblem(again, .conflict)
            #expect(try object(again)["existingId"] as? String == "DUP")
            try expectProblem(
                try await client.execute(uri: "/counterparties/DUP", method: .patch, headers: jsonHeaders, body: json(#"{"id":"OTHER"}"#)),
                .unprocessableContent)
            try expectProblem(
                try await client.execute(uri: "/counterparties/DUP", method: .patch, headers: jsonHeaders, body: json(#"{"kind":5}"#)),
                .unprocessableContent, containing: "kind")
        }
    }

    @Test func tokensIdentifyTheActingUser() async throws {
        try await withContactsService(tokens: ["s3cret": "alice"]) { client, host in
            let anonymous = try await client.execute(uri: "/counterparties", method: .get)
            try expectProblem(anonymous, .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
            try expectProblem(
                try await client.execute(uri: "/counterparties", method: .get, headers: [.authorization: "Bearer wrong"]), .unauthorized)
            let live = try await client.execute(uri: "/health/live", method: .get)
            #expect(live.status == .ok, "health needs no token")
            let created = try await client.execute(
                uri: "/counterparties", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer s3cret"],
                body: json(#"{"kind":"person","legalName":"Audited"}"#))
            #expect(created.status == .created)
            #expect(try object(created)["createdBy"] as? String == "alice")
        }
    }

    @Test func healthAndOpenAPI() async throws {
        try await withContactsService { client, _ in
            let ready = try await client.execute(uri: "/health/ready", method: .get)
            #expect(ready.status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(String(buffer: metrics.body).contains("crm_records_applied_total{service=\"contacts\"}"))
            let spec = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(spec.status == .ok)
            #expect(String(buffer: spec.body).contains("/counterparties/{id}"))
        }
    }
}
