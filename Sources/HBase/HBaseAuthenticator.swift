import Foundation

/// One HTTP header an authenticator adds to a request.
public struct HBaseHeader: Hashable, Sendable {
    /// The header name, for example `Authorization`.
    public var name: String
    /// The header value.
    ///
    /// It may be a secret: never log it or put it in a message.
    public var value: String

    /// Creates a header.
    /// - Parameters:
    ///   - name: The header name.
    ///   - value: The header value.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// What an authenticator knows about the request it signs.
public struct HBaseAuthenticationRequest: Sendable {
    /// The gateway's host name, for example for an SPNEGO service principal `HTTP@host`.
    public var host: String
    /// The HTTP method.
    public var method: String
    /// The path and query.
    public var path: String
    /// Identifies one logical request (its attempts share it), so an authenticator can pair the
    /// headers it made with the response that answers them (for example an SPNEGO context).
    public var id: UInt64

    /// Creates a request description.
    /// - Parameters:
    ///   - host: The gateway's host.
    ///   - method: The HTTP method.
    ///   - path: The path and query.
    ///   - id: Identifies the logical request; the client gives each one a new value.
    public init(host: String, method: String, path: String, id: UInt64 = 0) {
        self.host = host
        self.method = method
        self.path = path
        self.id = id
    }
}

/// How an authenticator reacts to a 401 challenge.
public enum HBaseChallengeResponse: Hashable, Sendable {
    /// Sign the request again (``HBaseAuthenticator/headers(for:)`` is called anew) and resend it once.
    case retry
    /// Report ``HBaseError/unauthorized``.
    case fail
}

/// Pluggable authentication for the REST gateway (HBASE_REST.md §4).
///
/// The client asks for headers before each attempt, tells the authenticator about every response
/// (to read a mutual-auth token or a `hadoop.auth` cookie), and on a 401 asks whether to try again
/// with the `WWW-Authenticate` values. `.none` and ``HBaseBasicAuthenticator`` exist now; a Kerberos
/// SPNEGO authenticator fits the same shape (`Negotiate` token in `headers`, mutual token in
/// `responseReceived`, challenge → `.retry` once).
public protocol HBaseAuthenticator: Sendable {
    /// Whether credentials would be exposed on plain http (Basic: yes).
    ///
    /// The client then refuses
    /// http unless the host is loopback and the configuration explicitly allows it.
    var sendsReusableSecret: Bool { get }

    /// Headers to add to one attempt of a request.
    /// - Parameter request: The request being signed.
    /// - Returns: Headers such as `Authorization` (secret: never logged).
    /// - Throws: ``HBaseError/credentialsUnavailable`` or ``HBaseError/credentialsExpired`` when no credentials
    ///   can be produced.
    func headers(for request: HBaseAuthenticationRequest) async throws -> [HBaseHeader]

    /// Called with the response headers of every attempt.
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - headers: The response headers.
    ///   - request: The request that was answered.
    /// - Throws: ``HBaseError/mutualAuthenticationFailed`` when a mutual-authentication check fails.
    func responseReceived(status: Int, headers: [HBaseHeader], for request: HBaseAuthenticationRequest) async throws

    /// Reacts to a 401 answer.
    /// - Parameters:
    ///   - challenges: The `WWW-Authenticate` header values.
    ///   - request: The request that was refused.
    ///   - attempt: How many 401s this request has had so far (1 on the first).
    /// - Returns: Whether to sign and send again.
    func challenged(by challenges: [String], for request: HBaseAuthenticationRequest, attempt: Int) async
        -> HBaseChallengeResponse
}

extension HBaseAuthenticator {
    /// Default: nothing to learn from a response.
    public func responseReceived(status: Int, headers: [HBaseHeader], for request: HBaseAuthenticationRequest)
        async throws
    {}
    /// Default: a 401 is final.
    public func challenged(by challenges: [String], for request: HBaseAuthenticationRequest, attempt: Int) async
        -> HBaseChallengeResponse
    { .fail }
}

/// No authentication: for a gateway with `hbase.security.authentication=simple`.
public struct HBaseNoAuthenticator: HBaseAuthenticator {
    /// Creates the authenticator.
    public init() {}
    /// Sends nothing secret.
    public var sendsReusableSecret: Bool { false }
    /// No headers.
    /// - Parameter request: Ignored.
    /// - Returns: An empty list.
    /// - Throws: Never.
    public func headers(for request: HBaseAuthenticationRequest) async throws -> [HBaseHeader] { [] }
}

extension HBaseAuthenticator where Self == HBaseNoAuthenticator {
    /// No authentication.
    public static var none: HBaseNoAuthenticator { HBaseNoAuthenticator() }
}

/// HTTP Basic authentication, for a Knox-style gateway in front of the REST server (issue 5 item 2).
///
/// The password never appears in `description`, in logs or in error messages.
public struct HBaseBasicAuthenticator: HBaseAuthenticator, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The user name.
    public let user: String
    private let password: String

    /// Creates a Basic authenticator.
    /// - Parameters:
    ///   - user: The user name (must not contain `:`).
    ///   - password: The password; kept private and redacted.
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Basic sends a reusable secret: https only, except to loopback when explicitly allowed.
    public var sendsReusableSecret: Bool { true }

    /// An `Authorization: Basic …` header.
    /// - Parameter request: Ignored.
    /// - Returns: One header.
    /// - Throws: Never.
    public func headers(for request: HBaseAuthenticationRequest) async throws -> [HBaseHeader] {
        let token = Data("\(user):\(password)".utf8).base64EncodedString()
        return [HBaseHeader(name: "Authorization", value: "Basic \(token)")]
    }

    /// The user name with the password redacted.
    public var description: String { "HBaseBasicAuthenticator(user: \(user), password: <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// A mirror without the password, so `dump` cannot print it.
    public var customMirror: Mirror { Mirror(self, children: ["user": user, "password": "<redacted>"]) }
}
