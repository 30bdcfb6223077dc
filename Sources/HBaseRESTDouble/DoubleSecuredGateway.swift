import Crypto
public import Foundation
public import HTTPTypes
import Kerberos
import NIOPosix
import Synchronization

/// Grants with the semantics of HBase's AccessController (HBASE_REST.md §4).
///
/// A user holds R, W, X, C, A globally, on a namespace, or on a table; namespace permissions are inherited by
/// the namespace's tables and global permissions by everything. Permissions are independent (A does not imply R).
///
/// Read from a file in HBase shell syntax, one grant per line (`#` comments, blank lines ignored):
///
///     grant 'admin', 'RWXCA'                      # global
///     grant 'trainer', 'C', '@sonarlab'           # namespace
///     grant 'trainer', 'RW', 'sonarlab:experiments' # table (`default:` when unqualified)
public struct HBaseDoubleGrants: Sendable, Equatable {
    /// Where a grant applies.
    public enum Scope: Sendable, Hashable {
        case global
        case namespace(String)
        case table(namespace: String, name: String)
    }

    /// user → scope → actions.
    public private(set) var grants: [String: [Scope: Set<HBaseDoubleAction>]] = [:]

    /// Creates grants from shell lines.
    /// - Parameter text: The grants file's text.
    /// - Throws: ``HBaseDoubleConfigurationError`` naming the first bad line.
    public init(parsing text: String) throws {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line =
                rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            func bad(_ why: String) -> HBaseDoubleConfigurationError {
                HBaseDoubleConfigurationError(message: "grants line \(index + 1): \(why)")
            }
            guard line.hasPrefix("grant ") else { throw bad("expected grant 'user', 'PERMS'[, 'scope']") }
            let arguments = line.dropFirst(6).split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            }
            guard arguments.count == 2 || arguments.count == 3, !arguments[0].isEmpty else {
                throw bad("expected grant 'user', 'PERMS'[, 'scope']")
            }
            var actions = Set<HBaseDoubleAction>()
            for letter in arguments[1] {
                guard let action = HBaseDoubleAction(rawValue: String(letter)) else {
                    throw bad("unknown permission '\(letter)' (use R, W, X, C, A)")
                }
                actions.insert(action)
            }
            let scope: Scope
            if arguments.count == 2 {
                scope = .global
            } else if arguments[2].hasPrefix("@") {
                scope = .namespace(String(arguments[2].dropFirst()))
            } else {
                let parts = arguments[2].split(separator: ":", maxSplits: 1).map(String.init)
                scope =
                    parts.count == 2
                    ? .table(namespace: parts[0], name: parts[1]) : .table(namespace: "default", name: parts[0])
            }
            grants[arguments[0], default: [:]][scope, default: []].formUnion(actions)
        }
    }

    /// Whether `user` holds `action` on `scope`, with HBase's inheritance.
    /// - Parameters:
    ///   - user: The short user name.
    ///   - action: The permission.
    ///   - scope: What the request touches.
    /// - Returns: `true` when granted globally, on the namespace (for a namespace or its tables) or on the table.
    public func allows(user: String, action: HBaseDoubleAction, scope: HBaseDoubleScope) -> Bool {
        guard let held = grants[user] else { return false }
        if held[.global]?.contains(action) == true { return true }
        switch scope {
        case .global:
            return false
        case .namespace(let namespace):
            return held[.namespace(namespace)]?.contains(action) == true
        case .table(let namespace, let name):
            return held[.namespace(namespace)]?.contains(action) == true
                || held[.table(namespace: namespace, name: name)]?.contains(action) == true
        }
    }
}

