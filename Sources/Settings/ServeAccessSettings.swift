import Foundation

extension SonarLabConfiguration {
    /// How callers of `sonarlab serve` authenticate, and who may use which route group (`[serve]` keys).
    public enum ServeAuthKind: String, Sendable, Equatable, CaseIterable {
        /// No authentication: every caller is anonymous (the default, for a loopback service).
        case none
        /// Kerberos SPNEGO (`Authorization: Negotiate`, RFC 4559) with the service keytab.
        case kerberos
        /// Bearer tokens (`Authorization: Bearer`, RFC 6750) from `SONARLAB_SERVE_TOKENS_FILE`.
        case bearer
    }

    /// `[serve]` access keys: caller authentication and the allow-list of each route group.
    public struct ServeAccessSettings: Sendable, Equatable {
        /// `auth`: `none`, `kerberos` or `bearer`. Default `none`.
        public var auth = ServeAuthKind.none
        /// `allow_infer`: principals or token names allowed on the infer routes (V2 infer, `/invocations`).
        ///
        /// Comma-separated; default empty, which lets every authenticated caller in.
        public var allowInfer: [String] = []
        /// `allow_admin`: principals or token names allowed on the admin routes (model load).
        ///
        /// Comma-separated; default empty, which lets every authenticated caller in.
        public var allowAdmin: [String] = []

        /// Creates the settings; the defaults are those of a missing config.ini.
        public init(auth: ServeAuthKind = .none, allowInfer: [String] = [], allowAdmin: [String] = []) {
            self.auth = auth
            self.allowInfer = allowInfer
            self.allowAdmin = allowAdmin
        }
    }
}

/// Files the model service's access reads, from the environment only (never config.ini, never the sources).
///
/// Variables: `SONARLAB_SERVE_TOKENS_FILE` (bearer tokens, `name:sha256-hex` lines), `SONARLAB_SERVE_TLS_CERT_FILE`
/// and `SONARLAB_SERVE_TLS_KEY_FILE` (PEM; both or neither), and MIT's `KRB5_KTNAME` (the service keytab; unset means
/// the library's default keytab).
public struct ServeAccessEnvironment: Sendable, Equatable {
    /// The bearer tokens file (`SONARLAB_SERVE_TOKENS_FILE`), if set.
    public var tokensFile: String?
    /// The PEM certificate chain to serve TLS with (`SONARLAB_SERVE_TLS_CERT_FILE`), if set.
    public var tlsCertificateFile: String?
    /// The PEM private key of that certificate (`SONARLAB_SERVE_TLS_KEY_FILE`), if set.
    public var tlsKeyFile: String?
    /// The service keytab (`KRB5_KTNAME`, a `FILE:` prefix removed), if set.
    public var serviceKeytab: String?

    /// Reads the variables.
    /// - Parameter environment: the process environment.
    /// - Throws: ``SettingsError`` `missing` when only one of the two TLS variables is set.
    public init(environment: [String: String]) throws(SettingsError) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        tokensFile = value("SONARLAB_SERVE_TOKENS_FILE")
        tlsCertificateFile = value("SONARLAB_SERVE_TLS_CERT_FILE")
        tlsKeyFile = value("SONARLAB_SERVE_TLS_KEY_FILE")
        serviceKeytab = value("KRB5_KTNAME").map { $0.hasPrefix("FILE:") ? String($0.dropFirst(5)) : $0 }
        if (tlsCertificateFile == nil) != (tlsKeyFile == nil) {
            let missing = tlsCertificateFile == nil ? "SONARLAB_SERVE_TLS_CERT_FILE" : "SONARLAB_SERVE_TLS_KEY_FILE"
            throw SettingsError(
                .missing, place: "environment \(missing)",
                reason: "TLS needs both SONARLAB_SERVE_TLS_CERT_FILE and SONARLAB_SERVE_TLS_KEY_FILE")
        }
    }

    /// Every `SONARLAB_` variable ``init(environment:)`` reads, and the dashboard's `SONARLAB_SERVE_URL`.
    public static let environmentNames: Set<String> = [
        "SONARLAB_SERVE_TOKENS_FILE", "SONARLAB_SERVE_TLS_CERT_FILE", "SONARLAB_SERVE_TLS_KEY_FILE",
        "SONARLAB_SERVE_URL",
    ]
}

extension ConfigurationResolver {
    /// The `[serve]` access keys (auth kind and allow-lists).
    static let serveAccessKeys: [Key] = [
        Key(
            section: "serve", key: "auth", help: "callers' authentication: none, kerberos or bearer",
            apply: { config, raw in
                guard let kind = SonarLabConfiguration.ServeAuthKind(rawValue: raw) else {
                    return .failure(Failure(code: .outOfRange, reason: "'\(raw)' is not one of none, kerberos, bearer"))
                }
                config.serveAccess.auth = kind
                return .success(())
            }, render: { $0.serveAccess.auth.rawValue }),
        nameList(
            "serve", "allow_infer", "principals or token names allowed to infer (comma-separated; empty = any caller)",
            \.serveAccess.allowInfer),
        nameList(
            "serve", "allow_admin",
            "principals or token names allowed to load models (comma-separated; empty = any caller)",
            \.serveAccess.allowAdmin),
    ]

    /// A comma-separated list of names (principals such as `alice@REALM`, token names), possibly empty; a name
    /// holds no space or control character.
    static func nameList(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, [String]> & Sendable
    ) -> Key {
        Key(
            section: section, key: key, help: help,
            apply: { config, raw in
                let names = raw.split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                if raw.trimmingCharacters(in: .whitespaces).isEmpty {
                    config[keyPath: path] = []
                    return .success(())
                }
                for (index, name) in names.enumerated() {
                    guard !name.isEmpty else {
                        return .failure(Failure(code: .wrongType, reason: "name \(index + 1) of the list is empty"))
                    }
                    guard
                        !name.unicodeScalars.contains(where: {
                            $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F
                        })
                    else {
                        return .failure(
                            Failure(
                                code: .wrongType,
                                reason: "name \(index + 1) of the list holds a space or control character"))
                    }
                }
                config[keyPath: path] = names
                return .success(())
            }, render: { $0[keyPath: path].joined(separator: ", ") })
    }
}
