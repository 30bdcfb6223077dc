import Engine
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import Tracking

@testable import TUI

/// A `/metrics` body as `sonarlab serve` exports it: `requests` infer requests of which `errors` answered 400,
/// a latency histogram whose buckets hold `fast` requests ≤ 1 ms and the rest ≤ 5 ms, and `queued` outbox rows.
func metricsBody(requests: Int, errors: Int, fast: Int, queued: Int, model: String = "sonar", version: String = "exp-7")
    -> String
{
    """
    # HELP sonarlab_serve_requests_total Requests by route and status.
    # TYPE sonarlab_serve_requests_total counter
    sonarlab_serve_requests_total{route="infer",status="200"} \(requests - errors)
    sonarlab_serve_requests_total{route="infer",status="400"} \(errors)
    sonarlab_serve_requests_total{route="ready",status="200"} 0
    # TYPE sonarlab_serve_request_duration_seconds histogram
    sonarlab_serve_request_duration_seconds_bucket{route="infer",le="0.0005"} 0
    sonarlab_serve_request_duration_seconds_bucket{route="infer",le="0.001"} \(fast)
    sonarlab_serve_request_duration_seconds_bucket{route="infer",le="0.005"} \(requests)
    sonarlab_serve_request_duration_seconds_bucket{route="infer",le="+Inf"} \(requests)
    sonarlab_serve_request_duration_seconds_sum{route="infer"} 0.1
    sonarlab_serve_request_duration_seconds_count{route="infer"} \(requests)
    sonarlab_serve_stage_duration_seconds_bucket{stage="infer",le="+Inf"} \(requests)
    sonarlab_serve_rows_predicted_total \(requests * 2)
    sonarlab_serve_outbox_depth \(queued)
    sonarlab_serve_hbase_delivery_errors_total{reason="unreachable"} 1
    sonarlab_serve_inflight_requests 2
    sonarlab_serve_model_info{model="\(model)",version="\(version)"} 1

    """
}

/// A fake model service on 127.0.0.1 (port 0): `GET /v2`, `/v2/models/{name}`, `/metrics` from a settable body.
final class FakeModelService: Sendable {
    let metrics = Mutex(metricsBody(requests: 0, errors: 0, fast: 0, queued: 0))
    let modelName: String

    init(modelName: String = "sonar") { self.modelName = modelName }

    func run<R: Sendable>(_ body: (URL) async throws -> R) async throws -> R {
        let router = Router()
        let name = modelName
        router.get("/v2") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"name":"sonarlab","version":"0.9.0","extensions":[]}"#)))
        }
        router.get("/v2/models/:name") { _, context in
            guard context.parameters.get("name") == name else { return Response(status: .notFound) }
            let text = try String(
                decoding: JSONEncoder().encode(["name": name, "platform": "sonarlab"]), as: UTF8.self)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: self.metrics.withLock { $0 })))
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "fake-serve") { _ in SwiftLogNoOpLogHandler() }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let result = try await body(try #require(URL(string: "http://127.0.0.1:\(port)")))
        await group.triggerGracefulShutdown()
        try? await task.value
        return result
    }
}

@Suite("Prometheus text and the service's figures")
struct PrometheusTextTests {
    @Test("samples are read with their labels and values; comments, blank and broken lines are skipped")
    func samples() {
        let text = """
            # HELP x a metric
            # TYPE x counter
            x 1
            y{a="1",b="two words"} 2.5 1700000000000
              z{esc="q\\"uote\\\\back\\nline",} -Inf
            w{le="+Inf"} +Inf
            broken{a="1" 3
            nan NaN
            novalue{a="b"}

            """
        let samples = PrometheusText.parse(text)
        #expect(samples.map(\.name) == ["x", "y", "z", "w", "nan"])
        #expect(samples[1].labels == ["a": "1", "b": "two words"] && samples[1].value == 2.5)
        #expect(samples[2].labels["esc"] == "q\"uote\\back\nline" && samples[2].value == -.infinity)
        #expect(samples[3].value == .infinity)
        #expect(samples[4].value.isNaN)
    }

