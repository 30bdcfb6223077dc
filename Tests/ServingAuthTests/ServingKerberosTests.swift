import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kerberos
import SonarLabTestSupport
import Testing

@testable import ServingAuth

/// The test KDC, or a recorded failure in CI (locally: skipped) when krb5-kdc is not installed.
func requireKDC() -> TestKDC? {
    if let kdc = TestKDC.shared { return kdc }
    if TestPaths.isCI { Issue.record("krb5-kdc is not installed; `make deps` installs it") }
    return nil
}

@Suite("Callers' Kerberos SPNEGO with a real MIT KDC", .serialized)
struct ServingKerberosTests {
    func negotiate(_ token: [UInt8]) -> HTTPFields {
        [.authorization: "Negotiate " + Data(token).base64EncodedString()]
    }

    @Test("a trainer ticket reaches the handler as trainer@REALM, and the mutual token completes the client's context")
    func acceptedWithMutualToken() async throws {
        guard let kdc = requireKDC() else { return }
        let policy = ServingAccessPolicy(
            authenticator: .kerberos(SPNEGOAcceptor(keytab: kdc.keytab("http"))), allowInfer: ["trainer"],
            allowAdmin: ["viewer@\(kdc.realm)"])
        let trainer = SPNEGOInitiator(
            service: "HTTP@localhost", clientPrincipal: "trainer", clientKeytab: kdc.keytab("trainer"))
        let viewer = SPNEGOInitiator(
            service: "HTTP@localhost", clientPrincipal: "viewer", clientKeytab: kdc.keytab("viewer"))
        try await makeApplication(policy).test(.router) { client in
            try await client.execute(
                uri: "/v2/models/sonar/infer", method: .post, headers: negotiate(try trainer.makeToken())
            ) { response in
                #expect(response.status == .ok)
                #expect(bodyText(response) == "trainer@\(kdc.realm)")
                let header = try #require(response.headers[.wwwAuthenticate])
                #expect(header.hasPrefix("Negotiate "))
                let mutual = try #require(Data(base64Encoded: String(header.dropFirst("Negotiate ".count))))
                try trainer.verifyServerToken(Array(mutual))
            }
            // viewer is on the admin list by full principal, not on the infer list.
            try await client.execute(
                uri: "/v2/models/sonar/infer", method: .post, headers: negotiate(try viewer.makeToken())
            ) { response in
                #expect(response.status == .forbidden)
                let message = try errorMessage(response)
                #expect(message.contains("viewer@\(kdc.realm)"))
            }
            try await client.execute(
                uri: "/v2/repository/models/sonar/load", method: .post, headers: negotiate(try viewer.makeToken())
            ) { response in
                #expect(response.status == .ok)
                #expect(bodyText(response) == "viewer@\(kdc.realm)")
            }
            try await client.execute(
                uri: "/v2/repository/models/sonar/load", method: .post, headers: negotiate(try trainer.makeToken())
            ) { #expect($0.status == .forbidden) }
        }
    }

    @Test("no token, a garbage token, a Bearer credential or a token for another service is 401 with Negotiate")
    func refused() async throws {
        guard let kdc = requireKDC() else { return }
        let policy = ServingAccessPolicy(authenticator: .kerberos(SPNEGOAcceptor(keytab: kdc.keytab("http"))))
        // A token the service key cannot decrypt: made for the service, accepted with another principal's keytab.
        let wrongKey = ServingAccessPolicy(authenticator: .kerberos(SPNEGOAcceptor(keytab: kdc.keytab("viewer"))))
        let trainer = SPNEGOInitiator(service: "HTTP@localhost", clientKeytab: kdc.keytab("trainer"))
        let requests: [(ServingAccessPolicy, HTTPFields)] = [
            (policy, [:]),
            (policy, [.authorization: "Negotiate " + Data("not a token".utf8).base64EncodedString()]),
            (policy, [.authorization: "Negotiate %%%"]),
            (policy, [.authorization: "Bearer abc"]),
            (wrongKey, negotiate(try trainer.makeToken())),
        ]
        for (policy, headers) in requests {
            try await makeApplication(policy).test(.router) { client in
                try await client.execute(uri: "/v2/models/sonar/infer", method: .post, headers: headers) { response in
                    #expect(response.status == .unauthorized, "\(headers)")
                    #expect(response.headers[.wwwAuthenticate] == "Negotiate")
                    let message = try errorMessage(response)
                    #expect(message.contains("Negotiate") || message.contains("Kerberos"))
                }
            }
        }
    }
}
