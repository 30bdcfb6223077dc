import Foundation
import SonarLabTestSupport
import Testing

@testable import Kerberos

/// The KDC, or a recorded failure in CI (locally: skipped with a note) when krb5-kdc is not installed.
func requireKDC() -> TestKDC? {
    if let kdc = TestKDC.shared { return kdc }
    if TestPaths.isCI { Issue.record("krb5-kdc is not installed; `make deps` installs it") }
    return nil
}

@Suite("SPNEGO with a real MIT KDC", .serialized)
struct SPNEGOTests {
    @Test("a trainer token from a keytab is accepted as trainer@REALM, and the mutual token completes the client")
    func roundTrip() throws {
        guard let kdc = requireKDC() else { return }
        let client = SPNEGOInitiator(service: "HTTP@localhost", clientPrincipal: "trainer", clientKeytab: kdc.keytab("trainer"))
        let server = SPNEGOAcceptor(keytab: kdc.keytab("http"))
        let token = try client.makeToken()
        #expect(token.count > 100)
        #expect(token.first == 0x60, "a GSS InitialContextToken starts with [APPLICATION 0]")
        let accepted = try server.accept(token)
        #expect(accepted.principal == "trainer@\(kdc.realm)")
        #expect(accepted.shortName == "trainer")
        let response = try #require(accepted.responseToken)
        try client.verifyServerToken(response)
        // A second request makes a fresh context and a different token.
        let again = try client.makeToken()
        #expect(again != token)
        #expect(try server.accept(again).shortName == "trainer")
    }

    @Test("each principal is named by its own keytab")
    func principals() throws {
        guard let kdc = requireKDC() else { return }
        let server = SPNEGOAcceptor(keytab: kdc.keytab("http"))
        for name in ["viewer", "intruder"] {
            let token = try SPNEGOInitiator(service: "HTTP@localhost", clientKeytab: kdc.keytab(name)).makeToken()
            #expect(try server.accept(token).shortName == name)
        }
    }

    @Test("a keytab whose principal the KDC does not know fails with the KDC's words")
    func unknownClient() throws {
        guard let kdc = requireKDC() else { return }
        let client = SPNEGOInitiator(service: "HTTP@localhost", clientPrincipal: "ghost", clientKeytab: kdc.keytab("ghost"))
        do {
            _ = try client.makeToken()
            Issue.record("ghost got a token")
        } catch let error as KerberosError {
            #expect(error.code == .unknownPrincipal, "\(error)")
            #expect(error.message.contains("not found in Kerberos database"), "\(error.message)")
        }
    }

    @Test("an unknown server principal fails as unknownPrincipal")
    func unknownServer() throws {
        guard let kdc = requireKDC() else { return }
        let client = SPNEGOInitiator(service: "HTTP@nohost.invalid", clientKeytab: kdc.keytab("trainer"))
        #expect(throws: KerberosError(.unknownPrincipal, operation: "", message: "")) { try client.makeToken() }
    }

    @Test("a missing client keytab is noCredentials and names no path")
    func missingKeytab() throws {
        guard requireKDC() != nil else { return }
        let client = SPNEGOInitiator(service: "HTTP@localhost", clientKeytab: "/nonexistent/secret-name.keytab")
        do {
            _ = try client.makeToken()
            Issue.record("token without credentials")
        } catch let error as KerberosError {
            #expect(error.code == .noCredentials)
            #expect(!error.description.contains("secret-name"))
        }
    }

    @Test("a server without the service key, garbage and a wrong mutual token are refused")
    func refusals() throws {
        guard let kdc = requireKDC() else { return }
        let client = SPNEGOInitiator(service: "HTTP@localhost", clientKeytab: kdc.keytab("trainer"))
        let token = try client.makeToken()
        #expect(throws: KerberosError.self) { try SPNEGOAcceptor(keytab: kdc.keytab("viewer")).accept(token) }
        let server = SPNEGOAcceptor(keytab: kdc.keytab("http"))
        #expect(throws: KerberosError.self) { try server.accept(Array("not a token".utf8)) }
        #expect(throws: KerberosError(.mutualAuthenticationFailed, operation: "", message: "")) {
            try client.verifyServerToken([0x01, 0x02, 0x03])
        }
    }

    @Test("an expired ticket in a ticket cache fails as expiredTicket")
    func expiredTicket() async throws {
        guard let kdc = requireKDC() else { return }
        let cache = "FILE:\(kdc.directory)/expired-\(UUID().uuidString.prefix(6)).cc"
        let kinit = try await SonarLabProcess.runProcess(
            "/usr/bin/kinit", ["-l", "1s", "-c", cache, "-kt", kdc.keytab("trainer"), "trainer"], in: kdc.directory,
            environment: ["KRB5_CONFIG": kdc.directory + "/krb5.conf"])
        #expect(kinit.status == 0, "\(kinit.stderr)")
        try await Task.sleep(for: .milliseconds(2200))
        let client = SPNEGOInitiator(service: "HTTP@localhost", credentialsCache: cache)
        #expect(throws: KerberosError(.expiredTicket, operation: "", message: "")) { try client.makeToken() }
    }

    @Test("failures are classified by the library's wording", arguments: [
        ("Clock skew too great", KerberosError.Code.clockSkew),
        ("Ticket expired", .expiredTicket),
        ("Client 'ghost@SONARLAB.TEST' not found in Kerberos database", .unknownPrincipal),
        ("Request ticket server HTTP/localhost@SONARLAB.TEST found in keytab but does not match server principal", .noCredentials),
        ("Request ticket server HTTP/x@R kvno 2 found in keytab but cannot decrypt ticket", .badToken),
        ("An invalid name was supplied", .failure),
    ])
    func classification(text: String, code: KerberosError.Code) {
        #expect(KerberosError.classify(text, major: UInt32(13) << 16) == code)
    }
}
