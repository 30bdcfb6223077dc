public import Foundation

/// Where the HBase REST gateway is and how to authenticate to it. Read from the environment only:
/// config.ini and the sources never hold an address or a credential.
///
/// Variables: `SONARLAB_HBASE_URL` (required), `SONARLAB_HBASE_AUTH` (`none` | `basic` | `kerberos`,
/// default `none`), `SONARLAB_HBASE_PRINCIPAL`, `SONARLAB_HBASE_USER`, `SONARLAB_HBASE_PASSWORD` or
/// `SONARLAB_HBASE_PASSWORD_FILE`, `SONARLAB_HBASE_CA_FILE`, `SONARLAB_HBASE_ALLOW_PLAIN_HTTP` (`1` lets
/// Basic credentials go over plain http to a loopback host), `SONARLAB_HBASE_SPN` (the gateway's service
/// principal, e.g. `HTTP/gw.example@REALM`, for a gateway behind a CNAME or a load balancer; default
/// `HTTP@<host of the URL>`), and the MIT Kerberos variables
/// `KRB5_CONFIG`, `KRB5_CLIENT_KTNAME`, `KRB5CCNAME` (used by the GSSAPI library itself).
public struct HBaseConnectionSettings: Sendable, Equatable, CustomStringConvertible {
    /// How requests authenticate.
    public enum AuthKind: String, Sendable, Equatable, CaseIterable {
        /// No authentication (a gateway without security, or the test double with `--auth none`).
        case none
        /// HTTP Basic, for Knox-style gateways; only over https.
        case basic
        /// Kerberos SPNEGO (`Authorization: Negotiate`), HBase's own.
        case kerberos
    }

    /// The gateway's base URL, e.g. `https://hbase-rest.example:8443`.
    public var url: URL
    /// The authentication kind.
    public var auth: AuthKind
    /// Kerberos client principal to use (`SONARLAB_HBASE_PRINCIPAL`), when not the default one.
    public var principal: String?
    /// The gateway's Kerberos service principal (`SONARLAB_HBASE_SPN`).
    ///
    /// For example `HTTP/gw.example@REALM` or the host-based `HTTP@gw.example`; `nil` (the default) means
    /// `HTTP@<host of the URL>`.
    public var servicePrincipal: String?
    /// Basic user name.
    public var user: String?
    /// Basic password.
    public var password: Secret?
    /// PEM file of a private CA to trust instead of the system store.
    public var caFile: String?
    /// Whether Basic may go over plain http to a loopback host.
    public var allowPlainHTTP: Bool

    /// Safe to print: the URL without user info, the auth kind and the principal; never a password.
    public var description: String {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        components?.user = nil
        components?.password = nil
        return "\(components?.string ?? "<url>") auth=\(auth.rawValue)"
    }

