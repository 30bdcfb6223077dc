// Kerberos: SPNEGO (RFC 4178) over MIT GSSAPI, for HTTP `Negotiate` authentication (RFC 4559).
//
// What it does: `SPNEGOInitiator` makes the client's `Authorization: Negotiate <token>` for a service
// principal `HTTP@host` from a keytab or a ticket cache and checks the server's mutual-authentication
// token; `SPNEGOAcceptor` validates a client's token with the service keytab and names the client
// principal (the HBase REST test double uses it, as HBase's gateway uses hadoop-auth). GSS failures
// become `KerberosError`s with the library's own words (gss_display_status). `KerberosTicketCache` reads a
// ticket cache with libkrb5 (`krb5_cc_*`: missing, empty, unreadable, no TGT, expired) before GSSAPI is given it.
//
// May import: CGSSAPI (MIT libgssapi_krb5 and libkrb5). GSS calls block (the initiator talks to the KDC): call them
// off event loops. Start at `SPNEGOInitiator`.
@preconcurrency import CGSSAPI
import Foundation

/// A GSSAPI / Kerberos failure, with the library's message.
///
/// Messages come from `gss_display_status` (major and minor status) and never contain a token or a key.
public struct KerberosError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure; errors compare equal by code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }
        /// No usable client credentials: no ticket cache, no keytab, or the principal is not in them.
        public static let noCredentials = Code(name: "noCredentials")
        /// The KDC does not know a principal (client or server).
        public static let unknownPrincipal = Code(name: "unknownPrincipal")
        /// The clocks of client, KDC and server differ by more than the allowed skew.
        public static let clockSkew = Code(name: "clockSkew")
        /// A ticket has expired.
        public static let expiredTicket = Code(name: "expiredTicket")
        /// The token could not be decrypted or verified (wrong key, garbage, replay).
        public static let badToken = Code(name: "badToken")
        /// The server's mutual-authentication token did not complete the context.
        public static let mutualAuthenticationFailed = Code(name: "mutualAuthenticationFailed")
        /// Any other GSSAPI failure.
        public static let failure = Code(name: "failure")
    }

    /// The kind of failure.
    public let code: Code
    /// The GSSAPI call that failed, e.g. `gss_init_sec_context`.
    public let operation: String
    /// The library's explanation.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, operation: String, message: String) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    public var description: String { "Kerberos: \(message) (\(operation))" }

    public static func == (lhs: KerberosError, rhs: KerberosError) -> Bool { lhs.code == rhs.code }

    /// Builds an error from GSS status codes, classifying it by the Kerberos error (minor status).
    static func from(major: OM_uint32, minor: OM_uint32, operation: String) -> KerberosError {
        let text = GSS.displayStatus(major: major, minor: minor)
        return KerberosError(classify(text, major: major), operation: operation, message: text)
    }

    /// Classifies a failure by its GSS routine error and the library's wording (MIT krb5_err.et texts such as
    /// "Clock skew too great", "Ticket expired", "Client '…' not found in Kerberos database").
    static func classify(_ text: String, major: OM_uint32) -> Code {
        let lower = text.lowercased()
        let routine = major & 0xFFFF_0000
        if lower.contains("clock skew") { return .clockSkew }
        if lower.contains("expired") { return .expiredTicket }
        if lower.contains("not found in kerberos database") || lower.contains("server not found") {
            return .unknownPrincipal
        }
        if lower.contains("cannot decrypt") || lower.contains("decrypt integrity") || lower.contains("defective token")
            || lower.contains("replay") || routine == UInt32(9) << 16 || routine == UInt32(10) << 16
        {
            return .badToken
        }
        if routine == UInt32(7) << 16 || lower.contains("no credentials") || lower.contains("credentials cache")
            || lower.contains("keytab") || lower.contains("key table")
        {
            return .noCredentials
        }
        return .failure
    }
}

