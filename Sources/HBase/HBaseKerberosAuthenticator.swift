import Foundation
import Kerberos
import NIOPosix
import Synchronization

/// Kerberos SPNEGO (`Authorization: Negotiate`, RFC 4559) for HBase's REST gateway (HBASE_REST.md §4).
///
/// Without a session it sends a fresh SPNEGO token for `HTTP@<gateway host>` with every request
/// (preemptively, as hadoop-auth clients do), checks the gateway's mutual-authentication token from
/// `WWW-Authenticate: Negotiate <base64>`, and keeps the `hadoop.auth` cookie the gateway sets: while
/// it has one it sends the cookie instead of a token. A 401 drops the cookie; when the refused attempt
/// carried the cookie (an expired session) the request is signed again with a new token, once.
///
/// Credentials come from a client keytab (`KRB5_CLIENT_KTNAME`) or the ticket cache (`KRB5CCNAME`);
/// `KRB5_CONFIG` selects the realm. GSS calls block (they may talk to the KDC) and run on NIO's
/// blocking thread pool, never on an event loop or the cooperative pool. Failures to make a token become
/// ``HBaseError/credentialsExpired`` (an expired ticket without a keytab: run `kinit`) or
/// ``HBaseError/credentialsUnavailable`` with the library's explanation, and a failed mutual authentication
/// ``HBaseError/mutualAuthenticationFailed``; only the gateway's own 401 is ``HBaseError/unauthorized``. No
/// token, cookie or keytab path is ever put in a message. Without a keytab the ticket cache is checked with
/// libkrb5 first (``KerberosTicketCache``).
public final class HBaseKerberosAuthenticator: HBaseAuthenticator, CustomStringConvertible {
    /// The client principal, when not the credential's default one.
    public let principal: String?
    /// The gateway's service principal (`HTTP/gw.example@REALM`), when not `HTTP@<host of the URL>`.
    public let servicePrincipal: String?
    private let keytab: String?
    private let credentialsCache: String?
    private let threadPool: NIOThreadPool

    private struct State {
        /// `hadoop.auth=…`, the gateway's session cookie.
        var cookie: String?
        /// Initiators not in use; each holds acquired credentials and can start a new context.
        var idle: [String: [SPNEGOInitiator]] = [:]
        /// The initiator whose context awaits the server's token, by request id.
        var pending: [UInt64: (service: String, initiator: SPNEGOInitiator)] = [:]
        /// Requests whose last attempt carried the cookie.
        var sentCookie: Set<UInt64> = []
    }
    private let state = Mutex(State())

    /// Creates the authenticator.
    /// - Parameters:
    ///   - principal: The client principal (`trainer` or `trainer@REALM`), `nil` for the credential's default.
    ///   - keytab: A client keytab to get tickets from; `nil` for `KRB5_CLIENT_KTNAME` / the ticket cache.
    ///   - credentialsCache: A ticket cache to use instead of `KRB5CCNAME`'s.
    ///   - servicePrincipal: The gateway's service principal (`HTTP/gw.example@REALM`, `SONARLAB_HBASE_SPN`) for a
    ///     gateway behind a CNAME or a load balancer; `nil` for the host-based `HTTP@<host of the URL>`.
    public init(
        principal: String? = nil, keytab: String? = nil, credentialsCache: String? = nil,
        servicePrincipal: String? = nil
    ) {
        self.principal = principal
        self.servicePrincipal = servicePrincipal
        self.keytab = keytab.map { $0.hasPrefix("FILE:") ? String($0.dropFirst(5)) : $0 }
        self.credentialsCache = credentialsCache
        self.threadPool = .singleton
    }

    /// SPNEGO tokens are single-use and bound to the service: nothing reusable goes over the wire.
    public var sendsReusableSecret: Bool { false }

    /// Names the principal, never the keytab.
    public var description: String { "HBaseKerberosAuthenticator(principal: \(principal ?? "<default>"))" }

    /// The cookie if there is a session, else `Authorization: Negotiate <token>`.
    /// - Parameter request: The request; its host names the service `HTTP@host` unless ``servicePrincipal`` is set.
    /// - Returns: One header.
    /// - Throws: ``HBaseError/credentialsExpired`` when the ticket expired and there is no keytab (run `kinit`);
    ///   ``HBaseError/credentialsUnavailable`` when GSSAPI cannot make a token for another reason (no or an unusable
    ///   ticket cache, unknown principal, clock skew). Nothing is sent in either case.
    public func headers(for request: HBaseAuthenticationRequest) async throws -> [HBaseHeader] {
        let service = servicePrincipal ?? "HTTP@\(request.host)"
        let (cookie, reused) = state.withLock { state -> (String?, SPNEGOInitiator?) in
            if let pending = state.pending.removeValue(forKey: request.id) {
                state.idle[pending.service, default: []].append(pending.initiator)
            }
            if let cookie = state.cookie {
                state.sentCookie.insert(request.id)
                return (cookie, nil)
            }
            state.sentCookie.remove(request.id)
            return (nil, state.idle[service]?.popLast())
        }
        if let cookie { return [HBaseHeader(name: "Cookie", value: cookie)] }
        let initiator =
            reused
            ?? SPNEGOInitiator(
                service: service, clientPrincipal: principal, clientKeytab: keytab, credentialsCache: credentialsCache)
        let token: [UInt8]
        do {
            token = try await threadPool.runIfActive { try initiator.makeToken() }
        } catch let error as KerberosError {
            let kind: HBaseError = error.code == .expiredTicket ? .credentialsExpired : .credentialsUnavailable
            throw kind.with(message: failureMessage(error, service: service))
        } catch {
            throw HBaseError.credentialsUnavailable.with(
                message: "Kerberos authentication to \(service) failed: no thread to run GSSAPI on")
        }
        state.withLock { state in
            // Bound what a request that never got an answer (a transport failure) can leave behind.
            if state.pending.count > 256 { state.pending.removeAll() }
            state.pending[request.id] = (service, initiator)
        }
        return [HBaseHeader(name: "Authorization", value: "Negotiate " + Data(token).base64EncodedString())]
    }

