import Foundation
import WireFormat

// The analytics service's topics, `crm.segments.v1` and `crm.classification-runs.v1`; the data
// follows the JSON Schemas of `topics/asyncapi.yaml`.

/// `crm.segments.v1` (compacted): `ClientClassified`.
public struct ClientClassification: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case potential, oneTime = "one-time", regular, lost }
    public var clientId: String
    public var runId: String
    public var asOf: CalendarDate
    // Absent classes travel as null: a consumer of the compacted topic reads "no class", not a missing field.
    @NullEncoded public var abcClass: String?
    @NullEncoded public var xyzClass: String?
    public var status: Status
    @NullEncoded public var previousAbcClass: String?
    @NullEncoded public var previousXyzClass: String?
    @NullEncoded public var previousStatus: String?
    public var parameters: JSONValue?

    public init(
        clientId: String, runId: String, asOf: CalendarDate, abcClass: String?, xyzClass: String?, status: Status,
        previousAbcClass: String?, previousXyzClass: String?, previousStatus: String?, parameters: JSONValue?
    ) {
        self.clientId = clientId
        self.runId = runId
        self.asOf = asOf
        self.abcClass = abcClass
        self.xyzClass = xyzClass
        self.status = status
        self.previousAbcClass = previousAbcClass
        self.previousXyzClass = previousXyzClass
        self.previousStatus = previousStatus
        self.parameters = parameters
    }
}

extension ClientClassification: JSONWritable {
    /// Keys in sorted order, as `WireEncoder` writes them: the first published run sends a
    /// classification per client (100,000 in `scripts/bench-analytics`), and `JSONEncoder` took
    /// most of that run.
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("abcClass", nullable: abcClass)
            json.field("asOf", asOf.description)
            json.field("clientId", clientId)
            if let parameters {
                json.key("parameters")
                json.value(parameters, sortingKeys: true)
            }
            json.field("previousAbcClass", nullable: previousAbcClass)
            json.field("previousStatus", nullable: previousStatus)
            json.field("previousXyzClass", nullable: previousXyzClass)
            json.field("runId", runId)
            json.field("status", status.rawValue)
            json.field("xyzClass", nullable: xyzClass)
        }
    }
}

/// Read by hand for the same reason: the analytics, deals and scheduler services each apply every one.
extension ClientClassification: JSONReadable {
    public init(reading object: inout JSONObjectReader) throws {
        var clientId: String?
        var runId: String?
        var asOf: CalendarDate?
        var abcClass: String?
        var xyzClass: String?
        var status: Status?
        var previousAbcClass: String?
        var previousXyzClass: String?
        var previousStatus: String?
        var parameters: JSONValue?
        while let field = try object.nextField() {
            switch field {
            case "clientId": clientId = try object.optionalString(field)
            case "runId": runId = try object.optionalString(field)
            case "asOf":
                if let text = try object.optionalString(field) {
                    guard let date = CalendarDate(text) else { throw WireFormatError("'asOf': '\(text)' is not a date (YYYY-MM-DD)") }
                    asOf = date
                }
            case "abcClass": abcClass = try object.optionalString(field)
            case "xyzClass": xyzClass = try object.optionalString(field)
            case "status": status = try object.optionalEnumeration(field, Status.self)
            case "previousAbcClass": previousAbcClass = try object.optionalString(field)
            case "previousXyzClass": previousXyzClass = try object.optionalString(field)
            case "previousStatus": previousStatus = try object.optionalString(field)
            case "parameters": parameters = try object.optionalValue(field)
            default: try object.skip()
            }
        }
        guard let clientId else { throw object.missing("clientId") }
        guard let runId else { throw object.missing("runId") }
        guard let asOf else { throw object.missing("asOf") }
        guard let status else { throw object.missing("status") }
        self.init(
            clientId: clientId, runId: runId, asOf: asOf, abcClass: abcClass, xyzClass: xyzClass, status: status,
            previousAbcClass: previousAbcClass, previousXyzClass: previousXyzClass, previousStatus: previousStatus,
            parameters: parameters)
    }
}

