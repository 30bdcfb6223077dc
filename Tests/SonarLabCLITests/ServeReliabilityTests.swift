import Foundation
import HBase
import SonarLabTestSupport
import Testing
import Tracking

/// Issue 14's reliability tests: `sonarlab serve` as a real process under a bounded load of V2 infer requests
/// (``ServeLoad``: curl processes on 127.0.0.1), with `hbase-rest-double` killed -9 and restarted, serve itself
/// killed -9, SIGTERM, and callers authenticated with Kerberos against the test process's private KDC.
///
/// Every wait is bounded, every count is fixed, every process started here is stopped at tear-down.
@Suite("sonarlab serve reliability under load (processes, loopback)", .serialized)
struct ServeReliabilityTests {
    /// Starts the double, creates the tables, trains a small local model and starts `sonarlab serve` with
    /// `record = hbase`; returns the service's URL and model version.
    static func servingWithHBase(_ env: FaultEnvironment) async throws -> (BackgroundProcess, String, String) {
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        try await env.sonarlab(["train", "--epochs", "10", "--headless"])
        let (serve, url) = try await ServeProcessTests.startServe(env)
        return (serve, url, try ServeLoad.modelVersion(serve))
    }

    /// The prediction rows in HBase: each row key once, each cell one version (``expectRowsOnceEach``).
    static func storedKeys(_ env: FaultEnvironment, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> [String]
    {
        try await env.withClient { client, layout in
            let rows = try await client.scan(HBaseScan(maxVersions: 5), in: layout.predictions)
            #expect(
                rows.allSatisfy { row in Set(row.cells.map(\.column)).count == row.cells.count },
                "a prediction cell with more than one version", sourceLocation: sourceLocation)
            return rows.map { String(decoding: $0.key, as: UTF8.self) }
        }
    }

