import Foundation
import HBase
import HBaseRESTDouble
import HTTPTypes
import SonarLabTestSupport
import Synchronization
import Testing

/// A private CA and a server certificate for localhost/127.0.0.1 (openssl), plus a second, unrelated CA.
final class TestCertificates: Sendable {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var otherCA: String { directory + "/other-ca.pem" }
    var certificate: String { directory + "/server.pem" }
    var key: String { directory + "/server.key" }

    static let shared: TestCertificates? = {
        let dir = NSTemporaryDirectory() + "sonarlab-tls-\(getpid())"
        let script = """
            set -e
            mkdir -p "$1" && cd "$1"
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=SonarLab test CA" \
              -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=Other CA"
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
            """
        guard let result = try? SonarLabProcess.runBlocking("/bin/bash", ["-c", script, "tls", dir], in: "/"),
            result.status == 0
        else { return nil }
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "sonarlab-tls-\(getpid())") }
        return TestCertificates(directory: dir)
    }()

    private init(directory: String) { self.directory = directory }
}

/// Counts how requests authenticated: SPNEGO tokens vs the `hadoop.auth` cookie.
final class CountingSecurity: HBaseDoubleSecurity {
    let inner: any HBaseDoubleSecurity
    let tokens = Mutex(0)
    let cookies = Mutex(0)
    init(_ inner: any HBaseDoubleSecurity) { self.inner = inner }
    func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
        if head.headerFields[.authorization]?.hasPrefix("Negotiate ") == true { tokens.withLock { $0 += 1 } }
        if head.headerFields[.cookie]?.contains("hadoop.auth=") == true { cookies.withLock { $0 += 1 } }
        return await inner.authenticate(head)
    }
    func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool {
        await inner.authorize(user: user, action: action, scope: scope)
    }
}

/// The KDC and certificates, or a recorded failure in CI (locally: skipped) when a tool is missing.
func requireSecurityPrerequisites() -> (TestKDC, TestCertificates)? {
    guard let kdc = TestKDC.shared, let certificates = TestCertificates.shared else {
        if TestPaths.isCI { Issue.record("krb5-kdc or openssl is not installed; `make deps` installs them") }
        return nil
    }
    return (kdc, certificates)
}

/// The auth matrix (issue 5 item 6) against the double with Kerberos SPNEGO, grants and TLS, in process.
@Suite("HBase security: Kerberos, TLS and ACLs", .serialized)
struct HBaseSecurityTests {
    static let grants = """
        # HTTP/localhost (the service principal) stands in for the hbase superuser that sets the tables up.
        grant 'HTTP', 'RWXCA'
        grant 'trainer', 'RW', 'sonarlab:experiments'
        grant 'trainer', 'C', '@sonarlab'
        grant 'viewer', 'R', '@sonarlab'
        """
    static let table = HBaseTableName("experiments", namespace: "sonarlab")

    /// Runs `body` with the secured double (https on 127.0.0.1) and a factory of clients.
    static func withSecuredDouble(
        cookieValidity: TimeInterval = 36000,
        _ body: (_ url: URL, _ kdc: TestKDC, _ certificates: TestCertificates, _ counter: CountingSecurity) async throws
            -> Void
    ) async throws {
        guard let (kdc, certificates) = requireSecurityPrerequisites() else { return }
        let gateway = HBaseDoubleSecuredGateway(
            authentication: .kerberos(keytab: kdc.keytab("http")), grants: try HBaseDoubleGrants(parsing: grants),
            secureCookie: true, cookieValidity: cookieValidity)
        let counter = CountingSecurity(gateway)
        let configuration = HBaseRESTDoubleConfiguration(
            host: "127.0.0.1", port: 0, security: counter,
            tls: (certificateFile: certificates.certificate, keyFile: certificates.key))
        try await HBaseRESTDouble.withRunning(configuration: configuration) { port in
            let url = URL(string: "https://localhost:\(port)")!
            // The superuser creates the namespace and table.
            try await withClient(url, principal: "HTTP/localhost", keytab: kdc.keytab("http"), ca: certificates.ca) {
                try await $0.createNamespace("sonarlab")
                try await $0.createOrReplaceTable(HBaseTableSchema(table: table, families: [HBaseColumnFamily("s")]))
            }
            try await body(url, kdc, certificates, counter)
        }
    }

