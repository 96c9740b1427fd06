import Foundation
import Hummingbird
import WireFormat
import WireSchema

extension Request {
    /// Reads a JSON body of at most `maxBytes` with our strict parser; errors are 4xx problems. A
    /// body that is empty (or only whitespace) is `empty` where the route allows one, else a 400.
    public mutating func jsonBody(maxBytes: Int, empty: JSONValue? = nil) async throws -> JSONValue {
        if let type = headers[.contentType]?.lowercased(), !type.hasPrefix("application/json"),
            !(type.hasPrefix("application/") && type.contains("+json"))
        {
            throw Problem(.unsupportedMediaType, "send the body as application/json (got \(type))")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: maxBytes)
        } catch {
            throw Problem(.contentTooLarge, "the body is larger than \(maxBytes) bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let empty else { throw Problem.badRequest("the request needs a JSON body") }
            return empty
        }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw Problem.badRequest("malformed JSON: \(error)")
        }
    }

    /// Decodes a JSON body into `T`, naming the offending field on failure.
    public mutating func decodeJSON<T: Decodable>(_ type: T.Type, maxBytes: Int) async throws -> T {
        let value = try await jsonBody(maxBytes: maxBytes)
        return try decodeProblem(type, from: value)
    }
}

/// Decodes a parsed body, turning a decoding failure into 422 with the field's name.
public func decodeProblem<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
    do {
        return try WireDecoder.decode(type, from: value)
    } catch let problem as Problem {
        throw problem
    } catch {
        throw Problem.unprocessable(WireFormatError.describing(error).description)
    }
}

/// A JSON response with our encoder (sorted keys, UTC times with milliseconds).
public func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    let bytes = try WireEncoder.encode(value)
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// A response of JSON written by hand (`JSONWriter`), for answers too large for the encoder's pace.
public func jsonResponse(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// A page of a list: `{"items": [...], "nextCursor": "..."}`; `nextCursor` is null on the last page.
public struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    public let items: [Item]
    public let nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)  // explicit null, not omitted
    }
}

/// Opaque cursors: base64url of the last sort key of the page.
public enum Cursor {
    public static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ cursor: String) throws -> String {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let key = String(data: data, encoding: .utf8) else {
            throw Problem.badRequest("invalid cursor")
        }
        return key
    }
}

/// Reads `limit` from the query: 1…maximum, default when absent.
public func pageLimit(_ request: Request, default defaultLimit: Int = 50, maximum: Int = 500) throws -> Int {
    guard let text = request.uri.queryParameters.get("limit") else { return defaultLimit }
    guard let limit = Int(text), (1...maximum).contains(limit) else {
        throw Problem.badRequest("limit must be an integer from 1 to \(maximum)")
    }
    return limit
}

/// `If-Match: "<version>"`: 412 when the resource has moved on since the client read it (`*`
/// matches any version).
public func checkIfMatch(_ request: Request, _ bookkeeping: Bookkeeping, _ what: String) throws {
    try checkIfMatch(request.headers[.ifMatch], version: bookkeeping.version, what)
}

/// The same for anything versioned (a setting with a version but no entity bookkeeping).
public func checkIfMatch(_ ifMatch: String?, version: Int, _ what: String) throws {
    if let ifMatch, ifMatch != "*", ifMatch != "\"\(version)\"" {
        throw Problem(.preconditionFailed, "\(what) is at version \(version), not \(ifMatch)")
    }
}

/// A resource with its ETag (and Location when created).
public func resourceResponse<R: Encodable>(
    _ resource: R, _ bookkeeping: Bookkeeping, status: HTTPResponse.Status = .ok, location: String? = nil
) throws -> Response {
    var headers: HTTPFields = [.eTag: bookkeeping.etag]
    if let location { headers[.location] = location }
    return try jsonResponse(resource, status: status, headers: headers)
}

/// Applies a JSON merge patch (RFC 7396) to a record; the result is decoded again, so a patch
/// can only produce a valid record (422 naming the field otherwise).
public func mergePatched<T: Codable>(_ record: T, with patch: JSONValue) throws -> T {
    guard case .object = patch else { throw Problem.unprocessable("a merge patch must be a JSON object") }
    let current = try JSONParser.parse(try WireEncoder.encode(record))
    return try decodeProblem(T.self, from: current.merged(with: patch))
}
