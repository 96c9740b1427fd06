import EventStore
import Foundation
import GRDB
import WireFormat
import WireSchema

// The CRM topics the analytics service keeps what it needs of: counterparties (who is a client,
// its manager, what completeness is computed from), inquiries, campaigns, deals, and its own
// segments and classification runs.
extension AnalyticsProjection {
    func apply(_ change: CounterpartyEvent, _ db: Database) throws {
        switch change {
        case .registered(let record), .updated(let record):
            // A counterparty with no role, or a customer or prospect role, is a client.
            let isClient = record.roles.isEmpty || record.roles.contains { $0 != .supplier }
            try db.cachedStatement(
                sql: """
                    INSERT INTO client(id, registered, is_client_role, name, responsible_manager_id, source, archived, record)
                    VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7)
                    ON CONFLICT(id) DO UPDATE SET registered = 1, is_client_role = ?2, name = ?3, responsible_manager_id = ?4,
                        source = ?5, archived = ?6, record = ?7
                    """
            ).execute(arguments: [
                record.id, isClient, record.shortName ?? record.legalName, record.responsibleManagerId, record.source,
                record.archived, String(decoding: try WireEncoder.encode(record), as: UTF8.self),
            ])
            try markCompletenessDirty(record.id, db)
        case .archived(let reference), .unarchived(let reference):
            let archived = if case .archived = change { true } else { false }
            try db.cachedStatement(sql: "UPDATE client SET archived = ? WHERE id = ?").execute(arguments: [archived, reference.id])
        case .contactPersonAdded(let person), .contactPersonUpdated(let person):
            // A person moved to another counterparty leaves its former one less complete.
            if let former = try personOwner(person.id, db), former != person.counterpartyId { try markCompletenessDirty(former, db) }
            try markCompletenessDirty(person.counterpartyId, db)
            try db.cachedStatement(
                sql: """
                    INSERT INTO contact_person(id, counterparty_id, record) VALUES (?1, ?2, ?3)
                    ON CONFLICT(id) DO UPDATE SET counterparty_id = ?2, record = ?3
                    """
            ).execute(arguments: [person.id, person.counterpartyId, String(decoding: try WireEncoder.encode(person), as: UTF8.self)])
        case .contactPersonRemoved(let reference):
            if let owner = try personOwner(reference.id, db) { try markCompletenessDirty(owner, db) }
            try db.cachedStatement(sql: "DELETE FROM contact_person WHERE id = ?").execute(arguments: [reference.id])
        case .merged(let merge):
            try db.cachedStatement(sql: "INSERT INTO client(id) VALUES (?) ON CONFLICT(id) DO NOTHING").execute(arguments: [merge.mergedId])
            try db.cachedStatement(sql: "UPDATE client SET merged_into = ? WHERE id = ?").execute(arguments: [
                merge.survivorId, merge.mergedId,
            ])
            try markCompletenessDirty(merge.mergedId, db)
            try markCompletenessDirty(merge.survivorId, db)
        case .mergeUndone(let merge):
            try db.cachedStatement(sql: "UPDATE client SET merged_into = NULL WHERE id = ?").execute(arguments: [merge.mergedId])
            try markCompletenessDirty(merge.mergedId, db)
            try markCompletenessDirty(merge.survivorId, db)
        }
    }

    private func personOwner(_ personId: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT counterparty_id FROM contact_person WHERE id = ?"), arguments: [personId])
    }

