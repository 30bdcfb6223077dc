import Engine
import Foundation
import HBase
import SonarLabTestSupport
import Testing
import Tracking

/// A run whose process died shows as `stale`, never `running` forever: the heartbeat each store records and the
/// display status derived from it at read time.
@Suite("Run heartbeats and the stale display status")
struct RunStalenessTests {
    static let start = Date(timeIntervalSinceReferenceDate: 800_000_000)

    static func running(heartbeat: RunHeartbeat?) -> Experiment {
        var e = Experiment(
            id: "20260101-000000-000001", name: "r", kind: .train, startedAt: start, parameters: [:],
            dataFingerprint: "f")
        e.heartbeat = heartbeat
        return e
    }

    /// A rule on host `here` where only pid 100 is alive.
    static let rule = RunStaleness(staleAfter: 60, host: "here", isProcessAlive: { $0 == 100 })

    @Test func aRecentHeartbeatOfALiveProcessIsRunning() {
        let e = Self.running(heartbeat: RunHeartbeat(at: Self.start, pid: 100, host: "here"))
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(59)) == .running)
        #expect(Self.rule.staleReason(of: e, at: Self.start.addingTimeInterval(59)) == nil)
    }

    @Test func aDeadPidOnThisHostIsStaleAtOnce() throws {
        let e = Self.running(heartbeat: RunHeartbeat(at: Self.start, pid: 200, host: "here"))
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(1)) == .stale)
        let reason = try #require(Self.rule.staleReason(of: e, at: Self.start.addingTimeInterval(1)))
        #expect(reason.contains("process 200 on host here has ended"))
    }

    @Test func anotherHostsPidIsNotCheckedOnlyTheHeartbeatAge() {
        let e = Self.running(heartbeat: RunHeartbeat(at: Self.start, pid: 200, host: "elsewhere"))
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(30)) == .running)
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(61)) == .stale)
        #expect(
            Self.rule.staleReason(of: e, at: Self.start.addingTimeInterval(61))?.contains("no heartbeat for 61 s")
                == true)
    }

    @Test func aLivePidWithAnOldHeartbeatIsStale() {
        // A reused pid (or a hung process) must not keep a dead run `running`.
        let e = Self.running(heartbeat: RunHeartbeat(at: Self.start, pid: 100, host: "here"))
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(600)) == .stale)
    }

    @Test func aRunWithoutHeartbeatIsJudgedByItsStartTime() {
        let e = Self.running(heartbeat: nil)
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(10)) == .running)
        #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(61)) == .stale)
    }

    @Test func endedRunsKeepTheirStatus() {
        for status in [RunStatus.finished, .failed, .cancelled] {
            var e = Self.running(heartbeat: RunHeartbeat(at: Self.start, pid: 200, host: "here"))
            e.status = status
            #expect(Self.rule.status(of: e, at: Self.start.addingTimeInterval(1e6)).rawValue == status.rawValue)
            #expect(Self.rule.staleReason(of: e, at: Self.start.addingTimeInterval(1e6)) == nil)
        }
    }

    @Test func theHeartbeatIntervalIsAQuarterOfStaleAfterWithinOneToThirtySeconds() {
        #expect(RunStaleness(staleAfter: 120).heartbeatInterval == .seconds(30))
        #expect(RunStaleness(staleAfter: 20).heartbeatInterval == .seconds(5))
        #expect(RunStaleness(staleAfter: 2).heartbeatInterval == .seconds(1))
        #expect(RunStaleness(staleAfter: 86_400).heartbeatInterval == .seconds(30))
    }

    @Test func thisProcessIsAliveAndANeverUsedPidIsNot() {
        #expect(RunStaleness.processExists(getpid()))
        #expect(!RunStaleness.processExists(0))
        #expect(!RunStaleness.processExists(Int32.max))
        #expect(RunHeartbeat.current().pid == getpid())
        #expect(!RunHeartbeat.currentHost.isEmpty)
    }

    // MARK: The stores

    /// Both stores: the heartbeat written with the run reads back, a later one replaces it (twice is the same),
    /// and the final state keeps its own.
    static func checkHeartbeats(_ store: any ExperimentStore) async throws {
        var e = running(heartbeat: RunHeartbeat(at: start, pid: 4242, host: "node-1"))
        try await store.create(e)
        #expect(try await store.experiment(id: e.id)?.heartbeat == e.heartbeat)
        let later = RunHeartbeat(at: start.addingTimeInterval(30.125), pid: 4242, host: "node-1")
        try await store.recordHeartbeat(later, experimentID: e.id)
        try await store.recordHeartbeat(later, experimentID: e.id)
        let read = try #require(try await store.experiment(id: e.id))
        #expect(read.heartbeat == later)
        #expect(read.status == .running)
        #expect(try await store.experiments(limit: nil).first?.heartbeat == later)
        e.status = .finished
        e.endedAt = start.addingTimeInterval(40)
        e.heartbeat = RunHeartbeat(at: start.addingTimeInterval(40), pid: 4242, host: "node-1")
        try await store.finish(e)
        #expect(try await store.experiment(id: e.id)?.heartbeat == e.heartbeat)
        #expect(try await store.experiment(id: e.id)?.status == .finished)
    }

    @Test func theLocalStoreRecordsHeartbeats() async throws {
        let dir = try TemporaryDirectory("stale")
        defer { dir.remove() }
        try await Self.checkHeartbeats(LocalStore(directory: dir.path))
    }

    @Test func theHBaseStoreRecordsHeartbeatsThroughTheOutbox() async throws {
        let dir = try TemporaryDirectory("stale")
        defer { dir.remove() }
        try await HBaseStoreTests.withStores { client, layout in
            let writer = HBaseOutboxWriter(outbox: try HBaseOutbox.inDirectory(dir.path), client: client)
            try await Self.checkHeartbeats(HBaseExperimentStore(client: client, layout: layout, writer: writer))
            // Every heartbeat is one cell version per qualifier: the timestamp rule keeps a replay idempotent.
            let raw = try #require(
                try await client.row(
                    HBaseExperimentStore.rowKey(forID: "20260101-000000-000001"), in: layout.experiments, maxVersions: 5
                ))
            #expect(Set(raw.cells.map(\.column)).count == raw.cells.count)
        }
    }

    @Test func aTrainingRunRecordsItsProcessAsHeartbeat() async throws {
        let dir = try TemporaryDirectory("stale")
        defer { dir.remove() }
        let store = try LocalStore(directory: dir.file("store"))
        var config = TrainingConfiguration()
        config.epochs = 5
        let request = TrainingRequest(
            name: "hb", data: try SonarData.load(path: TestPaths.sonarData), dataPath: TestPaths.sonarData,
            testSize: 0.25, splitSeed: 42, configuration: config, parameters: [:],
            experimentsRoot: dir.file("experiments"), heartbeatInterval: .milliseconds(10))
        let outcome = try await TrainingSession(store: store).run(request)
        let recorded = try #require(try await store.experiment(id: outcome.experiment.id))
        #expect(recorded.heartbeat?.pid == getpid())
        #expect(recorded.heartbeat?.host == RunHeartbeat.currentHost)
        #expect(recorded.status == .finished)
    }
}

