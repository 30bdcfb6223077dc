public import HTTPTypes
public import Hummingbird
public import Kerberos
import Foundation
import NIOCore
import NIOPosix
import Logging

/// How a request proves who sent it.
///
/// - `none`: every request is anonymous (``CallerIdentifiedContext/caller`` stays `nil`).
/// - bearer (RFC 6750 §2.1): `Authorization: Bearer <token>`; the caller is the token's name in the
///   ``BearerTokenTable``. No or an unknown token: 401 with `WWW-Authenticate: Bearer` (plus
///   `error="invalid_token"` for a token that was sent, §3.1).
/// - kerberos (RFC 4559 §4): `Authorization: Negotiate <base64 SPNEGO token>`, accepted with the service keytab on
///   NIO's blocking thread pool (GSS calls block); the caller is the client principal (`alice@REALM`) and the response
///   carries the mutual-authentication token in `WWW-Authenticate: Negotiate <base64>`. No or a bad token: 401 with
///   `WWW-Authenticate: Negotiate`.
public struct CallerAuthenticator: Sendable {
    enum Method: Sendable {
        case none
        case bearer(BearerTokenTable)
        case kerberos(SPNEGOAcceptor)
    }

    let method: Method

    /// No authentication.
    public static let none = CallerAuthenticator(method: .none)

    /// Bearer tokens from a table.
    /// - Parameter tokens: the accepted tokens.
    /// - Returns: the authenticator.
    public static func bearer(_ tokens: BearerTokenTable) -> CallerAuthenticator {
        CallerAuthenticator(method: .bearer(tokens))
    }

    /// Kerberos SPNEGO with the service keytab.
    /// - Parameter acceptor: the acceptor holding the service keytab (`HTTP/host@REALM`).
    /// - Returns: the authenticator.
    public static func kerberos(_ acceptor: SPNEGOAcceptor) -> CallerAuthenticator {
        CallerAuthenticator(method: .kerberos(acceptor))
    }

    /// The result of authenticating one request.
    enum Outcome: Sendable {
        /// Authentication is off.
        case anonymous
        /// The caller, with headers to add to the response (the mutual token).
        case authenticated(caller: String, responseHeaders: HTTPFields)
        /// A 401 to send instead of calling the handler; `reason` is for the log and holds no credential.
        case refused(challenge: String, message: String, reason: String)
    }

    /// Authenticates one request from its `Authorization` header.
    func authenticate(_ headers: HTTPFields) async -> Outcome {
        let (scheme, credential) = Self.split(headers[.authorization])
        switch method {
        case .none:
            return .anonymous
        case .bearer(let tokens):
            guard scheme == "bearer", let credential else {
                return .refused(
                    challenge: "Bearer", message: "authentication required: send Authorization: Bearer <token>",
                    reason: scheme == nil ? "no credentials" : "not the Bearer scheme")
            }
            guard let name = tokens.caller(presenting: credential) else {
                return .refused(
                    challenge: "Bearer error=\"invalid_token\"", message: "the bearer token is not valid",
                    reason: "unknown bearer token")
            }
            return .authenticated(caller: name, responseHeaders: [:])
        case .kerberos(let acceptor):
            guard scheme == "negotiate", let credential, let token = Data(base64Encoded: credential) else {
                return .refused(
                    challenge: "Negotiate", message: "authentication required: send Authorization: Negotiate <token>",
                    reason: scheme == nil ? "no credentials" : "not the Negotiate scheme")
            }
            do {
                let accepted = try await NIOThreadPool.singleton.runIfActive { try acceptor.accept(Array(token)) }
                var fields = HTTPFields()
                if let response = accepted.responseToken {
                    fields[.wwwAuthenticate] = "Negotiate " + Data(response).base64EncodedString()
                }
                return .authenticated(caller: accepted.principal, responseHeaders: fields)
            } catch let error as KerberosError {
                return .refused(
                    challenge: "Negotiate", message: "the Kerberos token was not accepted",
                    reason: "Kerberos \(error.code) in \(error.operation)")
            } catch {
                return .refused(
                    challenge: "Negotiate", message: "the Kerberos token was not accepted", reason: "\(type(of: error))"
                )
            }
        }
    }

    /// `Authorization: <scheme> <credential>` → (lower-cased scheme, credential).
    static func split(_ header: String?) -> (scheme: String?, credential: String?) {
        guard let header else { return (nil, nil) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard let first = parts.first else { return (nil, nil) }
        let credential = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        return (first.lowercased(), credential.isEmpty ? nil : credential)
    }
}

/// Authenticates the callers of one route group and checks the group's allow-list.
///
/// Attach one to each protected group (`group.add(middleware: policy.middleware(for: .infer))`); health and metadata
/// routes get none. Refusals never call the handler: 401 with `WWW-Authenticate` (see ``CallerAuthenticator``), or
/// 403 when the caller is not on the list. Both have the body `{"error": "…"}`, which names the group and the caller
/// but never a token. A listed name matches a caller equal to it, and a name without `@` also matches that name in any
/// realm (`alice` allows `alice@REALM`, not `alice/admin@REALM`). An empty list allows every authenticated caller.
public struct CallerAccessMiddleware<Context: CallerIdentifiedContext>: RouterMiddleware {
    /// The route group this instance guards.
    public let group: ServingRouteGroup
    let authenticator: CallerAuthenticator
    let allowed: Set<String>

    /// Creates the middleware.
    /// - Parameters:
    ///   - group: the route group (for messages and logs).
    ///   - authenticator: how callers authenticate.
    ///   - allowed: the group's allow-list; empty allows every authenticated caller.
    public init(group: ServingRouteGroup, authenticator: CallerAuthenticator, allowed: [String]) {
        self.group = group
        self.authenticator = authenticator
        self.allowed = Set(allowed)
    }

    /// Authenticates, authorises, then calls `next` with ``CallerIdentifiedContext/caller`` set.
    /// - Returns: the handler's response (with the mutual-authentication header), or a 401 / 403.
    /// - Throws: what `next` throws.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch await authenticator.authenticate(request.headers) {
        case .anonymous:
            return try await next(request, context)
        case .refused(let challenge, let message, let reason):
            context.logger.notice(
                "caller refused", metadata: ["group": "\(group)", "status": "401", "reason": "\(reason)"])
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = challenge
            return Self.errorResponse(.unauthorized, message, headers: headers)
        case .authenticated(let caller, let responseHeaders):
            guard isAllowed(caller) else {
                context.logger.notice(
                    "caller refused", metadata: ["group": "\(group)", "status": "403", "caller": "\(caller)"])
                return Self.errorResponse(
                    .forbidden,
                    "'\(caller)' may not use the \(group) routes (not in [serve] \(group.allowListKey))",
                    headers: responseHeaders)
            }
            var context = context
            context.caller = caller
            var response = try await next(request, context)
            response.headers.append(contentsOf: responseHeaders)
            return response
        }
    }

    /// Whether the allow-list admits `caller`.
    func isAllowed(_ caller: String) -> Bool {
        if allowed.isEmpty || allowed.contains(caller) { return true }
        guard let at = caller.lastIndex(of: "@") else { return false }
        return allowed.contains(String(caller[..<at]))
    }

    /// `{"error": message}` with `status`.
    static func errorResponse(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data(#"{"error":"refused"}"#.utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