/// A bad grants or users file, or unusable security options.
public struct HBaseDoubleConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// Creates an error.
    /// - Parameter message: What is wrong.
    public init(message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// A secured gateway: Kerberos SPNEGO as hadoop-auth does it (or HTTP Basic, as a Knox-style gateway in
/// front of HBase), then AccessController-style grants (HBASE_REST.md §4).
///
/// Kerberos: `Authorization: Negotiate <b64>` is accepted with the service keytab (`gss_accept_sec_context`,
/// on NIO's blocking thread pool), the principal is mapped to its short name (`trainer@REALM` → `trainer`), and
/// the answer carries the mutual token in `WWW-Authenticate: Negotiate <b64>` and a signed `hadoop.auth`
/// session cookie; a valid cookie then authenticates without a token. No or bad credentials: 401 with
/// `WWW-Authenticate: Negotiate`. Authenticated users without the grant: 403 "Forbidden".
public final class HBaseDoubleSecuredGateway: HBaseDoubleSecurity {
    /// How users authenticate.
    public enum Authentication: Sendable {
        /// SPNEGO with the service keytab (holding `HTTP/host@REALM`).
        case kerberos(keytab: String)
        /// HTTP Basic against `user → password`.
        case basic(users: [String: String])
    }

    private let acceptor: SPNEGOAcceptor?
    private let users: [String: String]
    private let grants: HBaseDoubleGrants
    private let secureCookie: Bool
    private let cookieKey = SymmetricKey(size: .bits256)
    private let cookieValidity: TimeInterval
    private let threadPool: NIOThreadPool

    /// Creates the gateway's security.
    /// - Parameters:
    ///   - authentication: Kerberos or Basic.
    ///   - grants: Who may do what.
    ///   - secureCookie: Mark the session cookie `Secure` (when serving TLS).
    ///   - cookieValidity: How long a `hadoop.auth` cookie is valid (hadoop-auth's `token.validity`).
    public init(
        authentication: Authentication, grants: HBaseDoubleGrants, secureCookie: Bool = false,
        cookieValidity: TimeInterval = 36000
    ) {
        switch authentication {
        case .kerberos(let keytab):
            acceptor = SPNEGOAcceptor(keytab: keytab)
            users = [:]
        case .basic(let table):
            acceptor = nil
            users = table
        }
        self.grants = grants
        self.secureCookie = secureCookie
        self.cookieValidity = cookieValidity
        self.threadPool = .singleton
    }

    /// Reads a users file for Basic: `user:password` per line (`#` comments).
    /// - Parameter text: The file's text.
    /// - Returns: user → password.
    /// - Throws: ``HBaseDoubleConfigurationError`` for a line without `:`.
    public static func parseUsers(_ text: String) throws -> [String: String] {
        var users: [String: String] = [:]
        for (index, line) in text.split(separator: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw HBaseDoubleConfigurationError(message: "users line \(index + 1): expected user:password")
            }
            users[String(trimmed[..<colon])] = String(trimmed[trimmed.index(after: colon)...])
        }
        return users
    }

    private var challengeScheme: String { acceptor == nil ? "Basic realm=\"hbase\"" : "Negotiate" }

    private func challenge() -> HBaseDoubleAuthentication {
        var fields = HTTPFields()
        fields[.wwwAuthenticate] = challengeScheme
        return .challenge(fields)
    }

    /// Authenticates by cookie, SPNEGO token or Basic credentials.
    /// - Parameter head: The request head.
    /// - Returns: The short user name with the mutual token and cookie, or a 401 challenge.
    public func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
        if let user = userFromCookie(head.headerFields[.cookie]) {
            return .authenticated(user: user, responseHeaders: [:])
        }
        guard let authorization = head.headerFields[.authorization] else { return challenge() }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return challenge() }
        let scheme = parts[0].lowercased()
        let credential = parts[1].trimmingCharacters(in: .whitespaces)
        if let acceptor {
            guard scheme == "negotiate", let token = Data(base64Encoded: credential) else { return challenge() }
            let accepted: SPNEGOAcceptor.Accepted
            do {
                accepted = try await threadPool.runIfActive { try acceptor.accept(Array(token)) }
            } catch {
                return challenge()
            }
            var fields = HTTPFields()
            fields[.wwwAuthenticate] = "Negotiate " + Data(accepted.responseToken ?? []).base64EncodedString()
            fields[.setCookie] = makeCookie(user: accepted.shortName, principal: accepted.principal)
            return .authenticated(user: accepted.shortName, responseHeaders: fields)
        }
        guard scheme == "basic", let data = Data(base64Encoded: credential),
            let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { return challenge() }
        let user = String(pair[..<colon])
        let password = Data(pair[pair.index(after: colon)...].utf8)
        guard let expected = users[user],
            // Constant-time comparison of equal-length digests.
            Data(SHA256.hash(data: Data(expected.utf8))) == Data(SHA256.hash(data: password))
        else { return challenge() }
        return .authenticated(user: user, responseHeaders: [:])
    }

    /// AccessController's decision from the grants; anonymous requests are never allowed.
    /// - Parameters:
    ///   - user: The short user name.
    ///   - action: The permission needed.
    ///   - scope: What the request touches.
    /// - Returns: Whether the grants allow it.
    public func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool {
        guard let user else { return false }
        return grants.allows(user: user, action: action, scope: scope)
    }

    // MARK: hadoop.auth cookie: "u=user&p=principal&t=kerberos&e=expiry-ms&s=signature"

    private func signature(_ payload: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: cookieKey)).base64EncodedString()
    }

    private func makeCookie(user: String, principal: String) -> String {
        let expiry = Int64((Date().timeIntervalSince1970 + cookieValidity) * 1000)
        let payload = "u=\(user)&p=\(principal)&t=kerberos&e=\(expiry)"
        let value = payload + "&s=" + signature(payload)
        return "hadoop.auth=\"\(value)\"; Path=/; HttpOnly" + (secureCookie ? "; Secure" : "")
    }

    private func userFromCookie(_ header: String?) -> String? {
        guard let header else { return nil }
        for item in header.split(separator: ";") {
            let pair = item.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix("hadoop.auth=") else { continue }
            let value = pair.dropFirst("hadoop.auth=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard let range = value.range(of: "&s=", options: .backwards) else { return nil }
            let payload = String(value[..<range.lowerBound])
            let given = Data(value[range.upperBound...].utf8)
            guard Data(SHA256.hash(data: given)) == Data(SHA256.hash(data: Data(signature(payload).utf8))) else {
                return nil
            }
            var fields: [String: String] = [:]
            for field in payload.split(separator: "&") {
                let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { fields[kv[0]] = kv[1] }
            }
            guard let user = fields["u"], let expiry = fields["e"].flatMap(Int64.init),
                expiry > Int64(Date().timeIntervalSince1970 * 1000)
            else { return nil }
            return user
        }
        return nil
    }
}
