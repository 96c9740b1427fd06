import Hummingbird

/// Who is acting: recorded on every event a request causes.
public struct ActingUser: Sendable, Equatable {
    public let id: String
    public init(id: String) { self.id = id }
}

/// The one seam that turns a request into an acting user: `ServiceHost` takes any, so signed tokens
/// and per-record authorization can replace static tokens without touching a service.
public protocol Authenticator: Sendable {
    /// nil: the request is unauthenticated (401).
    func authenticate(_ request: Request) -> ActingUser?
    /// Logged once at start when the set-up deserves an operator's attention.
    var startupWarning: String? { get }
}

extension Authenticator {
    public var startupWarning: String? { nil }
}

/// `Authorization: Bearer <token>` against configured tokens; with none configured, everyone is the
/// local administrator (the local default of `scripts/run`).
public struct StaticTokenAuthenticator: Authenticator {
    private let tokens: [String: String]

    public init(tokens: [String: String]) {
        self.tokens = tokens
    }

    public var isOpen: Bool { tokens.isEmpty }

    public var startupWarning: String? {
        guard isOpen else { return nil }
        return "no auth tokens configured (CRM_AUTH_TOKENS): every request acts as the built-in local administrator "
            + "'\(ServiceConfiguration.localAdministrator)'"
    }

    public func authenticate(_ request: Request) -> ActingUser? {
        if tokens.isEmpty { return ActingUser(id: ServiceConfiguration.localAdministrator) }
        guard let header = request.headers[.authorization] else { return nil }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        return tokens[token].map(ActingUser.init(id:))
    }
}

/// The request context of every CRM service: the acting user once authenticated.
public struct CRMRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var actingUser: ActingUser?

    public init(source: Source) {
        coreContext = .init(source: source)
        actingUser = nil
    }

    /// The acting user; handlers behind `AuthenticationMiddleware` always have one.
    public func requireUser() throws -> ActingUser {
        guard let actingUser else { throw Problem(.unauthorized, "authentication required") }
        return actingUser
    }
}

public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = CRMRequestContext
    let authenticator: any Authenticator

    public init(authenticator: any Authenticator) {
        self.authenticator = authenticator
    }

    public func handle(
        _ request: Request, context: CRMRequestContext, next: (Request, CRMRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let user = authenticator.authenticate(request) else {
            var problem = Problem(.unauthorized, "missing or unknown bearer token")
            problem.headers[.wwwAuthenticate] = "Bearer"
            throw problem
        }
        var context = context
        context.actingUser = user
        context.logger[metadataKey: "user"] = "\(user.id)"
        return try await next(request, context)
    }
}
