import EventStore
import Foundation
import GRDB
import Logging
import TestSupport
import Testing
import WireFormat
import WireSchema

@testable import ContactsService

/// Stores written by an older release must come through the newer migrations with what they hold.
@Suite struct ContactsStoreMigrationTests {
    /// `contacts-v4` rebuilt the identity table under a new key: every identity must survive it, and
    /// the duplicate checks that read the table must answer as they did before.
    @Test func identitiesSurviveTheRekeyingOfContactsV4() throws {
        let path = NSTemporaryDirectory() + "migration-\(UUID().uuidString).sqlite"
        defer { try? ServiceStore.deleteFiles(at: path) }
        let logger = quietLogger

        let old = try ContactsStore.open(path: path, logger: logger, migratingThrough: "contacts-v3")
        let projection = ContactsProjection()
        try old.database.write { db in
            for n in 0..<60 {
                // Every fifth shares an e-mail with the one before; every seventh a phone with the first.
                let email = n % 5 == 0 && n > 0 ? "sales\(n - 1)@example.com" : "sales\(n)@example.com"
                let phones = n % 7 == 0 ? ["+49 30 1234567"] : ["+49 30 \(2_000_000 + n)"]
                let record = CounterpartyRecord(
                    id: String(format: "C%03d", n), kind: .organization, roles: [.customer], legalName: "Company \(n)",
                    taxId: String(format: "DE%09d", n % 10 == 3 ? 3 : n), phones: phones, emails: [email])
                try projection.register(
                    record, json: try WireEncoder.encode(record), time: "2026-01-01T00:00:00.000Z",
                    actor: nil, eventId: TimeOrderedID.make(), in: db)
            }
            try projection.finishBatch(in: db, bulkLoading: false)
        }
        let before = try answers(old)
        #expect(before.identities.count == 180)
        #expect(!before.report.isEmpty)
        let oldIndexes = try indexes(old)
        #expect(oldIndexes.contains("counterparty_identity_owner") && !oldIndexes.contains("counterparty_identity_value"))
        try old.close()

        let migrated = try ContactsStore.open(path: path, logger: logger)
        let after = try answers(migrated)
        #expect(after.identities == before.identities)
        #expect(after.report == before.report)
        #expect(after.firstMatches == before.firstMatches)
        let newIndexes = try indexes(migrated)
        #expect(newIndexes.contains("counterparty_identity_value") && !newIndexes.contains("counterparty_identity_owner"))
        let key = try migrated.database.read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'counterparty_identity'")
        }
        #expect(key?.contains("PRIMARY KEY (counterparty_id, kind, value)") == true)
        try migrated.close()
    }

    private struct Answers: Equatable {
        var identities: [String]
        var report: [String]
        var firstMatches: [String]
    }

    private func answers(_ store: ServiceStore) throws -> Answers {
        try store.database.read { db in
            let identities = try Row.fetchAll(db, sql: "SELECT kind, value, counterparty_id FROM counterparty_identity")
                .map { "\($0[0] as String) \($0[1] as String) \($0[2] as String)" }.sorted()
            let report = try Duplicates.report(db, after: nil, limit: 100).groups
                .map { "\($0.reason) \($0.value) \($0.counterpartyIds.joined(separator: ","))" }
            var firstMatches: [String] = []
            for n in [4, 5, 7, 13, 14, 59] {
                let identities: [(ContactNormalization.IdentityKind, String)] = try Row.fetchAll(
                    db, sql: "SELECT kind, value FROM counterparty_identity WHERE counterparty_id = ?",
                    arguments: [String(format: "C%03d", n)]
                ).map { (ContactNormalization.IdentityKind(rawValue: $0[0])!, $0[1]) }.sorted {
                    ($0.0.rawValue, $0.1) < ($1.0.rawValue, $1.1)
                }
                let match = try Duplicates.firstMatch(db, identities: identities, excludingRoot: String(format: "C%03d", n))
                firstMatches.append(match.map { "\($0.kind.rawValue) \($0.value) \($0.counterpartyId)" } ?? "none")
            }
            return Answers(identities: identities, report: report, firstMatches: firstMatches)
        }
    }

    private func indexes(_ store: ServiceStore) throws -> Set<String> {
        try store.database.read { db in
            Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'counterparty_identity'"))
        }
    }
}
