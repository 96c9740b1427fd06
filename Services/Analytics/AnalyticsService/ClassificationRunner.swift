import EventStore
import Foundation
import GRDB
import ServiceKit
import WireFormat
import WireSchema

public typealias AnalyticsContext = ServiceContext<AnalyticsService>

/// Makes a classification run: reads the window's sales, classifies, records the results and the
/// run on `crm.classification-runs.v1` and, when the run is published, sends `ClientClassified`
/// for every client whose classification differs from what `crm.segments.v1` holds for it.
///
/// The order makes a crash harmless: results first (invisible without their run), then the
/// segments, then the run. A run cut short is not listed, and the next published run sends
/// whatever the segments topic still lacks, since it compares with the topic itself.
struct ClassificationRunner {
    let context: AnalyticsContext
    static let partSize = 1000

    func run(
        asOf: CalendarDate, parameters: ClassificationParameters, publish: Bool, trigger: String, user: ActingUser?
    ) async throws -> ClassificationRun {
        // One run at a time: each compares with what the one before it published.
        try await context.commandLocks.withLock(["classification-run"]) {
            try await runAlone(asOf: asOf, parameters: parameters, publish: publish, trigger: trigger, user: user)
        }
    }

    private func runAlone(
        asOf: CalendarDate, parameters: ClassificationParameters, publish: Bool, trigger: String, user: ActingUser?
    ) async throws -> ClassificationRun {
        let startedAt = Date()
        let clock = ContinuousClock()
        var timings: [(String, Duration)] = []
        var stage = clock.now
        func lap(_ name: String) {
            let now = clock.now
            timings.append((name, now - stage))
            stage = now
        }

        let window = AnalysisWindow(asOf: asOf, kind: parameters.periodKind, count: parameters.periods)
        // What the segments topic holds, read on a connection of its own beside the sales.
        async let segments = context.read { db in try ClassificationInput.segments(db) }
        var results: [ClientRunResult]
        do {
            let book = try await context.read { db in
                try ClassificationInput.load(db, window: window, measure: parameters.measure, as: Int128.self)
            }
            let prior = try await segments
            lap("loadMs")
            results = try Classifier.classify(book, parameters: parameters, prior: prior)
        } catch is ArithmeticOverflow {
            // Amounts too large or too finely divided for Int128: the same in Decimal.
            let book = try await context.read { db in
                try ClassificationInput.load(db, window: window, measure: parameters.measure, as: Decimal.self)
            }
            let prior = try await segments
            lap("loadMs")
            results = try Classifier.classify(book, parameters: parameters, prior: prior)
        }
        lap("classifyMs")
        let prior = try await segments

        let runId = TimeOrderedID.make()
        let parts = stride(from: 0, to: results.count, by: Self.partSize).enumerated().map { part, start in
            ClassificationRunEvent.resultsRecorded(
                ClassificationRunResults(
                    runId: runId, part: part, clients: Array(results[start..<min(start + Self.partSize, results.count)])))
        }
        try await context.publishAll(parts, by: user, timeout: .seconds(600))
        lap("recordMs")

        var segmentsSent = 0
        if publish {
            let changed = results.filter { result in
                guard let previous = prior[result.clientId] else { return true }
                return previous != PriorClassification(abcClass: result.abcClass, xyzClass: result.xyzClass, status: result.status.rawValue)
            }
            let events = changed.map { result in
                SegmentEvent.clientClassified(
                    ClientClassification(
                        clientId: result.clientId, runId: runId, asOf: asOf, abcClass: result.abcClass, xyzClass: result.xyzClass,
                        status: result.status, previousAbcClass: result.previousAbcClass, previousXyzClass: result.previousXyzClass,
                        previousStatus: result.previousStatus, parameters: parameters.json))
            }
            try await context.publishAll(events, by: user, timeout: .seconds(600))
            segmentsSent = events.count
        }
        lap("publishMs")

        let run = ClassificationRun(
            id: runId, asOf: asOf, parameters: parameters.json, published: publish, windowStart: window.start,
            windowEnd: window.end, clients: results.count, parts: parts.count, counts: Self.counts(results),
            transitions: results.count(where: \.isTransition), startedAt: startedAt,
            timings: .object(
                timings.map {
                    ($0.0, .number(String($0.1.milliseconds)))
                }
                    + [("segmentsPublished", .number(String(segmentsSent)))]),
            trigger: trigger)
        try await context.publish(ClassificationRunEvent.runRecorded(run), by: user ?? ActingUser(id: "analytics-schedule"))
        return run
    }

    /// Clients per ABC class, XYZ class and status (`none` for clients without a class).
    static func counts(_ results: [ClientRunResult]) -> JSONValue {
        func tally(_ keys: [String], _ key: (ClientRunResult) -> String) -> JSONValue {
            var counts = Dictionary(uniqueKeysWithValues: keys.map { ($0, 0) })
            for result in results { counts[key(result), default: 0] += 1 }
            return .object(keys.map { ($0, .number(String(counts[$0] ?? 0))) })
        }
        return .object([
            ("abc", tally(["A", "B", "C", "none"]) { $0.abcClass ?? "none" }),
            ("xyz", tally(["X", "Y", "Z", "none"]) { $0.xyzClass ?? "none" }),
            ("status", tally(ClientClassification.Status.allCases.map(\.rawValue)) { $0.status.rawValue }),
        ])
    }
}
