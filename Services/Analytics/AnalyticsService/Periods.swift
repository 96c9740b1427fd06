import WireFormat

/// Calendar periods in UTC (`shared/reference/domain.md`): months, quarters and ISO weeks
/// (Monday to Sunday), each numbered so that consecutive periods have consecutive indexes.
public enum PeriodKind: String, Codable, Sendable, CaseIterable {
    case month, quarter, week

    /// The index of the period containing a day (days since 1970-01-01).
    public func index(ofDay day: Int) -> Int {
        switch self {
        case .month:
            let date = CalendarDate(dayNumber: day)
            return date.year * 12 + date.month - 1
        case .quarter:
            let date = CalendarDate(dayNumber: day)
            return date.year * 4 + (date.month - 1) / 3
        case .week:
            // 1970-01-01 was a Thursday: day -3 is the Monday that starts week 0.
            return Self.floorDivide(day + 3, 7)
        }
    }

    /// The index of the period containing a month's days, for month and quarter (a month lies in one of each).
    public func index(ofMonth month: Int) -> Int {
        switch self {
        case .month: month
        case .quarter: Self.floorDivide(month, 3)
        case .week: preconditionFailure("a month is not inside one week")
        }
    }

    /// The first day of a period.
    public func firstDay(ofPeriod index: Int) -> Int {
        switch self {
        case .month:
            CalendarDate(uncheckedYear: Self.floorDivide(index, 12), month: index - Self.floorDivide(index, 12) * 12 + 1, day: 1).dayNumber
        case .quarter: PeriodKind.month.firstDay(ofPeriod: index * 3)
        case .week: index * 7 - 3
        }
    }

    /// A period's name: `2026-10`, `2026-Q4`, `2026-W44` (the ISO week-numbering year).
    public func label(ofPeriod index: Int) -> String {
        let first = CalendarDate(dayNumber: firstDay(ofPeriod: index))
        switch self {
        case .month: return String(format: "%04d-%02d", first.year, first.month)
        case .quarter: return String(format: "%04d-Q%d", first.year, (first.month - 1) / 3 + 1)
        case .week:
            // The ISO year is the year of the week's Thursday; its week 1 holds its first Thursday.
            let thursday = CalendarDate(dayNumber: firstDay(ofPeriod: index) + 3)
            let firstThursdayWeek = PeriodKind.week.index(
                ofDay: Self.firstThursday(ofYear: thursday.year))
            return String(format: "%04d-W%02d", thursday.year, index - firstThursdayWeek + 1)
        }
    }

    static func firstThursday(ofYear year: Int) -> Int {
        let januaryFirst = CalendarDate(uncheckedYear: year, month: 1, day: 1).dayNumber
        // Weekday of 1 January with Monday = 0 (day 0 was a Thursday, 3).
        let weekday = (januaryFirst + 3 - Self.floorDivide(januaryFirst + 3, 7) * 7)
        return januaryFirst + (3 - weekday + 7) % 7
    }

    static func floorDivide(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

/// The analysis window for an as-of date: the `count` complete periods before the one containing it.
public struct AnalysisWindow: Sendable, Equatable {
    public let kind: PeriodKind
    /// Index of the window's first period.
    public let firstPeriod: Int
    public let count: Int

    public init(asOf: CalendarDate, kind: PeriodKind, count: Int) {
        self.kind = kind
        self.count = count
        firstPeriod = kind.index(ofDay: asOf.dayNumber) - count
    }

    /// One past the last period (the period containing the as-of date).
    public var endPeriod: Int { firstPeriod + count }
    public var firstDay: Int { kind.firstDay(ofPeriod: firstPeriod) }
    /// The last day inside the window.
    public var lastDay: Int { kind.firstDay(ofPeriod: endPeriod) - 1 }
    public var start: CalendarDate { CalendarDate(dayNumber: firstDay) }
    public var end: CalendarDate { CalendarDate(dayNumber: lastDay) }

    /// The position (0..<count) of a period in the window; nil outside it.
    public func position(ofPeriod index: Int) -> Int? {
        index >= firstPeriod && index < endPeriod ? index - firstPeriod : nil
    }
}
