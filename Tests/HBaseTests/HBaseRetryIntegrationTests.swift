import Foundation
import HBase
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// A test-only server (not the double) that answers 503 a given number of times, to drive the client's
/// retry loop over real HTTP.
final class FlakyGateway: Sendable {
    let requests = Mutex<[String]>([])
    let failuresLeft: Mutex<Int>

    init(failures: Int) { failuresLeft = Mutex(failures) }

    var seen: [String] { requests.withLock { $0 } }

    @discardableResult
    func run<R: Sendable>(_ body: (URL) async throws -> R) async throws -> R {
        let router = Router()
        router.on("**", method: .get) { request, _ in try self.answer(request) }
        router.on("**", method: .put) { request, _ in try self.answer(request) }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "flaky") { _ in SwiftLogNoOpLogHandler() }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        defer { task.cancel() }
        let result = try await body(URL(string: "http://127.0.0.1:\(port)")!)
        await group.triggerGracefulShutdown()
        try? await task.value
        return result
    }

    func answer(_ request: Request) throws -> Response {
        requests.withLock { $0.append("\(request.method) \(request.uri.path)") }
        let fail = failuresLeft.withLock { left -> Bool in
            defer { left -= 1 }
            return left > 0
        }
        if fail {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "Unavailable\r\n")))
        }
        if request.method == .put { return Response(status: .ok) }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"Version":"2.5.10"}"#)))
    }
}

@Suite("HBase retries over HTTP")
struct HBaseRetryIntegrationTests {
    static let policy = HBaseRetryPolicy(
        maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(20))

    @Test func idempotentGetIsRetriedAfter503UntilItSucceeds() async throws {
        let gateway = FlakyGateway(failures: 2)
        let version = try await gateway.run { url in
            try await HBaseClient.withClient(
                configuration: HBaseClientConfiguration(baseURL: url, retryPolicy: Self.policy)
            ) {
                try await $0.clusterVersion()
            }
        }
        #expect(version == "2.5.10")
        #expect(gateway.seen == Array(repeating: "GET /version/cluster", count: 3))
    }

    @Test func retriesStopAtMaxAttemptsWithUnavailable() async throws {
        let gateway = FlakyGateway(failures: 10)
        try await gateway.run { (url: URL) async throws in
            try await HBaseClient.withClient(
                configuration: HBaseClientConfiguration(baseURL: url, retryPolicy: Self.policy)
            ) {
                (client: HBaseClient) async throws in
                let error = await #expect(throws: HBaseError.unavailable) { try await client.clusterVersion() }
                #expect(error?.status == 503)
            }
        }
        #expect(gateway.seen.count == 3)
    }

    @Test func putWithServerTimestampsIsNotRetriedButOneWithTimestampsIs() async throws {
        let row = HBaseRow(key: "r", cells: [HBaseCell(column: HBaseColumn("cf", "q"), string: "v")])
        let gateway = FlakyGateway(failures: 1)
        try await gateway.run { (url: URL) async throws in
            try await HBaseClient.withClient(
                configuration: HBaseClientConfiguration(baseURL: url, retryPolicy: Self.policy)
            ) {
                (client: HBaseClient) async throws in
                await #expect(throws: HBaseError.unavailable) { try await client.put(row, into: HBaseTableName("t")) }
            }
        }
        #expect(gateway.seen == ["PUT /t/r"])

        var stamped = row
        stamped.cells[0].timestamp = 42
        let second = FlakyGateway(failures: 1)
        try await second.run { (url: URL) async throws in
            try await HBaseClient.withClient(
                configuration: HBaseClientConfiguration(baseURL: url, retryPolicy: Self.policy)
            ) {
                (client: HBaseClient) async throws in
                try await client.put(stamped, into: HBaseTableName("t"))
            }
        }
        #expect(second.seen == ["PUT /t/r", "PUT /t/r"])
    }
}
