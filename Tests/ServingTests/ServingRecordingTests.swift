import Foundation
import HBase
import HBaseRESTDouble
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SonarLabTestSupport
import Synchronization
import Testing
import Tracking

@testable import Serving

/// A double's security that lets everything through but writes to the predictions table while `isDenied` is set.
final class DenyPredictionWrites: HBaseDoubleSecurity {
    let isDenied = Atomic<Bool>(true)
    func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
        .authenticated(user: "server", responseHeaders: [:])
    }
    func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool {
        guard isDenied.load(ordering: .relaxed), action == .write,
            case .table(_, let name) = scope, name == "predictions"
        else { return true }
        return false
    }
}

/// Recording through the HBase outbox against the double (in-process, 127.0.0.1, port 0) and the local store.
@Suite("model service recording: HBase outbox, local store", .serialized)
struct ServingRecordingTests {
    /// Runs `body` with a service recording to HBase at `port` through an outbox in `dir`.
    static func withHBaseService<R: Sendable>(
        port: Int, dir: TemporaryDirectory, _ body: (ModelService, HBaseClient) async throws -> R
    ) async throws -> R {
        let url = URL(string: "http://127.0.0.1:\(port)")!
        let configuration = HBaseClientConfiguration(
            baseURL: url, timeouts: .init(connect: .seconds(2), read: .seconds(5), request: .seconds(5)),
            retryPolicy: HBaseRetryPolicy(maxAttempts: 1))
        return try await HBaseClient.withClient(configuration: configuration) { client in
            let writer = HBaseOutboxWriter(
                outbox: try HBaseOutbox.inDirectory(dir.path), client: client, identity: "principal 'server'")
            let recorder = HBasePredictionRecorder(client: client, layout: HBaseTrackingLayout(), writer: writer)
            return try await body(Fixtures.service(recorder: recorder), client)
        }
    }

    static func infer(_ service: ModelService, rows: Range<Int>, id: String) async throws -> TestResponse {
        try await ServingServer.makeApplication(service: service, host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.post("/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(rows), id: id))
        }
    }

    @Test("every answered prediction reaches the predictions table: label, P(mine), fingerprint, time")
    func predictionsArriveInHBase() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { port in
            try await Self.withHBaseService(port: port, dir: dir) { service, client in
                try await HBaseTrackingLayout().ensure(using: client)
                let answer = try await Self.infer(service, rows: 0..<3, id: "hb-1")
                #expect(answer.status == .ok)
                await OutboxDeliveryService(service: service).flush()
                let stored = try await HBasePredictionStore(client: client).predictions(
                    modelID: Fixtures.modelA.version)
                #expect(stored.map(\.inputReference) == ["hb-1/000000", "hb-1/000001", "hb-1/000002"])
                let (labels, p) = outputs(answer)
                #expect(stored.map(\.label.label) == labels)
                #expect(stored.map { Float($0.mineProbability ?? -1) } == p)
                #expect(stored.allSatisfy { $0.featuresSHA256?.count == 64 && $0.caller == nil })
                #expect(await service.recorder.backlog().count == 0)
            }
        }
    }

    @Test("HBase down: answers go on, ready stays ready, /metrics shows the backlog; back up, it is delivered")
    func gatewayDownThenBack() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A port that was just free: the double ran on it and stopped.
        let port = try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { $0 }
        try await Self.withHBaseService(port: port, dir: dir) { service, client in
            #expect(try await Self.infer(service, rows: 0..<2, id: "down-1").status == .ok)
            #expect(try await Self.infer(service, rows: 2..<3, id: "down-2").status == .ok)
            var state = OutboxDeliveryService.RoundState()
            let delivery = OutboxDeliveryService(service: service)
            _ = await delivery.round(&state)
            let text = try await ServingServer.makeApplication(service: service, host: "127.0.0.1", port: 0).test(
                .router
            ) { client in
                #expect(try await client.get("/v2/health/ready").status == .ok)
                return try await client.get("/metrics").text
            }
            #expect(text.contains("sonarlab_serve_outbox_depth 2"), "\(text)")
            #expect(text.contains(#"sonarlab_serve_hbase_delivery_errors_total{reason="unreachable"}"#))
            try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: port)) { _ in
                try await HBaseTrackingLayout().ensure(using: client)
                await delivery.flush()
                let stored = try await HBasePredictionStore(client: client).predictions(
                    modelID: Fixtures.modelA.version)
                #expect(stored.map(\.inputReference) == ["down-1/000000", "down-1/000001", "down-2/000000"])
            }
        }
    }

    @Test("HBase refuses (403): the writes are kept and counted; after the grant, a retry delivers them")
    func refusalKeepsTheWrites() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let security = DenyPredictionWrites()
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0, security: security)) {
            port in
            try await Self.withHBaseService(port: port, dir: dir) { service, client in
                try await HBaseTrackingLayout().ensure(using: client)
                #expect(try await Self.infer(service, rows: 0..<1, id: "deny-1").status == .ok)
                let delivery = OutboxDeliveryService(service: service, refusalRetryInterval: .zero)
                var state = OutboxDeliveryService.RoundState()
                _ = await delivery.round(&state)
                let backlog = await service.recorder.backlog()
                #expect(backlog.count == 1 && backlog.isBlocked && backlog.refusal == .forbidden)
                #expect(try await Self.infer(service, rows: 1..<2, id: "deny-2").status == .ok)
                let metrics = String(decoding: service.metrics.render(), as: UTF8.self)
                #expect(
                    metrics.contains(#"sonarlab_serve_hbase_delivery_errors_total{reason="forbidden"}"#), "\(metrics)")
                security.isDenied.store(false, ordering: .relaxed)
                _ = await delivery.round(&state)
                await delivery.flush()
                let stored = try await HBasePredictionStore(client: client).predictions(
                    modelID: Fixtures.modelA.version)
                #expect(stored.map(\.inputReference) == ["deny-1/000000", "deny-2/000000"])
            }
        }
    }

    @Test("record = local keeps every prediction in predictions.sqlite before the answer")
    func localStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try LocalPredictionStore(directory: dir.path)
        let service = Fixtures.service(recorder: LocalPredictionRecorder(store: store))
        let answer = try await Self.infer(service, rows: 5..<9, id: "loc")
        #expect(answer.status == .ok)
        let stored = try await store.predictions(modelID: Fixtures.modelA.version)
        #expect(stored.map(\.inputReference) == (0..<4).map { "loc/00000\($0)" })
        #expect(stored.map { Float($0.mineProbability ?? -1) } == outputs(answer).pMine)
        #expect(LocalPredictionRecorder(store: store).description.hasSuffix("predictions.sqlite"))
        #expect(await NoPredictionRecorder().deliver(retryRefused: true) == .none)
    }

    @Test("a delivery round's failure reason names the refusal kind")
    func failureReasons() {
        #expect(OutboxDeliveryService.failureReason(PendingWrites(count: 0)) == nil)
        #expect(OutboxDeliveryService.failureReason(PendingWrites(count: 2, reason: "down")) == "unreachable")
        #expect(
            OutboxDeliveryService.failureReason(PendingWrites(count: 1, isBlocked: true, refusal: .unauthorized))
                == "unauthorized")
        #expect(
            OutboxDeliveryService.failureReason(PendingWrites(count: 1, isBlocked: true, refusal: .tableNotFound))
                == "refused")
    }
}
