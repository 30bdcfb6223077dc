/// The one error type of the HBase module.
///
/// A struct around a private code, like AsyncHTTPClient's `HTTPClientError`: new codes do not break
/// callers, and equality compares the code only, so tests and `catch` clauses can match on the statics.
/// The message names the operation, table and row when they are known. It never holds an
/// `Authorization` header, a password, a token or a cell value (see STYLE.md §3.2).
public struct HBaseError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case unauthorized
        case credentialsUnavailable
        case credentialsExpired
        case mutualAuthenticationFailed
        case forbidden
        case tableNotFound
        case rowNotFound
        case namespaceNotFound
        case scannerNotFound
        case scannerGone
        case badRequest
        case conditionNotMet
        case alreadyExists
        case unavailable
        case serverError
        case notImplemented
        case unexpectedResponse
        case transport
        case untrustedCertificate
        case certificateNotValid
        case timeout
        case invalidResponse
        case invalidArgument
        case invalidConfiguration
        case rowKeyNotAddressable
    }

    private let code: Code
    /// A human-readable explanation with safe context (operation, table, row, HTTP status).
    public let message: String
    /// The HTTP status that produced this error, when there was a response.
    public let status: Int?

    private init(_ code: Code, _ message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    /// Errors compare equal when their codes are equal; the message is context only.
    public static func == (lhs: HBaseError, rhs: HBaseError) -> Bool { lhs.code == rhs.code }

    /// Lets `catch HBaseError.tableNotFound { … }` match any error with that code.
    /// - Parameters:
    ///   - pattern: An error whose code to match, for example ``tableNotFound``.
    ///   - error: The thrown error.
    /// - Returns: Whether `error` is an ``HBaseError`` with the same code.
    public static func ~= (pattern: HBaseError, error: any Error) -> Bool {
        (error as? HBaseError) == pattern
    }

    /// The code and message, for example `HBaseError.tableNotFound: table 'ns:t' does not exist (HTTP 404)`.
    public var description: String { "HBaseError.\(code.rawValue): \(message)" }

    /// The gateway answered 401: no or rejected credentials (HBASE_REST.md §4).
    public static let unauthorized = HBaseError(.unauthorized, "unauthorized")
    /// No credentials could be made on this host, so nothing was sent.
    ///
    /// Causes: no or an unusable ticket cache (missing, empty, unreadable, no ticket-granting ticket), an unreadable
    /// keytab, a principal the KDC does not know, clock skew (`KRB_AP_ERR_SKEW`). Not an answer of the gateway
    /// (compare ``unauthorized``).
    public static let credentialsUnavailable = HBaseError(.credentialsUnavailable, "credentials unavailable")
    /// The Kerberos ticket expired and there is no keytab to get a new one from.
    ///
    /// Run `kinit`. Nothing was sent; the outbox keeps the writes for `sonarlab sync`.
    public static let credentialsExpired = HBaseError(.credentialsExpired, "credentials expired")
    /// The gateway answered, but its SPNEGO mutual-authentication token does not prove it holds the service key.
    ///
    /// RFC 4559 §5: the answer is not trusted. Never a 401.
    public static let mutualAuthenticationFailed = HBaseError(
        .mutualAuthenticationFailed, "mutual authentication failed")
    /// The gateway answered 403: authenticated, but no grant for the action, or read-only mode (§1, §3.9, §4).
    public static let forbidden = HBaseError(.forbidden, "forbidden")
    /// The table does not exist (404 on a schema or table request, §3.9).
    public static let tableNotFound = HBaseError(.tableNotFound, "table not found")
    /// The row (or the cells asked for) does not exist (404 on a row request, §3.3).
    public static let rowNotFound = HBaseError(.rowNotFound, "row not found")
    /// The namespace does not exist (404 on a namespace delete, §1).
    public static let namespaceNotFound = HBaseError(.namespaceNotFound, "namespace not found")
    /// The scanner id is unknown to this gateway, for example expired or created on another gateway (§3.8).
    public static let scannerNotFound = HBaseError(.scannerNotFound, "scanner not found")
    /// The scanner's table was disabled while scanning; the scanner is dropped (410, §1).
    public static let scannerGone = HBaseError(.scannerGone, "scanner gone")
    /// The gateway answered 400; the message carries HBase's first line, without the Java stack trace (§3.9).
    public static let badRequest = HBaseError(.badRequest, "bad request")
    /// A check-and-put condition was not met (304, §3.5 and §7.2).
    public static let conditionNotMet = HBaseError(.conditionNotMet, "condition not met")
    /// The namespace or table already exists (403 on namespace create, §1).
    public static let alreadyExists = HBaseError(.alreadyExists, "already exists")
    /// The gateway answered 503, or the cluster is unreachable from it (§3.9).
    public static let unavailable = HBaseError(.unavailable, "unavailable")
    /// The gateway answered 500 (§3.9: malformed requests and unexpected server errors).
    public static let serverError = HBaseError(.serverError, "server error")
    /// The server does not implement the request (501; the test double answers this where the spec is silent).
    public static let notImplemented = HBaseError(.notImplemented, "not implemented")
    /// Any other HTTP status this client does not expect.
    public static let unexpectedResponse = HBaseError(.unexpectedResponse, "unexpected response")
    /// The connection failed: refused, reset, DNS, a TLS error other than the certificate check.
    public static let transport = HBaseError(.transport, "transport error")
    /// The TLS handshake failed because the gateway's certificate is not trusted (no or the wrong CA in
    /// `SONARLAB_HBASE_CA_FILE`) or not issued for its host name: a setup error that waiting never fixes,
    /// so callers such as the outbox treat it like 401/403, not like an outage.
    public static let untrustedCertificate = HBaseError(.untrustedCertificate, "untrusted certificate")
    /// The TLS handshake failed because the gateway's certificate is outside its validity period.
    ///
    /// Not yet valid, or expired; the message names its `notBefore` and `notAfter` dates. A setup error, like
    /// ``untrustedCertificate``.
    public static let certificateNotValid = HBaseError(.certificateNotValid, "certificate not valid")
    /// The request did not complete within its timeout.
    public static let timeout = HBaseError(.timeout, "timeout")
    /// The response body could not be decoded as the JSON shape HBASE_REST.md §2 describes.
    public static let invalidResponse = HBaseError(.invalidResponse, "invalid response")
    /// A caller-supplied value cannot be sent (for example a row key that is not valid UTF-8 in a query, §3.1).
    public static let invalidArgument = HBaseError(.invalidArgument, "invalid argument")
    /// A row key that HBase 2.5's REST path cannot name exactly, for an operation with only a path form.
    ///
    /// That is DELETE, for a key that is not valid UTF-8 (RowSpec decodes the path as UTF-8, so `%FF` is the
    /// U+FFFD row) or that ends in `*` (a prefix glob; DELETE would remove the key without the `*`).
    /// Reads of such keys go through a scanner instead; see ``HBaseClient/delete(_:from:columns:)``.
    public static let rowKeyNotAddressable = HBaseError(.rowKeyNotAddressable, "row key not addressable")
    /// The configuration is unusable or unsafe (for example plain http to a non-loopback host).
    public static let invalidConfiguration = HBaseError(.invalidConfiguration, "invalid configuration")

    /// A copy of this error with a more specific message, keeping the code.
    ///
    /// For layers above the client, for example a store that finds a malformed cell. The message must not
    /// contain secrets or cell values.
    ///
    /// - Parameter message: The new message.
    /// - Returns: The same code with `message`.
    public func with(message: String) -> HBaseError { with(message) }

    /// A copy of this error with a new message and status, keeping the code.
    func with(_ message: String, status: Int? = nil) -> HBaseError {
        HBaseError(code, message, status: status ?? self.status)
    }
}
