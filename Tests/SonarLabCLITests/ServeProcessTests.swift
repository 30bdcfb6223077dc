import Foundation
import HBase
import SonarLabTestSupport
import Testing
import Tracking

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `sonarlab serve` as a real process against `hbase-rest-double` (a process too), on 127.0.0.1 with free ports.
///
/// Every wait is bounded; every process started here is killed at tear-down.
@Suite("sonarlab serve (processes, loopback)", .serialized)
struct ServeProcessTests {
    /// The first three data rows, 60 features each, as CSV.
    static let rowsCSV: String = {
        let text = (try? String(contentsOfFile: TestPaths.sonarData, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").prefix(3).map { $0.split(separator: ",").prefix(60).joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }()

    /// Starts `sonarlab serve --port 0` and returns it with its URL.
    static func startServe(_ env: FaultEnvironment) async throws -> (BackgroundProcess, String) {
        let serve = try env.background(["serve", "--port", "0"])
        var url = ""
        try await env.waitUntil("sonarlab serve listens") {
            if !serve.isRunning {
                Issue.record("sonarlab serve ended: \(serve.stderr.suffix(600))")
                throw CancellationError()
            }
            guard let line = serve.stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let address = line.split(separator: " ").dropFirst(2).first
            else { return false }
            url = String(address)
            return true
        }
        return (serve, url)
    }

    static func request(
        _ url: String, method: String = "GET", body: String? = nil, contentType: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> (status: Int, text: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body.utf8) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Trains a small model into the environment's local store and returns `sonarlab predict --json`'s answer on
    /// ``rowsCSV``: (label, p_mine) per row.
    static func trainAndPredict(_ env: FaultEnvironment) async throws -> [(String, Double)] {
        try await env.sonarlab(["train", "--epochs", "10", "--headless"])
        let input = try env.dir.write("rows.csv", rowsCSV)
        let predicted = try await env.sonarlab(["predict", "--input", input, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(predicted.stdout.utf8)) as? [String: Any]
        return (object?["predictions"] as? [[String: Any]] ?? []).map {
            ($0["label"] as? String ?? "", $0["p_mine"] as? Double ?? -1)
        }
    }

    static func predictions(_ text: String) -> [(String, Double)] {
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        return (object?["predictions"] as? [[String: Any]] ?? []).map {
            ($0["label"] as? String ?? "", $0["p_mine"] as? Double ?? -1)
        }
    }

    static func modelVersion(_ url: String) async throws -> String {
        let text = try await request(url + "/version").text
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return object?["model_version"] as? String ?? ""
    }

    @Test("serve answers as sonarlab predict does, its predictions arrive in HBase, SIGTERM exits 0")
    func servesAndRecordsInHBase() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        let expected = try await Self.trainAndPredict(env)
        #expect(expected.count == 3)
        let (serve, url) = try await Self.startServe(env)
        #expect(serve.stdout.contains("model sonar version "))
        let answer = try await Self.request(
            url + "/invocations", method: "POST", body: Self.rowsCSV, contentType: "text/csv")
        #expect(answer.status == 200, "\(answer.text)")
        let served = Self.predictions(answer.text)
        #expect(served.map(\.0) == expected.map(\.0))
        #expect(served.map { Float($0.1) } == expected.map { Float($0.1) })
        let version = try await Self.modelVersion(url)
        serve.signal(SIGTERM)
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.suffix(600))")
        let stored = try await env.withClient { client, layout in
            try await HBasePredictionStore(client: client, layout: layout).predictions(modelID: version)
        }
        #expect(stored.count == 3)
        #expect(stored.map(\.label.label) == expected.map(\.0))
        #expect(try await env.queued() == 0)
    }

    @Test("HBase down: serve keeps answering and ready, /metrics shows the backlog; the gateway back, it drains")
    func gatewayDownThenBack() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        _ = try await Self.trainAndPredict(env)
        env.double?.kill9()
        let (serve, url) = try await Self.startServe(env)
        for _ in 0..<2 {
            let answer = try await Self.request(
                url + "/invocations", method: "POST", body: Self.rowsCSV, contentType: "text/csv")
            #expect(answer.status == 200, "\(answer.text)")
        }
        #expect(try await Self.request(url + "/v2/health/ready").status == 200)
        try await env.waitUntil("/metrics shows the backlog") {
            try await Self.request(url + "/metrics").text.contains("sonarlab_serve_outbox_depth 2")
        }
        let metrics = try await Self.request(url + "/metrics").text
        #expect(metrics.contains(#"sonarlab_serve_hbase_delivery_errors_total{reason="unreachable"}"#))
        try env.startDouble()  // same port, same data
        try await env.waitUntil("the outbox drained", timeout: .seconds(60)) {
            try await Self.request(url + "/metrics").text.contains("sonarlab_serve_outbox_depth 0")
        }
        let version = try await Self.modelVersion(url)
        serve.signal(SIGTERM)
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.suffix(600))")
        let stored = try await env.withClient { client, layout in
            try await HBasePredictionStore(client: client, layout: layout).predictions(modelID: version)
        }
        #expect(stored.count == 6)
    }

    @Test("[serve] auth = bearer: 401 without a token, 403 off the allow-list, 200 with it; the caller is recorded")
    func bearerCallersAreAuthenticatedAndRecorded() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        _ = try await Self.trainAndPredict(env)
        let token = UUID().uuidString  // pragma: allowlist secret
        let other = UUID().uuidString  // pragma: allowlist secret
        func digest(_ text: String) throws -> String {
            let result = try SonarLabProcess.runBlocking(
                "/bin/bash", ["-c", "printf %s \"$1\" | sha256sum | cut -d' ' -f1", "digest", text], in: "/")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let tokens = try env.dir.write("tokens", "alice:\(try digest(token))\nbob:\(try digest(other))\n")
        #expect(chmod(tokens, 0o600) == 0)
        env.extraEnvironment["SONARLAB_SERVE_AUTH"] = "bearer"
        env.extraEnvironment["SONARLAB_SERVE_ALLOW_INFER"] = "alice"
        env.extraEnvironment["SONARLAB_SERVE_TOKENS_FILE"] = tokens
        let (serve, url) = try await Self.startServe(env)
        let infer = url + "/invocations"
        let anonymous = try await Self.request(infer, method: "POST", body: Self.rowsCSV, contentType: "text/csv")
        #expect(anonymous.status == 401, "\(anonymous.text)")
        let bob = try await Self.request(
            infer, method: "POST", body: Self.rowsCSV, contentType: "text/csv",
            headers: ["Authorization": "Bearer \(other)"])
        #expect(bob.status == 403 && bob.text.contains("allow_infer"), "\(bob.text)")
        let alice = try await Self.request(
            infer, method: "POST", body: Self.rowsCSV, contentType: "text/csv",
            headers: ["Authorization": "Bearer \(token)"])
        #expect(alice.status == 200, "\(alice.text)")
        #expect(try await Self.request(url + "/v2/health/ready").status == 200)
        let version = try await Self.modelVersion(url)
        serve.signal(SIGTERM)
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.suffix(600))")
        #expect(!serve.stderr.contains(token) && !serve.stdout.contains(token), "a token reached the log")
        let stored = try await env.withClient { client, layout in
            try await HBasePredictionStore(client: client, layout: layout).predictions(modelID: version)
        }
        #expect(stored.count == 3 && stored.allSatisfy { $0.caller == "alice" }, "\(stored.map(\.caller))")
    }

