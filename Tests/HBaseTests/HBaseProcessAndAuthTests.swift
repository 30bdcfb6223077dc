import Foundation
@testable import HBase
import HBaseRESTDouble
import HTTPTypes
import InMemoryLogging
import Logging
import NIOHTTP1
import SonarLabTestSupport
import Testing

/// The `hbase-rest-double` executable: flags, the `listening HOST:PORT` line, persistence across processes.
@Suite("hbase-rest-double process")
struct HBaseRESTDoubleProcessTests {
    /// The built executable next to the test bundle (`swift build --build-tests` builds it).
    static func executable() throws -> URL {
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("hbase-rest-double"))
            directory = directory.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        candidates.append(cwd.appendingPathComponent(".build/debug/hbase-rest-double"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw HBaseError.invalidConfiguration.with(
                "hbase-rest-double is not built; run `swift build --build-tests` first (looked in \(candidates.map(\.path)))"
            )
        }
        return found
    }

    final class Server: @unchecked Sendable {
        let process: ChildProcess
        let port: Int

        init(dataDirectory: String?) throws {
            var arguments = ["--host", "127.0.0.1", "--port", "0", "--auth", "none"]
            if let dataDirectory { arguments += ["--data-dir", dataDirectory] }
            process = try ChildProcess(try HBaseRESTDoubleProcessTests.executable().path, arguments, stderr: .discard)
            // The first line: `listening 127.0.0.1:PORT`.
            let text = process.firstLine(timeout: 30) ?? ""
            guard text.hasPrefix("listening 127.0.0.1:"), let port = Int(text.dropFirst("listening 127.0.0.1:".count)),
                port > 0
            else {
                process.kill9()
                throw HBaseError.invalidResponse.with("unexpected first line from hbase-rest-double: \(text)")
            }
            self.port = port
        }

        var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

        func stop() {
            process.signal(SIGTERM)  // graceful shutdown
            if !process.waitForExit(timeout: 30) { process.kill9() }
        }
    }

    @Test func printsItsPortAndKeepsDataAcrossProcessRestarts() async throws {
        let directory = try HBaseRESTDoublePersistenceTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = HBaseTableName("proc")
        let first = try Server(dataDirectory: directory)
        do {
            try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: first.url)) {
                (client: HBaseClient) async throws in
                try await client.createOrReplaceTable(
                    HBaseTableSchema(table: table, families: [HBaseColumnFamily("cf")]))
                try await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: col("cf", "q"), string: "v")]), into: table)
            }
        } catch {
            first.stop()
            throw error
        }
        first.stop()
        #expect(first.process.terminationStatus == 0)

        let second = try Server(dataDirectory: directory)
        defer { second.stop() }
        let reply = try await RawHTTP.send(.GET, second.url.absoluteString + "/proc/r/cf:q")
        #expect(reply.status == 200)
        #expect(reply.text.contains(b64("v")))
    }

    @Test func refusesMissingFlagsAndUnknownAuth() throws {
        for arguments in [
            ["--port", "0", "--auth", "none"], ["--host", "127.0.0.1", "--port", "0", "--auth", "kerberos"],
        ] {
            let result = try SonarLabProcess.runBlocking(try Self.executable().path, arguments, in: "/")
            #expect(result.status == 64, "\(arguments)")
        }
    }
}

/// A Basic-auth policy plugged into the double's security seam: proves the seam and the client's 401/403 handling.
struct TestBasicSecurity: HBaseDoubleSecurity {
    static let users = ["trainer": "trainer-pw", "viewer": "viewer-pw"]

    func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
        let challenge: HTTPFields = [HTTPField.Name("WWW-Authenticate")!: "Basic realm=\"hbase\""]
        guard let value = head.headerFields[.authorization], value.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(value.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
            let colon = decoded.firstIndex(of: ":")
        else { return .challenge(challenge) }
        let user = String(decoded[..<colon])
        guard Self.users[user] == String(decoded[decoded.index(after: colon)...]) else { return .challenge(challenge) }
        return .authenticated(user: user, responseHeaders: [:])
    }

    func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool {
        user == "trainer" || action == .read
    }
}

@Suite("HBase authentication and transport")
struct HBaseAuthAndTransportTests {
    static func configuration(_ url: URL, user: String, password: String) -> HBaseClientConfiguration {
        HBaseClientConfiguration(
            baseURL: url,
            retryPolicy: .never,
            authenticator: HBaseBasicAuthenticator(user: user, password: password),
            allowsCredentialsOverLoopbackHTTP: true
        )
    }

