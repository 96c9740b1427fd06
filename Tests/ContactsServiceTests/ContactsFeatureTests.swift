import ContactsService
import EventStore
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing
import WireFormat
import WireSchema

@Suite(.serialized) struct ContactsFeatureTests {
    @Test func staffFormAChainWithoutCycles() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created(
                "/staff", #"{"id":"boss","name":"Olga Boss","email":"olga@example.com","timeZone":"Europe/Moscow"}"#)
            _ = try await client.created("/staff", #"{"id":"lead","name":"Petr Lead","supervisorId":"boss"}"#)
            let rep = try await client.created("/staff", #"{"id":"rep","name":"Ivan Rep","supervisorId":"lead","role":"sales"}"#)
            #expect(rep["active"] as? Bool == true)
            try expectProblem(
                try await client.send(.patch, "/staff/boss", #"{"supervisorId":"rep"}"#), .unprocessableContent, containing: "cycle")
            try expectProblem(
                try await client.send(.patch, "/staff/boss", #"{"supervisorId":"boss"}"#), .unprocessableContent, containing: "themselves")
            try expectProblem(
                try await client.send(.post, "/staff", #"{"id":"x","name":"X","supervisorId":"ghost"}"#), .unprocessableContent,
                containing: "ghost")
            try expectProblem(
                try await client.send(.post, "/staff", #"{"id":"y","name":"Y","timeZone":"Mars/Base"}"#), .unprocessableContent,
                containing: "timeZone")
            try expectProblem(try await client.send(.post, "/staff", #"{"id":"boss","name":"Again"}"#), .conflict)
            #expect(try await client.ids("/staff?supervisorId=lead") == ["rep"])
            let moved = try await client.send(.patch, "/staff/rep", #"{"supervisorId":"boss","active":false}"#)
            #expect(try object(moved)["supervisorId"] as? String == "boss")
            #expect(try object(moved)["version"] as? Int == 2)
            #expect(try await client.ids("/staff") == ["boss", "lead", "rep"])
            try expectProblem(
                try await client.send(.post, "/counterparties", #"{"kind":"person","legalName":"Z","responsibleManagerId":"ghost"}"#),
                .unprocessableContent, containing: "responsibleManagerId")
        }
    }

    @Test func concurrentSupervisorChangesCannotCloseACycle() async throws {
        try await withContactsService { client, _ in
            for round in 0..<4 {
                _ = try await client.created("/staff", #"{"id":"a\#(round)","name":"A"}"#)
                _ = try await client.created("/staff", #"{"id":"b\#(round)","name":"B"}"#)
                // Each alone is fine; together they would make a cycle.
                async let first = client.send(.patch, "/staff/a\(round)", #"{"supervisorId":"b\#(round)"}"#)
                async let second = client.send(.patch, "/staff/b\(round)", #"{"supervisorId":"a\#(round)"}"#)
                let statuses = [try await first.status, try await second.status].map(\.code).sorted()
                #expect(statuses == [200, 422], "round \(round)")
            }
        }
    }

    @Test func concurrentCreatesWithOnePhoneCannotBothPass() async throws {
        try await withContactsService { client, _ in
            for round in 0..<4 {
                // The same number written two ways; each alone would be accepted.
                async let first = client.send(
                    .post, "/counterparties", #"{"id":"X\#(round)","kind":"person","legalName":"X","phones":["+7 916 000-00-0\#(round)"]}"#)
                async let second = client.send(
                    .post, "/counterparties", #"{"id":"Y\#(round)","kind":"person","legalName":"Y","phones":["8 (916) 000000\#(round)"]}"#)
                async let unrelated = client.send(
                    .post, "/counterparties", #"{"id":"Z\#(round)","kind":"person","legalName":"Z","phones":["+7 917 000-00-0\#(round)"]}"#)
                let statuses = [try await first.status, try await second.status].map(\.code).sorted()
                #expect(statuses == [201, 409], "round \(round)")
                #expect(try await unrelated.status == .created)
            }
        }
    }

    @Test func duplicatesAreRefusedNamingTheExistingOneUnlessAllowed() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created(
                "/counterparties",
                #"{"id":"A","kind":"organization","legalName":"Romashka LLC","taxId":"7701 234567","emails":["Sales@Romashka.example"],"phones":["+7 495 123-45-67"]}"#
            )
            let phone = try await client.send(
                .post, "/counterparties", #"{"id":"B","kind":"organization","legalName":"Other","phones":["8 (495) 1234567"]}"#)
            try expectProblem(phone, .conflict, containing: "phone")
            #expect(try object(phone)["existingId"] as? String == "A")
            try expectProblem(
                try await client.send(
                    .post, "/counterparties", #"{"id":"B","kind":"organization","legalName":"Other","taxId":"7701234567"}"#), .conflict,
                containing: "tax id")
            try expectProblem(
                try await client.send(
                    .post, "/counterparties", #"{"id":"B","kind":"organization","legalName":"Other","emails":["sales@romashka.example"]}"#),
                .conflict, containing: "e-mail")
            _ = try await client.created(
                "/counterparties?allowDuplicates=true",
                #"{"id":"B","kind":"organization","legalName":"ООО «Romashka»","phones":["495 123 45 67"]}"#)
            _ = try await client.created("/counterparties", #"{"id":"C","kind":"person","legalName":"Unrelated"}"#)
            try expectProblem(try await client.send(.patch, "/counterparties/C", #"{"emails":["SALES@romashka.example"]}"#), .conflict)
            #expect(try await client.send(.patch, "/counterparties/A", #"{"notes":"its own phone is no duplicate"}"#).status == .ok)

            let report = try object(try await client.send(.get, "/counterparties/duplicates"))
            let groups = try #require(report["items"] as? [[String: Any]])
            let phoneGroup = groups.first { $0["reason"] as? String == "phone" }
            #expect(phoneGroup?["value"] as? String == "74951234567")
            #expect(phoneGroup?["counterpartyIds"] as? [String] == ["A", "B"])
            let nameGroup = groups.first { $0["reason"] as? String == "name" }
            #expect(nameGroup?["counterpartyIds"] as? [String] == ["A", "B"], "legal forms and quotes do not count")

            // More groups, read a page of one at a time: (reason, value) order, nothing twice or lost.
            _ = try await client.created(
                "/counterparties?allowDuplicates=true",
                #"{"id":"D","kind":"person","legalName":"Unrelated","taxId":"7701234567","emails":["x@example.com"]}"#)
            _ = try await client.created(
                "/counterparties?allowDuplicates=true", #"{"id":"E","kind":"person","legalName":"Someone","emails":["X@example.com"]}"#)
            var pages: [String] = []
            var cursor: String? = nil
            repeat {
                let page = try object(
                    try await client.send(.get, "/counterparties/duplicates?limit=1" + (cursor.map { "&cursor=\($0)" } ?? "")))
                for group in page["items"] as? [[String: Any]] ?? [] {
                    pages.append(
                        "\(group["reason"]!) \(group["value"]!) \((group["counterpartyIds"] as? [String] ?? []).joined(separator: ","))")
                }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(
                pages == [
                    "email x@example.com D,E", "name romashka A,B", "name unrelated C,D", "phone 74951234567 A,B", "taxId 7701234567 A,D",
                ])

            // A member merged away leaves its groups; a group left with one member is gone.
            _ = try await client.send(.post, "/counterparties/A/merges", #"{"mergedId":"D"}"#)
            let afterMerge = try object(try await client.send(.get, "/counterparties/duplicates"))["items"] as? [[String: Any]] ?? []
            #expect(afterMerge.map { "\($0["reason"]!) \($0["value"]!)" } == ["name romashka", "phone 74951234567"])
        }
    }

    @Test func contactPersonsAndCompleteness() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created("/staff", #"{"id":"mgr","name":"Manager"}"#)
            let bare = try await client.created(
                "/counterparties", #"{"id":"C1","kind":"organization","legalName":"Bare","responsibleManagerId":"mgr"}"#)
            #expect(bare["completeness"] as? Int == 11, "1 of 9 items")
            _ = try await client.send(
                .patch, "/counterparties/C1",
                #"{"taxId":"5001","addresses":{"legal":"Tula"},"phones":["+7 4872 11-22-33"],"emails":["c1@example.com"],"source":"exhibition"}"#
            )
            #expect(try object(try await client.send(.get, "/counterparties/C1"))["completeness"] as? Int == 67)

            let person = try await client.created(
                "/counterparties/C1/contact-persons",
                #"{"id":"P1","name":" Anna Smirnova ","position":"buyer","phones":["+7 900 000-00-01"],"birthday":"03-08","preferredChannel":"phone"}"#
            )
            #expect(person["name"] as? String == "Anna Smirnova")
            #expect(person["counterpartyId"] as? String == "C1")
            #expect(try object(try await client.send(.get, "/counterparties/C1"))["completeness"] as? Int == 100)
            try expectProblem(
                try await client.send(.post, "/counterparties/C1/contact-persons", #"{"name":"Bad","birthday":"02-30"}"#),
                .unprocessableContent, containing: "birthday")
            try expectProblem(
                try await client.send(.post, "/counterparties/C1/contact-persons", #"{"name":"Bad","preferredChannel":"pigeon"}"#),
                .unprocessableContent, containing: "preferredChannel")
            try expectProblem(try await client.send(.get, "/counterparties/C1/contact-persons/nobody"), .notFound)

            let patched = try await client.send(
                .patch, "/counterparties/C1/contact-persons/P1", #"{"birthday":null}"#,
                headers: [.contentType: "application/json", .ifMatch: "\"1\""])
            #expect(try object(patched)["version"] as? Int == 2)
            #expect(try object(try await client.send(.get, "/counterparties/C1"))["completeness"] as? Int == 89)
            #expect(try await client.ids("/counterparties/C1/contact-persons") == ["P1"])

            let report = try object(try await client.send(.get, "/staff/mgr/completeness"))
            #expect(report["counterparties"] as? Int == 1)
            #expect((report["completeness"] as? NSNumber)?.doubleValue == 89)
            #expect((report["filled"] as? [String: Int])?["reachableContactPersonBirthday"] == 0)

            #expect(try await client.send(.delete, "/counterparties/C1/contact-persons/P1").status == .noContent)
            #expect(try await client.ids("/counterparties/C1/contact-persons").isEmpty)
            #expect(try object(try await client.send(.get, "/counterparties/C1"))["completeness"] as? Int == 67)
        }
    }

    @Test func interactionTimelineNewestFirstByKindAndPeriod() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created("/staff", #"{"id":"mgr","name":"Manager"}"#)
            _ = try await client.created("/counterparties", #"{"id":"C1","kind":"organization","legalName":"Client"}"#)
            _ = try await client.created("/counterparties", #"{"id":"C2","kind":"organization","legalName":"Another"}"#)
            _ = try await client.created("/counterparties/C2/contact-persons", #"{"id":"P2","name":"Elsewhere"}"#)
            _ = try await client.created("/counterparties/C1/contact-persons", #"{"id":"P1","name":"Here"}"#)
            let times = ["2026-03-01T10:00:00Z", "2026-03-05T10:00:00Z", "2026-03-03T10:00:00Z", "2026-03-04T10:00:00Z"]
            let kinds = ["call", "meeting", "email", "call"]
            for (index, time) in times.enumerated() {
                _ = try await client.created(
                    "/counterparties/C1/interactions",
                    #"{"id":"I\#(index)","kind":"\#(kinds[index])","direction":"outbound","occurredAt":"\#(time)","staffId":"mgr","contactPersonId":"P1","subject":"talk \#(index)","durationMinutes":5}"#
                )
            }
            #expect(try await client.ids("/counterparties/C1/interactions") == ["I1", "I3", "I2", "I0"])
            #expect(try await client.ids("/counterparties/C1/interactions?kind=call") == ["I3", "I0"])
            #expect(
                try await client.ids("/counterparties/C1/interactions?from=2026-03-03T00:00:00Z&to=2026-03-05T00:00:00Z") == ["I3", "I2"])
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try object(
                    try await client.send(.get, "/counterparties/C1/interactions?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")))
                seen += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(seen == ["I1", "I3", "I2", "I0"])
            #expect(try await client.ids("/counterparties/C2/interactions").isEmpty)

            try expectProblem(
                try await client.send(.post, "/counterparties/C1/interactions", #"{"kind":"call","contactPersonId":"P2"}"#),
                .unprocessableContent, containing: "P2")
            try expectProblem(
                try await client.send(.post, "/counterparties/C1/interactions", #"{"kind":"call","staffId":"ghost"}"#),
                .unprocessableContent, containing: "staffId")
            try expectProblem(
                try await client.send(.post, "/counterparties/C1/interactions", #"{"kind":"telepathy"}"#), .unprocessableContent,
                containing: "kind")
            try expectProblem(try await client.send(.get, "/counterparties/C1/interactions?kind=telepathy"), .badRequest)
            try expectProblem(try await client.send(.get, "/counterparties/C1/interactions?from=yesterday"), .badRequest)

            let corrected = try await client.send(
                .put, "/interactions/I0", #"{"kind":"visit","occurredAt":"2026-03-01T10:00:00Z","outcome":"signed"}"#)
            #expect(try object(corrected)["kind"] as? String == "visit")
            #expect(try object(corrected)["version"] as? Int == 2)
            #expect(try object(try await client.send(.get, "/interactions/I0"))["outcome"] as? String == "signed")
        }
    }

    @Test func searchFindsPhonesHoweverWrittenNamesTaxIdsAndPersons() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created(
                "/counterparties",
                #"{"id":"A","kind":"organization","legalName":"Ромашка Трейд","taxId":"7701234567","phones":["+7 495 123-45-67"],"emails":["info@romashka.example"]}"#
            )
            _ = try await client.created(
                "/counterparties", #"{"id":"B","kind":"organization","legalName":"Vasilek Logistics","shortName":"Vasilek"}"#)
            _ = try await client.created(
                "/counterparties/B/contact-persons", #"{"id":"PB","name":"Maria Ivanova","phones":["8 916 555 44 33"]}"#)
            #expect(try await client.ids("/counterparties?q=8%20(495)%201234567") == ["A"])
            #expect(try await client.ids("/counterparties?q=123-45-67") == ["A"], "the local number alone")
            #expect(try await client.ids("/counterparties?q=ромаш") == ["A"], "a prefix, any case")
            #expect(try await client.ids("/counterparties?q=7701234567") == ["A"])
            #expect(try await client.ids("/counterparties?q=info@romashka.example") == ["A"])
            #expect(try await client.ids("/counterparties?q=ivanova") == ["B"], "contact persons count")
            #expect(try await client.ids("/counterparties?q=%2B79165554433") == ["B"])
            #expect(try await client.ids("/counterparties?q=nothing%20like%20this").isEmpty)
            // Whole words first, prefixes of every word when whole words find nothing.
            _ = try await client.created("/counterparties", #"{"id":"C","kind":"organization","legalName":"Трейд Маркет"}"#)
            #expect(try await client.ids("/counterparties?q=трейд%20марк") == ["C"], "a whole word, then a prefix")
            #expect(try await client.ids("/counterparties?q=ромашка%20тр") == ["A"])
            #expect(Set(try await client.ids("/counterparties?q=тр")) == ["A", "C"])
            #expect(try await client.ids("/counterparties?q=ром%20трей") == ["A"], "no whole word matches: prefixes")
            #expect(try await client.ids("/counterparties?q=трей%20ром") == ["A"])
            try expectProblem(try await client.send(.get, "/counterparties?q=%20-%20"), .badRequest)
        }
    }

    @Test func mergeMovesPersonsAndHistoryAndCanBeUndone() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created("/counterparties", #"{"id":"KEEP","kind":"organization","legalName":"Keeper","taxId":"1"}"#)
            _ = try await client.created(
                "/counterparties?allowDuplicates=true", #"{"id":"GONE","kind":"organization","legalName":"Keeper dup","taxId":"1"}"#)
            _ = try await client.created(
                "/counterparties/GONE/contact-persons", #"{"id":"PG","name":"Moved Person","emails":["moved@example.com"]}"#)
            _ = try await client.created(
                "/counterparties/GONE/interactions", #"{"id":"IG","kind":"call","occurredAt":"2026-02-01T09:00:00Z"}"#)

            let merged = try object(try await client.send(.post, "/counterparties/KEEP/merges", #"{"mergedId":"GONE"}"#))
            #expect(merged["mergedIds"] as? [String] == ["GONE"])
            let resolved = try await client.send(.get, "/counterparties/GONE")
            #expect(try object(resolved)["id"] as? String == "KEEP", "the merged id resolves to the survivor")
            #expect(resolved.headers[.contentLocation] == "/counterparties/KEEP")
            #expect(try await client.ids("/counterparties/KEEP/contact-persons") == ["PG"])
            #expect(try await client.ids("/counterparties/KEEP/interactions") == ["IG"])
            #expect(try await client.ids("/counterparties") == ["KEEP"])
            #expect(try await client.ids("/counterparties?q=moved") == ["KEEP"])
            #expect(try object(try await client.send(.get, "/counterparties/KEEP"))["completeness"] as? Int == 44)
            try expectProblem(try await client.send(.post, "/counterparties/KEEP/merges", #"{"mergedId":"GONE"}"#), .conflict)
            try expectProblem(try await client.send(.post, "/counterparties/KEEP/merges", #"{"mergedId":"KEEP"}"#), .unprocessableContent)
            // A person added through the merged id lands on the survivor.
            _ = try await client.created("/counterparties/GONE/contact-persons", #"{"id":"PN","name":"New Person"}"#)

            let undone = try await client.send(.delete, "/counterparties/KEEP/merges/GONE")
            #expect(try object(undone)["id"] as? String == "GONE")
            #expect(try await client.ids("/counterparties") == ["GONE", "KEEP"])
            #expect(try await client.ids("/counterparties/GONE/contact-persons") == ["PG"])
            #expect(try await client.ids("/counterparties/KEEP/contact-persons") == ["PN"])
            #expect(try await client.ids("/counterparties/GONE/interactions") == ["IG"])
            try expectProblem(try await client.send(.delete, "/counterparties/KEEP/merges/GONE"), .notFound)
        }
    }
}

@Suite(.serialized) struct ContactsReplayTests {
    /// A bulk load (derived data rebuilt at the end) and event-by-event application (derived data
    /// refreshed per batch) must build the same store from the same log.
    @Test func aBulkReplayBuildsTheSameStoreAsLiveApplication() async throws {
        try await withContactsService { client, host in
            _ = try await client.created("/staff", #"{"id":"mgr","name":"Manager"}"#)
            for index in 0..<12 {
                _ = try await client.created(
                    "/counterparties?allowDuplicates=true",
                    #"{"id":"C\#(index)","kind":"organization","legalName":"Company \#(index % 5)","phones":["+7 900 000-00-0\#(index % 3)"],"responsibleManagerId":"mgr"}"#
                )
            }
            _ = try await client.created(
                "/counterparties/C1/contact-persons", #"{"id":"P1","name":"Olga","emails":["olga@example.com"],"birthday":"01-31"}"#)
            _ = try await client.created("/counterparties/C2/contact-persons", #"{"id":"P2","name":"Ivan","phones":["+7 901 111 11 11"]}"#)
            _ = try await client.send(.patch, "/counterparties/C3", #"{"taxId":"3003","source":"web"}"#)
            _ = try await client.send(.post, "/counterparties/C0/merges", #"{"mergedId":"C1"}"#)
            _ = try await client.send(.post, "/counterparties/C0/merges", #"{"mergedId":"C2"}"#)
            _ = try await client.send(.delete, "/counterparties/C0/merges/C2")
            _ = try await client.send(.post, "/counterparties/C4/merges", #"{"mergedId":"C0"}"#)
            _ = try await client.created(
                "/counterparties/C5/interactions", #"{"id":"I1","kind":"call","occurredAt":"2026-01-01T10:00:00Z"}"#)
            _ = try await client.send(.patch, "/counterparties/C1/contact-persons/P1", #"{"position":"buyer"}"#)

            nonisolated(unsafe) var live: [String] = []
            try ContactsService.dump(host.configuration) { live.append($0) }
            let search = try await client.ids("/counterparties?q=olga")

            var bulkConfiguration = host.configuration
            bulkConfiguration.dataDirectory += "-bulk"
            defer { try? FileManager.default.removeItem(atPath: bulkConfiguration.dataDirectory) }
            var options = ContactsService.projectorOptions
            options.bulkLoadThreshold = 1
            let report = try await ContactsService.rebuild(
                bulkConfiguration, settings: ContactsSettings(), options: options, logger: quietLogger)
            #expect(report.applied > 0)
            nonisolated(unsafe) var bulk: [String] = []
            try ContactsService.dump(bulkConfiguration) { bulk.append($0) }
            #expect(bulk == live)
            #expect(search == ["C4"], "merged twice over: C1's person is found through C4")
            let bulkStore = try ContactsService.openStore(path: bulkConfiguration.storePath, logger: quietLogger)
            let searchRows = try await bulkStore.database.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM counterparty_search WHERE counterparty_search MATCH 'olga'")
            }
            #expect(searchRows == 1)
        }
    }
}

@Suite(.serialized) struct ContactsExportTests {
    @Test func csvExportQuotesEscapesFormulasAndStreamsEveryRow() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created(
                "/counterparties",
                #"{"id":"A1","kind":"organization","legalName":"Comma, Quote \" and\nnewline","phones":["+7 495 123-45-67"],"tags":["vip","east"],"notes":"=HYPERLINK(\"http://evil\")"}"#
            )
            for index in 0..<1205 {
                _ = try await client.send(
                    .post, "/counterparties", #"{"id":"B\#(String(format: "%04d", index))","kind":"person","legalName":"Person \#(index)"}"#
                )
            }
            let response = try await client.send(.get, "/counterparties/export.csv")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
            let text = String(buffer: response.body)
            let lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.first?.hasPrefix("id,kind,roles,legalName,") == true)
            #expect(text.contains(#"A1,organization,,"Comma, Quote "" and"# + "\n" + #"newline","#), "RFC 4180 quoting")
            #expect(text.contains(",'+7 495 123-45-67,"), "a leading + is escaped against formula injection")
            #expect(text.contains(#""'=HYPERLINK(""http://evil"")""#))
            #expect(text.contains(",vip; east,"))
            #expect(text.components(separatedBy: "\r\nB").count - 1 == 1205, "every row, across export pages")

            let semicolon = String(buffer: try await client.send(.get, "/counterparties/export.csv?delimiter=semicolon&bom=true").body)
            #expect(semicolon.hasPrefix("\u{FEFF}id;kind;roles;"))
            try expectProblem(try await client.send(.get, "/counterparties/export.csv?delimiter=pipe"), .badRequest)
        }
    }

    @Test func completeDataOfOneCounterpartyAsJSON() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created("/counterparties", #"{"id":"K","kind":"organization","legalName":"Keeper"}"#)
            _ = try await client.created("/counterparties", #"{"id":"M","kind":"organization","legalName":"Merged"}"#)
            _ = try await client.created("/counterparties/M/contact-persons", #"{"id":"PM","name":"From merged"}"#)
            _ = try await client.created(
                "/counterparties/K/interactions", #"{"id":"IK","kind":"email","occurredAt":"2026-05-01T00:00:00Z"}"#)
            _ = try await client.send(.post, "/counterparties/K/merges", #"{"mergedId":"M"}"#)
            let export = try await client.send(.get, "/counterparties/M/export")
            #expect(export.headers[.contentDisposition] == #"attachment; filename="counterparty-K.json""#)
            let body = try object(export)
            #expect((body["counterparty"] as? [String: Any])?["id"] as? String == "K")
            #expect(body["mergedIds"] as? [String] == ["M"])
            #expect((body["contactPersons"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["PM"])
            #expect((body["interactions"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["IK"])
        }
    }
}

@Suite(.serialized) struct ContactsImportTests {
    @Test func importsGoodRowsAndReportsBadOnesByLine() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created("/staff", #"{"id":"mgr","name":"Manager"}"#)
            _ = try await client.created(
                "/counterparties", #"{"id":"OLD","kind":"organization","legalName":"Existing","phones":["+7 495 000-00-01"]}"#)
            let csv =
                "\u{FEFF}id;kind;legalName;phones;emails;roles;responsibleManagerId;notes\r\n"
                + "N1;organization;\"Alpha; Beta LLC\";+7 900 111-11-11;a@example.com;\"customer; supplier\";mgr;\"multi\nline\"\r\n"
                + "N2;person;Bob;;;prospect;;\r\n"
                + "N3;organization;;;;;;\r\n"  // line 5 (N1 spans lines 2-3): no legal name
                + "N4;alien;Zed;;;;;\r\n"  // line 6: bad kind
                + "N5;organization;Dup phone;8 (495) 000-00-01;;;;\r\n"  // line 7: the existing counterparty's phone
                + "N6;organization;Dup in file;89001111111;;;;\r\n"  // line 8: N1's phone
                + "OLD;organization;Again;;;;;\r\n"  // line 9: existing id
                + "N7;organization;Bad mail;;not-mail;;;\r\n"  // line 10
                + "N8;organization;Ghost manager;;;;ghost;\r\n"  // line 11
                + "\r\n"
                + "N9;organization;Last one;;;;;"
            let response = try await client.send(.post, "/counterparties/import", csv, headers: [.contentType: "text/csv"])
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let report = try object(response)
            #expect(report["imported"] as? Int == 3)
            #expect(report["failed"] as? Int == 7)
            let errors = try #require(report["errors"] as? [[String: Any]])
            #expect(errors.compactMap { $0["line"] as? Int } == [5, 6, 7, 8, 9, 10, 11], "physical lines: N1 spans two")
            #expect((errors[2]["detail"] as? String)?.contains("OLD") == true)
            #expect((errors[3]["detail"] as? String)?.contains("earlier in the file") == true)

            let alpha = try object(try await client.send(.get, "/counterparties/N1"))
            #expect(alpha["legalName"] as? String == "Alpha; Beta LLC")
            #expect(alpha["roles"] as? [String] == ["customer", "supplier"])
            #expect(alpha["notes"] as? String == "multi\nline")
            #expect(try await client.send(.get, "/counterparties/N9").status == .ok)

            try expectProblem(
                try await client.send(.post, "/counterparties/import", "name,kind\r\nx,person\r\n", headers: [.contentType: "text/csv"]),
                .unprocessableContent, containing: "legalName")
        }
    }

    @Test func exportThenImportRoundTrips() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created(
                "/counterparties",
                #"{"id":"R1","kind":"organization","legalName":"Round, Trip \"Co\"","taxId":"1234","phones":["+7 495 765-43-21"],"emails":["rt@example.com"],"tags":["a","b"],"addresses":{"legal":"Line 1\nLine 2"}}"#
            )
            let exported = String(buffer: try await client.send(.get, "/counterparties/export.csv?delimiter=semicolon").body)
            _ = try await client.send(.post, "/counterparties/R1/archive")
            let reimported = exported.replacingOccurrences(of: "R1;", with: "R2;")
            let report = try object(
                try await client.send(.post, "/counterparties/import?allowDuplicates=true", reimported, headers: [.contentType: "text/csv"])
            )
            #expect(report["imported"] as? Int == 1, "\(report)")
            let copy = try object(try await client.send(.get, "/counterparties/R2"))
            #expect(copy["legalName"] as? String == #"Round, Trip "Co""#)
            #expect(copy["phones"] as? [String] == ["+7 495 765-43-21"], "the formula escape is undone on import")
            #expect(copy["tags"] as? [String] == ["a", "b"])
            #expect((copy["addresses"] as? [String: Any])?["legal"] as? String == "Line 1\nLine 2")
        }
    }
}

@Suite(.serialized) struct VCardTests {
    @Test func contactPersonsRoundTripThroughVCardsOfBothVersions() async throws {
        try await withContactsService { client, _ in
            _ = try await client.created("/counterparties", #"{"id":"V","kind":"organization","legalName":"Vendor; Inc, Ltd"}"#)
            _ = try await client.created("/counterparties", #"{"id":"W","kind":"organization","legalName":"Other"}"#)
            _ = try await client.created(
                "/counterparties/V/contact-persons",
                #"{"id":"VP1","name":"Anna Maria Smirnova","position":"Head of purchasing, north","phones":["+7 900 111-22-33"],"emails":["anna@vendor.example"],"birthday":"1985-03-08","notes":"Prefers calls;\nnever on Fridays. This note is long enough that its vCard line has to be folded."}"#
            )
            _ = try await client.created("/counterparties/V/contact-persons", #"{"id":"VP2","name":"Boris","birthday":"12-31"}"#)
            for version in ["4.0", "3.0"] {
                let response = try await client.send(.get, "/counterparties/V/contact-persons.vcf?version=\(version)")
                #expect(response.headers[.contentType] == "text/vcard; charset=utf-8")
                let text = String(buffer: response.body)
                #expect(text.contains("VERSION:\(version)"))
                #expect(text.contains("ORG:Vendor\\; Inc\\, Ltd"))
                #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 75 }, "folded")
                #expect(text.contains(version == "4.0" ? "BDAY:--1231" : "BDAY:16041231"))
                // Import into another counterparty, with fresh ids.
                let renamed = text.replacingOccurrences(of: "UID:VP", with: "UID:\(version == "4.0" ? "V4" : "V3")-")
                let report = try object(
                    try await client.send(.post, "/counterparties/W/contact-persons.vcf", renamed, headers: [.contentType: "text/vcard"]))
                #expect(report["imported"] as? Int == 2, "\(report)")
            }
            let copy = try object(try await client.send(.get, "/counterparties/W/contact-persons/V4-1"))
            #expect(copy["name"] as? String == "Anna Maria Smirnova")
            #expect(copy["position"] as? String == "Head of purchasing, north")
            #expect(copy["phones"] as? [String] == ["+7 900 111-22-33"])
            #expect(copy["birthday"] as? String == "1985-03-08")
            #expect((copy["notes"] as? String)?.hasPrefix("Prefers calls;\nnever on Fridays.") == true)
            #expect(try object(try await client.send(.get, "/counterparties/W/contact-persons/V3-2"))["birthday"] as? String == "12-31")

            let bad =
                "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Good One\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Bad Day\r\nBDAY:someday\r\nEND:VCARD\r\n"
            let report = try object(
                try await client.send(.post, "/counterparties/W/contact-persons.vcf", bad, headers: [.contentType: "text/vcard"]))
            #expect(report["imported"] as? Int == 1)
            #expect((report["errors"] as? [[String: Any]])?.compactMap { $0["card"] as? Int } == [2, 3])
            try expectProblem(
                try await client.send(.post, "/counterparties/W/contact-persons.vcf", "FN:no card", headers: [.contentType: "text/vcard"]),
                .unprocessableContent)
        }
    }
}

@Suite(.serialized) struct CompletedActivityTests {
    @Test func aCompletedActivityJoinsItsCounterpartysTimelineOnceEvenWhenRedelivered() async throws {
        try await withService(ContactsService.self) { service in
            let client = service.client
            _ = try await client.created("/staff", #"{"id":"mgr","name":"Manager"}"#)
            _ = try await client.created("/counterparties", #"{"id":"C1","kind":"organization","legalName":"Client"}"#)
            let call = Activity(
                id: "A1", kind: .call, ownerId: "mgr", counterpartyId: "C1", subject: "Prices",
                startsAt: Timestamp.parse("2026-03-01T10:00:00Z")!,
                endsAt: Timestamp.parse("2026-03-01T10:20:00Z")!)
            let completed = ActivityEvent.completed(
                ActivityOutcome(id: "A1", outcome: "agreed", completedAt: Timestamp.parse("2026-03-01T10:15:00Z")!, activity: call))
            var feed = TopicFeed()
            try feed.event(ActivityEvent.planned(call))
            try feed.event(completed)
            try feed.event(completed)  // the scheduler's event again, as a producer retry would deliver it
            try feed.event(ActivityEvent.planned(Activity(id: "T1", kind: .task, ownerId: "mgr", subject: "Internal", startsAt: Date())))
            try feed.event(ActivityEvent.completed(ActivityOutcome(id: "T1", outcome: "done", activity: nil)))
            try await service.feed(feed)
            #expect(try await client.ids("/counterparties/C1/interactions") == ["activity:A1"])
            let interaction = try object(try await client.send(.get, "/interactions/activity:A1"))
            #expect(interaction["kind"] as? String == "call" && interaction["outcome"] as? String == "agreed")
            #expect(interaction["occurredAt"] as? String == "2026-03-01T10:15:00.000Z" && interaction["durationMinutes"] as? Int == 20)
            #expect(interaction["staffId"] as? String == "mgr" && interaction["version"] as? Int == 1)
        }
    }
}