    @Test("record = local: the answers land in predictions.sqlite and sonarlab report's Model service section")
    func localRecordsReachTheReport() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        _ = try await Self.trainAndPredict(env)
        let before = try await env.sonarlab(["report", "--output", env.dir.file("before/REPORT.md")])
        #expect(before.stdout.contains("REPORT.md"))
        #expect(!FileManager.default.fileExists(atPath: env.dir.file("store/predictions.sqlite")), "report made it")
        #expect(
            try String(contentsOfFile: env.dir.file("before/REPORT.md"), encoding: .utf8)
                .contains("No prediction served by `sonarlab serve` is recorded"))
        env.extraEnvironment["SONARLAB_SERVE_RECORD"] = "local"
        let (serve, url) = try await Self.startServe(env)
        let answer = try await Self.request(
            url + "/invocations", method: "POST", body: Self.rowsCSV, contentType: "text/csv")
        #expect(answer.status == 200, "\(answer.text)")
        let version = try await Self.modelVersion(url)
        serve.signal(SIGTERM)
        await #expect(try serve.wait(timeout: .seconds(60)) == 0, "\(serve.stderr.suffix(600))")
        try await env.sonarlab(["report", "--output", env.dir.file("after/REPORT.md")])
        let report = try String(contentsOfFile: env.dir.file("after/REPORT.md"), encoding: .utf8)
        #expect(report.contains("answered **3 rows in 1 inference request** for model `\(version)`"), "\(report)")
        #expect(report.contains("| `anonymous` | 3 |"), "\(report)")
        #expect(report.contains("local SQLite " + env.dir.file("store/predictions.sqlite")), "\(report)")
    }

    @Test("serve refuses a world-readable tokens file before it listens, naming the file (exit 2)")
    func refusesAWorldReadableTokensFile() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        let tokens = try env.dir.write("tokens", "alice:\(String(repeating: "0", count: 64))\n")
        #expect(chmod(tokens, 0o644) == 0)
        env.extraEnvironment["SONARLAB_SERVE_AUTH"] = "bearer"
        env.extraEnvironment["SONARLAB_SERVE_TOKENS_FILE"] = tokens
        env.extraEnvironment["SONARLAB_SERVE_RECORD"] = "off"
        let result = try await env.sonarlab(["serve", "--port", "0"], expecting: 2)
        #expect(result.stderr.contains(tokens) && result.stderr.contains("readable by every user"), "\(result.stderr)")
    }

    @Test("serve refuses a model that is neither a file nor a run id, before it listens (exit 2)")
    func refusesAnUnknownModel() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        let result = try await env.sonarlab(["serve", "--model", "no-such-run", "--port", "0"], expecting: 2)
        #expect(result.stderr.contains("--model 'no-such-run': no such file, and no run with that id"))
        #expect(!result.stdout.contains("listening"))
    }
}

