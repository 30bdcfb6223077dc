public import HTTPTypes

/// The HBase permission an endpoint needs (AccessController's R, W, X, C, A; HBASE_REST.md §4).
public enum HBaseDoubleAction: String, Sendable, Hashable {
    /// R: get, multiget, scan.
    case read = "R"
    /// W: put, delete, check-and-put.
    case write = "W"
    /// X: coprocessor endpoints (not used by the REST endpoints the double serves).
    case execute = "X"
    /// C: create, alter and drop tables.
    case create = "C"
    /// A: namespace administration.
    case admin = "A"
}

/// What a request touches, for an authorization decision.
public enum HBaseDoubleScope: Sendable, Hashable {
    /// The whole cluster (version, status, table and namespace lists, namespace create/delete).
    case global
    /// One namespace.
    case namespace(String)
    /// One table, with its namespace (`default` when unqualified).
    case table(namespace: String, name: String)
}

/// The outcome of authenticating a request.
public enum HBaseDoubleAuthentication: Sendable {
    /// Go on as this user (`nil` for an anonymous gateway, `--auth none`); add these response headers
    /// (for example a mutual SPNEGO token, a `hadoop.auth` cookie).
    case authenticated(user: String?, responseHeaders: HTTPFields)
    /// Answer 401 with these headers (for example `WWW-Authenticate: Negotiate`, §4).
    case challenge(HTTPFields)
}

/// The double's security seam (HBASE_REST.md §4).
///
/// Authentication before routing, authorization between routing and the handler. `--auth none` uses ``HBaseDoubleOpenSecurity``; the security issue adds
/// Kerberos SPNEGO and a grants file behind the same protocol.
public protocol HBaseDoubleSecurity: Sendable {
    /// Authenticates one request from its head.
    /// - Parameter head: The request line and headers.
    /// - Returns: The user, or a 401 challenge.
    func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication

    /// Whether `user` may perform `action` on `scope`; `false` answers 403 "Forbidden" (§3.9, §4).
    /// - Parameters:
    ///   - user: The authenticated user, or `nil`.
    ///   - action: The permission the endpoint needs.
    ///   - scope: What the request touches.
    /// - Returns: `true` to run the handler.
    func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool
}

/// `--auth none`: every request is anonymous and allowed, like a gateway with simple authentication.
public struct HBaseDoubleOpenSecurity: HBaseDoubleSecurity {
    /// Creates the open policy.
    public init() {}
    /// Always anonymous.
    /// - Parameter head: Ignored.
    /// - Returns: `.authenticated(user: nil, …)`.
    public func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
        .authenticated(user: nil, responseHeaders: [:])
    }
    /// Always allowed.
    /// - Parameters:
    ///   - user: Ignored.
    ///   - action: Ignored.
    ///   - scope: Ignored.
    /// - Returns: `true`.
    public func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool { true }
}