    @Test("the double killed -9 under load and restarted: every answer 200, every prediction in HBase once")
    func gatewayKilledUnderLoad() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        let (serve, url, version) = try await Self.servingWithHBase(env)
        let load = ServeLoad(url: url, version: version, workdir: env.dir.path)
        let sending = Task { try await load.run(clients: 4, requestsEach: 100, rowsEach: 2) }
        try await env.waitUntil("a quarter of the load is answered", timeout: .seconds(120)) { load.completed >= 100 }
        env.double?.kill9()
        // Down "for a while": until serve has seen a delivery fail and answered 100 more requests meanwhile.
        let atKill = load.completed
        try await env.waitUntil("serve answers on and reports HBase unreachable", timeout: .seconds(120)) {
            load.completed >= min(atKill + 100, 400) && serve.stderr.contains("HBase unreachable")
        }
        let whileDown = load.completed - atKill
        try env.startDouble()  // same port, same --data-dir
        try await sending.value
        let outcomes = load.outcomes
        #expect(outcomes.count == 400)
        let failed = outcomes.filter { $0.status != 200 }
        #expect(failed.isEmpty, "\(failed.prefix(3))")
        try await env.waitUntil("the outbox drained", timeout: .seconds(120)) { try await env.queued() == 0 }
        let keys = try await Self.storedKeys(env)
        #expect(keys.count == 800, "rows answered: 800")
        #expect(Set(keys) == load.rowKeys(answered: true))
        serve.signal(SIGTERM)
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.suffix(600))")
        print(
            "double -9 under load: \(outcomes.count) requests (\(whileDown) answered while it was down), "
                + "\(failed.count) not 200, \(keys.count) rows in HBase")
    }

    @Test("serve killed -9 under load: every answered prediction is in the outbox or HBase, and once after sync")
    func serveKilledUnderLoad() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        let (serve, url, version) = try await Self.servingWithHBase(env)
        let load = ServeLoad(url: url, version: version, workdir: env.dir.path)
        let sending = Task { try await load.run(clients: 4, requestsEach: 75, rowsEach: 2, stopWhenRefused: true) }
        try await env.waitUntil("a third of the load is answered", timeout: .seconds(120)) { load.completed >= 100 }
        serve.kill9()
        try await sending.value
        let outcomes = load.outcomes
        let answered = load.rowKeys(answered: true)
        #expect(answered.count >= 200, "rows answered before the kill")
        #expect(outcomes.allSatisfy { $0.status == 200 || $0.status == nil }, "an answer other than 200")
        // What the killed process kept: queued in the outbox, or delivered already.
        let outbox = try HBaseOutbox.inDirectory(env.dir.file("store"))
        let entries = try await outbox.entries(cluster: env.clusterKey, limit: 100_000)
        let queued = Set(entries.flatMap(\.rows).map { String(decoding: $0.key, as: UTF8.self) })
        let delivered = Set(try await Self.storedKeys(env))
        #expect(answered.subtracting(queued.union(delivered)).isEmpty, "answered but neither queued nor in HBase")
        print(
            "serve -9 under load: \(outcomes.count) requests, \(answered.count) rows answered; at the kill "
                + "\(queued.count) rows queued, \(delivered.count) in HBase")

        let sync = try await env.sonarlab(["sync"])
        #expect(sync.stdout.contains("outbox empty"), "\(sync.stdout)\(sync.stderr)")
        let keys = try await Self.storedKeys(env)
        #expect(keys.count == Set(keys).count)
        #expect(answered.isSubset(of: Set(keys)), "an answered prediction is not in HBase after sync")
        // Rows of requests in flight at the kill may be kept without an answer; never rows nobody sent.
        #expect(Set(keys).isSubset(of: load.rowKeys(answered: false)))
        #expect(try await env.queued() == 0)
        print("serve -9 under load, after sync: \(keys.count) rows in HBase")
    }

    @Test("SIGTERM under load: no accepted request gets a 5xx or no answer, exit 0 within the documented bound")
    func sigtermUnderLoad() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        env.extraEnvironment["SONARLAB_SERVE_REQUEST_TIMEOUT"] = "5"
        let (serve, url, version) = try await Self.servingWithHBase(env)
        let load = ServeLoad(url: url, version: version, workdir: env.dir.path)
        let sending = Task { try await load.run(clients: 4, requestsEach: 100, rowsEach: 2, stopWhenRefused: true) }
        try await env.waitUntil("a quarter of the load is answered", timeout: .seconds(120)) { load.completed >= 100 }
        serve.signal(SIGTERM)
        // README: a new connection's first request may come 2 s late, requests in flight finish (request_timeout, 5 s
        // here), the outbox is flushed within [hbase] timeout_seconds (30 s here); 10 s more for a busy machine.
        let status = try await serve.wait(timeout: .seconds(2 + 5 + 30 + 10))
        #expect(status == 0, "\(serve.stderr.suffix(600))")
        try await sending.value
        let outcomes = load.outcomes
        let refused = outcomes.filter { $0.curlStatus == ServeLoad.connectionRefused }
        let answered = outcomes.filter { $0.status != nil }
        let unanswered = outcomes.filter { $0.status == nil }
        #expect(answered.allSatisfy { $0.status == 200 }, "\(answered.filter { $0.status != 200 }.prefix(3))")
        #expect(answered.count >= 100 && refused.count >= 1, "answered \(answered.count), refused \(refused.count)")
        // The flush at shutdown delivered every answered prediction: nothing queued, each row once.
        #expect(try await env.queued() == 0)
        let keys = Set(try await Self.storedKeys(env))
        #expect(keys == load.rowKeys(answered: true), "recorded rows are exactly the answered ones")
        // A request without an answer was not accepted: refused, reset while still in the kernel's accept queue as
        // the listener closed (TCP allows no other way), or closed unread by serve when its connection arrived
        // after the server stopped taking new ones (curl 52, "empty reply"); nothing of it was recorded.
        let unansweredKeys = load.rowKeys(of: unanswered)
        #expect(keys.isDisjoint(with: unansweredKeys), "\(unanswered.prefix(3))")
        #expect(
            unanswered.allSatisfy {
                [ServeLoad.connectionRefused, ServeLoad.connectionReset, ServeLoad.emptyReply].contains($0.curlStatus)
            },
            "\(unanswered.prefix(3))")
        print(
            "SIGTERM under load: \(outcomes.count) requests, \(answered.count) answered, \(refused.count) refused, "
                + "\(unanswered.count - refused.count) reset; \(keys.count) rows in HBase")
    }

    @Test("a connection accepted just before SIGTERM has its first request answered, not closed unread")
    func connectionAcceptedBeforeSigtermIsAnswered() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        env.extraEnvironment["SONARLAB_SERVE_RECORD"] = "off"
        try await env.sonarlab(["train", "--epochs", "5", "--headless"])
        let (serve, url) = try await ServeProcessTests.startServe(env)
        let port = try #require(url.split(separator: ":").last.flatMap { Int($0) })
        let load = ServeLoad(url: url, version: try ServeLoad.modelVersion(serve), workdir: env.dir.path)
        let waiting = try RawConnection(port: port)
        // Answered on a later connection: the service has accepted the earlier one (accepts are in order).
        #expect(try await load.send(id: "later", rows: 1).status == 200)
        serve.signal(SIGTERM)
        try await env.waitUntil("the service stops accepting") { !RawConnection.accepts(port: port) }
        let body = ServeLoad.body(id: "first", rows: 1)
        let answer = try await SonarLabProcess.offPool { waiting.postJSON("/v2/models/sonar/infer", body) }
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.contains(#""id":"first""#), "\(answer.prefix(600))")
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.prefix(4000))")
    }
}

