import Foundation
import Hummingbird
import ServiceKit
import WireFormat

/// `?from=&to=` of a report: dates, both inclusive, by default the last complete month (UTC).
struct ReportPeriod: Encodable {
    let from: CalendarDate
    let to: CalendarDate

    var firstDay: Int { from.dayNumber }
    var lastDay: Int { to.dayNumber }
    var days: Int { lastDay - firstDay + 1 }

    init(from: CalendarDate, to: CalendarDate) {
        self.from = from
        self.to = to
    }

    init(_ request: Request, today: CalendarDate = CalendarDate(utc: Date())) throws {
        let query = request.uri.queryParameters
        let thisMonth = PeriodKind.month.index(ofDay: today.dayNumber)
        var from = CalendarDate(dayNumber: PeriodKind.month.firstDay(ofPeriod: thisMonth - 1))
        var to = CalendarDate(dayNumber: PeriodKind.month.firstDay(ofPeriod: thisMonth) - 1)
        if let text = query.get("from") {
            guard let date = CalendarDate(text) else { throw Problem.badRequest("from must be a date, YYYY-MM-DD (got '\(text)')") }
            from = date
        }
        if let text = query.get("to") {
            guard let date = CalendarDate(text) else { throw Problem.badRequest("to must be a date, YYYY-MM-DD (got '\(text)')") }
            to = date
        }
        guard from <= to else { throw Problem.badRequest("from (\(from)) is after to (\(to))") }
        guard to.dayNumber - from.dayNumber < 366 * 20 else { throw Problem.badRequest("the period is longer than 20 years") }
        self.init(from: from, to: to)
    }

    /// The period of the same length just before this one.
    var previous: ReportPeriod {
        ReportPeriod(from: CalendarDate(dayNumber: firstDay - days), to: CalendarDate(dayNumber: firstDay - 1))
    }
}

/// `?horizonDays=` (default 90): how long after an inquiry a first sale counts as its conversion.
func horizonDays(_ request: Request) throws -> Int {
    guard let text = request.uri.queryParameters.get("horizonDays") else { return 90 }
    guard let days = Int(text), (0...3660).contains(days) else {
        throw Problem.badRequest("horizonDays must be a whole number from 0 to 3660")
    }
    return days
}

/// A percentage of two counts or amounts, exact to six decimals; nil when the divisor is zero.
func percentage(_ part: Decimal, of whole: Decimal) -> Double? {
    whole == 0 ? nil : Classifier.percent(part, of: whole)
}

/// A ratio as a decimal amount, rounded to 4 places; nil when the divisor is zero.
func ratio(_ numerator: Decimal, _ denominator: Decimal) -> Amount? {
    guard denominator != 0 else { return nil }
    var quotient = numerator / denominator
    var rounded = Decimal()
    NSDecimalRound(&rounded, &quotient, 4, .plain)
    return Amount(rounded)
}

/// The median of sorted numbers (the mean of the middle two for an even count); nil when empty.
func median(_ sorted: [Int]) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? Double(sorted[middle]) : Double(sorted[middle - 1] + sorted[middle]) / 2
}
