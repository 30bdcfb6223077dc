import Foundation
import NIOSSL
import Settings
import SonarLabTestSupport
import Testing

@testable import ServingAuth

/// Two self-signed certificates with their keys (openssl), made in a temporary folder.
struct SelfSignedPair {
    let directory: String
    var certificate: String { directory + "/a.pem" }
    var key: String { directory + "/a.key" }
    var otherKey: String { directory + "/b.key" }

    static func make() async throws -> SelfSignedPair? {
        let directory = NSTemporaryDirectory() + "sonarlab-serve-tls-\(UUID().uuidString.prefix(8))"
        let script = """
            set -e
            mkdir -p "$1" && cd "$1"
            for n in a b; do
              openssl req -x509 -newkey rsa:2048 -nodes -keyout $n.key -out $n.pem -days 2 -subj "/CN=localhost" 2>/dev/null
              chmod 600 $n.key
            done
            """
        let result = try await SonarLabProcess.runProcess("/bin/bash", ["-c", script, "tls", directory], in: "/")
        guard result.status == 0 else {
            if TestPaths.isCI { Issue.record("openssl failed: \(result.stderr)") }
            return nil
        }
        return SelfSignedPair(directory: directory)
    }
}

@Suite("TLS configuration for the service")
struct ServingTLSTests {
    @Test("a certificate with its key gives a server configuration; problems name the file")
    func pairs() async throws {
        guard let pair = try await SelfSignedPair.make() else { return }
        defer { try? FileManager.default.removeItem(atPath: pair.directory) }
        let configuration = try ServingTLS.makeServerConfiguration(certificateFile: pair.certificate, keyFile: pair.key)
        #expect(configuration.certificateChain.count == 1)

        func failure(_ certificate: String, _ key: String) -> ServingAuthError? {
            do {
                _ = try ServingTLS.makeServerConfiguration(certificateFile: certificate, keyFile: key)
                return nil
            } catch { return error }
        }
        let mismatched = failure(pair.certificate, pair.otherKey)
        #expect(mismatched?.code == .configuration && mismatched?.place == pair.otherKey)
        let missing = failure(pair.directory + "/none.pem", pair.key)
        #expect(missing?.code == .unreadable && missing?.place == pair.directory + "/none.pem")
        let notPEM = failure(pair.key + ".txt", pair.key)
        #expect(notPEM?.code == .unreadable)
        try "not a certificate".write(toFile: pair.directory + "/bad.pem", atomically: true, encoding: .utf8)
        let bad = failure(pair.directory + "/bad.pem", pair.key)
        #expect(bad?.code == .invalidPEM && bad?.place == pair.directory + "/bad.pem", "\(String(describing: bad))")
        try "not a key".write(toFile: pair.directory + "/bad.key", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pair.directory + "/bad.key")
        let badKey = failure(pair.certificate, pair.directory + "/bad.key")
        #expect(badKey?.code == .invalidPEM && badKey?.place == pair.directory + "/bad.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pair.key)
        let open = failure(pair.certificate, pair.key)
        #expect(open?.code == .worldReadable && open?.place == pair.key)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pair.key)
        let fromEnvironment = try ServingTLS.makeServerConfiguration(
            environment: .init(environment: [
                "SONARLAB_SERVE_TLS_CERT_FILE": pair.certificate, "SONARLAB_SERVE_TLS_KEY_FILE": pair.key,
            ]))
        #expect(fromEnvironment != nil)
    }
}
