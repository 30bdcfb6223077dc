import Foundation
import HBase
import SonarLabTestSupport
import Testing
import Tracking

/// Kerberos states made inside the tests, with real processes: `sonarlab` against `hbase-rest-double --auth
/// kerberos` on 127.0.0.1 (plain http: SPNEGO sends nothing reusable), the test process's private KDC, ticket
/// caches that are empty, garbage or expire mid-run, a keytab whose tickets live a few seconds, and a clock an
/// hour ahead (`faketime`).
@Suite("Kerberos fault tests (processes, private KDC)", .serialized)
struct KerberosFaultTests {
    static let grants = "grant 'HTTP', 'RWXCA'\ngrant 'trainer', 'RWXCA'\ngrant 'shortlived', 'RWXCA'\n"
    /// Long enough (several seconds on the debug build) for a ticket of a few seconds to expire mid-run.
    static let epochs = 12000
    static let longRun = ["train", "--backend", "hbase", "--epochs", "\(epochs)", "--hidden", "160", "--headless"]

    /// A fault environment whose double checks SPNEGO with the KDC's `HTTP/localhost` key; `sonarlab` names that
    /// principal with `SONARLAB_HBASE_SPN` because it reaches the double as 127.0.0.1.
    static func kerberosEnvironment(_ kdc: TestKDC, cookieValidity: Int = 36000) throws -> FaultEnvironment {
        let env = try FaultEnvironment()
        let grants = try env.dir.write("grants", grants)
        env.doubleArguments = [
            "--auth", "kerberos", "--keytab", kdc.keytab("http"), "--grants", grants, "--cookie-validity",
            "\(cookieValidity)",
        ]
        env.extraEnvironment = kdc.environment.merging([
            "SONARLAB_HBASE_AUTH": "kerberos", "SONARLAB_HBASE_SPN": "HTTP/localhost@\(kdc.realm)",
            "KRB5CCNAME": "FILE:" + env.dir.file("krb5cc"),
        ]) { $1 }
        env.authenticator = HBaseKerberosAuthenticator(
            principal: "HTTP/localhost", keytab: kdc.keytab("http"), servicePrincipal: "HTTP/localhost@\(kdc.realm)")
        return env
    }

    static func prerequisites() throws -> TestKDC? {
        guard try requireFaultPrerequisites() else { return nil }
        guard let kdc = TestKDC.shared else {
            if TestPaths.isCI { Issue.record("krb5-kdc is not installed; `make deps` installs it") }
            return nil
        }
        return kdc
    }

    @Test("an empty, garbage or missing ticket cache without keytab or principal is named, never a crash")
    func badCachesAreNamed() async throws {
        guard let kdc = try Self.prerequisites() else { return }
        let env = try Self.kerberosEnvironment(kdc)
        defer { env.tearDown() }
        try env.startDouble()
        let empty = try env.dir.write("empty.cc", "")
        let garbage = try env.dir.write("garbage.cc", bytes: [0x05, 0x04, 0, 0x0C, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3])
        for (path, words) in [
            (empty, "is empty"), (garbage, "cannot be read"), (env.dir.file("none.cc"), "does not exist"),
        ] {
            env.extraEnvironment["KRB5CCNAME"] = "FILE:" + path
            for command in [["hbase", "status"], ["history", "--backend", "hbase"]] {
                let result = try await env.sonarlab(command, expecting: 1)
                #expect(result.stderr.contains("the Kerberos ticket cache FILE:\(path) \(words)"), "\(result.stderr)")
                #expect(result.stderr.contains("run kinit"))
                #expect(!result.stderr.contains("HTTP 401"))
            }
        }
    }

    @Test("with KRB5_CLIENT_KTNAME a garbage ticket cache does not matter: tickets come from the keytab")
    func keytabWinsOverAGarbageCache() async throws {
        guard let kdc = try Self.prerequisites() else { return }
        let env = try Self.kerberosEnvironment(kdc)
        defer { env.tearDown() }
        try env.startDouble()
        let garbage = try env.dir.write("garbage.cc", bytes: Array("garbage".utf8))
        env.extraEnvironment["KRB5CCNAME"] = "FILE:" + garbage
        env.extraEnvironment["KRB5_CLIENT_KTNAME"] = kdc.keytab("trainer")
        try await env.sonarlab(["hbase", "init"])
        try await env.sonarlab(["train", "--backend", "hbase", "--epochs", "5", "--headless"])
    }

    @Test("an expired ticket at the start exits 75 with 'Kerberos ticket expired at …; run kinit'")
    func expiredAtStart() async throws {
        guard let kdc = try Self.prerequisites() else { return }
        let env = try Self.kerberosEnvironment(kdc)
        defer { env.tearDown() }
        try env.startDouble()
        let cache = try #require(env.extraEnvironment["KRB5CCNAME"])
        #expect(try kdc.kinit("trainer", cache: cache, lifetime: "1s").status == 0)
        try await Task.sleep(for: .milliseconds(2200))
        let status = try await env.sonarlab(["hbase", "status"], expecting: 75)
        #expect(status.stderr.contains("Kerberos ticket expired at "), "\(status.stderr)")
        #expect(status.stderr.contains("; run kinit"))
        #expect(!status.stderr.contains("HTTP 401"))
    }