    @Test func wrongPasswordIsUnauthorizedAndTheMessageHoldsNoSecret() async throws {
        try await ContractTarget.withDouble(security: TestBasicSecurity()) { (url: URL) async throws in
            try await HBaseClient.withClient(
                configuration: Self.configuration(url, user: "trainer", password: "Wr0ng-Secret-99")
            ) { (client: HBaseClient) async throws in
                let error = await #expect(throws: HBaseError.unauthorized) {
                    try await client.tableSchema(HBaseTableName("t"))
                }
                let text = String(describing: error)
                #expect(!text.contains("Wr0ng-Secret-99"))
                #expect(!text.contains(Data("trainer:Wr0ng-Secret-99".utf8).base64EncodedString()))
                #expect(!text.contains("Authorization"))
            }
        }
    }

    @Test func readOnlyUserIsForbiddenToWriteAndTheMessageHoldsNoCellValue() async throws {
        try await ContractTarget.withDouble(security: TestBasicSecurity()) { (url: URL) async throws in
            let table = HBaseTableName("acl")
            try await HBaseClient.withClient(
                configuration: Self.configuration(url, user: "trainer", password: "trainer-pw")
            ) { (client: HBaseClient) async throws in
                try await client.createOrReplaceTable(
                    HBaseTableSchema(table: table, families: [HBaseColumnFamily("cf")]))
            }
            try await HBaseClient.withClient(
                configuration: Self.configuration(url, user: "viewer", password: "viewer-pw")
            ) { (client: HBaseClient) async throws in
                let error = await #expect(throws: HBaseError.forbidden) {
                    try await client.put(
                        HBaseRow(key: "row-9", cells: [HBaseCell(column: col("cf", "q"), string: "CELL-PAYLOAD-xyz")]),
                        into: table)
                }
                let text = String(describing: error)
                #expect(text.contains("acl"))
                #expect(text.contains("row-9"))
                #expect(!text.contains("CELL-PAYLOAD-xyz"))
                #expect(!text.contains("viewer-pw"))
                #expect(try await client.row("row-9", in: table) == nil)
            }
        }
    }

    @Test func refusedConnectionIsATransportErrorAfterRetries() async throws {
        // Bind a free port, then stop the double so the port is closed.
        let port = try await ContractTarget.withDouble { url in url.port ?? 0 }
        let url = try #require(URL(string: "http://127.0.0.1:\(port)"))
        let configuration = HBaseClientConfiguration(
            baseURL: url,
            // Roomy: under `make test` the parallel process-spawning suites can hold the cooperative pool for
            // seconds, which must not turn a refused connection into a timeout.
            timeouts: .init(connect: .seconds(60), read: .seconds(120), request: .seconds(120)),
            retryPolicy: HBaseRetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(100)),
        )
        try await HBaseClient.withClient(configuration: configuration) { (client: HBaseClient) async throws in
            let clock = ContinuousClock()
            let start = clock.now
            let error = await #expect(throws: HBaseError.transport) { _ = try await client.clusterVersion() }
            // Two retries waited 100 ms + 200 ms.
            #expect(clock.now - start >= .milliseconds(300))
            #expect(error?.message.contains("refused") == true)
        }
    }
}

@Suite("HBase logging")
struct HBaseLoggingTests {
    @Test func debugLogsNameRequestsButNeverCredentialsOrCellValues() async throws {
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "test.hbase") { _ in handler }
        logger.logLevel = .trace
        try await ContractTarget.withDouble(security: TestBasicSecurity()) { (url: URL) async throws in
            let configuration = HBaseAuthAndTransportTests.configuration(url, user: "trainer", password: "trainer-pw")
            try await HBaseClient.withClient(configuration: configuration, logger: logger) {
                (client: HBaseClient) async throws in
                let table = HBaseTableName("logged")
                try await client.createOrReplaceTable(
                    HBaseTableSchema(table: table, families: [HBaseColumnFamily("cf")]))
                try await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: HBaseColumn("cf", "q"), string: "CELL-SECRET-42")]),
                    into: table)
                _ = try await client.row("r", in: table)
                _ = try? await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: HBaseColumn("nope", "q"), string: "CELL-SECRET-42")]),
                    into: table)
            }
        }
        let text = handler.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!handler.entries.isEmpty)
        #expect(text.contains("/logged/schema"))
        for secret in [
            "trainer-pw", Data("trainer:trainer-pw".utf8).base64EncodedString(), "Authorization", "CELL-SECRET-42",
            Data("CELL-SECRET-42".utf8).base64EncodedString(),
        ] {
            #expect(!text.contains(secret), "\(secret)")
        }
    }
}
