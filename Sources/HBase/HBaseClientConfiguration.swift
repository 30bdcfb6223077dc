public import Foundation

/// Everything an ``HBaseClient`` needs, built by the caller (the client never reads the environment).
///
/// No default names a host, port or credential: the base URL and authenticator come from the caller
/// (in SonarLab, from `Settings`, which reads the environment).
public struct HBaseClientConfiguration: Sendable {
    /// Timeouts of one attempt.
    public struct Timeouts: Hashable, Sendable {
        /// TCP (and TLS) connect timeout.
        ///
        /// Default 5 s.
        public var connect: Duration
        /// Longest silence while reading a response.
        ///
        /// Default 30 s.
        public var read: Duration
        /// Deadline for one whole attempt, from sending to the last body byte.
        ///
        /// Default 60 s.
        public var request: Duration

        /// Creates timeouts; every argument has the documented default.
        /// - Parameters:
        ///   - connect: Connect timeout.
        ///   - read: Read timeout.
        ///   - request: Whole-attempt deadline.
        public init(connect: Duration = .seconds(5), read: Duration = .seconds(30), request: Duration = .seconds(60)) {
            self.connect = connect
            self.read = read
            self.request = request
        }
    }

    /// TLS settings for an https base URL.
    ///
    /// Host names are always verified.
    public struct TLS: Hashable, Sendable {
        /// A PEM file of CA certificates to trust instead of the system store; `nil` uses the system store.
        public var caFile: String?

        /// Creates TLS settings.
        /// - Parameter caFile: A PEM CA file, or `nil` for the system trust store (the default).
        public init(caFile: String? = nil) { self.caFile = caFile }
    }

    /// The gateway's base URL, `http(s)://host:port[/prefix]`.
    ///
    /// Required.
    public var baseURL: URL
    /// Timeouts.
    ///
    /// Default: ``Timeouts/init(connect:read:request:)``'s defaults.
    public var timeouts: Timeouts
    /// When to retry.
    ///
    /// Default ``HBaseRetryPolicy/init(maxAttempts:initialBackoff:maxBackoff:multiplier:)``.
    public var retryPolicy: HBaseRetryPolicy
    /// How requests are authenticated.
    ///
    /// Default `.none`.
    public var authenticator: any HBaseAuthenticator
    /// TLS settings.
    ///
    /// Default: system trust store.
    public var tls: TLS
    /// Allow plain http to a non-loopback host.
    ///
    /// Default `false` (refused).
    public var allowsInsecureTransport: Bool
    /// Allow an authenticator that sends a reusable secret (Basic) over plain http to a loopback host.
    ///
    /// Default `false`.
    public var allowsCredentialsOverLoopbackHTTP: Bool
    /// Idle pooled connections per host.
    ///
    /// Default 8.
    public var maxConnectionsPerHost: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - baseURL: The gateway's base URL (http or https).
    ///   - timeouts: Timeouts of one attempt.
    ///   - retryPolicy: When to retry.
    ///   - authenticator: How requests are authenticated.
    ///   - tls: TLS settings.
    ///   - allowsInsecureTransport: Allow plain http to a non-loopback host.
    ///   - allowsCredentialsOverLoopbackHTTP: Allow Basic over plain http to loopback.
    ///   - maxConnectionsPerHost: Pool size per host.
    public init(
        baseURL: URL,
        timeouts: Timeouts = Timeouts(),
        retryPolicy: HBaseRetryPolicy = HBaseRetryPolicy(),
        authenticator: any HBaseAuthenticator = HBaseNoAuthenticator(),
        tls: TLS = TLS(),
        allowsInsecureTransport: Bool = false,
        allowsCredentialsOverLoopbackHTTP: Bool = false,
        maxConnectionsPerHost: Int = 8
    ) {
        self.baseURL = baseURL
        self.timeouts = timeouts
        self.retryPolicy = retryPolicy
        self.authenticator = authenticator
        self.tls = tls
        self.allowsInsecureTransport = allowsInsecureTransport
        self.allowsCredentialsOverLoopbackHTTP = allowsCredentialsOverLoopbackHTTP
        self.maxConnectionsPerHost = maxConnectionsPerHost
    }

    /// Checks that the configuration is safe to use.
    /// - Throws: ``HBaseError/invalidConfiguration`` for a URL without http(s) scheme or host, plain http
    ///   to a non-loopback host without ``allowsInsecureTransport``, or a reusable secret over plain http
    ///   without ``allowsCredentialsOverLoopbackHTTP`` to a loopback host.
    public func validate() throws {
        guard let scheme = baseURL.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw HBaseError.invalidConfiguration.with("the HBase REST URL must use http or https")
        }
        guard let host = baseURL.host, !host.isEmpty else {
            throw HBaseError.invalidConfiguration.with("the HBase REST URL has no host")
        }
        guard scheme == "http" else { return }
        let loopback = Self.isLoopback(host: host)
        if !loopback && !allowsInsecureTransport {
            throw HBaseError.invalidConfiguration.with(
                "plain http to the non-loopback host '\(host)' is refused; use https"
            )
        }
        if authenticator.sendsReusableSecret && !(loopback && allowsCredentialsOverLoopbackHTTP) {
            throw HBaseError.invalidConfiguration.with(
                "credentials are only sent over https (plain http only to a loopback host, when explicitly allowed)"
            )
        }
    }

    /// Whether `host` names the loopback interface: `localhost`, an IPv4 address in 127/8, or IPv6 `::1`.
    /// - Parameter host: A host name or address literal (IPv6 with or without brackets).
    /// - Returns: `true` for loopback.
    public static func isLoopback(host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, let octets = Optional(parts.compactMap { UInt8($0) }), octets.count == 4 {
            return octets[0] == 127
        }
        // IPv6: every group zero except a final 1.
        if name.contains(":") {
            let groups = name.split(separator: ":", omittingEmptySubsequences: true)
            guard let last = groups.last, UInt16(last, radix: 16) == 1 else { return false }
            return groups.dropLast().allSatisfy { UInt16($0, radix: 16) == 0 }
        }
        return false
    }
}
