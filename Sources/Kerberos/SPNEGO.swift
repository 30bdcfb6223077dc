@preconcurrency import CGSSAPI
import Foundation

/// The client side of HTTP `Negotiate` (RFC 4559): SPNEGO tokens for one service, with mutual authentication.
///
/// Each call of ``makeToken()`` starts a fresh security context (one per request, as curl and
/// hadoop-auth clients do) and returns the initial token for `Authorization: Negotiate <base64>`.
/// ``verifyServerToken(_:)`` feeds the server's `WWW-Authenticate: Negotiate <token>` back into that
/// context and fails unless it completes — proof that the server holds the service key.
///
/// Credentials: with `clientKeytab` the initiator gets its own tickets from that keytab (MIT's
/// `client_keytab` credential store), otherwise it uses the default ticket cache (`KRB5CCNAME`) or the
/// default client keytab (`KRB5_CLIENT_KTNAME`). `KRB5_CONFIG` selects the realm configuration.
public final class SPNEGOInitiator: @unchecked Sendable {
    private let lock = NSLock()
    private let service: String
    private let clientPrincipal: String?
    private let clientKeytab: String?
    private let credentialsCache: String?
    private var context: gss_ctx_id_t? = nil
    private var target: gss_name_t? = nil
    private var credential: gss_cred_id_t? = nil

    /// Creates an initiator.
    /// - Parameters:
    ///   - service: host-based service name, `HTTP@host`, or a service principal such as `HTTP/gw.example@REALM`
    ///     (any name with a `/`, imported as a Kerberos principal name), for a gateway behind a CNAME or a load
    ///     balancer.
    ///   - clientPrincipal: the client principal (`trainer` or `trainer@REALM`); `nil` for the default one.
    ///   - clientKeytab: a keytab to get tickets from; `nil` for the ticket cache / default client keytab.
    ///   - credentialsCache: a ticket cache (`FILE:/path`) to use instead of `KRB5CCNAME`'s.
    public init(service: String, clientPrincipal: String? = nil, clientKeytab: String? = nil, credentialsCache: String? = nil) {
        self.service = service
        self.clientPrincipal = clientPrincipal
        self.clientKeytab = clientKeytab
        self.credentialsCache = credentialsCache
    }

    deinit {
        var minor: OM_uint32 = 0
        if context != nil { gss_delete_sec_context(&minor, &context, nil) }
        if target != nil { gss_release_name(&minor, &target) }
        if credential != nil { gss_release_cred(&minor, &credential) }
    }

    /// A new initial SPNEGO token for the service (blocks while it talks to the KDC).
    /// - Returns: the token bytes, to be sent base64-encoded after `Negotiate `.
    /// - Throws: ``KerberosError`` (`noCredentials`, `unknownPrincipal`, `clockSkew`, `expiredTicket`, `failure`).
    public func makeToken() throws -> [UInt8] {
        try lock.withLock {
            if target == nil { target = try GSS.importName(service, hostBasedService: !service.contains("/")) }
            if credential == nil { try acquireCredential() }
            do {
                return try initiate()
            } catch let error as KerberosError where error.code == .expiredTicket && clientKeytab != nil {
                // The keytab's ticket expired (a long run): get a new one from the keytab and go on.
                var minor: OM_uint32 = 0
                if credential != nil { gss_release_cred(&minor, &credential) }
                try acquireCredential()
                return try initiate()
            }
        }
    }

    /// Acquires the initiator's credential (lock held): from the client keytab into a private in-memory cache
    /// (or ``credentialsCache``), else from the ticket cache after checking it.
    private func acquireCredential() throws {
        var minor: OM_uint32 = 0
        // Without a keytab GSSAPI reads the ticket cache; MIT crashes on an empty or garbage FILE: cache
        // when no name is given, so look at the cache first and say what is wrong with it.
        if clientKeytab == nil { try requireUsableCache() }
        var store = [(String, String)]()
        if let clientKeytab { store.append(("client_keytab", clientKeytab)) }
        var name: gss_name_t? = nil
        if let clientPrincipal { name = try GSS.importName(clientPrincipal, hostBasedService: false) }
        defer { if name != nil { gss_release_name(&minor, &name) } }
        if let keytab = clientKeytab, !FileManager.default.isReadableFile(atPath: keytab) {
            throw KerberosError(.noCredentials, operation: "gss_acquire_cred", message: "cannot read the client keytab")
        }
        if let credentialsCache {
            store.append(("ccache", credentialsCache))
        } else if !store.isEmpty {
            store.append(("ccache", "MEMORY:sonarlab-\(UInt32.random(in: 0...UInt32.max))"))
        }
        do {
            credential = try GSS.acquire(name: name, usage: gss_cred_usage_t(GSS_C_INITIATE), store: store)
        } catch {
            throw diagnoseWithKerberosMechanism() ?? error
        }
    }

