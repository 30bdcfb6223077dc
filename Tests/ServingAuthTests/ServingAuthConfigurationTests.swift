import Foundation
import Settings
import SonarLabTestSupport
import Testing

@testable import ServingAuth

@Suite("Tokens file and access configuration")
struct TokensFileTests {
    @Test(
        "a bad line is refused with file:line and never shows the digest",
        arguments: [
            ("alice", 1, "expected name:sha256-hex"),
            ("# ok\nal ice:\(String(repeating: "a", count: 64))", 2, "letters, digits"),
            (":\(String(repeating: "a", count: 64))", 1, "letters, digits"),
            ("alice:\(String(repeating: "a", count: 63))", 1, "64 hexadecimal"),
            ("alice:\(String(repeating: "g", count: 64))", 1, "64 hexadecimal"),
            ("alice:\(String(repeating: "a", count: 64))\n\nalice:\(String(repeating: "b", count: 64))", 3, "twice"),
        ])
    func badLine(text: String, line: Int, words: String) {
        do {
            _ = try BearerTokenTable(text: text, file: "/etc/serve/tokens")
            Issue.record("accepted \(text)")
        } catch let error as ServingAuthError {
            #expect(error.code == .syntax)
            #expect(error.place == "/etc/serve/tokens:\(line)")
            #expect(error.reason.contains(words), "\(error)")
            #expect(!error.description.contains(String(repeating: "b", count: 64)))
        }
    }

