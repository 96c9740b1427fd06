import Foundation
import ServiceKit
import WireFormat

/// The analytics service's configuration (`CRM_ANALYTICS_*`): the defaults of every classification
/// parameter (each overridable per run), the schedule of automatic runs, and the weights of the
/// manager scorecard. A bad value stops the service with an error naming the variable.
public struct AnalyticsSettings: ServiceSettings {
    public var classification = ClassificationParameters()
    /// The time of day (UTC, minutes after midnight) of the automatic run; nil when switched off.
    public var scheduleMinute: Int? = 2 * 60
    /// The at-risk report's default factor over the median gap between sales.
    public var atRiskFactor: Decimal = 2
    /// Scorecard weights per indicator (equal by default).
    public var scorecardWeights: [ScorecardIndicator: Decimal] = Dictionary(
        uniqueKeysWithValues: ScorecardIndicator.allCases.map { ($0, 1) })

    public init() {}

    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? { environment["CRM_ANALYTICS_\(name)"] }
        func configured<T>(_ name: String, _ parse: (String) throws(Problem) -> T) throws -> T? {
            guard let text = value(name) else { return nil }
            do {
                return try parse(text)
            } catch {
                throw ConfigurationError("CRM_ANALYTICS_\(name): \(error.detail)")
            }
        }
        if let measure = try configured("MEASURE", ParameterParsing.measure) { classification.measure = measure }
        if let kind = try configured("PERIOD_KIND", ParameterParsing.periodKind) { classification.periodKind = kind }
        if let periods = try configured("PERIODS", { text throws(Problem) in try ParameterParsing.periods(Int(text)) }) {
            classification.periods = periods
        }
        if let oneTimeMax = try configured("ONE_TIME_MAX", { text throws(Problem) in try ParameterParsing.oneTimeMax(Int(text)) }) {
            classification.oneTimeMax = oneTimeMax
        }
        if let cuts = try configured("ABC_CUTS", { text throws(Problem) in try ParameterParsing.abcCuts(ParameterParsing.decimals(text)) })
        {
            classification.abcCuts = cuts
        }
        if let cuts = try configured("XYZ_CUTS", { text throws(Problem) in try ParameterParsing.xyzCuts(ParameterParsing.decimals(text)) })
        {
            classification.xyzCuts = cuts
        }
        if let schedule = value("SCHEDULE") {
            if schedule == "off" {
                scheduleMinute = nil
            } else {
                let parts = schedule.split(separator: ":")
                guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
                    (0..<60).contains(minute)
                else { throw ConfigurationError("CRM_ANALYTICS_SCHEDULE must be HH:MM (UTC) or off (got '\(schedule)')") }
                scheduleMinute = hour * 60 + minute
            }
        }
        if let factor = try configured("AT_RISK_FACTOR", ParameterParsing.factor) { atRiskFactor = factor }
        if let weights = value("SCORECARD_WEIGHTS") {
            // `salesVolume=2,grossProfit=1,...`: the indicators named; the others keep weight 1.
            for item in weights.split(separator: ",") {
                let pair = item.split(separator: "=")
                guard pair.count == 2, let indicator = ScorecardIndicator(rawValue: String(pair[0]).trimmingCharacters(in: .whitespaces)),
                    let weight = ExactDecimal.parse(String(pair[1]).trimmingCharacters(in: .whitespaces)), weight >= 0
                else {
                    throw ConfigurationError(
                        "CRM_ANALYTICS_SCORECARD_WEIGHTS must be indicator=weight pairs separated by commas, indicators: "
                            + ScorecardIndicator.allCases.map(\.rawValue).joined(separator: ", ") + " (got '\(weights)')")
                }
                scorecardWeights[indicator] = weight
            }
        }
    }
}

/// The checks every classification parameter passes, from a request or from the environment.
enum ParameterParsing {
    static func measure(_ text: String) throws(Problem) -> Measure {
        guard let measure = Measure(rawValue: text) else {
            throw Problem.unprocessable("measure must be revenue or grossProfit (got '\(text)')")
        }
        return measure
    }

    static func periodKind(_ text: String) throws(Problem) -> PeriodKind {
        guard let kind = PeriodKind(rawValue: text) else {
            throw Problem.unprocessable("periodKind must be month, quarter or week (got '\(text)')")
        }
        return kind
    }

    static func periods(_ value: Int?) throws(Problem) -> Int {
        guard let value, (1...120).contains(value) else { throw Problem.unprocessable("periods must be a whole number from 1 to 120") }
        return value
    }

    static func oneTimeMax(_ value: Int?) throws(Problem) -> Int {
        guard let value, (1...1000).contains(value) else {
            throw Problem.unprocessable("oneTimeMax must be a whole number from 1 to 1000")
        }
        return value
    }

    static func abcCuts(_ cuts: [Decimal]?) throws(Problem) -> [Decimal] {
        guard let cuts, cuts.count == 2, cuts[0] > 0, cuts[0] < cuts[1], cuts[1] <= 100 else {
            throw Problem.unprocessable("abcCuts must be two percentages, increasing, above 0 and at most 100 (such as [80, 95])")
        }
        return cuts
    }

    static func xyzCuts(_ cuts: [Decimal]?) throws(Problem) -> [Decimal] {
        guard let cuts, cuts.count == 2, cuts[0] >= 0, cuts[0] < cuts[1], cuts[1] <= 10_000 else {
            throw Problem.unprocessable("xyzCuts must be two percentages, increasing, from 0 (such as [10, 25])")
        }
        return cuts
    }

    static func factor(_ text: String) throws(Problem) -> Decimal {
        guard let factor = ExactDecimal.parse(text), factor > 0, factor <= 1000 else {
            throw Problem.unprocessable("factor must be a positive number (got '\(text)')")
        }
        return factor
    }

    /// `80,95` → [80, 95]; nil when any item is not a number.
    static func decimals(_ text: String) -> [Decimal]? {
        let items = text.split(separator: ",").map { ExactDecimal.parse($0.trimmingCharacters(in: .whitespaces)) }
        return items.contains(nil) ? nil : items.compactMap { $0 }
    }
}