extension ServeReliabilityTests {
    @Test("connections arriving as SIGTERM closes the port: serve still exits 0 (no NIOAsyncWriter trap)")
    func connectionsDuringShutdownDoNotCrash() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        env.extraEnvironment["SONARLAB_SERVE_RECORD"] = "off"
        try await env.sonarlab(["train", "--epochs", "5", "--headless"])
        for round in 0..<3 {
            let (serve, url) = try await ServeProcessTests.startServe(env)
            let port = try #require(url.split(separator: ":").last.flatMap { Int($0) })
            // An idle connection keeps the shutdown in its first-request grace while new ones keep arriving.
            let idle = try RawConnection(port: port)
            defer { withExtendedLifetime(idle) {} }
            // Connect as fast as one thread can from before the signal until the port is closed (at most 20000).
            let connecting = Task {
                try await SonarLabProcess.offPool { () -> Int in
                    var count = 0
                    while count < 20000, RawConnection.accepts(port: port) { count += 1 }
                    return count
                }
            }
            serve.signal(SIGTERM)
            let status = try await serve.wait(timeout: .seconds(60))
            #expect(status == 0, "round \(round): \(serve.stderr.prefix(1500))")
            let connections = try await connecting.value
            #expect(connections < 20000, "the port closed")
        }
    }
}

// MARK: - Callers' Kerberos through the process