    func apply(_ change: InquiryEvent, _ db: Database) throws {
        let inquiry: Inquiry
        switch change {
        case .registered(let registered): inquiry = registered
        case .updated(let updated): inquiry = updated
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO inquiry(id, received_on, received_at, channel, campaign_id, source, counterparty_id, manager_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                ON CONFLICT(id) DO UPDATE SET received_on = ?2, received_at = ?3, channel = ?4, campaign_id = ?5, source = ?6,
                    counterparty_id = ?7, manager_id = ?8
                """
        ).execute(arguments: [
            inquiry.id, CalendarDate(utc: inquiry.receivedAt).dayNumber, Timestamp.format(inquiry.receivedAt), inquiry.channel,
            inquiry.campaignId, inquiry.source, inquiry.counterpartyId, inquiry.managerId,
        ])
        if let counterpartyId = inquiry.counterpartyId { try AnalyticsProjection.mention(counterpartyId, db) }
    }

    func apply(_ change: CampaignEvent, eventId: String, _ db: Database) throws {
        switch change {
        case .defined(let campaign):
            try db.cachedStatement(
                sql: """
                    INSERT INTO campaign(id, name, channel, starts_on, ends_on, budget) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT(id) DO UPDATE SET name = ?2, channel = ?3, starts_on = ?4, ends_on = ?5, budget = ?6
                    """
            ).execute(arguments: [
                campaign.id, campaign.name, campaign.channel, campaign.startsOn?.description, campaign.endsOn?.description,
                campaign.budget?.description,
            ])
        case .costRecorded(let cost):
            // Each cost event adds to the campaign's cost (the event id keeps a redelivery out).
            try db.cachedStatement(sql: "INSERT INTO campaign_cost(event_id, campaign_id, amount, incurred_on) VALUES (?, ?, ?, ?)")
                .execute(arguments: [eventId, cost.id, cost.amount.description, cost.incurredOn?.description])
        }
    }

    func apply(_ change: DealEvent, _ db: Database) throws {
        switch change {
        case .opened(let deal), .updated(let deal):
            try db.cachedStatement(
                sql: """
                    INSERT INTO deal(id, counterparty_id, owner_id, campaign_id, inquiry_id, stage) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT(id) DO UPDATE SET counterparty_id = ?2, owner_id = ?3, campaign_id = ?4, inquiry_id = ?5, stage = ?6
                    """
            ).execute(arguments: [deal.id, deal.counterpartyId, deal.ownerId, deal.campaignId, deal.inquiryId, deal.stage])
            try AnalyticsProjection.mention(deal.counterpartyId, db)
        case .stageChanged(let change):
            try db.cachedStatement(sql: "UPDATE deal SET stage = ? WHERE id = ?").execute(arguments: [change.stage, change.id])
        case .closed(let closure):
            try db.cachedStatement(sql: "UPDATE deal SET outcome = ? WHERE id = ?").execute(arguments: [
                closure.outcome.rawValue, closure.id,
            ])
        case .reopened(let change):
            try db.cachedStatement(sql: "UPDATE deal SET stage = ?, outcome = NULL WHERE id = ?").execute(arguments: [
                change.stage, change.id,
            ])
        }
    }

    func apply(_ change: ClassificationRunEvent, _ db: Database) throws {
        switch change {
        case .resultsRecorded(let part):
            // A run records a row per client (100,000 in `scripts/bench-analytics`): bound directly.
            let insert = try RawStatement(
                db,
                sql: """
                    INSERT INTO classification_result(run_id, client_id, manager_id, abc_class, xyz_class, status, changed, record)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """)
            for result in part.clients {
                insert.bind(1, part.runId)
                insert.bind(2, result.clientId)
                insert.bind(3, result.managerId)
                insert.bind(4, result.abcClass)
                insert.bind(5, result.xyzClass)
                insert.bind(6, result.status.rawValue)
                insert.bind(7, result.isTransition)
                try insert.execute(bindingUTF8: try WireEncoder.encode(result), at: 8)
            }
        case .runRecorded(let run):
            try db.cachedStatement(
                sql: "INSERT INTO classification_run(id, as_of, published, record) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
            )
            .execute(arguments: [run.id, run.asOf.description, run.published, String(decoding: try WireEncoder.encode(run), as: UTF8.self)])
        }
    }
}

extension ClientRunResult {
    /// Whether the client's class or status differs from what it had before (a first classification
    /// is no transition).
    var isTransition: Bool {
        guard let previousStatus else { return false }
        return previousStatus != status.rawValue || previousAbcClass != abcClass || previousXyzClass != xyzClass
    }
}