    /// Checks the mutual-authentication token and keeps the `hadoop.auth` cookie.
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - headers: The response headers.
    ///   - request: The request that was answered.
    /// - Throws: ``HBaseError/mutualAuthenticationFailed`` when the gateway's token does not prove it holds the
    ///   service key, or a successful answer to a token carries none (the message gives the HTTP status).
    public func responseReceived(status: Int, headers: [HBaseHeader], for request: HBaseAuthenticationRequest)
        async throws
    {
        let pending = state.withLock { $0.pending.removeValue(forKey: request.id) }
        var cookie: String??
        for header in headers where header.name.lowercased() == "set-cookie" {
            let pair = header.value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard pair.hasPrefix("hadoop.auth=") else { continue }
            let value = pair.dropFirst("hadoop.auth=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            cookie = value.isEmpty ? .some(nil) : .some(pair)
        }
        if let pending {
            let serverToken = headers.lazy.filter { $0.name.lowercased() == "www-authenticate" }
                .compactMap { Self.negotiateToken($0.value) }.first
            defer { state.withLock { $0.idle[pending.service, default: []].append(pending.initiator) } }
            let failed =
                "Kerberos mutual authentication with \(pending.service) failed after the gateway answered HTTP \(status)"
            if let serverToken {
                guard let bytes = Data(base64Encoded: serverToken) else {
                    throw HBaseError.mutualAuthenticationFailed.with(message: "\(failed): its token is not base64")
                }
                do {
                    try await threadPool.runIfActive { try pending.initiator.verifyServerToken(Array(bytes)) }
                } catch let error as KerberosError {
                    throw HBaseError.mutualAuthenticationFailed.with(message: "\(failed): \(scrub(error.message))")
                }
            } else if (200..<300).contains(status) {
                throw HBaseError.mutualAuthenticationFailed.with(message: "\(failed): it sent no Negotiate token back")
            }
        }
        if status == 401 { cookie = .some(nil) }
        if let cookie { state.withLock { $0.cookie = cookie } }
    }

    /// Retries once when the refused attempt carried the session cookie (the session expired).
    /// - Parameters:
    ///   - challenges: The `WWW-Authenticate` values.
    ///   - request: The refused request.
    ///   - attempt: How many 401s this request has had.
    /// - Returns: `.retry` when a new token may succeed.
    public func challenged(by challenges: [String], for request: HBaseAuthenticationRequest, attempt: Int) async
        -> HBaseChallengeResponse
    {
        let usedCookie = state.withLock { $0.sentCookie.remove(request.id) != nil }
        let offersNegotiate = challenges.contains { $0.split(separator: " ").first?.lowercased() == "negotiate" }
        return offersNegotiate && usedCookie && attempt == 1 ? .retry : .fail
    }

    /// The base64 token of a `Negotiate <token>` header value, `nil` for a bare `Negotiate` or another scheme.
    static func negotiateToken(_ value: String) -> String? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "negotiate" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    private func failureMessage(_ error: KerberosError, service: String) -> String {
        let who = principal.map { " as \($0)" } ?? ""
        // The ticket cache check already says which cache, what is wrong and to run kinit.
        if error.operation.hasPrefix("krb5_cc") {
            return scrub(error.message) + " (authenticating\(who) to \(service))"
        }
        let hint: String
        switch error.code {
        case .noCredentials where keytab != nil:
            hint = "no usable key\(principal.map { " for \($0)" } ?? "") in the client keytab (KRB5_CLIENT_KTNAME)"
        case .noCredentials:
            hint = "no usable Kerberos credentials (set KRB5_CLIENT_KTNAME to a readable keytab, or kinit)"
        case .unknownPrincipal: hint = "a principal is unknown to the KDC"
        case .clockSkew: hint = "clock skew: the clocks of this host and the KDC or gateway differ too much (check NTP)"
        case .expiredTicket: hint = "Kerberos ticket expired; run kinit (or use a keytab)"
        default: hint = "GSSAPI refused"
        }
        return "Kerberos authentication\(who) to \(service) failed: \(hint): \(scrub(error.message))"
    }

    /// The library's text without the keytab or cache path (they may name where secrets live).
    private func scrub(_ text: String) -> String {
        var result = text
        for secretPath in [keytab, credentialsCache].compactMap({ $0 }) where !secretPath.isEmpty {
            result = result.replacingOccurrences(of: secretPath, with: "<redacted>")
        }
        return result
    }
}