extension ServeReliabilityTests {
    /// A second KDC of realm `OTHER.TEST` (scripts/kdc.sh), stopped by ``stop()``.
    final class ForeignKDC: Sendable {
        let directory: String
        init(in parent: TemporaryDirectory) throws {
            directory = parent.file("other-kdc")
            let up = try SonarLabProcess.runBlocking(
                "/bin/bash", [TestPaths.packageRoot + "/scripts/kdc.sh", "up", directory], in: TestPaths.packageRoot,
                environment: ["SONARLAB_KDC_REALM": "OTHER.TEST"])
            guard up.status == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "kdc.sh up: \(up.stderr)"])
            }
        }
        var environment: [String: String] { ["KRB5_CONFIG": directory + "/krb5.conf"] }
        func stop() {
            _ = try? SonarLabProcess.runBlocking(
                "/bin/bash", [TestPaths.packageRoot + "/scripts/kdc.sh", "down", directory], in: "/")
        }
    }

    @Test("[serve] auth = kerberos with curl --negotiate: none 401, unknown principal 401, intruder 403, trainer 200")
    func kerberosAuthMatrix() async throws {
        guard let kdc = try KerberosFaultTests.prerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        env.extraEnvironment = kdc.environment.merging([
            "SONARLAB_SERVE_AUTH": "kerberos", "KRB5_KTNAME": kdc.keytab("http"),
            "SONARLAB_SERVE_ALLOW_INFER": "trainer", "SONARLAB_SERVE_RECORD": "off",
        ]) { $1 }
        try await env.sonarlab(["train", "--epochs", "5", "--headless"])
        let (serve, url) = try await ServeProcessTests.startServe(env)
        let load = ServeLoad(url: url, version: try ServeLoad.modelVersion(serve), workdir: env.dir.path)
        let foreign = try ForeignKDC(in: env.dir)
        defer { foreign.stop() }

        func cache(_ name: String, kdc environment: [String: String], keytab: String) throws -> [String: String] {
            let path = env.dir.file("cc-\(name)-\(UUID().uuidString.prefix(4))")
            let kinit = try SonarLabProcess.runBlocking(
                "/usr/bin/kinit", ["-c", path, "-kt", keytab, name], in: env.dir.path, environment: environment)
            #expect(kinit.status == 0 || name == "ghost", "kinit \(name): \(kinit.stderr)")
            return environment.merging(["KRB5CCNAME": "FILE:" + path]) { $1 }
        }
        let trainer = try cache("trainer", kdc: kdc.environment, keytab: kdc.keytab("trainer"))
        let intruder = try cache("intruder", kdc: kdc.environment, keytab: kdc.keytab("intruder"))
        // ghost's principal was deleted from the KDC: its keytab gets no ticket, so nothing to present.
        let ghost = try cache("ghost", kdc: kdc.environment, keytab: kdc.keytab("ghost"))
        // trainer@OTHER.TEST holds a ticket for HTTP/localhost@OTHER.TEST: a realm the service does not know.
        let stranger = try cache(
            "trainer", kdc: foreign.environment, keytab: foreign.directory + "/trainer.keytab")

        let cases: [(String, [String: String]?, Int)] = [
            ("no credentials", nil, 401), ("ghost (unknown to the KDC)", ghost, 401),
            ("trainer@OTHER.TEST", stranger, 401), ("intruder (not on allow_infer)", intruder, 403),
            ("trainer", trainer, 200),
        ]
        for (caller, credentials, expected) in cases {
            let outcome = try await load.send(id: "auth-\(expected)", rows: 1, negotiate: credentials)
            #expect(outcome.status == expected, "\(caller): \(outcome)")
            if expected == 401 {
                #expect(outcome.body.contains("Negotiate") || outcome.body.contains("Kerberos"), "\(outcome.body)")
            }
            if expected == 403 { #expect(outcome.body.contains("intruder@\(kdc.realm)"), "\(outcome.body)") }
        }
        serve.signal(SIGTERM)
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.suffix(600))")
        #expect(serve.stderr.contains("intruder@\(kdc.realm)"), "the refusal is logged with the principal")
    }
}

// MARK: - Load

/// A bounded load of `POST /v2/models/sonar/infer` requests: `clients` tasks, each sending its requests one after
/// another, every request a curl process (`--noproxy '*'`, loopback only) waited for off the cooperative pool.
///
/// Request `id`s are `load-CLIENT-N`, so each answered row's key is `VERSION/load-CLIENT-N/00000R` (serve's row
/// key `model id/request id/row`).
final class ServeLoad: @unchecked Sendable {
    /// One request's outcome.
    struct Outcome: Sendable, CustomStringConvertible {
        var id: String
        var rows: Int
        /// curl's exit status: 0 an answer came, 7 the connection was refused, others a transfer that failed.
        var curlStatus: Int32
        /// The HTTP status, `nil` without an answer.
        var status: Int?
        var body: String
        var stderr: String
        var description: String {
            "\(id): curl \(curlStatus) HTTP \(status.map(String.init) ?? "-") \(body.prefix(200)) \(stderr)"
        }
    }

    /// curl's exit status for a refused connection (CURLE_COULDNT_CONNECT).
    static let connectionRefused: Int32 = 7
    /// curl's exit status for a connection reset before an answer (CURLE_RECV_ERROR).
    static let connectionReset: Int32 = 56
    /// curl's exit status when the server closed the connection without answering.
    static let emptyReply: Int32 = 52

    let url: String
    let version: String
    let workdir: String
    private let lock = NSLock()
    private var done: [Outcome] = []