/// `crm.classification-runs.v1`: `ClassificationRunRecorded`, the run once its results are recorded.
public struct ClassificationRun: Codable, Sendable, Equatable {
    public var id: String
    public var asOf: CalendarDate
    public var parameters: JSONValue
    public var published: Bool
    public var windowStart: CalendarDate
    public var windowEnd: CalendarDate
    public var clients: Int
    public var parts: Int
    /// Clients per ABC class, XYZ class and status.
    public var counts: JSONValue
    public var transitions: Int
    public var startedAt: Date?
    /// Milliseconds per stage.
    public var timings: JSONValue?
    public var trigger: String?

    public init(
        id: String, asOf: CalendarDate, parameters: JSONValue, published: Bool, windowStart: CalendarDate,
        windowEnd: CalendarDate, clients: Int, parts: Int, counts: JSONValue, transitions: Int, startedAt: Date?,
        timings: JSONValue?, trigger: String?
    ) {
        self.id = id
        self.asOf = asOf
        self.parameters = parameters
        self.published = published
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.clients = clients
        self.parts = parts
        self.counts = counts
        self.transitions = transitions
        self.startedAt = startedAt
        self.timings = timings
        self.trigger = trigger
    }
}

/// One client's result in a classification run.
public struct ClientRunResult: Codable, Sendable, Equatable {
    public var clientId: String
    public var managerId: String?
    public var abcClass: String?
    public var xyzClass: String?
    public var status: ClientClassification.Status
    /// The measure summed over the window (exact).
    public var measure: Amount
    /// Percent of the total measure (display; the class was decided exactly).
    public var share: Double?
    public var cumulativeShareBefore: Double?
    /// Coefficient of variation in percent, for regular clients.
    public var cv: Double?
    /// Sales in the window.
    public var sales: Int
    public var previousAbcClass: String?
    public var previousXyzClass: String?
    public var previousStatus: String?

    public init(
        clientId: String, managerId: String?, abcClass: String?, xyzClass: String?, status: ClientClassification.Status,
        measure: Amount, share: Double?, cumulativeShareBefore: Double?, cv: Double?, sales: Int,
        previousAbcClass: String?, previousXyzClass: String?, previousStatus: String?
    ) {
        self.clientId = clientId
        self.managerId = managerId
        self.abcClass = abcClass
        self.xyzClass = xyzClass
        self.status = status
        self.measure = measure
        self.share = share
        self.cumulativeShareBefore = cumulativeShareBefore
        self.cv = cv
        self.sales = sales
        self.previousAbcClass = previousAbcClass
        self.previousXyzClass = previousXyzClass
        self.previousStatus = previousStatus
    }
}

extension ClientRunResult: JSONWritable {
    /// Keys in sorted order, as `WireEncoder` writes them: a run records a result per client (100,000
    /// in `scripts/bench-analytics`), and `JSONEncoder` took a quarter of the run.
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field("abcClass", abcClass)
            json.field("clientId", clientId)
            json.field("cumulativeShareBefore", cumulativeShareBefore)
            json.field("cv", cv)
            json.field("managerId", managerId)
            json.field("measure", measure)
            json.field("previousAbcClass", previousAbcClass)
            json.field("previousStatus", previousStatus)
            json.field("previousXyzClass", previousXyzClass)
            json.field("sales", sales)
            json.field("share", share)
            json.field("status", status.rawValue)
            json.field("xyzClass", xyzClass)
        }
    }
}

extension ClientRunResult: JSONReadable {
    public init(reading object: inout JSONObjectReader) throws {
        var clientId: String?
        var managerId: String?
        var abcClass: String?
        var xyzClass: String?
        var status: ClientClassification.Status?
        var measure: Amount?
        var share: Double?
        var cumulativeShareBefore: Double?
        var cv: Double?
        var sales: Int?
        var previousAbcClass: String?
        var previousXyzClass: String?
        var previousStatus: String?
        while let field = try object.nextField() {
            switch field {
            case "clientId": clientId = try object.optionalString(field)
            case "managerId": managerId = try object.optionalString(field)
            case "abcClass": abcClass = try object.optionalString(field)
            case "xyzClass": xyzClass = try object.optionalString(field)
            case "status": status = try object.optionalEnumeration(field, ClientClassification.Status.self)
            case "measure":
                if let text = try object.optionalString(field) {
                    guard let amount = Amount(text) else { throw WireFormatError("'measure': '\(text)' is not an exact decimal") }
                    measure = amount
                }
            case "share": share = try object.optionalDouble(field)
            case "cumulativeShareBefore": cumulativeShareBefore = try object.optionalDouble(field)
            case "cv": cv = try object.optionalDouble(field)
            case "sales": sales = try object.optionalInt(field)
            case "previousAbcClass": previousAbcClass = try object.optionalString(field)
            case "previousXyzClass": previousXyzClass = try object.optionalString(field)
            case "previousStatus": previousStatus = try object.optionalString(field)
            default: try object.skip()
            }
        }
        guard let clientId else { throw object.missing("clientId") }
        guard let status else { throw object.missing("status") }
        guard let measure else { throw object.missing("measure") }
        guard let sales else { throw object.missing("sales") }
        self.init(
            clientId: clientId, managerId: managerId, abcClass: abcClass, xyzClass: xyzClass, status: status, measure: measure,
            share: share, cumulativeShareBefore: cumulativeShareBefore, cv: cv, sales: sales, previousAbcClass: previousAbcClass,
            previousXyzClass: previousXyzClass, previousStatus: previousStatus)
    }
}