/// A bounded schemathesis run (scripts/requirements-serve.txt, installed by `make test`) of docs/openapi.yaml
/// against a live `sonarlab serve`: no 5xx, no status code, content type, header or body outside the document.
@Suite("sonarlab serve against its OpenAPI document (schemathesis)", .serialized)
struct ServeSchemathesisTests {
    static var schemathesis: String { TestPaths.packageRoot + "/.venv/bin/schemathesis" }

    @Test("schemathesis finds no server error and no spec violation in a few hundred generated requests")
    func schemathesisFindsNothing() async throws {
        guard try requireFaultPrerequisites() else { return }
        guard FileManager.default.isExecutableFile(atPath: Self.schemathesis) else {
            let message = "needs \(Self.schemathesis): run `scripts/install-deps.sh --python serve`"
            if TestPaths.isCI { Issue.record(Comment(rawValue: message)) } else { print("skipped: \(message)") }
            return
        }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        env.extraEnvironment["SONARLAB_SERVE_RECORD"] = "off"
        try await env.sonarlab(["train", "--epochs", "5", "--headless"])
        let (_, url) = try await ServeProcessTests.startServe(env)
        let run = try BackgroundProcess(
            Self.schemathesis,
            [
                "run", TestPaths.packageRoot + "/docs/openapi.yaml", "--url", url, "--max-examples", "20",
                "--seed", "1", "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                    + "response_headers_conformance",
            ],
            in: env.dir.path, environment: ["NO_COLOR": "1", "HOME": env.dir.path], logs: env.dir.file("schemathesis"))
        let status = try await run.wait(timeout: .seconds(180))
        let output = run.stdout + run.stderr
        #expect(status == 0, "\(output.suffix(3000))")
        #expect(output.contains(" passed"), "\(output.suffix(1000))")
    }
}