    /// Starts a new context with the held credential; returns the initial token.
    private func initiate() throws -> [UInt8] {
        var minor: OM_uint32 = 0
        if context != nil { gss_delete_sec_context(&minor, &context, nil) }
        var output = gss_buffer_desc()
        let flags = OM_uint32(GSS_C_MUTUAL_FLAG) | OM_uint32(GSS_C_SEQUENCE_FLAG)
        let major = gss_init_sec_context(
            &minor, credential, &context, target, GSS.spnego, flags, 0, nil, nil, nil, &output, nil, nil)
        defer { gss_release_buffer(&minor, &output) }
        guard !GSS.isError(major) else {
            let error = KerberosError.from(major: major, minor: minor, operation: "gss_init_sec_context")
            // A ticket cache that expired (or was replaced) since the credential was acquired: name it and when.
            if clientKeytab == nil { try requireUsableCache() }
            // SPNEGO hides the Kerberos reason behind "cannot find mechanisms to negotiate": ask the
            // Kerberos mechanism directly for the real one (unknown client, expired ticket, …).
            throw diagnoseWithKerberosMechanism() ?? error
        }
        return GSS.bytes(output)
    }

    /// Throws unless the ticket cache (``credentialsCache`` or the default one) holds a valid ticket-granting
    /// ticket: `expiredTicket` for an expired one, `noCredentials` for a missing, empty, unreadable cache or
    /// one without a TGT; the message names the cache and suggests `kinit`.
    private func requireUsableCache() throws {
        let cache = KerberosTicketCache.inspect(credentialsCache)
        switch cache.state {
        case .valid: return
        case .expired:
            throw KerberosError(.expiredTicket, operation: "krb5_cc_next_cred", message: cache.explanation)
        default:
            throw KerberosError(.noCredentials, operation: "krb5_cc_get_principal", message: cache.explanation)
        }
    }

    /// Repeats the initiation with the raw Kerberos mechanism (no SPNEGO) to learn why it failed.
    /// Called with the lock held, only after a failure; the result is thrown, never sent.
    private func diagnoseWithKerberosMechanism() -> KerberosError? {
        var minor: OM_uint32 = 0
        var name: gss_name_t? = nil
        var cred: gss_cred_id_t? = nil
        var ctx: gss_ctx_id_t? = nil
        var output = gss_buffer_desc()
        defer {
            var m: OM_uint32 = 0
            if name != nil { gss_release_name(&m, &name) }
            if cred != nil { gss_release_cred(&m, &cred) }
            if ctx != nil { gss_delete_sec_context(&m, &ctx, nil) }
            gss_release_buffer(&m, &output)
        }
        if let clientPrincipal { name = try? GSS.importName(clientPrincipal, hostBasedService: false) }
        var mechs = gss_OID_set_desc(count: 1, elements: gss_mech_krb5)
        var major: OM_uint32
        var store = [(String, String)]()
        if let clientKeytab { store.append(("client_keytab", clientKeytab)) }
        if let credentialsCache {
            store.append(("ccache", credentialsCache))
        } else if clientKeytab != nil {
            store.append(("ccache", "MEMORY:sonarlab-diagnose-\(UInt32.random(in: 0...UInt32.max))"))
        }
        if store.isEmpty {
            major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs, gss_cred_usage_t(GSS_C_INITIATE), &cred, nil, nil)
        } else {
            let keys = store.map { strdup($0.0)! }, values = store.map { strdup($0.1)! }
            defer { (keys + values).forEach { free($0) } }
            var elements = zip(keys, values).map { gss_key_value_element_desc(key: $0, value: $1) }
            major = elements.withUnsafeMutableBufferPointer { buffer in
                var set = gss_key_value_set_desc(count: OM_uint32(buffer.count), elements: buffer.baseAddress)
                return gss_acquire_cred_from(
                    &minor, name, GSS_C_INDEFINITE, &mechs, gss_cred_usage_t(GSS_C_INITIATE), &set, &cred, nil, nil)
            }
        }
        if GSS.isError(major) { return KerberosError.from(major: major, minor: minor, operation: "gss_acquire_cred") }
        major = gss_init_sec_context(
            &minor, cred, &ctx, target, gss_mech_krb5, OM_uint32(GSS_C_MUTUAL_FLAG), 0, nil, nil, nil, &output, nil, nil)
        return GSS.isError(major) ? KerberosError.from(major: major, minor: minor, operation: "gss_init_sec_context") : nil
    }

    /// Completes the context with the server's token (mutual authentication).
    /// - Parameter token: the bytes of the server's `WWW-Authenticate: Negotiate <base64>`.
    /// - Throws: ``KerberosError`` `mutualAuthenticationFailed` when the token does not complete the context.
    public func verifyServerToken(_ token: [UInt8]) throws {
        try lock.withLock {
            guard context != nil else {
                throw KerberosError(.mutualAuthenticationFailed, operation: "gss_init_sec_context", message: "no context to complete")
            }
            var minor: OM_uint32 = 0
            var output = gss_buffer_desc()
            var bytes = token
            let major = bytes.withUnsafeMutableBytes { raw in
                var input = gss_buffer_desc(length: raw.count, value: raw.baseAddress)
                return gss_init_sec_context(
                    &minor, credential, &context, target, GSS.spnego,
                    OM_uint32(GSS_C_MUTUAL_FLAG) | OM_uint32(GSS_C_SEQUENCE_FLAG), 0, nil, &input, nil, &output, nil, nil)
            }
            gss_release_buffer(&minor, &output)
            guard !GSS.isError(major), major & sonarlab_gss_continue_needed() == 0 else {
                let error = KerberosError.from(major: major, minor: minor, operation: "gss_init_sec_context")
                throw KerberosError(.mutualAuthenticationFailed, operation: error.operation, message: error.message)
            }
        }
    }
}

