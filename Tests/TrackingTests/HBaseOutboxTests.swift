import Engine
import Foundation
import HBase
import HBaseRESTDouble
import HTTPTypes
import SonarLabTestSupport
import Testing
import Tracking

/// The durable HBase outbox: its pure policy, the SQLite queue, the drainer lock, and the writer against the
/// double in-process (or a closed loopback port when HBase is "down").
@Suite("HBase outbox")
struct HBaseOutboxTests {
    // MARK: Helpers

    /// A loopback port with nothing listening on it (bound, then closed).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw HBaseOutboxError(message: "cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func client(port: Int) throws -> HBaseClient {
        try HBaseClient(
            configuration: HBaseClientConfiguration(
                baseURL: URL(string: "http://127.0.0.1:\(port)")!,
                // Roomy: the suite runs beside ~270 other tests on 2 cores; a closed port is refused at once anyway.
                timeouts: .init(connect: .seconds(10), read: .seconds(30), request: .seconds(30)),
                retryPolicy: .never))
    }

    static let fast = HBaseOutboxPolicy(initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200))

    static func row(_ key: String, _ qualifier: String, _ value: String) -> HBaseRow {
        HBaseRow(key: key, cells: [HBaseCell(column: HBaseColumn("s", qualifier), string: value)])
    }

    // MARK: Policy (no I/O)

    @Test func onlyOutagesAreRetriedAndRefusalsBlock() {
        typealias P = HBaseOutboxPolicy
        #expect(P.disposition(of: HBaseError.transport) == .retryLater)
        // An untrusted certificate is a setup error (missing CA file, wrong host): never fixed by waiting.
        #expect(P.disposition(of: HBaseError.untrustedCertificate) == .blocked)
        #expect(P.disposition(of: HBaseError.timeout) == .retryLater)
        #expect(P.disposition(of: HBaseError.unavailable) == .retryLater)
        #expect(P.disposition(of: HBaseError.serverError) == .retryLater)
        #expect(P.disposition(of: HBaseError.unauthorized) == .blocked)
        // Kerberos and TLS states of this host: kinit, a new certificate or the clock fixes them, not waiting.
        #expect(P.disposition(of: HBaseError.credentialsExpired) == .blocked)
        #expect(P.disposition(of: HBaseError.credentialsUnavailable) == .blocked)
        #expect(P.disposition(of: HBaseError.mutualAuthenticationFailed) == .blocked)
        #expect(P.disposition(of: HBaseError.certificateNotValid) == .blocked)
        #expect(P.disposition(of: HBaseError.forbidden) == .blocked)
        #expect(P.disposition(of: HBaseError.tableNotFound) == .blocked)
        #expect(P.disposition(of: HBaseError.badRequest) == .blocked)
        #expect(P.disposition(of: HBaseError.notImplemented) == .blocked)
        #expect(P.disposition(of: CancellationError()) == .cancelled)
        #expect(P.disposition(of: HBaseOutboxError(message: "x")) == .blocked)
    }

    @Test func backoffDoublesUpToItsCap() {
        let policy = HBaseOutboxPolicy()
        #expect(policy.backoff(afterFailures: 1) == .seconds(1))
        #expect(policy.backoff(afterFailures: 2) == .seconds(2))
        #expect(policy.backoff(afterFailures: 4) == .seconds(8))
        #expect(policy.backoff(afterFailures: 40) == .seconds(8))
    }

    @Test func requestsGroupConsecutiveEntriesOfOneTableWithinTheRowLimit() {
        func entry(_ seq: Int64, _ table: String, rows: Int) -> HBaseOutboxEntry {
            HBaseOutboxEntry(
                sequence: seq, cluster: "c", table: table,
                rows: (0..<rows).map { Self.row("r\($0)", "q", "v") }, enqueuedAt: Date(), origin: "t", attempts: 0,
                lastError: nil)
        }
        let policy = HBaseOutboxPolicy(maxRowsPerRequest: 3)
        let entries = [
            entry(1, "a", rows: 1), entry(2, "a", rows: 2), entry(3, "a", rows: 1), entry(4, "b", rows: 1),
            entry(5, "a", rows: 5),
        ]
        let groups = policy.requests(for: entries)
        #expect(groups.map { $0.map(\.sequence) } == [[1, 2], [3], [4], [5]])
        #expect(policy.requests(for: []).isEmpty)
    }

    @Test func clusterKeysDropUserInfoQueryAndDefaultPorts() {
        #expect(
            HBaseOutbox.clusterKey(for: URL(string: "https://bob:pw@HBase.example/")!) == "https://hbase.example:443")
        #expect(
            HBaseOutbox.clusterKey(for: URL(string: "http://127.0.0.1:8080/gw/?x=1")!) == "http://localhost:8080/gw")
        #expect(HBaseOutbox.clusterKey(for: URL(string: "http://h")!) == "http://h:80")
    }

    @Test func pendingWritesSummaries() {
        #expect(PendingWrites.none.summary == nil)
        #expect(PendingWrites(count: 1, reason: "refused").summary == "HBase unreachable — 1 write queued")
        #expect(PendingWrites(count: 12, reason: "timeout").summary == "HBase unreachable — 12 writes queued")
        #expect(PendingWrites(count: 12).summary == nil, "in flight to a reachable HBase")
        #expect(PendingWrites(count: 3, reason: "x", isBlocked: true).summary?.hasPrefix("HBase refused") == true)
        // A ticket cache that cannot be used (or an expired ticket) is this host's problem, not the gateway's answer.
        for code in [HBaseError.credentialsUnavailable, .credentialsExpired] {
            let pending = PendingWrites(count: 4, reason: "x", isBlocked: true, refusal: code)
            #expect(
                pending.summary
                    == "no usable Kerberos credentials on this host, nothing was sent — 4 writes kept in the outbox")
        }
        let forbidden = PendingWrites(count: 1, reason: "x", isBlocked: true, refusal: .forbidden)
        #expect(forbidden.summary == "HBase refused the writes — 1 write kept in the outbox")
    }

    // MARK: The SQLite queue and the lock

    @Test func entriesSurviveReopeningInOrderWithTheirRowsBitForBit() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let table = HBaseTableName("experiments", namespace: "sonarlab")
        let rows = [
            HBaseRow(
                key: Data([0, 1, 0xFF]),
                cells: [HBaseCell(column: HBaseColumn("e", "000001"), value: Data([0, 7]), timestamp: 42)])
        ]
        do {
            let outbox = try HBaseOutbox.inDirectory(dir.path)
            try await outbox.enqueue(rows, into: table, cluster: "http://a:1", origin: "run-1")
            try await outbox.enqueue(
                [Self.row("k", "status", "finished")], into: table, cluster: "http://a:1", origin: "run-1")
            try await outbox.enqueue(
                [Self.row("k", "status", "x")], into: table, cluster: "http://b:2", origin: "predict")
        }
        let reopened = try HBaseOutbox(path: dir.file(HBaseOutbox.fileName))
        let entries = try await reopened.entries(cluster: "http://a:1")
        #expect(entries.count == 2)
        #expect(entries[0].sequence < entries[1].sequence)
        #expect(entries[0].rows == rows)
        #expect(entries[0].table == "sonarlab:experiments")
        #expect(entries[0].origin == "run-1")
        try await reopened.recordFailure([entries[0].sequence], message: "connection refused")
        let failed = try await reopened.entries(cluster: "http://a:1")[0]
        #expect(failed.attempts == 1 && failed.lastError == "connection refused")
        #expect(try await reopened.countsByCluster() == ["http://a:1": 2, "http://b:2": 1])
        try await reopened.remove(entries.map(\.sequence))
        #expect(try await reopened.count(cluster: "http://a:1") == 0)
        #expect(try await reopened.count(cluster: "http://b:2") == 1)
    }

    @Test func manyOpenersOfANewOutboxAtOnceAllSucceed() async throws {
        for _ in 0..<5 {
            let dir = try TemporaryDirectory("outbox")
            defer { dir.remove() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let outbox = try HBaseOutbox.inDirectory(dir.path)
                        _ = try await outbox.count(cluster: "c")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func onlyOneDrainerHoldsTheLockAcrossOpenFiles() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let first = try HBaseOutbox.inDirectory(dir.path)
        let second = try HBaseOutbox.inDirectory(dir.path)
        let lock = try #require(try first.tryLock())
        #expect(try second.tryLock() == nil)
        let started = ContinuousClock.now
        #expect(try await second.lock(waitingUpTo: .milliseconds(150)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(150))
        lock.release()
        let again = try #require(try await second.lock(waitingUpTo: .seconds(1)))
        again.release()
    }

    // MARK: The writer

    @Test func writesQueueInOrderWhileHBaseIsDownAndDrainWhenItIsBack() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let port = try Self.closedPort()
        let client = try Self.client(port: port)
        let outbox = try HBaseOutbox.inDirectory(dir.path)
        let writer = HBaseOutboxWriter(outbox: outbox, client: client, policy: Self.fast)
        let store = HBaseExperimentStore(client: client, writer: writer)
        var experiment = Experiment(
            id: "20261129-120000-abcdef", name: "down", kind: .train, startedAt: Date(), parameters: ["mlp.lr": "0.01"],
            dataFingerprint: "f")
        try await store.create(experiment)
        for start in stride(from: 1, through: 21, by: 10) {
            try await store.appendEpochs((start..<start + 10).map(HBaseStoreTests.metrics), experimentID: experiment.id)
        }
        experiment.epochs = (1...30).map(HBaseStoreTests.metrics)
        experiment.status = .finished
        experiment.endedAt = Date()
        try await store.finish(experiment)
        let down = await store.deliverPendingWrites(within: .seconds(1))
        #expect(down.count == 5)
        #expect(!down.isBlocked)
        #expect(down.reason?.contains("refused") == true)
        let sequences = try await outbox.entries(cluster: writer.cluster).map(\.sequence)
        #expect(sequences == sequences.sorted())

        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: port)) { _ in
            try await HBaseTrackingLayout().ensure(using: client)
            let started = ContinuousClock.now
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(5))
            print("outbox test: drained \(delivery.sentEntries) entries in \(ContinuousClock.now - started)")
            #expect(delivery.sentEntries == 5)
            #expect(delivery.pending == PendingWrites.none)
            let stored = try #require(try await store.experiment(id: experiment.id))
            #expect(stored.status == .finished)
            #expect(stored.epochs.map(\.epoch) == Array(1...30))
            // One version per cell even when read with many: the replay wrote the versions it was given.
            let raw = try #require(
                try await client.row(
                    HBaseExperimentStore.rowKey(forID: experiment.id), in: HBaseTrackingLayout().experiments,
                    maxVersions: 5))
            #expect(raw.cells.filter { $0.column == HBaseColumn("e", "000007") }.count == 1)
            #expect(raw.cells.filter { $0.column == HBaseColumn("s", "status") }.count == 1)
        }
        try await client.shutdown()
    }

    @Test func aReplayOfAnOlderWriteNeverHidesANewerOne() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { port in
            let client = try Self.client(port: port)
            defer { Task { try? await client.shutdown() } }
            let layout = HBaseTrackingLayout()
            try await layout.ensure(using: client)
            let outbox = try HBaseOutbox.inDirectory(dir.path)
            let writer = HBaseOutboxWriter(outbox: outbox, client: client, policy: Self.fast)
            try await writer.write([Self.row("r", "status", "running")], into: layout.experiments, origin: "t")
            await writer.settle()
            try await writer.write([Self.row("r", "status", "finished")], into: layout.experiments, origin: "t")
            _ = await writer.deliver(waitingForLockUpTo: .seconds(5))
            // Replay the first write as a crashed drainer would (same rows, same timestamps) after the second.
            let firstAgain = HBaseRow(
                key: "r", cells: [HBaseCell(column: HBaseColumn("s", "status"), string: "running", timestamp: 1)])
            try await outbox.enqueue([firstAgain], into: layout.experiments, cluster: writer.cluster, origin: "t")
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(5))
            #expect(delivery.sentEntries == 1)
            let row = try #require(try await client.row("r", in: layout.experiments, maxVersions: 3))
            #expect(row.cells.map { String(decoding: $0.value, as: UTF8.self) } == ["finished"])
        }
    }

    @Test func aMissingTableBlocksLoudlyAndKeepsTheWrites() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { port in
            let client = try Self.client(port: port)
            defer { Task { try? await client.shutdown() } }
            let writer = HBaseOutboxWriter(
                outbox: try HBaseOutbox.inDirectory(dir.path), client: client, identity: "user 'bob'",
                policy: Self.fast)
            let table = HBaseTrackingLayout().experiments
            try await writer.write([Self.row("r", "status", "running")], into: table, origin: "t")
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(5))
            #expect(delivery.pending.isBlocked)
            #expect(delivery.pending.count == 1)
            #expect(delivery.pending.reason?.contains("sonarlab hbase init") == true)
            // The next write is kept too, and says why once.
            await #expect(throws: HBaseError.tableNotFound) {
                try await writer.write([Self.row("r", "status", "finished")], into: table, origin: "t")
            }
            try await writer.write([Self.row("r", "m", "x")], into: table, origin: "t")
            #expect(await writer.pending().count == 3)
            // Fixed (`hbase init`): `sync` retries and delivers everything.
            try await HBaseTrackingLayout().ensure(using: client)
            let fixed = await writer.deliver(waitingForLockUpTo: .seconds(5), retryRefused: true)
            #expect(fixed.sentEntries == 3)
            #expect(fixed.pending == PendingWrites.none)
        }
    }

    @Test func aForbiddenWriteNamesTheIdentityAndTheTableAndIsNotSentAgain() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let security = ReadOnlySecurity()
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0, security: security)) {
            port in
            let client = try Self.client(port: port)
            defer { Task { try? await client.shutdown() } }
            try await HBaseTrackingLayout().ensure(using: client)
            security.forbidWrites()
            let writer = HBaseOutboxWriter(
                outbox: try HBaseOutbox.inDirectory(dir.path), client: client, identity: "principal 'viewer'",
                policy: Self.fast)
            let table = HBaseTrackingLayout().experiments
            try await writer.write([Self.row("r", "status", "running")], into: table, origin: "t")
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(5))
            #expect(delivery.pending.isBlocked)
            let reason = try #require(delivery.pending.reason)
            #expect(reason.contains("principal 'viewer'") && reason.contains("sonarlab:experiments"))
            #expect(reason.contains("403") && reason.contains("grant"))
            await #expect(throws: HBaseError.forbidden) {
                try await writer.write([Self.row("r", "status", "finished")], into: table, origin: "t")
            }
            let attempts = security.writeAttempts
            try await writer.write([Self.row("r", "m", "x")], into: table, origin: "t")
            _ = await writer.deliver(waitingForLockUpTo: .seconds(1))
            #expect(security.writeAttempts == attempts, "a refused writer sends nothing more")
        }
    }

    @Test func entriesForAnotherClusterAreReportedNotSent() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { port in
            let client = try Self.client(port: port)
            defer { Task { try? await client.shutdown() } }
            let layout = HBaseTrackingLayout()
            try await layout.ensure(using: client)
            let outbox = try HBaseOutbox.inDirectory(dir.path)
            try await outbox.enqueue(
                [Self.row("elsewhere", "status", "x")], into: layout.experiments, cluster: "https://other.example:443",
                origin: "t")
            let writer = HBaseOutboxWriter(outbox: outbox, client: client, policy: Self.fast)
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(5))
            #expect(delivery.sentEntries == 0)
            #expect(delivery.otherClusters == ["https://other.example:443": 1])
            #expect(try await client.row("elsewhere", in: layout.experiments) == nil)
        }
    }

    @Test func aTrainingRunAgainstADownGatewayFinishesQueuedAndSaysSo() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let client = try Self.client(port: try Self.closedPort())
        defer { Task { try? await client.shutdown() } }
        let writer = HBaseOutboxWriter(outbox: try HBaseOutbox.inDirectory(dir.path), client: client, policy: Self.fast)
        let store = HBaseExperimentStore(client: client, writer: writer)
        var config = TrainingConfiguration()
        config.epochs = 40
        let request = TrainingRequest(
            name: "down", data: try SonarData.load(path: TestPaths.sonarData), dataPath: TestPaths.sonarData,
            testSize: 0.25, splitSeed: 42, configuration: config, parameters: ["mlp.epochs": "40"],
            experimentsRoot: dir.file("experiments"), epochBatch: 5)
        let notes = Notes()
        let outcome = try await TrainingSession(store: store).run(
            request, onPendingWrites: { pending in notes.add(pending.summary) })
        #expect(outcome.storeError == nil, "an outage is not a failed write")
        #expect(outcome.experiment.status == .finished)
        #expect(outcome.pendingWrites.count == 1 + 8 + 1)
        #expect(outcome.pendingWrites.summary == "HBase unreachable — 10 writes queued")
        #expect(notes.all.last == "HBase unreachable — 10 writes queued")
        #expect(notes.all.allSatisfy { $0?.hasPrefix("HBase unreachable — ") == true })
    }

    @Test func aWriterWaitsWhileAnotherProcessDrains() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let port = try Self.closedPort()
        let client = try Self.client(port: port)
        defer { Task { try? await client.shutdown() } }
        let outbox = try HBaseOutbox.inDirectory(dir.path)
        let other = try #require(try HBaseOutbox.inDirectory(dir.path).tryLock())
        let writer = HBaseOutboxWriter(outbox: outbox, client: client, policy: Self.fast)
        try await writer.write(
            [Self.row("r", "status", "running")], into: HBaseTrackingLayout().experiments, origin: "t")
        let delivery = await writer.deliver(waitingForLockUpTo: .milliseconds(200))
        #expect(delivery.lockWasBusy)
        #expect(delivery.pending.count == 1)
        other.release()
    }
}