    static func withClient(
        _ url: URL, principal: String?, keytab: String?, ca: String?, servicePrincipal: String? = nil,
        _ body: (HBaseClient) async throws -> Void
    ) async throws {
        let authenticator: any HBaseAuthenticator =
            keytab == nil
            ? HBaseNoAuthenticator()
            : HBaseKerberosAuthenticator(principal: principal, keytab: keytab, servicePrincipal: servicePrincipal)
        let configuration = HBaseClientConfiguration(
            baseURL: url, retryPolicy: .never, authenticator: authenticator, tls: .init(caFile: ca))
        try await HBaseClient.withClient(configuration: configuration, body)
    }

    static func row(_ key: String) -> HBaseRow {
        HBaseRow(key: key, cells: [HBaseCell(column: HBaseColumn("s", "status"), string: "finished")])
    }

    /// What the superuser sees of a row: proves whether anything was written.
    static func stored(_ key: String, _ url: URL, _ kdc: TestKDC, _ certificates: TestCertificates) async throws
        -> HBaseRow?
    {
        let found = Mutex<HBaseRow?>(nil)
        try await withClient(url, principal: "HTTP/localhost", keytab: kdc.keytab("http"), ca: certificates.ca) {
            let row = try await $0.row(key, in: table)
            found.withLock { $0 = row }
        }
        return found.withLock { $0 }
    }

