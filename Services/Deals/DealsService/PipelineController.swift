import Foundation
import GRDB
import Hummingbird
import ServiceKit
import WireFormat
import WireSchema

/// `/pipeline`: the open stages of a deal in order, each with its default probability; won and lost
/// always close it.
struct PipelineController {
    let context: DealsContext

    func addRoutes(to group: RouterGroup<CRMRequestContext>) {
        group.get("/pipeline", use: show)
        group.put("/pipeline", use: replace)
    }

    /// Held while a new pipeline is checked against the open deals and published.
    static let lock = "pipeline"

    struct PipelineResource: Encodable, Sendable {
        let stages: [Pipeline.Stage]
        let terminalStages: [String]
        let version: Int
        let updatedAt: String?
        let updatedBy: String?

        var etag: String { "\"\(version)\"" }
    }

    @Sendable func show(_ request: Request, context: CRMRequestContext) async throws -> Response {
        let resource = try await self.context.read(Self.resource)
        return try jsonResponse(resource, headers: [.eTag: resource.etag])
    }

    /// Replaces the stages. A stage that open deals are at cannot be dropped (409 naming it).
    @Sendable func replace(_ request: Request, context: CRMRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let pipeline = try Self.validated(try await request.decodeJSON(Pipeline.self, maxBytes: self.context.maxBodyBytes))
        let ifMatch = request.headers[.ifMatch]
        try await self.context.commandLocks.withLock([Self.lock]) {
            let current = try await self.context.read { db in try SettingVersion.fetch(db, key: DealSettingsEvent.pipelineKey) }
            try checkIfMatch(ifMatch, version: current.version, "the pipeline")
            let kept = Set(pipeline.stages.map(\.id))
            let stranded = try await self.context.read { db in
                try Row.fetchAll(db, sql: "SELECT stage, COUNT(*) FROM deal WHERE open = 1 GROUP BY stage ORDER BY stage")
                    .filter { !kept.contains($0[0]) }.map { "\($0[0] as String) (\($0[1] as Int) open deals)" }
            }
            if !stranded.isEmpty {
                throw Problem.conflict(
                    "open deals are at stages the new pipeline drops: \(stranded.joined(separator: ", ")); move them first")
            }
            try await self.context.publish(DealSettingsEvent.pipelineDefined(pipeline), by: user)
        }
        let resource = try await self.context.read(Self.resource)
        return try jsonResponse(resource, headers: [.eTag: resource.etag])
    }

    static func validated(_ pipeline: Pipeline) throws -> Pipeline {
        if pipeline.stages.isEmpty { throw Problem.unprocessable("stages must name at least one open stage") }
        if pipeline.stages.count > 30 { throw Problem.unprocessable("stages has more than 30 entries") }
        var seen = Set<String>()
        var stages: [Pipeline.Stage] = []
        for (index, stage) in pipeline.stages.enumerated() {
            try Validation.validateId(stage.id, "stages[\(index)].id")
            if Deal.terminalStages.contains(stage.id) {
                throw Problem.unprocessable("stages[\(index)].id: '\(stage.id)' is a terminal stage; won and lost are always there")
            }
            if !seen.insert(stage.id).inserted { throw Problem.unprocessable("stages[\(index)].id: '\(stage.id)' appears twice") }
            try DealsValidation.probability(stage.probability, "stages[\(index)].probability")
            stages.append(
                Pipeline.Stage(
                    id: stage.id, name: try Validation.required(stage.name, "stages[\(index)].name", maxLength: 100),
                    probability: stage.probability))
        }
        return Pipeline(stages: stages)
    }

    @Sendable static func resource(_ db: Database) throws -> PipelineResource {
        let version = try SettingVersion.fetch(db, key: DealSettingsEvent.pipelineKey)
        return PipelineResource(
            stages: try Pipeline.current(db).stages, terminalStages: Deal.terminalStages, version: version.version,
            updatedAt: version.updatedAt, updatedBy: version.updatedBy)
    }
}