/// The outbox cannot get stuck: one identity per gateway, refusals marked, entries dropped on request, the file
/// compacted after a full drain, nothing created by a read.
@Suite("HBase outbox: gateway identity, drop, compaction")
struct HBaseOutboxMaintenanceTests {
    static let table = HBaseTableName("experiments", namespace: "sonarlab")

    @Test func loopbackNamesOfOnePortAreOneGateway() {
        let key = { (text: String) in HBaseOutbox.clusterKey(for: URL(string: text)!) }
        let same = [
            "http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080", "http://LOCALHOST:8080/",
            "HTTP://localhost.:8080//", "http://user:secret@127.0.0.1:8080/?q=1#f",  // pragma: allowlist secret (fake user info)
        ]
        #expect(Set(same.map(key)) == ["http://localhost:8080"])
        #expect(key("http://127.0.0.1:8081") == "http://localhost:8081", "another port is another gateway")
        #expect(key("https://localhost") == "https://localhost:443")
        #expect(key("http://localhost") == "http://localhost:80")
        #expect(key("http://[fe80::1]:9") == "http://[fe80::1]:9", "other IPv6 hosts keep their brackets")
        #expect(key("http://hbase.example:8080") != key("http://localhost:8080"))
        #expect(key("http://localhost:8080/gw/") == "http://localhost:8080/gw")
    }

