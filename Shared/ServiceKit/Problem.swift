import Foundation
import Hummingbird
import WireFormat
import WireSchema

/// An RFC 9457 problem: every error a client sees is one of these, as `application/problem+json`.
public struct Problem: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let title: String
    public let detail: String
    /// Extra members (e.g. `existingId` on a 409).
    public let extensions: [String: String]
    /// Per-line errors of an upload (`errors`: `[{"line": 12, "detail": "…"}]`).
    public var lineErrors: [LineError] = []
    public var headers: HTTPFields = [:]

    public struct LineError: Sendable, Equatable {
        public let line: Int
        public let detail: String

        public init(line: Int, detail: String) {
            self.line = line
            self.detail = detail
        }
    }

    public init(_ status: HTTPResponse.Status, _ detail: String, title: String? = nil, extensions: [String: String] = [:]) {
        self.status = status
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.extensions = extensions
    }

    public static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, detail) }
    public static func notFound(_ detail: String) -> Problem { Problem(.notFound, detail) }
    public static func conflict(_ detail: String, extensions: [String: String] = [:]) -> Problem {
        Problem(.conflict, detail, extensions: extensions)
    }
    public static func unprocessable(_ detail: String) -> Problem { Problem(.unprocessableContent, detail) }
    public static func unavailable(_ detail: String, extensions: [String: String] = [:]) -> Problem {
        var problem = Problem(.serviceUnavailable, detail, extensions: extensions)
        problem.headers[.retryAfter] = "5"
        return problem
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: String] = extensions
        body["type"] = "about:blank"
        body["title"] = title
        body["detail"] = detail
        body["instance"] = request.uri.path
        var object: [String: Any] = body
        object["status"] = Int(status.code)
        if !lineErrors.isEmpty { object["errors"] = lineErrors.map { ["line": $0.line, "detail": $0.detail] as [String: Any] } }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error a handler throws into a problem response, so clients never see an empty 500
/// and never a stack of framework text.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError {
            throw Problem(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as any HTTPResponseError {
            throw Problem(error.status, error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw Problem(.internalServerError, "internal error; see the service log")
        }
    }
}
