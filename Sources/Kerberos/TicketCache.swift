@preconcurrency import CGSSAPI
public import Foundation

/// What a Kerberos ticket cache holds, read with libkrb5 (`krb5_cc_*`) before GSSAPI is given it.
///
/// MIT's `gss_acquire_cred` without a desired name crashes (SIGSEGV) on an empty or garbage `FILE:` cache;
/// ``inspect(_:now:)`` reads the cache itself and says what is wrong with it instead: missing, empty,
/// unreadable, no ticket-granting ticket, or an expired one.
public struct KerberosTicketCache: Sendable, Equatable {
    /// The state of a cache.
    public enum State: Sendable, Equatable {
        /// The cache does not exist (a `FILE:` path with no file, or a cache type with no such cache).
        case missing
        /// The cache exists but holds no principal (a zero-length file, or a cache never initialised).
        case empty
        /// The cache cannot be read: no permission, or the bytes are not a ticket cache; with libkrb5's reason.
        case unreadable(reason: String)
        /// The cache names a principal but holds no ticket-granting ticket (`krbtgt/REALM@REALM`) for it.
        case noTicketGrantingTicket(principal: String)
        /// The ticket-granting ticket expired at the given time.
        case expired(principal: String, at: Date)
        /// A ticket-granting ticket valid until the given time.
        case valid(principal: String, until: Date)
    }

    /// The cache's full name, for example `FILE:/tmp/krb5cc_1000`.
    public let name: String
    /// What it holds.
    public let state: State

    /// Whether GSSAPI can start a context from this cache (a ticket-granting ticket that has not expired).
    public var isUsable: Bool {
        if case .valid = state { return true }
        return false
    }

    /// Reads a cache (`krb5_cc_resolve`, or `krb5_cc_default` for `nil`: `KRB5CCNAME` or the system default).
    ///
    /// Never hands a cache to GSSAPI: for a `FILE:` cache the file is checked first (missing, zero length,
    /// unreadable), then `krb5_cc_get_principal` and the `krb5_cc_start_seq_get` / `krb5_cc_next_cred` walk
    /// look for the `krbtgt/REALM@REALM` of the cache's principal and its end time.
    /// - Parameters:
    ///   - name: The cache name (`FILE:/path`, `/path`, `KEYRING:…`, `MEMORY:…`); `nil` for the default one.
    ///   - now: The time to compare the ticket's end time with.
    /// - Returns: The cache's name and state; a libkrb5 failure to set up (no context) is `unreadable`.
    public static func inspect(_ name: String? = nil, now: Date = Date()) -> KerberosTicketCache {
        var context: krb5_context? = nil
        guard krb5_init_context(&context) == 0, let context else {
            return KerberosTicketCache(name: name ?? "default", state: .unreadable(reason: "cannot start libkrb5"))
        }
        defer { krb5_free_context(context) }
        var cache: krb5_ccache? = nil
        let opened = name.map { krb5_cc_resolve(context, $0, &cache) } ?? krb5_cc_default(context, &cache)
        guard opened == 0, let cache else {
            return KerberosTicketCache(name: name ?? "default", state: .unreadable(reason: message(context, opened)))
        }
        defer { krb5_cc_close(context, cache) }
        let type = String(cString: krb5_cc_get_type(context, cache))
        let residual = String(cString: krb5_cc_get_name(context, cache))
        let fullName = "\(type):\(residual)"
        return KerberosTicketCache(
            name: fullName, state: state(context, cache, fileType: type == "FILE" ? residual : nil, now: now))
    }