extension RunStalenessTests {
    @Test func theTickerRecordsHeartbeatsUntilStopped() async throws {
        let dir = try TemporaryDirectory("stale")
        defer { dir.remove() }
        let store = try LocalStore(directory: dir.path)
        let e = Self.running(heartbeat: RunHeartbeat(at: Self.start, pid: 1, host: "old"))
        try await store.create(e)
        let ticker = RunHeartbeatTicker(store: store, experimentID: e.id, every: .milliseconds(20))
        let deadline = ContinuousClock.now + .seconds(20)
        var beat: RunHeartbeat? = nil
        while ContinuousClock.now < deadline {
            beat = try await store.experiment(id: e.id)?.heartbeat
            if beat?.host != "old" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await ticker.stop()
        #expect(beat?.pid == getpid(), "a heartbeat of this process within 20 s")
        #expect(beat?.host == RunHeartbeat.currentHost)
        let stopped = try await store.experiment(id: e.id)?.heartbeat
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.experiment(id: e.id)?.heartbeat == stopped, "no heartbeat after stop()")
    }
}

extension RunStalenessTests {
    @Test func noHeartbeatIsQueuedWhileHBaseIsUnreachable() async throws {
        let dir = try TemporaryDirectory("stale")
        defer { dir.remove() }
        let client = try HBaseOutboxTests.client(port: try HBaseOutboxTests.closedPort())
        defer { Task { try? await client.shutdown() } }
        let outbox = try HBaseOutbox.inDirectory(dir.path)
        let writer = HBaseOutboxWriter(outbox: outbox, client: client, policy: HBaseOutboxTests.fast)
        let store = HBaseExperimentStore(client: client, writer: writer)
        let e = Self.running(heartbeat: RunHeartbeat.current())
        try await store.create(e)
        _ = await store.deliverPendingWrites(within: .seconds(1))
        #expect(await store.pendingWrites().count == 1)
        let ticker = RunHeartbeatTicker(store: store, experimentID: e.id, every: .milliseconds(10))
        try await Task.sleep(for: .milliseconds(300))
        await ticker.stop()
        #expect(try await outbox.count(cluster: writer.cluster) == 1, "only the run's own write is queued")
    }
}
