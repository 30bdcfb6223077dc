import Foundation
import HTTPTypes
import Logging
import ServiceLifecycle
import SonarLabTestSupport
import Testing

@testable import Serving

/// The live server's graceful shutdown (`ServingServer.http1`), in process on 127.0.0.1 with a free port.
@Suite("Serving: graceful shutdown of the live server")
struct ServingShutdownTests {
    @Test("a connection accepted before the shutdown whose request comes after it began is answered; the port closes")
    func firstRequestAfterTheShutdownBeganIsAnswered() async throws {
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let app = ServingServer.makeApplication(service: Fixtures.service(), host: "127.0.0.1", port: 0) { port in
            bound.yield(port)
        }
        let group = ServiceGroup(
            configuration: .init(services: [app], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var next = ports.makeAsyncIterator()
            let port = try #require(await next.next())
            let waiting = try RawConnection(port: port)
            // Answered on a later connection: the server has accepted the earlier one (accepts are in order).
            let later = try await postOnOwnConnection(
                port: port, "/v2/models/sonar/infer", Fixtures.v2Body(Fixtures.rows(0..<1)))
            #expect(later.status == .ok)
            await group.triggerGracefulShutdown()
            let deadline = ContinuousClock.now + .seconds(30)
            while RawConnection.accepts(port: port), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!RawConnection.accepts(port: port), "the port closed")
            let body = Fixtures.v2Body(Fixtures.rows(0..<1), id: "first")
            let answer = try await SonarLabProcess.offPool { waiting.postJSON("/v2/models/sonar/infer", body) }
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.contains(#""id":"first""#), "\(answer.prefix(600))")
            try await tasks.waitForAll()
        }
    }
}