    @Test("figures sum requests over routes, count statuses of 400 and more as errors, and read the model info")
    func figures() {
        let figures = ServiceFigures(PrometheusText.parse(metricsBody(requests: 100, errors: 7, fast: 50, queued: 3)))
        #expect(figures.requests == 100)
        #expect(figures.errors == 7)
        #expect(figures.outboxDepth == 3)
        #expect(figures.inflight == 2)
        #expect(figures.rowsPredicted == 200)
        #expect(figures.deliveryErrors == 1)
        #expect(figures.model?.name == "sonar" && figures.model?.version == "exp-7")
        #expect(figures.latencyBuckets.map(\.le) == [0.0005, 0.001, 0.005, .infinity])
    }

    @Test("quantiles interpolate inside a bucket as histogram_quantile does")
    func quantiles() throws {
        let buckets: [(le: Double, count: Double)] = [(0.001, 50), (0.005, 100), (.infinity, 100)]
        #expect(ServiceFigures.quantile(0.5, of: buckets) == 0.001)
        let p99 = try #require(ServiceFigures.quantile(0.99, of: buckets))
        #expect(abs(p99 - (0.001 + 0.004 * 49 / 50)) < 1e-12)
        #expect(ServiceFigures.quantile(0.25, of: buckets) == 0.0005)
        #expect(ServiceFigures.quantile(0.99, of: [(0.001, 0), (.infinity, 0)]) == nil)
        #expect(ServiceFigures.quantile(0.99, of: [(0.001, 1), (.infinity, 10)]) == 0.001, "in +Inf: highest bound")
    }

    @Test("rates and quantiles cover the requests since the previous poll")
    func deltas() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let first = ServiceStatus(
            polledAt: t0,
            figures: ServiceFigures(PrometheusText.parse(metricsBody(requests: 100, errors: 0, fast: 100, queued: 0))))
        #expect(first.requestsPerSecond == nil)
        #expect(try #require(first.p99) <= 0.001)
        let second = ServiceStatus(
            polledAt: t0.addingTimeInterval(2),
            figures: ServiceFigures(PrometheusText.parse(metricsBody(requests: 300, errors: 0, fast: 100, queued: 0))),
            previous: first)
        #expect(second.requestsPerSecond == 100)
        // All 200 new requests took 1–5 ms: the median of the window is in that bucket, not the cumulative one.
        #expect(try #require(second.p50) > 0.001)
        #expect(second.model == "sonar" && second.modelVersion == "exp-7")
    }
}

@Suite("The Service screen", .serialized)
struct ServiceScreenTests {
    func serviceState(_ url: String = "http://127.0.0.1:1") -> AppState {
        AppState(
            size: Size(width: 120, height: 40), theme: .mono, parameters: Hyperparameters(),
            store: "SQLite .sonarlab/experiments.sqlite", now: Fixtures.epoch0, serviceURL: url)
    }

    @Test("a followed service is polled once a second on ticks, one poll at a time, and its version loads predictions")
    func polling() {
        var state = serviceState()
        #expect(state.send(.tick(Fixtures.epoch0)) == [.pollService(previous: nil)])
        #expect(state.send(.tick(Fixtures.epoch0.addingTimeInterval(5))).isEmpty, "a poll is under way")
        let status = ServiceStatus(polledAt: Fixtures.epoch0, model: "sonar", modelVersion: "exp-7")
        #expect(state.send(.serviceStatus(status)) == [.loadPredictions(modelID: "exp-7")])
        #expect(state.send(.tick(Fixtures.epoch0.addingTimeInterval(0.5))).isEmpty, "less than a second since")
        #expect(state.send(.tick(Fixtures.epoch0.addingTimeInterval(1))) == [.pollService(previous: status)])
        var plain = Fixtures.state()
        #expect(plain.send(.tick(Fixtures.epoch0)).isEmpty, "no service, no poll")
        state.press(.character("6"), .tab)
        #expect(state.screen == .service, "with a service followed, Tab reaches its screen")
        state.press(.tab)
        #expect(state.screen == .sweep)
        state.press(.tab)
        #expect(state.screen == .train)
    }