    @Test func trainerReadsAndWritesWithOneTokenThenTheCookie() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, counter in
            try await Self.withClient(url, principal: "trainer", keytab: kdc.keytab("trainer"), ca: certificates.ca) {
                client in
                let before = counter.tokens.withLock { $0 }
                try await client.put(Self.row("r1"), into: Self.table)
                try await client.put(Self.row("r2"), into: Self.table)
                let stored = try await client.row("r1", in: Self.table)
                #expect(stored?.string(of: HBaseColumn("s", "status")) == "finished")
                #expect(try await client.clusterVersion().isEmpty == false)
                #expect(counter.tokens.withLock { $0 } - before == 1, "one SPNEGO token, then the hadoop.auth cookie")
                #expect(counter.cookies.withLock { $0 } >= 3)
            }
            #expect(try await Self.stored("r2", url, kdc, certificates) != nil)
        }
    }

    @Test func anExpiredSessionCookieIsAnsweredWithANewToken() async throws {
        try await Self.withSecuredDouble(cookieValidity: 0) { url, kdc, certificates, counter in
            try await Self.withClient(url, principal: "trainer", keytab: kdc.keytab("trainer"), ca: certificates.ca) {
                client in
                let before = counter.tokens.withLock { $0 }
                try await client.put(Self.row("c1"), into: Self.table)
                try await client.put(Self.row("c2"), into: Self.table)
                // The second request's cookie has expired: 401, then the same request with a new token.
                #expect(counter.tokens.withLock { $0 } - before == 2)
            }
            #expect(try await Self.stored("c2", url, kdc, certificates) != nil)
        }
    }

    @Test func noCredentialsIs401AndNothingIsWritten() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            try await Self.withClient(url, principal: nil, keytab: nil, ca: certificates.ca) { client in
                let error = await #expect(throws: HBaseError.unauthorized) {
                    try await client.put(Self.row("anon"), into: Self.table)
                }
                #expect(error?.message == "put table 'sonarlab:experiments' row 'anon': not authenticated (HTTP 401)")
            }
            #expect(try await Self.stored("anon", url, kdc, certificates) == nil)
        }
    }

    @Test func unknownPrincipalIsAGSSErrorAndNothingIsWritten() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            try await Self.withClient(url, principal: "ghost", keytab: kdc.keytab("ghost"), ca: certificates.ca) {
                client in
                let error = await #expect(throws: HBaseError.credentialsUnavailable) {
                    try await client.put(Self.row("ghost"), into: Self.table)
                }
                #expect(
                    error?.message
                        == "Kerberos authentication as ghost to HTTP@localhost failed: a principal is unknown to the KDC: No credentials were supplied, or the credentials were unavailable or inaccessible: Client 'ghost@SONARLAB.TEST' not found in Kerberos database"
                )
                #expect(error?.message.contains(kdc.keytab("ghost")) == false)
            }
            #expect(try await Self.stored("ghost", url, kdc, certificates) == nil)
        }
    }

    @Test func wrongKeytabIsAGSSErrorAndNothingIsWritten() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            try await Self.withClient(url, principal: "trainer", keytab: kdc.keytab("viewer"), ca: certificates.ca) {
                client in
                let error = await #expect(throws: HBaseError.credentialsUnavailable) {
                    try await client.put(Self.row("wrong"), into: Self.table)
                }
                #expect(
                    error?.message
                        == "Kerberos authentication as trainer to HTTP@localhost failed: no usable key for trainer in the client keytab (KRB5_CLIENT_KTNAME): No credentials were supplied, or the credentials were unavailable or inaccessible: No credentials cache found"
                )
                #expect(error?.message.contains(kdc.keytab("viewer")) == false)
            }
            #expect(try await Self.stored("wrong", url, kdc, certificates) == nil)
        }
    }

    @Test func viewerWriteIs403AndNothingIsWritten() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            try await Self.withClient(url, principal: "viewer", keytab: kdc.keytab("viewer"), ca: certificates.ca) {
                client in
                let nothing = try await client.row("nothing", in: Self.table)
                #expect(nothing == nil)
                let error = await #expect(throws: HBaseError.forbidden) {
                    try await client.put(Self.row("viewer"), into: Self.table)
                }
                #expect(
                    error?.message == "put table 'sonarlab:experiments' row 'viewer': forbidden: Forbidden (HTTP 403)")
            }
            #expect(try await Self.stored("viewer", url, kdc, certificates) == nil)
        }
    }

    @Test func intruderReadIs403() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            try await Self.withClient(url, principal: "intruder", keytab: kdc.keytab("intruder"), ca: certificates.ca) {
                client in
                let error = await #expect(throws: HBaseError.forbidden) {
                    _ = try await client.row("r1", in: Self.table)
                }
                #expect(error?.message == "get table 'sonarlab:experiments' row 'r1': forbidden: Forbidden (HTTP 403)")
                await #expect(throws: HBaseError.forbidden) {
                    try await client.put(Self.row("intruder"), into: Self.table)
                }
            }
            #expect(try await Self.stored("intruder", url, kdc, certificates) == nil)
        }
    }

    @Test func wrongCAOrTheSystemStoreIsATLSError() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            for ca in [certificates.otherCA, nil] {
                try await Self.withClient(url, principal: "trainer", keytab: kdc.keytab("trainer"), ca: ca) { client in
                    let error = await #expect(throws: HBaseError.untrustedCertificate) {
                        try await client.put(Self.row("tls"), into: Self.table)
                    }
                    #expect(
                        error?.message
                            == "put table 'sonarlab:experiments' row 'tls': TLS handshake with the HBase REST gateway failed: its certificate is not trusted or not issued for 'localhost' (a private CA goes in SONARLAB_HBASE_CA_FILE)"
                    )
                }
            }
            #expect(try await Self.stored("tls", url, kdc, certificates) == nil)
        }
    }

    @Test func curlNegotiateWithATrainerTicketGets200() async throws {
        try await Self.withSecuredDouble { url, kdc, certificates, _ in
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"),
                FileManager.default.isExecutableFile(atPath: "/usr/bin/kinit")
            else {
                if TestPaths.isCI { Issue.record("curl or kinit is missing; `make deps` installs them") }
                return
            }
            let cache = "FILE:" + kdc.directory + "/curl-\(UUID().uuidString.prefix(8)).ccache"
            let environment = ["KRB5CCNAME": cache]
            let kinit = try await SonarLabProcess.runProcess(
                "/usr/bin/kinit", ["-kt", kdc.keytab("trainer"), "trainer"], in: "/", environment: environment)
            #expect(kinit.status == 0, "\(kinit.stderr)")
            let arguments = [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--negotiate", "-u", ":", "--cacert", certificates.ca,
                "-H", "Accept: application/json", url.absoluteString + "/version/cluster",
            ]
            let curl = try await SonarLabProcess.runProcess("/usr/bin/curl", arguments, in: "/", environment: environment)
            #expect(curl.stdout == "200", "\(curl.stderr)")
            let anonymous = try await SonarLabProcess.runProcess(
                "/usr/bin/curl", Array(arguments.filter { $0 != "--negotiate" && $0 != "-u" && $0 != ":" }), in: "/")
            #expect(anonymous.stdout == "401")
        }
    }

    @Test func basicWithAWrongPasswordIs401OverTLS() async throws {
        guard let (_, certificates) = requireSecurityPrerequisites() else { return }
        let users = try HBaseDoubleSecuredGateway.parseUsers("trainer:Right-Pass-1\n")  // pragma: allowlist secret
        let gateway = HBaseDoubleSecuredGateway(
            authentication: .basic(users: users),
            grants: try HBaseDoubleGrants(parsing: "grant 'trainer', 'RWC'"))
        let configuration = HBaseRESTDoubleConfiguration(
            host: "127.0.0.1", port: 0, security: gateway,
            tls: (certificateFile: certificates.certificate, keyFile: certificates.key))
        try await HBaseRESTDouble.withRunning(configuration: configuration) { port in
            let url = URL(string: "https://localhost:\(port)")!
            for (password, expected) in [("Wrong-Pass-2", false), ("Right-Pass-1", true)] {  // pragma: allowlist secret
                let client = HBaseClientConfiguration(
                    baseURL: url, retryPolicy: .never,
                    authenticator: HBaseBasicAuthenticator(user: "trainer", password: password),
                    tls: .init(caFile: certificates.ca))
                try await HBaseClient.withClient(configuration: client) { client in
                    if expected {
                        let exists = try await client.tableExists(HBaseTableName("t"))
                        #expect(exists == false)
                    } else {
                        let error = await #expect(throws: HBaseError.unauthorized) {
                            try await client.createOrReplaceTable(
                                HBaseTableSchema(table: HBaseTableName("t"), families: [HBaseColumnFamily("f")]))
                        }
                        #expect(error?.message == "create table table 't': not authenticated (HTTP 401)")
                        #expect(error.map { String(describing: $0).contains(password) } == false)
                    }
                }
            }
        }
    }

    @Test func aForgedMutualTokenFailsTheRequest() async throws {
        guard let (kdc, certificates) = requireSecurityPrerequisites() else { return }
        struct Forger: HBaseDoubleSecurity {
            func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
                var fields = HTTPFields()
                fields[.wwwAuthenticate] = "Negotiate " + Data("not a token".utf8).base64EncodedString()
                return .authenticated(user: "trainer", responseHeaders: fields)
            }
            func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool { true }
        }
        let configuration = HBaseRESTDoubleConfiguration(
            host: "127.0.0.1", port: 0, security: Forger(),
            tls: (certificateFile: certificates.certificate, keyFile: certificates.key))
        try await HBaseRESTDouble.withRunning(configuration: configuration) { port in
            let url = URL(string: "https://localhost:\(port)")!
            try await Self.withClient(url, principal: "trainer", keytab: kdc.keytab("trainer"), ca: certificates.ca) {
                client in
                // The gateway answered 200: a failed mutual authentication is exactly that, never a 401.
                let error = await #expect(throws: HBaseError.mutualAuthenticationFailed) {
                    _ = try await client.clusterVersion()
                }
                let expected =
                    "Kerberos mutual authentication with HTTP@localhost failed after the gateway answered HTTP 200: "
                #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
                #expect(error?.status == nil)
            }
        }
    }
}