    /// Reads the connection from the environment.
    /// - Parameter environment: the process environment.
    /// - Throws: ``SettingsError``: `missing` (no URL, or Basic without user/password), `wrongType` (a malformed
    ///   URL), `outOfRange` (unknown auth kind, unsupported scheme, plain http where it is not allowed),
    ///   `secretUnreadable` (a `_FILE` secret or the CA file cannot be read), `wrongType` (a `SONARLAB_HBASE_SPN`
    ///   that is not a service principal).
    public init(environment: [String: String]) throws(SettingsError) {
        guard let raw = environment["SONARLAB_HBASE_URL"], !raw.isEmpty else {
            throw SettingsError(
                .missing, place: "environment SONARLAB_HBASE_URL",
                reason: "not set; point it at the HBase REST gateway (e.g. from `scripts/dev-hbase.sh up`)")
        }
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else {
            throw SettingsError(
                .wrongType, place: "environment SONARLAB_HBASE_URL", reason: "not a URL of the form http(s)://host:port"
            )
        }
        guard scheme == "http" || scheme == "https" else {
            throw SettingsError(
                .outOfRange, place: "environment SONARLAB_HBASE_URL", reason: "scheme '\(scheme)' is not http or https")
        }
        let authRaw = environment["SONARLAB_HBASE_AUTH"] ?? "none"
        guard let auth = AuthKind(rawValue: authRaw.lowercased()) else {
            throw SettingsError(
                .outOfRange, place: "environment SONARLAB_HBASE_AUTH",
                reason: "'\(authRaw)' is not one of none, basic, kerberos")
        }
        let loopback = Self.isLoopback(host)
        let allowPlain = environment["SONARLAB_HBASE_ALLOW_PLAIN_HTTP"] == "1"
        if scheme == "http", !loopback {
            throw SettingsError(
                .outOfRange, place: "environment SONARLAB_HBASE_URL",
                reason: "plain http to a non-loopback host is refused; use https")
        }
        self.url = url
        self.auth = auth
        self.principal = environment["SONARLAB_HBASE_PRINCIPAL"].flatMap { $0.isEmpty ? nil : $0 }
        self.servicePrincipal = try Self.servicePrincipal(environment["SONARLAB_HBASE_SPN"])
        self.user = environment["SONARLAB_HBASE_USER"].flatMap { $0.isEmpty ? nil : $0 }
        self.password = try Secret.fromEnvironment("SONARLAB_HBASE_PASSWORD", environment)
        self.allowPlainHTTP = allowPlain
        self.caFile = environment["SONARLAB_HBASE_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw SettingsError(
                .secretUnreadable, place: "environment SONARLAB_HBASE_CA_FILE", reason: "cannot read \(caFile)")
        }
        if auth == .basic {
            guard user != nil, password != nil else {
                throw SettingsError(
                    .missing, place: "environment SONARLAB_HBASE_USER",
                    reason: "basic auth needs SONARLAB_HBASE_USER and SONARLAB_HBASE_PASSWORD (or _FILE)")
            }
            if scheme == "http", !allowPlain {
                throw SettingsError(
                    .outOfRange, place: "environment SONARLAB_HBASE_URL",
                    reason:
                        "basic auth over plain http is refused; use https (or SONARLAB_HBASE_ALLOW_PLAIN_HTTP=1 for loopback tests)"
                )
            }
        }
        if auth == .kerberos, let keytab = environment["KRB5_CLIENT_KTNAME"], !keytab.isEmpty {
            let path = keytab.hasPrefix("FILE:") ? String(keytab.dropFirst(5)) : keytab
            if !FileManager.default.isReadableFile(atPath: path) {
                throw SettingsError(
                    .secretUnreadable, place: "environment KRB5_CLIENT_KTNAME", reason: "cannot read the keytab")
            }
        }
    }

    /// Every variable ``init(environment:)`` reads under `SONARLAB_` (the MIT `KRB5*` variables are not listed).
    public static let environmentNames: Set<String> = [
        "SONARLAB_HBASE_URL", "SONARLAB_HBASE_AUTH", "SONARLAB_HBASE_PRINCIPAL", "SONARLAB_HBASE_USER",
        "SONARLAB_HBASE_PASSWORD", "SONARLAB_HBASE_PASSWORD_FILE", "SONARLAB_HBASE_CA_FILE",
        "SONARLAB_HBASE_ALLOW_PLAIN_HTTP", "SONARLAB_HBASE_SPN",
    ]

    /// Checks `SONARLAB_HBASE_SPN`: `service/host[@REALM]` or the host-based `service@host`, no spaces.
    static func servicePrincipal(_ raw: String?) throws(SettingsError) -> String? {
        guard let raw, !raw.isEmpty else { return nil }
        let parts = raw.split(separator: "@", omittingEmptySubsequences: false)
        let name = parts[0]
        let isPrincipal = name.contains("/") && !name.hasPrefix("/") && !name.hasSuffix("/")
        let isHostBased = !name.contains("/") && !name.isEmpty && parts.count == 2 && !parts[1].isEmpty
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), isPrincipal || isHostBased,
            !raw.contains(where: { $0.isWhitespace || $0.isNewline || ($0.asciiValue ?? 0x20) < 0x20 })
        else {
            throw SettingsError(
                .wrongType, place: "environment SONARLAB_HBASE_SPN",
                reason: "not a service principal such as HTTP/gw.example@REALM (or HTTP@gw.example)")
        }
        return raw
    }

    /// Whether `host` is a loopback name or address: `localhost`, the IPv4 loopback range (first octet 127), or `::1`.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}