    @Test func keysQueuedInAnOlderFormAreNormalisedWhenTheOutboxOpens() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        do {
            let outbox = try HBaseOutbox.inDirectory(dir.path)
            // What an older SonarLab (or one given SONARLAB_HBASE_URL=http://127.0.0.1:8080/) queued.
            try await outbox.enqueue(
                [HBaseOutboxTests.row("k", "a", "1")], into: Self.table, cluster: "http://127.0.0.1:8080", origin: "t")
            try await outbox.enqueue(
                [HBaseOutboxTests.row("k", "b", "2")], into: Self.table, cluster: "http://[::1]:8080/", origin: "t")
            try await outbox.enqueue(
                [HBaseOutboxTests.row("k", "c", "3")], into: Self.table, cluster: "not a url", origin: "t")
        }
        let reopened = try HBaseOutbox.inDirectory(dir.path)
        #expect(try await reopened.countsByCluster() == ["http://localhost:8080": 2, "not a url": 1])
        #expect(try await reopened.entries(cluster: "http://localhost:8080").map(\.origin) == ["t", "t"])
    }

    @Test func refusalsAreMarkedAndOutagesAreNot() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let outbox = try HBaseOutbox.inDirectory(dir.path)
        let a = try await outbox.enqueue(
            [HBaseOutboxTests.row("a", "q", "1")], into: Self.table, cluster: "http://a:1", origin: "t")
        let b = try await outbox.enqueue(
            [HBaseOutboxTests.row("b", "q", "1")], into: Self.table, cluster: "http://a:1", origin: "t")
        try await outbox.recordFailure([a], message: "HTTP 403", isRefusal: true)
        try await outbox.recordFailure([b], message: "connection refused")
        var summaries = try await outbox.summaries()
        #expect(summaries.map(\.isRefused) == [true, false])
        #expect(summaries.map(\.lastError) == ["HTTP 403", "connection refused"])
        #expect(try await outbox.entries(cluster: "http://a:1").map(\.isRefused) == [true, false])
        // A later outage replaces the refusal: the entry is waiting again.
        try await outbox.recordFailure([a], message: "timeout", isRefusal: false)
        summaries = try await outbox.summaries()
        #expect(summaries[0].isRefused == false && summaries[0].attempts == 2)
    }

    @Test func dropRemovesExactlyTheSelectedEntries() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let outbox = try HBaseOutbox.inDirectory(dir.path)
        var sequences: [Int64] = []
        for (cluster, origin) in [
            ("http://gone:1", "a"), ("http://gone:1", "b"), ("http://here:2", "c"), ("http://here:2", "d"),
        ] {
            sequences.append(
                try await outbox.enqueue(
                    [HBaseOutboxTests.row(origin, "q", "1"), HBaseOutboxTests.row(origin + "2", "q", "1")],
                    into: Self.table,
                    cluster: cluster, origin: origin))
        }
        let other = try await outbox.enqueue(
            [HBaseOutboxTests.row("e", "q", "1")], into: HBaseTableName("predictions", namespace: "sonarlab"),
            cluster: "http://here:2", origin: "e")
        try await outbox.recordFailure([sequences[3]], message: "HTTP 404", isRefusal: true)
        let byEntry = try await outbox.drop(.entry(sequences[2]))
        #expect(byEntry.map(\.origin) == ["c"] && byEntry[0].rowCount == 2)
        #expect(try await outbox.drop(.entry(9999)).isEmpty)
        try await outbox.enqueue(
            [HBaseOutboxTests.row("f", "q", "1")], into: Self.table, cluster: "http://here:2", origin: "f")
        // `f` was queued behind the refused `d` (same gateway and table) and never sent: dropped with it; `e`
        // (another table) stays.
        let refused = try await outbox.drop(.refused)
        #expect(refused.map(\.origin) == ["d", "f"])
        #expect(try await outbox.drop(.entry(other)).map(\.origin) == ["e"])
        let gone = try await outbox.drop(.cluster("http://gone:1"))
        #expect(gone.map(\.origin) == ["a", "b"])
        #expect(try await outbox.summaries().isEmpty)
    }

    @Test func aFullDrainGivesTheFileItsSpaceBack() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { port in
            let client = try HBaseOutboxTests.client(port: port)
            defer { Task { try? await client.shutdown() } }
            let layout = HBaseTrackingLayout()
            try await layout.ensure(using: client)
            let outbox = try HBaseOutbox.inDirectory(dir.path)
            let writer = HBaseOutboxWriter(outbox: outbox, client: client, policy: HBaseOutboxTests.fast)
            // About 4 MB queued, as a long outage leaves it (queued directly: the writer would send at once).
            let big = String(repeating: "x", count: 20_000)
            for n in 0..<200 {
                try await outbox.enqueue(
                    [HBaseOutboxTests.row("r\(n)", "q", big)], into: layout.experiments, cluster: writer.cluster,
                    origin: "t")
            }
            let full = Self.fileBytes(outbox.path)
            #expect(full > 3_000_000)
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(10))
            #expect(delivery.sentEntries == 200 && delivery.pending.count == 0)
            let after = Self.fileBytes(outbox.path)
            #expect(after < full / 10, "VACUUM after the drain: \(after) bytes left of \(full)")
            #expect(try await outbox.compactIfEmpty() == false, "nothing left to free")
        }
    }

    @Test func noCompactionWhileEntriesWait() async throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let outbox = try HBaseOutbox.inDirectory(dir.path)
        let big = String(repeating: "y", count: 50_000)
        let first = try await outbox.enqueue(
            [HBaseOutboxTests.row("a", "q", big)], into: Self.table, cluster: "http://a:1", origin: "t")
        try await outbox.enqueue(
            [HBaseOutboxTests.row("b", "q", big)], into: Self.table, cluster: "http://b:1", origin: "t")
        try await outbox.remove([first])
        #expect(try await outbox.compactIfEmpty() == false, "another gateway's entry is still queued")
        #expect(try await outbox.summaries().count == 1)
    }

    @Test func openingAnExistingOutboxNeverCreatesOne() throws {
        let dir = try TemporaryDirectory("outbox")
        defer { dir.remove() }
        let missing = dir.file("no/such/folder")
        #expect(try HBaseOutbox.existing(inDirectory: missing) == nil)
        #expect(!FileManager.default.fileExists(atPath: missing))
        _ = try HBaseOutbox.inDirectory(dir.path)
        #expect(try HBaseOutbox.existing(inDirectory: dir.path) != nil)
    }

    /// The database file plus its WAL.
    static func fileBytes(_ path: String) -> Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }
}

/// Open security whose writes can be turned off (403), counting write attempts.
final class ReadOnlySecurity: HBaseDoubleSecurity, @unchecked Sendable {
    private let lock = NSLock()
    private var forbidden = false
    private var attempts = 0

    func forbidWrites() { lock.withLock { forbidden = true } }
    var writeAttempts: Int { lock.withLock { attempts } }

    func authenticate(_ head: HTTPRequest) async -> HBaseDoubleAuthentication {
        .authenticated(user: "viewer", responseHeaders: [:])
    }

    func authorize(user: String?, action: HBaseDoubleAction, scope: HBaseDoubleScope) async -> Bool {
        lock.withLock {
            guard action == .write else { return true }
            attempts += 1
            return !forbidden
        }
    }
}

/// Collects the pending-writes notes a run reports.
final class Notes: @unchecked Sendable {
    private let lock = NSLock()
    private var notes: [String?] = []
    func add(_ note: String?) { lock.withLock { notes.append(note) } }
    var all: [String?] { lock.withLock { notes } }
}
