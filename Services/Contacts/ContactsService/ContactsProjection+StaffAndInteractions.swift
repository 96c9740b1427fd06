import EventStore
import Foundation
import GRDB
import ServiceKit
import WireSchema

extension ContactsProjection {
    func apply(_ event: StaffEvent, _ stamp: EventStamp, _ db: Database) throws {
        let member = event.member
        switch event {
        case .registered:
            guard try StoredStaffMember.insert(member, stamp: stamp, db) else {
                throw ProjectionRejection("staff member '\(member.id)' is already registered")
            }
        case .updated:
            guard try StoredStaffMember.update(member, stamp: stamp, db) else {
                throw ProjectionRejection("staff member '\(member.id)' does not exist")
            }
        }
    }

    func apply(_ event: InteractionEvent, _ stamp: EventStamp, _ db: Database) throws {
        let interaction = event.interaction
        switch event {
        case .logged:
            guard try StoredInteraction.insert(interaction, stamp: stamp, db) else {
                throw ProjectionRejection("interaction '\(interaction.id)' is already logged")
            }
        case .corrected:
            guard try StoredInteraction.update(interaction, stamp: stamp, db) else {
                throw ProjectionRejection("interaction '\(interaction.id)' does not exist")
            }
        }
    }

    /// A completed activity with a counterparty (from the scheduler) joins the counterparty's
    /// interaction timeline as the interaction `activity:<activity id>`, once: a redelivery finds
    /// it there and changes nothing.
    func apply(_ event: ActivityEvent, _ stamp: EventStamp, _ db: Database) throws {
        guard case .completed(let completion) = event, let interaction = Interaction(completing: completion) else { return }
        _ = try StoredInteraction.insert(interaction, stamp: stamp, db)
    }
}