/// Kerberos and TLS states around the secured double: the gateway's service principal override, certificates
/// outside their validity period (made with openssl under `faketime`).
@Suite("HBase security: service principal and certificate validity", .serialized)
struct HBaseSecurityStateTests {
    @Test func aServicePrincipalOverrideReachesAGatewayByAnotherName() async throws {
        try await HBaseSecurityTests.withSecuredDouble { url, kdc, certificates, _ in
            // The certificate also names 127.0.0.1, but the KDC knows only HTTP/localhost: HTTP@127.0.0.1 fails.
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
            components.host = "127.0.0.1"
            let byAddress = components.url!
            try await HBaseSecurityTests.withClient(
                byAddress, principal: "trainer", keytab: kdc.keytab("trainer"), ca: certificates.ca
            ) { client in
                let error = await #expect(throws: HBaseError.credentialsUnavailable) {
                    _ = try await client.clusterVersion()
                }
                #expect(error?.message.contains("HTTP@127.0.0.1") == true, "\(error?.message ?? "")")
            }
            try await HBaseSecurityTests.withClient(
                byAddress, principal: "trainer", keytab: kdc.keytab("trainer"), ca: certificates.ca,
                servicePrincipal: "HTTP/localhost@\(kdc.realm)"
            ) { client in
                try await client.put(HBaseSecurityTests.row("spn"), into: HBaseSecurityTests.table)
            }
            #expect(try await HBaseSecurityTests.stored("spn", url, kdc, certificates) != nil)
        }
    }

    /// A server certificate from the test CA whose validity starts at `start` exactly (openssl with the clock frozen
    /// there by `faketime -f`), 2 days.
    static func certificate(startingAt start: String, in certificates: TestCertificates, name: String) throws
        -> String?
    {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime") else {
            if TestPaths.isCI { Issue.record("faketime is not installed; `scripts/install-deps.sh` installs it") }
            return nil
        }
        let script = """
            set -e
            cd "$1"
            faketime -f "$2" openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "$3" \
              -days 2 -extfile server.ext
            """
        let result = try SonarLabProcess.runBlocking(
            "/bin/bash", ["-c", script, "cert", certificates.directory, start, name], in: "/",
            environment: ["TZ": "UTC"])
        #expect(result.status == 0, "\(result.stderr)")
        return certificates.directory + "/" + name
    }

    @Test(
        "a certificate not yet valid or expired names its dates and is not 'not trusted'",
        arguments: [
            (
                "2099-01-01 00:00:00", "is not valid yet",
                "valid from 2099-01-01 00:00:00 UTC to 2099-01-03 00:00:00 UTC"
            ),
            ("2020-01-01 00:00:00", "has expired", "valid from 2020-01-01 00:00:00 UTC to 2020-01-03 00:00:00 UTC"),
        ])
    func certificateOutsideItsValidity(start: String, state: String, period: String) async throws {
        guard let (_, certificates) = requireSecurityPrerequisites(),
            let certificate = try Self.certificate(
                startingAt: start, in: certificates, name: "dated-\(start.prefix(4)).pem")
        else { return }
        let configuration = HBaseRESTDoubleConfiguration(
            host: "127.0.0.1", port: 0, security: HBaseDoubleOpenSecurity(),
            tls: (certificateFile: certificate, keyFile: certificates.key))
        try await HBaseRESTDouble.withRunning(configuration: configuration) { port in
            let client = HBaseClientConfiguration(
                baseURL: URL(string: "https://localhost:\(port)")!, retryPolicy: .never,
                tls: .init(caFile: certificates.ca))
            try await HBaseClient.withClient(configuration: client) { client in
                let error = await #expect(throws: HBaseError.certificateNotValid) {
                    _ = try await client.clusterVersion()
                }
                let message = error?.message ?? ""
                #expect(
                    message.contains("the HBase REST gateway's certificate \(state) (\(period); now "), "\(message)")
                #expect(!message.contains("not trusted"))
            }
        }
    }
}