    @Test("a file with no token is refused")
    func empty() {
        #expect(throws: ServingAuthError(.configuration, place: "", reason: "")) {
            try BearerTokenTable(text: "# nothing\n\n", file: "tokens")
        }
    }

    @Test("a world-readable tokens file is refused; a private one is read; a missing one is unreadable")
    func permissions() throws {
        let text = "alice:\(sha256Hex("t"))\n"
        let open = try temporaryFile(text, mode: 0o644)
        let closed = try temporaryFile(text, mode: 0o640)
        defer { for path in [open, closed] { try? FileManager.default.removeItem(atPath: path) } }
        do {
            _ = try BearerTokenTable(contentsOfFile: open)
            Issue.record("read a world-readable file")
        } catch let error as ServingAuthError {
            #expect(error.code == .worldReadable)
            #expect(error.place == open)
        }
        #expect(try BearerTokenTable(contentsOfFile: closed).names == ["alice"])
        #expect(try BearerTokenTable(contentsOfFile: closed).caller(presenting: "t") == "alice")
        #expect(throws: ServingAuthError(.unreadable, place: "", reason: "")) {
            try BearerTokenTable(contentsOfFile: closed + ".missing")
        }
    }

    @Test("the table names the token a caller presents, and nothing for a near miss")
    func lookup() throws {
        let table = try BearerTokenTable(text: "a:\(sha256Hex("one"))\nb:\(sha256Hex("two"))\n", file: "t")
        #expect(table.caller(presenting: "one") == "a")
        #expect(table.caller(presenting: "two") == "b")
        for miss in ["", "on", "one ", "One", "two2"] { #expect(table.caller(presenting: miss) == nil) }
    }

    @Test("the policy reads [serve] auth = bearer from the tokens file named in the environment")
    func bearerFromSettings() throws {
        let path = try temporaryFile("svc:\(sha256Hex("s3cret"))\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let resolved = try ConfigurationResolver.resolve(
            configFile: "/nonexistent/config.ini",
            environment: [
                "SONARLAB_SERVE_AUTH": "bearer", "SONARLAB_SERVE_ALLOW_INFER": "svc, alice@SONARLAB.TEST",
                "SONARLAB_SERVE_TOKENS_FILE": path,
            ])
        let settings = resolved.configuration.serveAccess
        #expect(settings.auth == .bearer)
        #expect(settings.allowInfer == ["svc", "alice@SONARLAB.TEST"])
        let environment = try ServeAccessEnvironment(environment: ["SONARLAB_SERVE_TOKENS_FILE": path])
        let policy = try ServingAccessPolicy(settings: settings, environment: environment)
        #expect(policy.allowInfer == ["svc", "alice@SONARLAB.TEST"])
        #expect(throws: ServingAuthError(.configuration, place: "", reason: "")) {
            try ServingAccessPolicy(settings: settings, environment: ServeAccessEnvironment(environment: [:]))
        }
    }

    @Test("[serve] auth = kerberos needs a keytab in KRB5_KTNAME that others cannot read")
    func kerberosFromSettings() throws {
        var settings = SonarLabConfiguration.ServeAccessSettings()
        settings.auth = .kerberos
        #expect(throws: ServingAuthError(.configuration, place: "", reason: "")) {
            try ServingAccessPolicy(settings: settings, environment: ServeAccessEnvironment(environment: [:]))
        }
        let open = try temporaryFile("keytab bytes", mode: 0o604, name: "http.keytab")
        let closed = try temporaryFile("keytab bytes", mode: 0o600, name: "http.keytab")
        defer { for path in [open, closed] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(throws: ServingAuthError(.worldReadable, place: "", reason: "")) {
            try ServingAccessPolicy(
                settings: settings, environment: ServeAccessEnvironment(environment: ["KRB5_KTNAME": "FILE:" + open]))
        }
        let policy = try ServingAccessPolicy(
            settings: settings, environment: ServeAccessEnvironment(environment: ["KRB5_KTNAME": closed]))
        if case .kerberos = policy.authenticator.method {} else { Issue.record("not kerberos") }
    }

    @Test(
        "allow-lists and auth kinds are checked where they are read",
        arguments: [
            ("SONARLAB_SERVE_AUTH", "basic", "none, kerberos, bearer"),
            ("SONARLAB_SERVE_ALLOW_INFER", "alice,,bob", "name 2"),
            ("SONARLAB_SERVE_ALLOW_ADMIN", "ops, al ice", "space"),
        ])
    func badSettings(variable: String, value: String, words: String) {
        do {
            _ = try ConfigurationResolver.resolve(configFile: "/nonexistent/config.ini", environment: [variable: value])
            Issue.record("accepted \(variable)=\(value)")
        } catch let error as SettingsError {
            #expect(error.place == "environment \(variable)")
            #expect(error.reason.contains(words), "\(error)")
        }
    }

    @Test("the service's file variables are known names, and TLS needs both of its files")
    func environmentNames() throws {
        let environment = [
            "SONARLAB_SERVE_TOKENS_FILE": "/t", "SONARLAB_SERVE_TLS_CERT_FILE": "/c",
            "SONARLAB_SERVE_TLS_KEY_FILE": "/k",
            "SONARLAB_SERVE_URL": "http://localhost:1",
        ]
        #expect(throws: Never.self) { try ConfigurationResolver.checkEnvironment(environment) }
        let read = try ServeAccessEnvironment(environment: environment)
        #expect(read.tlsCertificateFile == "/c" && read.tlsKeyFile == "/k" && read.tokensFile == "/t")
        #expect(throws: SettingsError(.missing, place: "environment SONARLAB_SERVE_TLS_KEY_FILE", reason: "")) {
            try ServeAccessEnvironment(environment: ["SONARLAB_SERVE_TLS_CERT_FILE": "/c"])
        }
        #expect(try ServingTLS.makeServerConfiguration(environment: ServeAccessEnvironment(environment: [:])) == nil)
    }

    @Test("errors compare by code and print place and reason")
    func errors() {
        let error = ServingAuthError(.syntax, place: "f:3", reason: "bad")
        #expect(error.description == "f:3: bad")
        #expect(error == ServingAuthError(.syntax, place: "other", reason: "other"))
        #expect(error != ServingAuthError(.unreadable, place: "f:3", reason: "bad"))
        #expect(ServingRouteGroup.admin.description == "admin")
        #expect(ServingAuthError.Code.invalidPEM.description == "invalidPEM")
    }
}
