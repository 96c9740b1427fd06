import Foundation
import Testing
import WireFormat

@testable import SuppliersService

/// The reference cases of `domain.md` (Suppliers), worked by hand.
@Suite struct OrderOutcomeTests {
    static func date(_ text: String) -> CalendarDate { CalendarDate(text)! }

    @Test func aSplitDeliveryIsDeliveredOnTheReceiptThatCompletedIt() {
        let outcome = OrderOutcome(
            ordered: [("A", 10), ("B", 5)],
            receipts: [
                .init(date: Self.date("2026-03-05"), lines: [("A", 10, 0), ("B", 2, 0)]),
                .init(date: Self.date("2026-03-12"), lines: [("B", 3, 0)]),
            ])
        #expect(outcome.inFull)
        #expect(outcome.deliveryDate == Self.date("2026-03-12"))
        #expect(outcome.lines[0].deliveryDate == Self.date("2026-03-05") && outcome.lines[1].deliveryDate == Self.date("2026-03-12"))
        let contribution = OrderContribution(
            orderDate: Self.date("2026-03-01"), promisedDate: Self.date("2026-03-10"), deliveryDate: outcome.deliveryDate, inFull: true,
            dueCounts: true)
        #expect(contribution?.onTime == false && contribution?.leadDays == 11 && contribution?.latenessDays == 2)
    }

    @Test func aShortDeliveryNeverCompletedIsDeliveredOnItsLastReceiptAndNotInFull() {
        let outcome = OrderOutcome(
            ordered: [("A", 10)],
            receipts: [
                .init(date: Self.date("2026-03-05"), lines: [("A", 4, 0)]), .init(date: Self.date("2026-03-07"), lines: [("A", 5, 0)]),
            ])
        #expect(!outcome.inFull && outcome.deliveryDate == Self.date("2026-03-07"))
    }

    @Test func rejectedQuantitiesDoNotCount() {
        let rejected = OrderOutcome(ordered: [("A", 10)], receipts: [.init(date: Self.date("2026-03-05"), lines: [("A", 10, 2)])])
        #expect(!rejected.inFull && rejected.lines[0].accepted == 8 && rejected.deliveryDate == Self.date("2026-03-05"))
        // The replacement completes it: delivered on the replacement's date.
        let replaced = OrderOutcome(
            ordered: [("A", 10)],
            receipts: [
                .init(date: Self.date("2026-03-05"), lines: [("A", 10, 2)]), .init(date: Self.date("2026-03-09"), lines: [("A", 2, 0)]),
            ])
        #expect(replaced.inFull && replaced.deliveryDate == Self.date("2026-03-09"))
    }

    @Test func anOrderWithoutReceiptIsNeitherOnTimeNorInFullAndHasNoLeadTime() {
        let outcome = OrderOutcome(ordered: [("A", 10)], receipts: [])
        #expect(!outcome.inFull && outcome.deliveryDate == nil)
        let contribution = OrderContribution(
            orderDate: Self.date("2026-03-01"), promisedDate: Self.date("2026-03-10"), deliveryDate: nil, inFull: false, dueCounts: true)
        #expect(contribution?.onTime == false && contribution?.leadDays == nil)
        var sums = ReliabilitySums()
        sums.add(contribution!)
        let figures = sums.figures
        #expect(figures.ordersDue == 1 && figures.onTimeRate == 0 && figures.meanLeadTimeDays == nil && figures.standing == .veryPoor)
    }

    @Test func scoresAndStandingsFollowTheDefinition() {
        var sums = ReliabilitySums()
        // Three orders: on time and in full; on time, short; late, in full.
        for (onTime, inFull) in [(true, true), (true, false), (false, true)] {
            sums.add(
                OrderContribution(
                    orderDate: Self.date("2026-01-01"), promisedDate: Self.date("2026-01-10"),
                    deliveryDate: Self.date(onTime ? "2026-01-09" : "2026-01-13"), inFull: inFull, dueCounts: true)!)
        }
        let figures = sums.figures
        // OTIF 1/3, on time 2/3, in full 2/3: 50·33.33 % + 25·66.67 % + 25·66.67 % = 50 points.
        #expect(figures.otifRate == Decimal(string: "33.33") && figures.onTimeRate == Decimal(string: "66.67"))
        #expect(figures.score == 50 && figures.standing == .average)
        // Lead times 8, 8, 12: mean 9.33, population deviation 1.89; lateness −1, −1, 3: mean 0.33.
        #expect(figures.meanLeadTimeDays == Decimal(string: "9.33") && figures.leadTimeStdDevDays == Decimal(string: "1.89"))
        #expect(figures.meanLatenessDays == Decimal(string: "0.33"))
    }

    @Test func theDefaultWindowIsTheTwelveCompleteMonthsBeforeToday() {
        let window = ReliabilityWindow.standard(today: Self.date("2026-12-06"))
        #expect(window.from == Self.date("2025-12-01") && window.to == Self.date("2026-11-30"))
        let january = ReliabilityWindow.standard(today: Self.date("2027-01-01"))
        #expect(january.from == Self.date("2026-01-01") && january.to == Self.date("2026-12-31"))
    }
}
