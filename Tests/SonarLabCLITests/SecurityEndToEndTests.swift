import Foundation
import SonarLabTestSupport
import Testing

/// A secured gateway from `scripts/dev-hbase.sh up` (KDC, TLS, grants, the double), stopped by `down`.
struct DevHBase {
    let environment: [String: String]
    var directory: String { environment["SONARLAB_DEV_HBASE_DIR"] ?? "" }

    static var binDirectory: String { (TestPaths.sonarlabBinary as NSString).deletingLastPathComponent }

    /// Whether the KDC tools, openssl, curl, kinit and the built binaries are there; in CI a missing one is
    /// a recorded failure (locally: a skip).
    static func prerequisitesMet() -> Bool {
        let hasTools = ["/usr/sbin/krb5kdc", "/usr/bin/openssl", "/usr/bin/curl", "/usr/bin/kinit"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        let hasDouble = FileManager.default.isExecutableFile(atPath: binDirectory + "/hbase-rest-double")
        guard hasTools, hasDouble, SonarLabProcess.isAvailable else {
            if TestPaths.isCI { Issue.record("krb5-kdc, openssl, curl, kinit or the built binaries are missing") }
            return false
        }
        return true
    }

    /// Starts the gateway, or `nil` when a prerequisite is missing.
    static func up() async throws -> DevHBase? {
        guard prerequisitesMet() else { return nil }
        let result = try await SonarLabProcess.runProcess(
            "/bin/bash", [TestPaths.packageRoot + "/scripts/dev-hbase.sh", "up"], in: TestPaths.packageRoot,
            environment: ["BIN": binDirectory])
        #expect(result.status == 0, "dev-hbase.sh up: \(result.stderr)")
        var environment: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { environment[pair[0]] = pair[1] }
        }
        return environment["SONARLAB_DEV_HBASE_DIR"] == nil ? nil : DevHBase(environment: environment)
    }

    func down() {
        _ = try? SonarLabProcess.runBlocking(
            "/bin/bash", [TestPaths.packageRoot + "/scripts/dev-hbase.sh", "down", directory], in: "/")
    }
}

@Suite("HBase security end to end (dev-hbase: Kerberos, TLS, grants)", .serialized)
struct SecurityEndToEndTests {
    @Test("scripts/dev-hbase.sh prints the exports; https, kerberos, trainer")
    func devHBaseExports() async throws {
        guard let dev = try await DevHBase.up() else { return }
        defer { dev.down() }
        #expect(dev.environment["SONARLAB_HBASE_URL"]?.hasPrefix("https://localhost:") == true)
        #expect(dev.environment["SONARLAB_HBASE_AUTH"] == "kerberos")
        #expect(dev.environment["SONARLAB_HBASE_PRINCIPAL"] == "trainer")
        #expect(dev.environment["KRB5_CLIENT_KTNAME"] == dev.directory + "/trainer.keytab")
        #expect(dev.environment["SONARLAB_HBASE_CA_FILE"] == dev.directory + "/ca.pem")
        #expect(dev.environment["KRB5_CONFIG"] == dev.directory + "/krb5.conf")
        for keytab in ["viewer.keytab", "intruder.keytab"] {
            #expect(FileManager.default.fileExists(atPath: dev.directory + "/" + keytab))
        }
    }

    @Test("scripts/e2e-hbase.sh: the HBase commands as trainer over Kerberos and TLS, rows checked with curl")
    func endToEndScript() async throws {
        guard DevHBase.prerequisitesMet() else { return }
        let result = try await SonarLabProcess.runProcess(
            "/bin/bash", [TestPaths.packageRoot + "/scripts/e2e-hbase.sh"], in: TestPaths.packageRoot,
            environment: ["BIN": DevHBase.binDirectory])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("e2e ok: 208 dataset rows, 1 finished experiment, 62 predictions (52 batch; 10 served"))
    }

    @Test("a known password and keytab path never reach stdout, stderr, the run log or the store")
    func secretHygiene() async throws {
        guard let dev = try await DevHBase.up() else { return }
        defer { dev.down() }
        let work = try TemporaryDirectory("sonarlab-hygiene")
        defer { work.remove() }
        try FileManager.default.copyItem(atPath: TestPaths.packageRoot + "/data", toPath: work.file("data"))
        let password = "Hyg1ene-Pa55word-4711"  // pragma: allowlist secret
        let keytab = dev.environment["KRB5_CLIENT_KTNAME"] ?? ""
        let ghost = dev.directory + "/ghost.keytab"
        var base = dev.environment
        base["SONARLAB_HBASE_PASSWORD"] = password
        base["SONARLAB_HBASE_USER"] = "trainer"
        var outputs: [String] = []
        func run(_ arguments: [String], _ extra: [String: String] = [:], succeeds: Bool) async throws {
            let result = try await SonarLabProcess.run(arguments, in: work.path, environment: base.merging(extra) { $1 })
            #expect((result.status == 0) == succeeds, "\(arguments) \(extra.keys.sorted()): \(result.stderr)")
            outputs += [result.stdout, result.stderr]
        }
        // Failing: Basic with the password against a Kerberos gateway (401); a ghost keytab (GSS error);
        // viewer writing (403).
        try await run(["hbase", "status"], ["SONARLAB_HBASE_AUTH": "basic"], succeeds: false)
        try await run(
            ["hbase", "init"], ["KRB5_CLIENT_KTNAME": ghost, "SONARLAB_HBASE_PRINCIPAL": "ghost"], succeeds: false)
        try await run(
            ["dataset", "load"],
            ["KRB5_CLIENT_KTNAME": dev.directory + "/viewer.keytab", "SONARLAB_HBASE_PRINCIPAL": "viewer"],
            succeeds: false)
        // Passing, as trainer.
        try await run(["hbase", "init"], succeeds: true)
        try await run(["train", "--backend", "hbase", "--epochs", "5", "--headless"], succeeds: true)
        try await run(["history", "--backend", "hbase"], succeeds: true)
        #expect(outputs.joined().contains("HTTP 401"))
        #expect(outputs.joined().contains("HTTP 403"))
        #expect(outputs.joined().contains("not found in Kerberos database"))

        var files: [String] = []
        for root in [work.path, dev.directory + "/hbase"] {
            let enumerator = FileManager.default.enumerator(atPath: root)
            while let name = enumerator?.nextObject() as? String {
                var isDirectory: ObjCBool = false
                let path = root + "/" + name
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files.append(path)
                }
            }
        }
        #expect(files.contains { $0.hasSuffix(".log") }, "a run log was written")
        #expect(files.contains { $0.hasPrefix(dev.directory + "/hbase") }, "the store's journal was written")
        let texts =
            outputs
            + files.map { String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: $0))) ?? Data(), as: UTF8.self) }
        let secrets = [password, Data("trainer:\(password)".utf8).base64EncodedString(), keytab, ghost]
        for (index, text) in texts.enumerated() {
            for secret in secrets where !secret.isEmpty {
                #expect(
                    !text.contains(secret),
                    "secret found in \(index < outputs.count ? "output \(index)" : files[index - outputs.count])")
            }
        }
    }
}