/// Read by hand for the same reason it is written so: 100,000 results a run.
extension ClassificationRunResults: JSONReadable {
    public init(reading object: inout JSONObjectReader) throws {
        var runId: String?
        var part: Int?
        var clients: [ClientRunResult] = []
        while let field = try object.nextField() {
            switch field {
            case "runId": runId = try object.optionalString(field)
            case "part": part = try object.optionalInt(field)
            case "clients": clients = try object.objects(field) { try ClientRunResult(reading: &$0) }
            default: try object.skip()
            }
        }
        guard let runId else { throw object.missing("runId") }
        guard let part else { throw object.missing("part") }
        self.init(runId: runId, part: part, clients: clients)
    }
}

extension ClassificationRunResults: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.object { json in
            json.field(
                "clients",
                array: { clients in
                    for client in self.clients { client.write(to: &clients) }
                })
            json.field("part", part)
            json.field("runId", runId)
        }
    }
}

/// `crm.classification-runs.v1`: `ClassificationRunResultsRecorded`, one part of a run's results.
public struct ClassificationRunResults: Codable, Sendable, Equatable {
    public var runId: String
    public var part: Int
    public var clients: [ClientRunResult]

    public init(runId: String, part: Int, clients: [ClientRunResult]) {
        self.runId = runId
        self.part = part
        self.clients = clients
    }
}

/// Events on `crm.segments.v1` (compacted), keyed by client id: the latest classification.
public enum SegmentEvent: TopicEvents, Equatable {
    case clientClassified(ClientClassification)

    public static let topic = Topics.segments

    public enum Message: String, CaseIterable, Sendable {
        case clientClassified = "ClientClassified"
    }

    public var message: Message {
        switch self {
        case .clientClassified: .clientClassified
        }
    }

    public var key: String {
        switch self {
        case .clientClassified(let data): data.clientId
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> SegmentEvent {
        switch message {
        case .clientClassified: .clientClassified(try ClientClassification.read(data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .clientClassified(let data): try WireEncoder.encode(data)
        }
    }
}

/// Events on `crm.classification-runs.v1`: a run's result parts (keyed `<run id>/<part>`), then
/// the run (keyed by its id).
public enum ClassificationRunEvent: TopicEvents, Equatable {
    case resultsRecorded(ClassificationRunResults)
    case runRecorded(ClassificationRun)

    public static let topic = Topics.classificationRuns

    public enum Message: String, CaseIterable, Sendable {
        case resultsRecorded = "ClassificationRunResultsRecorded"
        case runRecorded = "ClassificationRunRecorded"
    }

    public var message: Message {
        switch self {
        case .resultsRecorded: .resultsRecorded
        case .runRecorded: .runRecorded
        }
    }

    public var key: String {
        switch self {
        case .resultsRecorded(let data): "\(data.runId)/\(data.part)"
        case .runRecorded(let data): data.id
        }
    }

    public static func decode(_ message: Message, data: [UInt8]) throws -> ClassificationRunEvent {
        switch message {
        case .resultsRecorded: .resultsRecorded(try ClassificationRunResults.read(data))
        case .runRecorded: .runRecorded(try WireDecoder.decode(ClassificationRun.self, from: data))
        }
    }

    public func encodeData() throws -> [UInt8] {
        switch self {
        case .resultsRecorded(let data): try WireEncoder.encode(data)
        case .runRecorded(let data): try WireEncoder.encode(data)
        }
    }
}