    @Test("the probe reads a live service's metadata and metrics, and the screen shows them with rates")
    func liveService() async throws {
        let service = FakeModelService()
        try await service.run { url in
            let probe = ServiceProbe(baseURL: url)
            service.metrics.withLock { $0 = metricsBody(requests: 100, errors: 4, fast: 100, queued: 0) }
            let first = await probe.poll(previous: nil)
            #expect(first.isReachable, "\(first.failure ?? "")")
            #expect(first.server == "sonarlab 0.9.0")
            #expect(first.model == "sonar" && first.modelVersion == "exp-7")
            service.metrics.withLock { $0 = metricsBody(requests: 300, errors: 10, fast: 150, queued: 12) }
            let second = await probe.poll(previous: first)
            let rate = try #require(second.requestsPerSecond)
            #expect(rate > 0)
            var state = serviceState(url.absoluteString)
            state.send(.key(.character("7")))
            state.send(.serviceStatus(second))
            let records = [
                PredictionRecord(
                    modelID: "exp-7", inputReference: "req-1/0", label: .mine, probability: 0.91,
                    predictedAt: Fixtures.epoch0)
            ]
            state.send(.servicePredictions(records, error: nil))
            let text = Fixtures.text(state)
            #expect(Fixtures.screen(state)[0].hasSuffix(" 7 Service  8 Sweep"))
            #expect(text.contains("● reachable"))
            #expect(text.contains("Server         sonarlab 0.9.0"))
            #expect(text.contains("Model          sonar   version exp-7"))
            #expect(text.contains("total 300   in flight 2   rows predicted 600"))
            #expect(text.contains("Latency        p50 "))
            #expect(text.contains("Errors         10 (status ≥ 400)"))
            #expect(text.contains("Queued HBase writes  12   delivery errors 1"))
            #expect(text.contains("req-1/0") && text.contains("0.910"))
            #expect(Fixtures.screen(state).allSatisfy { displayWidth(of: $0) <= 120 })
        }
    }

    @Test("an unreachable service is a state line, not a crash, and the screen keeps its frame")
    func unreachable() async throws {
        // A port that was just in use and is now closed.
        let closed = try await FakeModelService().run { $0 }
        let status = await ServiceProbe(baseURL: closed, timeout: 2).poll(previous: nil)
        #expect(!status.isReachable)
        #expect(status.failure?.contains("unreachable") == true, "\(status.failure ?? "")")
        var state = serviceState(closed.absoluteString)
        state.send(.key(.character("7")), .serviceStatus(status))
        let lines = Fixtures.screen(state)
        #expect(lines.contains { $0.contains("✕ unreachable") })
        #expect(lines.contains { $0.contains("keeps polling") })
        #expect(lines.count == 40)
    }

    @Test("a model name, version or failure from outside is escaped before it reaches the terminal")
    func escaping() {
        var state = serviceState("http://127.0.0.1:1/\u{1B}[2J")
        state.send(.key(.character("7")))
        let figures = ServiceFigures(
            PrometheusText.parse(
                metricsBody(
                    requests: 1, errors: 0, fast: 1, queued: 0, model: "evil\u{1B}]0;x\u{07}", version: "v\u{9B}1")))
        state.send(.serviceStatus(ServiceStatus(polledAt: Fixtures.epoch0, figures: figures)))
        let text = Fixtures.text(state)
        #expect(text.contains("evil\\x1B]0;x\\x07"))
        #expect(text.contains("v\\x9B1"))
        #expect(!text.unicodeScalars.contains { TerminalText.isControl($0) && $0 != "\n" })
        state.send(.serviceStatus(ServiceStatus(polledAt: Fixtures.epoch0, failure: "GET /v2 answered \u{1B}[31m")))
        #expect(Fixtures.text(state).contains("\\x1B[31m"))
    }

    @Test("without a service the tab is hidden and screen 7 says how to follow one")
    func noService() {
        var state = Fixtures.state()
        #expect(!Fixtures.text(state).contains("Service"))
        state.send(.key(.character("7")))
        let text = Fixtures.text(state)
        #expect(text.contains("No model service is followed."))
        #expect(text.contains("SONARLAB_SERVE_URL"))
    }
}