    /// The data file's rows, 60 feature strings each.
    static let dataRows: [[String]] = {
        let text = (try? String(contentsOfFile: TestPaths.sonarData, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { $0.split(separator: ",").prefix(60).map(String.init) }
    }()

    init(url: String, version: String, workdir: String) {
        self.url = url
        self.version = version
        self.workdir = workdir
    }

    /// The model version from serve's first line (`model sonar version ID from …`).
    static func modelVersion(_ serve: BackgroundProcess) throws -> String {
        let line = serve.stdout.split(separator: "\n").first { $0.hasPrefix("model ") } ?? ""
        let words = line.split(separator: " ")
        return try #require(words.count > 3 && words[2] == "version" ? String(words[3]) : nil, "\(line)")
    }

    /// Requests finished so far.
    var completed: Int { lock.withLock { done.count } }
    /// Every outcome so far.
    var outcomes: [Outcome] { lock.withLock { done } }

    /// The row keys of the requests sent (`answered: false`) or answered with 200 (`answered: true`).
    func rowKeys(answered: Bool) -> Set<String> {
        rowKeys(of: outcomes.filter { !answered || $0.status == 200 })
    }

    /// The row keys of `outcomes`' requests.
    func rowKeys(of outcomes: [Outcome]) -> Set<String> {
        Set(
            outcomes.flatMap { outcome in
                (0..<outcome.rows).map { row in
                    let digits = String(row)
                    return "\(version)/\(outcome.id)/" + String(repeating: "0", count: 6 - digits.count) + digits
                }
            })
    }

    /// Sends `clients × requestsEach` requests of `rowsEach` rows; a client stops at its first refused connection
    /// when `stopWhenRefused`.
    func run(clients: Int, requestsEach: Int, rowsEach: Int, stopWhenRefused: Bool = false) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    for n in 0..<requestsEach {
                        let outcome = try await self.send(id: "load-\(client)-\(n)", rows: rowsEach)
                        if stopWhenRefused, outcome.curlStatus == Self.connectionRefused { return }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// A V2 infer body with `id` and `rows` data rows (FP32, nested), taken from the data file.
    static func body(id: String, rows: Int) -> String {
        let start = id.utf8.reduce(0) { $0 &+ Int($1) } % dataRows.count
        let data = (0..<rows).map { "[" + dataRows[(start + $0) % dataRows.count].joined(separator: ",") + "]" }
        return #"{"id":""# + id + #"","inputs":[{"name":"features","shape":["# + "\(rows),60"
            + #"],"datatype":"FP32","data":["# + data.joined(separator: ",") + "]}]}"
    }

    /// Sends one V2 infer request of `rows` data rows (FP32, nested) with `id`; with `negotiate`, curl authenticates
    /// with SPNEGO from that environment's ticket cache and reaches the service as `localhost` (so it asks for
    /// `HTTP/localhost`), resolved to 127.0.0.1.
    @discardableResult
    func send(id: String, rows: Int, negotiate: [String: String]? = nil) async throws -> Outcome {
        let body = Self.body(id: id, rows: rows)
        var target = url + "/v2/models/sonar/infer"
        var arguments = [
            "-sS", "--noproxy", "*", "--max-time", "60", "-H", "Content-Type: application/json", "-H", "Expect:",
            "-w", "\n%{http_code}", "--data-binary", body,
        ]
        if negotiate != nil, let port = url.split(separator: ":").last {
            target = "http://localhost:\(port)/v2/models/sonar/infer"
            arguments += ["--negotiate", "-u", ":", "--resolve", "localhost:\(port):127.0.0.1"]
        }
        let result = try await SonarLabProcess.runProcess(
            "/usr/bin/curl", arguments + [target], in: workdir, environment: negotiate ?? [:])
        let text = result.stdout
        let split = text.lastIndex(of: "\n")
        let code = split.flatMap { Int(text[text.index(after: $0)...]) }
        let outcome = Outcome(
            id: id, rows: rows, curlStatus: result.status, status: result.status == 0 && code != 0 ? code : nil,
            body: split.map { String(text[..<$0]) } ?? text, stderr: result.stderr)
        lock.withLock { done.append(outcome) }
        return outcome
    }
}