    @Test("without a keytab a ticket expiring mid-run: exit 75, writes queued, sync after kinit finishes the run")
    func ticketExpiresMidRunWithoutKeytab() async throws {
        guard let kdc = try Self.prerequisites() else { return }
        // The gateway's session cookie is never reused, so every request needs a fresh SPNEGO token.
        let env = try Self.kerberosEnvironment(kdc, cookieValidity: 0)
        defer { env.tearDown() }
        try env.startDouble()
        let cache = try #require(env.extraEnvironment["KRB5CCNAME"])
        #expect(try kdc.kinit("trainer", cache: cache).status == 0)
        try await env.sonarlab(["hbase", "init"])
        #expect(try kdc.kinit("trainer", cache: cache, lifetime: "4s").status == 0)
        let train = try env.background(Self.longRun)
        let id = try await env.experimentID(of: train)
        let status = try await train.wait(timeout: .seconds(120))
        let stderr = train.stderr
        #expect(status == 75, "\(stderr.suffix(800))")
        #expect(stderr.contains("Kerberos ticket expired at "), "\(stderr.suffix(800))")
        #expect(stderr.contains("run kinit"))
        #expect(!stderr.contains("HTTP 401"), "the gateway never answered 401: \(stderr.suffix(800))")
        #expect(try await env.queued() > 0)
        #expect(env.dir.list("experiments").count == 1, "training still finished locally")

        let stale = try await env.sonarlab(["sync"], expecting: 75)
        #expect(stale.stderr.contains("Kerberos ticket expired at "), "\(stale.stderr)")
        #expect(try kdc.kinit("trainer", cache: cache).status == 0)
        try await env.sonarlab(["sync"])
        try await env.expectExactlyOnce(id: id, epochs: Self.epochs, status: .finished)
        #expect(try await env.queued() == 0)
    }

    @Test("with a keytab whose tickets live 5 s the run gets new ones and finishes with every epoch")
    func ticketExpiresMidRunWithKeytab() async throws {
        guard let kdc = try Self.prerequisites() else { return }
        let keytab = try kdc.addPrincipal("shortlived", maxlife: "5 seconds")
        let env = try Self.kerberosEnvironment(kdc, cookieValidity: 0)
        defer { env.tearDown() }
        try env.startDouble()
        env.extraEnvironment["KRB5_CLIENT_KTNAME"] = keytab
        env.extraEnvironment["SONARLAB_HBASE_PRINCIPAL"] = "shortlived"
        try await env.sonarlab(["hbase", "init"])
        let log = kdc.directory + "/kdc.log"
        let before = Self.initialTicketRequests(log, principal: "shortlived@\(kdc.realm)")
        let train = try env.background(Self.longRun)
        let id = try await env.experimentID(of: train)
        let status = try await train.wait(timeout: .seconds(120))
        #expect(status == 0, "\(train.stderr.suffix(800))")
        #expect(!train.stderr.contains("expired"), "\(train.stderr.suffix(800))")
        try await env.expectExactlyOnce(id: id, epochs: Self.epochs, status: .finished)
        #expect(try await env.queued() == 0)
        let after = Self.initialTicketRequests(log, principal: "shortlived@\(kdc.realm)")
        #expect(after - before >= 2, "the run outlived its first ticket and got another from the keytab")
    }

    @Test("a clock an hour ahead of the KDC says 'clock skew', not 401")
    func clockSkew() async throws {
        guard let kdc = try Self.prerequisites() else { return }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime") else {
            if TestPaths.isCI { Issue.record("faketime is not installed; `scripts/install-deps.sh` installs it") }
            return
        }
        let env = try Self.kerberosEnvironment(kdc)
        defer { env.tearDown() }
        try env.startDouble()
        // A ticket cache from now; the TGS request an hour ahead gets KRB_AP_ERR_SKEW from the KDC (a keytab's
        // AS request would be corrected by MIT's kdc_timesync).
        let cache = try #require(env.extraEnvironment["KRB5CCNAME"])
        #expect(try kdc.kinit("trainer", cache: cache).status == 0)
        let environment = env.environment
        let result = try await SonarLabProcess.runProcess(
            "/usr/bin/faketime",
            ["-f", "+3600", TestPaths.sonarlabBinary, "hbase", "status", "--config", env.dir.file("config.ini")],
            in: env.dir.path, environment: environment)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("clock skew"), "\(result.stderr)")
        #expect(!result.stderr.contains("HTTP 401"))
    }

    /// AS requests (initial tickets) the KDC logged for `principal`.
    static func initialTicketRequests(_ log: String, principal: String) -> Int {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter {
            $0.contains("AS_REQ") && $0.contains("ISSUE") && $0.contains(principal)
        }
        .count
    }
}
