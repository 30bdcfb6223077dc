import Foundation
import SonarLabTestSupport
import Testing

@testable import Kerberos

/// Ticket caches made in the test (empty, garbage, no TGT, expired) are read with libkrb5 and refused by name,
/// before GSSAPI could crash on them.
@Suite("Kerberos ticket caches (libkrb5 krb5_cc_*)", .serialized)
struct TicketCacheTests {
    static func workspace() throws -> TemporaryDirectory { try TemporaryDirectory("sonarlab-ccache") }

    @Test("a cache file that does not exist is missing")
    func missing() throws {
        let dir = try Self.workspace()
        defer { dir.remove() }
        let cache = KerberosTicketCache.inspect("FILE:" + dir.file("none"))
        #expect(cache.state == .missing)
        #expect(cache.name == "FILE:" + dir.file("none"))
        #expect(cache.explanation.contains("does not exist; run kinit"))
    }

    @Test("a zero-length cache file is empty, a directory is unreadable, garbage bytes are unreadable")
    func emptyAndGarbage() throws {
        let dir = try Self.workspace()
        defer { dir.remove() }
        let empty = try dir.write("empty", "")
        #expect(KerberosTicketCache.inspect("FILE:" + empty).state == .empty)
        #expect(KerberosTicketCache.inspect(empty).state == .empty, "a bare path is a FILE: cache")
        let garbage = try dir.write("garbage", bytes: Array("this is not a ticket cache\n".utf8) + [0, 1, 2, 0xFF])
        guard case .unreadable(let reason) = KerberosTicketCache.inspect("FILE:" + garbage).state else {
            Issue.record("garbage should be unreadable")
            return
        }
        #expect(!reason.isEmpty)
        let folder = dir.file("folder")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(KerberosTicketCache.inspect("FILE:" + folder).state == .unreadable(reason: "not a regular file"))
    }

    @Test("a kinit cache holds a valid TGT until its end time, then it is expired at that time")
    func validThenExpired() throws {
        guard let kdc = requireKDC() else { return }
        let dir = try Self.workspace()
        defer { dir.remove() }
        let path = "FILE:" + dir.file("trainer.cc")
        #expect(try kdc.kinit("trainer", cache: path, lifetime: "1h").status == 0)
        let cache = KerberosTicketCache.inspect(path)
        guard case .valid(let principal, let until) = cache.state else {
            Issue.record("\(cache.state)")
            return
        }
        #expect(principal == "trainer@\(kdc.realm)")
        #expect(until > Date().addingTimeInterval(1800))
        let later = KerberosTicketCache.inspect(path, now: until.addingTimeInterval(1))
        #expect(later.state == .expired(principal: principal, at: until))
        #expect(later.explanation.hasPrefix("Kerberos ticket expired at \(KerberosTicketCache.format(until))"))
        #expect(later.explanation.hasSuffix("; run kinit"))
    }

    @Test("a cache with only a service ticket (kinit -S) has no ticket-granting ticket")
    func noTGT() throws {
        guard let kdc = requireKDC() else { return }
        let dir = try Self.workspace()
        defer { dir.remove() }
        let path = "FILE:" + dir.file("service-only.cc")
        #expect(try kdc.kinit("trainer", cache: path, service: "HTTP/localhost").status == 0)
        #expect(KerberosTicketCache.inspect(path).state == .noTicketGrantingTicket(principal: "trainer@\(kdc.realm)"))
    }

    @Test("an initiator without keytab or principal refuses an empty or garbage cache by name instead of crashing")
    func initiatorRefusesBadCaches() throws {
        guard requireKDC() != nil else { return }
        let dir = try Self.workspace()
        defer { dir.remove() }
        let empty = try dir.write("empty", "")
        let garbage = try dir.write("garbage", bytes: [0x05, 0x04, 0xFF, 0xFF, 0, 0, 0, 9, 1, 2, 3])
        for (path, words) in [
            (empty, "is empty; run kinit"), (garbage, "cannot be read"), (dir.file("gone"), "does not exist"),
        ] {
            let client = SPNEGOInitiator(service: "HTTP@localhost", credentialsCache: "FILE:" + path)
            do {
                _ = try client.makeToken()
                Issue.record("a token from \(path)")
            } catch let error as KerberosError {
                #expect(error.code == .noCredentials, "\(error)")
                #expect(error.message.contains("FILE:" + path), "\(error.message)")
                #expect(error.message.contains(words), "\(error.message)")
                #expect(error.message.contains("kinit"), "\(error.message)")
            }
        }
    }

    @Test("an initiator with an expired cache says when it expired")
    func initiatorNamesTheExpiry() throws {
        guard let kdc = requireKDC() else { return }
        let dir = try Self.workspace()
        defer { dir.remove() }
        let path = "FILE:" + dir.file("short.cc")
        #expect(try kdc.kinit("trainer", cache: path, lifetime: "1s").status == 0)
        Thread.sleep(forTimeInterval: 2.2)
        let client = SPNEGOInitiator(service: "HTTP@localhost", credentialsCache: path)
        do {
            _ = try client.makeToken()
            Issue.record("a token from an expired cache")
        } catch let error as KerberosError {
            #expect(error.code == .expiredTicket)
            #expect(error.message.hasPrefix("Kerberos ticket expired at "), "\(error.message)")
            #expect(error.message.hasSuffix("; run kinit"), "\(error.message)")
        }
    }

    @Test("a service principal with a slash is used as it is (SONARLAB_HBASE_SPN), not as HTTP@host")
    func explicitServicePrincipal() throws {
        guard let kdc = requireKDC() else { return }
        let server = SPNEGOAcceptor(keytab: kdc.keytab("http"))
        let client = SPNEGOInitiator(
            service: "HTTP/localhost@\(kdc.realm)", clientPrincipal: "trainer", clientKeytab: kdc.keytab("trainer"))
        #expect(try server.accept(try client.makeToken()).shortName == "trainer")
        let wrong = SPNEGOInitiator(
            service: "HTTP/gw.example@\(kdc.realm)", clientPrincipal: "trainer", clientKeytab: kdc.keytab("trainer"))
        #expect(throws: KerberosError(.unknownPrincipal, operation: "", message: "")) { try wrong.makeToken() }
    }
}