@Suite("HBase grants (AccessController semantics)")
struct HBaseGrantsTests {
    @Test func tableNamespaceAndGlobalGrantsInherit() throws {
        let grants = try HBaseDoubleGrants(
            parsing: """
                # comment
                grant 'trainer', 'RW', 'sonarlab:experiments'
                grant 'trainer', 'C', '@sonarlab'
                grant 'admin', 'RWXCA'
                grant "plain", 'R', 'ages'
                """)
        let experiments = HBaseDoubleScope.table(namespace: "sonarlab", name: "experiments")
        let datasets = HBaseDoubleScope.table(namespace: "sonarlab", name: "datasets")
        #expect(grants.allows(user: "trainer", action: .write, scope: experiments))
        #expect(!grants.allows(user: "trainer", action: .write, scope: datasets))
        #expect(grants.allows(user: "trainer", action: .create, scope: datasets))
        #expect(grants.allows(user: "trainer", action: .create, scope: .namespace("sonarlab")))
        #expect(!grants.allows(user: "trainer", action: .admin, scope: .namespace("sonarlab")))
        #expect(!grants.allows(user: "trainer", action: .create, scope: .global))
        #expect(grants.allows(user: "admin", action: .admin, scope: .global))
        #expect(grants.allows(user: "admin", action: .read, scope: datasets))
        #expect(grants.allows(user: "plain", action: .read, scope: .table(namespace: "default", name: "ages")))
        #expect(!grants.allows(user: "nobody", action: .read, scope: experiments))
    }

    @Test func badLinesAreNamed() {
        for (text, message) in [
            ("revoke 'a', 'R'", "grants line 1: expected grant 'user', 'PERMS'[, 'scope']"),
            ("\ngrant 'a', 'RZ'", "grants line 2: unknown permission 'Z' (use R, W, X, C, A)"),
            ("grant 'a'", "grants line 1: expected grant 'user', 'PERMS'[, 'scope']"),
        ] {
            #expect(throws: (any Error).self) { try HBaseDoubleGrants(parsing: text) }
            do { _ = try HBaseDoubleGrants(parsing: text) } catch { #expect("\(error)" == message) }
        }
        #expect(throws: (any Error).self) { try HBaseDoubleSecuredGateway.parseUsers("no-colon") }
    }
}