/// Small helpers around the C API.
enum GSS {
    /// The SPNEGO mechanism OID (RFC 4178; DER `2B 06 01 05 05 02`), allocated once for the process.
    /// MIT exports no symbol for it.
    nonisolated(unsafe) static let spnego: gss_OID = {
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 6)
        bytes.initialize(from: [0x2B, 0x06, 0x01, 0x05, 0x05, 0x02], count: 6)
        let oid = UnsafeMutablePointer<gss_OID_desc>.allocate(capacity: 1)
        oid.initialize(to: gss_OID_desc(length: 6, elements: UnsafeMutableRawPointer(bytes)))
        return oid
    }()

    /// A one-element OID set holding SPNEGO, for acquiring credentials.
    nonisolated(unsafe) static let spnegoSet: gss_OID_set = {
        let set = UnsafeMutablePointer<gss_OID_set_desc>.allocate(capacity: 1)
        set.initialize(to: gss_OID_set_desc(count: 1, elements: spnego))
        return set
    }()

    static func isError(_ major: OM_uint32) -> Bool { sonarlab_gss_error(major) != 0 }

    /// `gss_display_status` for both the major and the minor code, joined.
    static func displayStatus(major: OM_uint32, minor: OM_uint32) -> String {
        var parts = [String]()
        for (value, type) in [(major, Int32(GSS_C_GSS_CODE)), (minor, Int32(GSS_C_MECH_CODE))] where value != 0 {
            var context: OM_uint32 = 0
            repeat {
                var ignored: OM_uint32 = 0
                var buffer = gss_buffer_desc()
                // Minor codes are the Kerberos mechanism's: name it so the library can explain them.
                let mech: gss_OID? = type == Int32(GSS_C_MECH_CODE) ? gss_mech_krb5 : nil
                let status = gss_display_status(&ignored, value, type, mech, &context, &buffer)
                if isError(status) { break }
                parts.append(string(buffer))
                gss_release_buffer(&ignored, &buffer)
            } while context != 0
        }
        return parts.filter { !$0.isEmpty && $0 != "Unspecified GSS failure.  Minor code may provide more information" }
            .joined(separator: ": ")
    }

    static func string(_ buffer: gss_buffer_desc) -> String {
        guard let value = buffer.value, buffer.length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: buffer.length), as: UTF8.self)
    }

    static func bytes(_ buffer: gss_buffer_desc) -> [UInt8] {
        guard let value = buffer.value, buffer.length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: buffer.length))
    }

    /// Imports a name such as `HTTP@host` (host-based service) or `trainer@REALM` (a principal).
    static func importName(_ text: String, hostBasedService: Bool) throws -> gss_name_t {
        var minor: OM_uint32 = 0
        var name: gss_name_t? = nil
        var bytes = Array(text.utf8)
        let major = bytes.withUnsafeMutableBytes { raw in
            var buffer = gss_buffer_desc(length: raw.count, value: raw.baseAddress)
            return gss_import_name(&minor, &buffer, hostBasedService ? GSS_C_NT_HOSTBASED_SERVICE : GSS_KRB5_NT_PRINCIPAL_NAME, &name)
        }
        guard !isError(major), let name else {
            throw KerberosError.from(major: major, minor: minor, operation: "gss_import_name")
        }
        return name
    }

    /// Acquires credentials, optionally from a credential store (`client_keytab`, `keytab`, `ccache`).
    static func acquire(
        name: gss_name_t?, usage: gss_cred_usage_t, store: [(String, String)], mechanisms: gss_OID_set = spnegoSet
    ) throws -> gss_cred_id_t? {
        var minor: OM_uint32 = 0
        var cred: gss_cred_id_t? = nil
        let major: OM_uint32
        if store.isEmpty {
            major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, mechanisms, usage, &cred, nil, nil)
        } else {
            let keys = store.map { strdup($0.0)! }, values = store.map { strdup($0.1)! }
            defer { (keys + values).forEach { free($0) } }
            var elements = zip(keys, values).map { gss_key_value_element_desc(key: $0, value: $1) }
            major = elements.withUnsafeMutableBufferPointer { buffer in
                var set = gss_key_value_set_desc(count: OM_uint32(buffer.count), elements: buffer.baseAddress)
                return gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, mechanisms, usage, &set, &cred, nil, nil)
            }
        }
        guard !isError(major) else {
            throw KerberosError.from(major: major, minor: minor, operation: "gss_acquire_cred")
        }
        return cred
    }
}
