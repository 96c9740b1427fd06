import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The five services as an operator or a script reaches them: their names and default URLs.
public struct ServiceEndpoint: Sendable, Equatable {
    public let name: String
    public let url: URL

    /// contacts 8081, suppliers 8082, deals 8083, scheduler 8084, analytics 8085 on `host`; the
    /// `CRM_<NAME>_PORT` variables (as `scripts/run` reads them) move a port.
    public static func defaults(host: String = "127.0.0.1", environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [ServiceEndpoint]
    {
        [("contacts", 8081), ("suppliers", 8082), ("deals", 8083), ("scheduler", 8084), ("analytics", 8085)].map { name, port in
            let chosen = environment["CRM_\(name.uppercased())_PORT"].flatMap(Int.init) ?? port
            return ServiceEndpoint(name: name, url: URL(string: "http://\(host):\(chosen)")!)
        }
    }
}

/// A small JSON-over-HTTP client for one service: what `crmctl status` and `crmctl demo` use.
public struct ServiceClient: Sendable {
    public struct Answer: Sendable {
        public let status: Int
        public let body: Data
        public var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        public var object: [String: Any] { json as? [String: Any] ?? [:] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// What a service answered that the caller did not expect.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public let base: URL
    let token: String?
    let session: URLSession

    public init(base: URL, token: String? = ProcessInfo.processInfo.environment["CRM_TOKEN"], timeout: TimeInterval = 60) {
        self.base = base
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = 32
        session = URLSession(configuration: configuration)
    }

    /// Sends a request; `body` is encoded as JSON unless it is already `Data` (then `contentType`).
    public func send(
        _ method: String, _ path: String, json body: Any? = nil, data: Data? = nil, contentType: String = "application/json",
        headers: [String: String] = [:]
    ) async throws -> Answer {
        guard let url = URL(string: base.absoluteString + path) else { throw Failure(description: "bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let data {
            request.httpBody = data
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (bytes, response) = try await session.data(for: request)
        return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: bytes)
    }

    /// Sends and requires one of `accepted` statuses; anything else is a failure naming the answer.
    @discardableResult
    public func expect(
        _ accepted: Set<Int>, _ method: String, _ path: String, json body: Any? = nil, data: Data? = nil,
        contentType: String = "application/json", headers: [String: String] = [:]
    ) async throws -> Answer {
        let answer = try await send(method, path, json: body, data: data, contentType: contentType, headers: headers)
        guard accepted.contains(answer.status) else {
            throw Failure(description: "\(method) \(base.absoluteString)\(path) answered \(answer.status): \(answer.text.prefix(500))")
        }
        return answer
    }
}