    private static func state(_ context: krb5_context, _ cache: krb5_ccache, fileType path: String?, now: Date)
        -> State
    {
        if let path {
            var info = stat()
            if stat(path, &info) != 0 {
                return errno == ENOENT ? .missing : .unreadable(reason: String(cString: strerror(errno)))
            }
            if (info.st_mode & S_IFMT) != S_IFREG { return .unreadable(reason: "not a regular file") }
            if info.st_size == 0 { return .empty }
            if access(path, R_OK) != 0 { return .unreadable(reason: String(cString: strerror(errno))) }
        }
        var principal: krb5_principal? = nil
        let got = krb5_cc_get_principal(context, cache, &principal)
        guard got == 0, let principal else {
            // MIT: KRB5_FCC_NOFILE / KRB5_CC_NOTFOUND for a cache that does not exist (non-FILE types).
            if got == KRB5_FCC_NOFILE || got == KRB5_CC_NOTFOUND { return path == nil ? .missing : .empty }
            return .unreadable(reason: message(context, got))
        }
        defer { krb5_free_principal(context, principal) }
        let client = unparse(context, principal) ?? "?"
        let realm = principal.pointee.realm
        var tgtServer: krb5_principal? = nil
        let realmName = String(
            decoding: UnsafeRawBufferPointer(start: realm.data, count: Int(realm.length)), as: UTF8.self)
        guard krb5_parse_name(context, "krbtgt/\(realmName)@\(realmName)", &tgtServer) == 0, let tgtServer else {
            return .unreadable(reason: "cannot name the ticket-granting service")
        }
        defer { krb5_free_principal(context, tgtServer) }

        var cursor: krb5_cc_cursor? = nil
        let started = krb5_cc_start_seq_get(context, cache, &cursor)
        guard started == 0 else { return .unreadable(reason: message(context, started)) }
        defer { krb5_cc_end_seq_get(context, cache, &cursor) }
        var latest: Int64? = nil
        var creds = krb5_creds()
        while krb5_cc_next_cred(context, cache, &cursor, &creds) == 0 {
            defer { krb5_free_cred_contents(context, &creds) }
            if krb5_is_config_principal(context, creds.server) != 0 { continue }
            guard krb5_principal_compare(context, creds.server, tgtServer) != 0 else { continue }
            // krb5_timestamp is a signed 32-bit count that MIT reads as unsigned (valid past 2038).
            let end = Int64(UInt32(bitPattern: creds.times.endtime))
            latest = max(latest ?? end, end)
        }
        guard let latest else { return .noTicketGrantingTicket(principal: client) }
        let end = Date(timeIntervalSince1970: TimeInterval(latest))
        return end <= now ? .expired(principal: client, at: end) : .valid(principal: client, until: end)
    }

    private static func unparse(_ context: krb5_context, _ principal: krb5_principal) -> String? {
        var text: UnsafeMutablePointer<CChar>? = nil
        guard krb5_unparse_name(context, principal, &text) == 0, let text else { return nil }
        defer { krb5_free_unparsed_name(context, text) }
        return String(cString: text)
    }

    private static func message(_ context: krb5_context, _ code: krb5_error_code) -> String {
        guard let text = krb5_get_error_message(context, code) else { return "error \(code)" }
        defer { krb5_free_error_message(context, text) }
        return String(cString: text)
    }

    /// A sentence for people: what is wrong with the cache and what to do, naming the cache.
    ///
    /// For example `the Kerberos ticket cache FILE:/tmp/krb5cc_1000 is empty; run kinit`, or
    /// `Kerberos ticket expired at 2026-12-01 22:10:05 UTC (cache FILE:/tmp/krb5cc_1000); run kinit`.
    public var explanation: String {
        let cache = "the Kerberos ticket cache \(name)"
        switch state {
        case .missing: return "\(cache) does not exist; run kinit (or set KRB5_CLIENT_KTNAME to a keytab)"
        case .empty: return "\(cache) is empty; run kinit (or set KRB5_CLIENT_KTNAME to a keytab)"
        case .unreadable(let reason): return "\(cache) cannot be read (\(reason)); run kinit to replace it"
        case .noTicketGrantingTicket(let principal):
            return "\(cache) holds no ticket-granting ticket for \(principal); run kinit"
        case .expired(_, let at):
            return "Kerberos ticket expired at \(Self.format(at)) (cache \(name)); run kinit"
        case .valid(let principal, let until):
            return "\(cache) holds a ticket for \(principal) valid until \(Self.format(until))"
        }
    }

    /// `date` as `yyyy-MM-dd HH:mm:ss UTC`, the same in every locale (ticket and certificate times in messages).
    public static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }
}
