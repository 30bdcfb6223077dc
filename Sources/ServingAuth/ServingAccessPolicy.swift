public import Kerberos
public import Settings
import Foundation

/// The service's access rules: how callers authenticate and each route group's allow-list, built from `[serve]`
/// settings and the environment.
public struct ServingAccessPolicy: Sendable {
    /// How callers authenticate.
    public let authenticator: CallerAuthenticator
    /// `[serve] allow_infer`; empty allows every authenticated caller.
    public let allowInfer: [String]
    /// `[serve] allow_admin`; empty allows every authenticated caller.
    public let allowAdmin: [String]

    /// Creates a policy from its parts.
    /// - Parameters:
    ///   - authenticator: how callers authenticate.
    ///   - allowInfer: the infer group's allow-list.
    ///   - allowAdmin: the admin group's allow-list.
    public init(authenticator: CallerAuthenticator, allowInfer: [String] = [], allowAdmin: [String] = []) {
        self.authenticator = authenticator
        self.allowInfer = allowInfer
        self.allowAdmin = allowAdmin
    }

    /// Builds the policy that `[serve] auth`, `allow_infer` and `allow_admin` describe.
    ///
    /// `bearer` reads `SONARLAB_SERVE_TOKENS_FILE` (see ``BearerTokenTable``); `kerberos` needs the service keytab in
    /// `KRB5_KTNAME`, a file that only its owner may read. Allow-lists need an auth kind other than `none`.
    /// - Parameters:
    ///   - settings: the `[serve]` access keys.
    ///   - environment: the files named in the environment.
    /// - Throws: ``ServingAuthError`` `configuration` (bearer without a tokens file, kerberos without a keytab,
    ///   allow-lists with `auth = none`), `unreadable`, `worldReadable`, `syntax` (from the files).
    public init(
        settings: SonarLabConfiguration.ServeAccessSettings, environment: ServeAccessEnvironment
    ) throws(ServingAuthError) {
        switch settings.auth {
        case .none:
            if let key = !settings.allowInfer.isEmpty
                ? "allow_infer" : !settings.allowAdmin.isEmpty ? "allow_admin" : nil
            {
                throw ServingAuthError(
                    .configuration, place: "[serve] \(key)",
                    reason: "an allow-list needs callers to authenticate; set [serve] auth = bearer or kerberos")
            }
            authenticator = .none
        case .bearer:
            guard let file = environment.tokensFile else {
                throw ServingAuthError(
                    .configuration, place: "environment SONARLAB_SERVE_TOKENS_FILE",
                    reason: "[serve] auth = bearer needs a tokens file (name:sha256-hex lines)")
            }
            authenticator = .bearer(try BearerTokenTable(contentsOfFile: file))
        case .kerberos:
            guard let keytab = environment.serviceKeytab else {
                throw ServingAuthError(
                    .configuration, place: "environment KRB5_KTNAME",
                    reason: "[serve] auth = kerberos needs the service keytab (HTTP/host@REALM) in KRB5_KTNAME")
            }
            try ServingSecretFile.requireNotWorldReadable(keytab, what: "service keytab")
            guard FileManager.default.isReadableFile(atPath: keytab) else {
                throw ServingAuthError(.unreadable, place: keytab, reason: "cannot read the service keytab")
            }
            authenticator = .kerberos(SPNEGOAcceptor(keytab: keytab))
        }
        allowInfer = settings.allowInfer
        allowAdmin = settings.allowAdmin
    }

    /// The middleware that guards `group`.
    /// - Parameters:
    ///   - group: the route group.
    ///   - context: the router's request context type.
    /// - Returns: a middleware to add to the group's routes.
    public func middleware<Context: CallerIdentifiedContext>(
        for group: ServingRouteGroup, context: Context.Type = Context.self
    ) -> CallerAccessMiddleware<Context> {
        CallerAccessMiddleware(
            group: group, authenticator: authenticator, allowed: group == .infer ? allowInfer : allowAdmin)
    }
}