/// The server side of HTTP `Negotiate`: validates a client's SPNEGO token with the service keytab.
public final class SPNEGOAcceptor: @unchecked Sendable {
    private let lock = NSLock()
    private var credential: gss_cred_id_t? = nil
    private let keytab: String?

    /// The outcome of one accepted token.
    public struct Accepted: Sendable {
        /// The authenticated client, e.g. `trainer@SONARLAB.TEST`.
        public let principal: String
        /// The token to return in `WWW-Authenticate: Negotiate <base64>` (mutual authentication), if any.
        public let responseToken: [UInt8]?

        /// The principal's short name: the first component, without instance and realm (`trainer`), as
        /// Hadoop's default `auth_to_local` rule maps it.
        public var shortName: String {
            String(principal.split(separator: "@").first?.split(separator: "/").first ?? Substring(principal))
        }
    }

    /// Creates an acceptor.
    /// - Parameter keytab: the service keytab (holding `HTTP/host@REALM`); `nil` for `KRB5_KTNAME`.
    public init(keytab: String? = nil) {
        self.keytab = keytab
    }

    deinit {
        var minor: OM_uint32 = 0
        if credential != nil { gss_release_cred(&minor, &credential) }
    }

    /// Validates one client token (a single-round-trip Kerberos SPNEGO exchange).
    /// - Parameter token: the bytes after `Negotiate ` in the client's `Authorization` header.
    /// - Returns: the client principal and the mutual-authentication token.
    /// - Throws: ``KerberosError`` (`badToken`, `noCredentials` for a missing service key, `clockSkew`, …).
    public func accept(_ token: [UInt8]) throws -> Accepted {
        try lock.withLock {
            var minor: OM_uint32 = 0
            if credential == nil {
                credential = try GSS.acquire(
                    name: nil, usage: gss_cred_usage_t(GSS_C_ACCEPT), store: keytab.map { [("keytab", $0)] } ?? [])
            }
            var context: gss_ctx_id_t? = nil
            var source: gss_name_t? = nil
            var output = gss_buffer_desc()
            var bytes = token
            let major = bytes.withUnsafeMutableBytes { raw in
                var input = gss_buffer_desc(length: raw.count, value: raw.baseAddress)
                return gss_accept_sec_context(&minor, &context, credential, &input, nil, &source, nil, &output, nil, nil, nil)
            }
            defer {
                var m: OM_uint32 = 0
                gss_release_buffer(&m, &output)
                if context != nil { gss_delete_sec_context(&m, &context, nil) }
                if source != nil { gss_release_name(&m, &source) }
            }
            guard !GSS.isError(major) else {
                throw KerberosError.from(major: major, minor: minor, operation: "gss_accept_sec_context")
            }
            guard major & sonarlab_gss_continue_needed() == 0 else {
                throw KerberosError(.badToken, operation: "gss_accept_sec_context", message: "the token needs more round trips than Negotiate allows")
            }
            var nameBuffer = gss_buffer_desc()
            let status = gss_display_name(&minor, source, &nameBuffer, nil)
            defer { gss_release_buffer(&minor, &nameBuffer) }
            guard !GSS.isError(status) else {
                throw KerberosError.from(major: status, minor: minor, operation: "gss_display_name")
            }
            let response = GSS.bytes(output)
            return Accepted(principal: GSS.string(nameBuffer), responseToken: response.isEmpty ? nil : response)
        }
    }
}
