import Engine
import Foundation
import HBase
import SonarLabTestSupport
import Testing
import Tracking

/// Fault tests of the HBase outbox with real processes on loopback: `sonarlab` and `hbase-rest-double`
/// (persistent `--data-dir`), the double killed with SIGKILL mid-run and restarted on the same port and data.
///
/// Every wait is bounded and every process started here is killed on the way out.
@Suite("HBase outbox fault tests (processes, loopback)", .serialized)
struct OutboxFaultTests {
    /// Epochs of a run that lasts a few seconds on the debug build (the Engine is optimised in debug too).
    static let longEpochs = 6000
    /// A run of ``longEpochs`` with 160 hidden units: about 5 s here with nothing else running, slower under load,
    /// and a final write (all epochs in one put) small enough for a loaded machine.
    static let longRun = ["train", "--backend", "hbase", "--epochs", "\(longEpochs)", "--hidden", "160", "--headless"]

    // MARK: Tests

    @Test("train: the double is killed -9 mid-run, restarted; sync delivers every epoch and the final state once")
    func trainSurvivesAGatewayCrash() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        let journal = try env.journalSize()
        let train = try env.background(Self.longRun)
        // The double fsyncs every accepted put to its journal before answering: growth means rows are in HBase.
        // A thread watches and kills, so a busy test process (many suites in parallel) cannot make it late.
        let watcher = Watcher(train: train) {
            (try? env.journalSize()).map { $0 > journal + 20_000 } ?? false
        } act: {
            env.double?.kill9()
        }
        let id = try await env.experimentID(of: train)
        try await env.waitUntil("some epochs are in HBase and the double was killed") { watcher.isDone }
        #expect(watcher.trainWasRunning == true, "the run should still be training when the gateway dies")
        let status = try await train.wait(timeout: .seconds(90))
        let stderr = train.stderr
        #expect(status == 0, "queued writes are not a failure: \(stderr.suffix(600))")
        #expect(stderr.contains("HBase unreachable — "), "\(stderr.suffix(600))")
        #expect(stderr.contains("sonarlab sync"))
        #expect(try await env.queued() > 0)

        try env.startDouble()  // same port, same --data-dir
        let sync = try await env.sonarlab(["sync"])
        #expect(sync.stdout.contains("outbox empty"), "\(sync.stdout)\(sync.stderr)")
        try await env.expectExactlyOnce(id: id, epochs: Self.longEpochs, status: .finished)
        #expect(try await env.queued() == 0)
        let again = try await env.sonarlab(["sync", "--json"])
        #expect(again.stdout.contains("\"sent_writes\" : 0"))
        let history = try await env.sonarlab(["history", "--backend", "hbase", "--json"])
        #expect(history.stdout.contains(id) && history.stdout.contains("\"finished\""))
    }

    @Test("train: the gateway comes back while training runs; the outbox drains by itself, no sync needed")
    func trainDrainsByItselfWhenTheGatewayReturns() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        env.double?.kill9()
        let train = try env.background(Self.longRun)
        // Down long enough for a delivery to fail (a refused connection is retried by the client for 0.7 s); a
        // thread restarts the double so a busy test process cannot make it late.
        let watcher = Watcher(train: train) {
            train.stderr.contains("HBase unreachable — ")
        } act: {
            try? env.startDouble()
        }
        let id = try await env.experimentID(of: train)
        try await env.waitUntil("the run reported queued writes and the double was restarted") { watcher.isDone }
        #expect(watcher.trainWasRunning == true, "the run should still be training when the gateway returns")
        #expect(env.double != nil)
        let status = try await train.wait(timeout: .seconds(90))
        #expect(status == 0, "\(train.stderr.suffix(600))")
        #expect(train.stderr.contains("HBase is back"), "\(train.stderr.suffix(600))")
        #expect(try await env.queued() == 0)
        try await env.expectExactlyOnce(id: id, epochs: Self.longEpochs, status: .finished)
    }

    @Test("SIGTERM while HBase is down: recorded as cancelled with its epochs after sync; nothing lost")
    func cancelledRunIsQueuedAndDelivered() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        env.double?.kill9()
        let train = try env.background(["train", "--backend", "hbase", "--epochs", "100000", "--headless"])
        let id = try await env.experimentID(of: train)
        try await env.waitUntil("the run reports queued writes") {
            try await env.queued() >= 5 && train.stderr.contains("HBase unreachable — ")
        }
        train.signal(SIGTERM)
        let status = try await train.wait(timeout: .seconds(60))
        #expect(status == 130, "\(train.stderr.suffix(600))")
        let folder = try #require(env.dir.list("experiments").first)
        let csv = try String(contentsOfFile: env.dir.file("experiments/\(folder)/metrics.csv"), encoding: .utf8)
        let trained = csv.split(separator: "\n").count - 1
        #expect(trained > 0 && trained < 100000)
        try env.startDouble()
        let sync = try await env.sonarlab(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        try await env.expectExactlyOnce(id: id, epochs: trained, status: .cancelled)
        let history = try await env.sonarlab(["history", "--backend", "hbase"])
        #expect(history.stdout.contains("cancelled"))
    }

    @Test("Ctrl-C during sync: exit 130, what was not sent stays queued, the next sync delivers it once")
    func interruptedSyncKeepsTheRest() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        env.double?.kill9()
        let epochs = 20000
        let train = try env.background(["train", "--backend", "hbase", "--epochs", "\(epochs)", "--headless"])
        let id = try await env.experimentID(of: train)
        #expect(try await train.wait(timeout: .seconds(120)) == 0, "\(train.stderr.suffix(600))")
        let queued = try await env.queued()
        try env.startDouble()
        let sync = try env.background(["sync"])
        try await env.waitUntil("sync has sent part of the outbox") {
            let left = try await env.queued()
            return left < queued || !sync.isRunning
        }
        sync.signal(SIGINT)
        let status = try await sync.wait(timeout: .seconds(60))
        if status == 130 {
            #expect(sync.stderr.contains("sync interrupted: sent "), "\(sync.stderr)")
            #expect(sync.stderr.contains("run `sonarlab sync` again"))
        } else {
            // The delivery can win the race and finish before the signal; then it must have emptied the outbox.
            #expect(status == 0, "\(sync.stderr)")
        }
        let again = try await env.sonarlab(["sync"])
        #expect(again.stdout.contains("outbox empty"), "\(again.stdout)\(again.stderr)")
        try await env.expectExactlyOnce(id: id, epochs: epochs, status: .finished)
    }

    @Test("sonarlab itself is killed -9 mid-run while HBase is down: every write it queued arrives, once, after sync")
    func queuedWritesSurviveAKilledWriter() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        env.double?.kill9()
        let train = try env.background(["train", "--backend", "hbase", "--epochs", "100000", "--headless"])
        let id = try await env.experimentID(of: train)
        try await env.waitUntil("the run reports queued writes") {
            try await env.queued() >= 20 && train.stderr.contains("HBase unreachable — ")
        }
        train.kill9()
        // What the killed process had queued: its create and its epoch batches (epochs 1...k, in order).
        let outbox = try HBaseOutbox.inDirectory(env.dir.file("store"))
        let entries = try await outbox.entries(cluster: env.clusterKey, limit: 1_000_000)
        let queuedEpochs = entries.flatMap(\.rows).flatMap(\.cells).filter { $0.column.family == Data("e".utf8) }.count
        #expect(entries.count >= 20 && queuedEpochs > 0)
        try env.startDouble()
        try await env.sonarlab(["sync"])
        // The run never finished, so HBase says `running`, with exactly the epochs that were queued.
        try await env.withClient { client, layout in
            let run = try #require(try await HBaseExperimentStore(client: client, layout: layout).experiment(id: id))
            #expect(run.status == .running)
            #expect(run.epochs.map(\.epoch) == Array(1...queuedEpochs))
            let raw = try #require(
                try await client.row(HBaseExperimentStore.rowKey(forID: id), in: layout.experiments, maxVersions: 10))
            #expect(Set(raw.cells.map(\.column)).count == raw.cells.count)
        }
        #expect(try await env.queued() == 0)
        // Stored `running`, shown `stale`: its heartbeat names this host and a pid that is gone.
        let history = try await env.sonarlab(["history", "--backend", "hbase"])
        let line = history.stdout.split(separator: "\n").first { $0.hasPrefix(id) } ?? ""
        #expect(line.contains(" stale "), "\(history.stdout)")
        let show = try await env.sonarlab(["show", id, "--backend", "hbase"])
        #expect(show.stdout.contains("(train, stale)") && show.stdout.contains("has ended"), "\(show.stdout)")
    }

    @Test("dataset load and predict --store hbase while the gateway is down: queued, then 208 and 52 rows once")
    func datasetAndPredictionsAreQueuedAndDeliveredOnce() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        try await env.sonarlab(["train", "--epochs", "20", "--name", "m"])  // a local model for predict
        env.double?.kill9()
        let load = try await env.sonarlab(["dataset", "load"], expecting: 0)
        #expect(load.stdout.contains("queued 208 rows"), "\(load.stdout)")
        #expect(load.stderr.contains("HBase unreachable — 1 write queued"), "\(load.stderr)")
        let validation = TestPaths.packageRoot + "/tests/functional/validation.json"
        let predict = try await env.sonarlab(["predict", "--input", validation, "--store", "hbase"], expecting: 0)
        #expect(predict.stderr.contains("queued 52 predictions"), "\(predict.stderr)")
        let down = try await env.sonarlab(["sync"], expecting: 1)
        #expect(down.stderr.contains("HBase unreachable — 2 writes queued"), "\(down.stderr)")
        #expect(down.stderr.contains("refused"), "\(down.stderr)")

        try env.startDouble()
        let sync = try await env.sonarlab(["sync", "--json"])
        #expect(sync.stdout.contains("\"sent_rows\" : 260"), "\(sync.stdout)")
        try await env.withClient { client, layout in
            try await expectRowsOnceEach(client, layout.datasets, count: 208)
            try await expectRowsOnceEach(client, layout.predictions, count: 52)
        }
        try await env.sonarlab(["dataset", "show"])
        // Loading again while HBase is up writes the same cells: still 208 rows, one version each.
        let reload = try await env.sonarlab(["dataset", "load"])
        #expect(reload.stdout.contains("wrote 208 rows"))
        try await env.withClient { client, layout in
            try await expectRowsOnceEach(client, layout.datasets, count: 208)
        }
    }

    @Test("dataset load before and after a kill -9 of the double: the replay rewrites the same cells, no extra row")
    func datasetReplayAfterACrashAddsNothing() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        try await env.sonarlab(["dataset", "load"])
        env.double?.kill9()
        // The same rows again while down, replayed after the restart: they rewrite the cells already there.
        try await env.sonarlab(["dataset", "load"], expecting: 0)
        try env.startDouble()
        try await env.sonarlab(["sync"])
        try await env.withClient { client, layout in
            try await expectRowsOnceEach(client, layout.datasets, count: 208)
        }
    }

    @Test("two train processes at once against one HBase: distinct ids, every epoch of both, nothing lost")
    func concurrentTrainsLoseNoWrites() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        let epochs = 1500
        let first = try env.background(["train", "--backend", "hbase", "--epochs", "\(epochs)", "--name", "a"])
        let second = try env.background(["train", "--backend", "hbase", "--epochs", "\(epochs)", "--name", "b"])
        #expect(try await first.wait(timeout: .seconds(90)) == 0, "\(first.stderr.suffix(400))")
        #expect(try await second.wait(timeout: .seconds(90)) == 0, "\(second.stderr.suffix(400))")
        let ids = [try await env.experimentID(of: first), try await env.experimentID(of: second)]
        #expect(ids[0] != ids[1])
        for id in ids { try await env.expectExactlyOnce(id: id, epochs: epochs, status: .finished) }
        #expect(try await env.queued() == 0)
        try await env.withClient { client, layout in
            let runs = try await client.scan(HBaseScan(), in: layout.experiments)
            #expect(runs.count == 2)
        }
    }

    @Test("a refused write (404: no tables) stops the run's HBase writes loudly: exit 1, writes kept for sync")
    func refusedWritesFailLoudly() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        let train = try await env.sonarlab(["train", "--backend", "hbase", "--epochs", "30"], expecting: 1)
        #expect(train.stderr.contains("sonarlab hbase init"), "\(train.stderr)")
        #expect(!train.stderr.contains("HBase unreachable"))
        #expect(env.dir.list("experiments").count == 1, "training still finished locally")
        let blocked = try await env.sonarlab(["sync"], expecting: 1)
        #expect(blocked.stderr.contains("sonarlab hbase init"))
        try await env.sonarlab(["hbase", "init"])
        try await env.sonarlab(["sync"])
        let history = try await env.sonarlab(["history", "--backend", "hbase", "--json"])
        #expect(history.stdout.contains("\"finished\""))
    }
}

// MARK: - An outbox that cannot get stuck

extension OutboxFaultTests {
    @Test("a gateway that disappeared: sync to a healthy one exits 0 and warns, --strict exits 1, drop clears it")
    func aVanishedGatewayNeverBlocksSync() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        // A gateway that existed once (a torn-down test stack): its port is closed now.
        let ghost = try DoubleProcess(port: 0, dataDirectory: env.dir.file("ghost"))
        let gone = ghost.port
        ghost.kill9()
        let goneURL = ["SONARLAB_HBASE_URL": "http://127.0.0.1:\(gone)/"]
        let load = try await env.sonarlab(["dataset", "load"], expecting: 0, environment: goneURL)
        #expect(load.stderr.contains("HBase unreachable — 1 write queued"), "\(load.stderr)")

        // The healthy gateway gets its own writes; the other gateway's entry is listed, not a failure.
        try await env.sonarlab(["train", "--backend", "hbase", "--epochs", "5", "--headless"])
        let sync = try await env.sonarlab(["sync"])
        #expect(sync.stderr.contains("warning: sync: writes queued for other HBase gateways"), "\(sync.stderr)")
        #expect(sync.stderr.contains("http://localhost:\(gone) (1)"), "\(sync.stderr)")
        #expect(sync.stderr.contains("sonarlab outbox drop --gateway"))
        #expect(sync.stdout.contains("nothing left for \(env.clusterKey)"), "\(sync.stdout)")
        let strict = try await env.sonarlab(["sync", "--strict"], expecting: 1)
        #expect(strict.stderr.contains("http://localhost:\(gone) (1)"), "\(strict.stderr)")
        let json = try await env.sonarlab(["sync", "--json"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(summary["other_clusters"] as? [String: Int] == ["http://localhost:\(gone)": 1])
        #expect(summary["queued"] as? Int == 0)
        #expect((summary["warning"] as? String)?.contains("other HBase gateways") == true)

        let list = try await env.sonarlab(["outbox", "list"])
        #expect(list.stdout.contains("http://localhost:\(gone) (other gateway)"), "\(list.stdout)")
        #expect(list.stdout.contains("sonarlab:datasets") && list.stdout.contains("dataset load"))
        let listed = try await env.sonarlab(["outbox", "list", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        let entries = try #require(object["entries"] as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["gateway"] as? String == "http://localhost:\(gone)")
        #expect(entries.first?["rows"] as? Int == 208)
        #expect(entries.first?["is_current_gateway"] as? Bool == false)
        #expect(object["current_gateway"] as? String == env.clusterKey)

        // Not a terminal and no --yes: says what it would drop, drops nothing, exit 2.
        let refused = try await env.sonarlab(["outbox", "drop", "--gateway", "http://[::1]:\(gone)"], expecting: 2)
        #expect(refused.stderr.contains("without --yes"), "\(refused.stderr)")
        #expect(refused.stdout.contains("sonarlab:datasets"), "\(refused.stdout)")
        #expect(try await env.queued(cluster: "http://localhost:\(gone)") == 1)
        let drop = try await env.sonarlab(["outbox", "drop", "--gateway", "http://[::1]:\(gone)", "--yes"])
        #expect(drop.stdout.contains("dropped 1 queued write (208 rows); 0 still queued"), "\(drop.stdout)")
        let clean = try await env.sonarlab(["sync", "--strict"])
        #expect(clean.stdout.contains("outbox empty"), "\(clean.stdout)")
        #expect(!clean.stderr.contains("warning"), "\(clean.stderr)")
        await #expect(try env.sonarlab(["outbox", "list"]).stdout.contains("outbox empty"))
    }

    @Test("localhost and 127.0.0.1 of one port are one gateway: writes queued for one are synced to the other")
    func loopbackNamesAreOneGateway() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        env.double?.kill9()
        let load = try await env.sonarlab(
            ["dataset", "load"], expecting: 0, environment: ["SONARLAB_HBASE_URL": "http://LOCALHOST:\(env.port)/"])
        #expect(load.stderr.contains("1 write queued"), "\(load.stderr)")
        try env.startDouble()
        let sync = try await env.sonarlab(["sync", "--strict"])  // SONARLAB_HBASE_URL=http://127.0.0.1:PORT
        #expect(sync.stdout.contains("outbox empty"), "\(sync.stdout)\(sync.stderr)")
        try await env.withClient { client, layout in
            try await expectRowsOnceEach(client, layout.datasets, count: 208)
        }
    }

    @Test("outbox drop: --refused drops the writes behind a refusal, --entry one write; bad selectors exit 2")
    func outboxDropSelectors() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        // No tables: HBase answers 404, the run's writes are refused and kept.
        try await env.sonarlab(["train", "--backend", "hbase", "--epochs", "30"], expecting: 1)
        try await env.sonarlab(["dataset", "load"], expecting: 1)
        let before = try await env.summaries()
        #expect(before.contains { $0.isRefused && $0.table == "sonarlab:experiments" })
        let list = try await env.sonarlab(["outbox", "list"])
        #expect(list.stdout.contains("refused") && list.stdout.contains("waiting"), "\(list.stdout)")

        for bad in [
            ["outbox", "drop", "--yes"], ["outbox", "drop", "--refused", "--entry", "1", "--yes"],
            ["outbox", "drop", "--gateway", "ftp://x", "--yes"], ["outbox", "drop", "--gateway", "nohost", "--yes"],
            ["outbox", "drop", "--entry", "999999", "--yes"], ["outbox", "drop", "--gateway", "http://h:1", "--yes"],
            ["outbox", "drop", "--entry", "x", "--yes"],
        ] {
            let result = try await env.sonarlab(bad, expecting: 2)
            #expect(result.stderr.lowercased().contains("error"), "\(bad): \(result.stderr)")
        }
        #expect(try await env.summaries() == before, "a refused command drops nothing")

        let datasets = try #require(before.first { $0.table == "sonarlab:datasets" })
        let one = try await env.sonarlab(["outbox", "drop", "--entry", "\(datasets.sequence)", "--yes"])
        #expect(one.stdout.contains("dropped 1 queued write (208 rows)"), "\(one.stdout)")
        let experiments = before.filter { $0.table == "sonarlab:experiments" }
        let refused = try await env.sonarlab(["outbox", "drop", "--refused", "--yes"])
        #expect(refused.stdout.contains("dropped \(experiments.count) queued writes"), "\(refused.stdout)")
        #expect(try await env.summaries().isEmpty)
        let none = try await env.sonarlab(["outbox", "drop", "--refused", "--yes"])
        #expect(none.stdout.contains("nothing to drop"))
        // The dropped run stays in its run folder; HBase never saw it.
        try await env.sonarlab(["hbase", "init"])
        let sync = try await env.sonarlab(["sync", "--strict"])
        #expect(sync.stdout.contains("sent 0 queued writes"), "\(sync.stdout)")
    }

    @Test("sync and outbox list with nothing queued create no folder and no file")
    func syncWithNothingQueuedCreatesNothing() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        let sync = try await env.sonarlab(["sync"])
        #expect(sync.stdout.contains("nothing queued"), "\(sync.stdout)")
        let json = try await env.sonarlab(["sync", "--json"])
        #expect(json.stdout.contains("\"queued\" : 0"), "\(json.stdout)")
        await #expect(try env.sonarlab(["outbox", "list"]).stdout.contains("outbox empty"))
        await #expect(try env.sonarlab(["outbox", "drop", "--refused", "--yes"]).stdout.contains("nothing to drop"))
        #expect(!FileManager.default.fileExists(atPath: env.dir.file("store")), "no tracking folder")
    }

    @Test("a local run killed -9 shows as stale in history and show, not running")
    func aKilledLocalRunShowsStale() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        let train = try env.background(["train", "--epochs", "100000", "--headless"])
        let id = try await env.experimentID(of: train)
        let alive = try await env.sonarlab(["history"])
        #expect(alive.stdout.split(separator: "\n").first { $0.hasPrefix(id) }?.contains(" running ") == true)
        train.kill9()
        let history = try await env.sonarlab(["history"])
        let line = history.stdout.split(separator: "\n").first { $0.hasPrefix(id) } ?? ""
        #expect(line.contains(" stale "), "\(history.stdout)")
        let json = try await env.sonarlab(["history", "--json"])
        #expect(json.stdout.contains("\"status\" : \"stale\""), "\(json.stdout)")
        #expect(json.stdout.contains("has ended"))
        let show = try await env.sonarlab(["show", id])
        #expect(show.stdout.contains("(train, stale)"), "\(show.stdout)")
        #expect(show.stdout.contains("stale   process "), "\(show.stdout)")
        let shown = try await env.sonarlab(["show", id, "--json"])
        #expect(shown.stdout.contains("\"display_status\" : \"stale\""), "\(shown.stdout.prefix(400))")
        #expect(shown.stdout.contains("\"status\" : \"running\""), "the stored status stays running")
        #expect(shown.stdout.contains("\"heartbeat\""))
    }
}

// MARK: - Support

/// Fails in CI, skips locally, when the built binaries are missing.
func requireFaultPrerequisites() throws -> Bool {
    let double = FaultEnvironment.doubleBinary
    let ok = SonarLabProcess.isAvailable && FileManager.default.isExecutableFile(atPath: double)
    if ok { return true }
    let message = "needs \(TestPaths.sonarlabBinary) and \(double): run `swift build --build-tests`"
    if TestPaths.isCI {
        Issue.record(Comment(rawValue: message))
    } else {
        print("skipped: \(message)")
    }
    return false
}

/// A workspace, an `hbase-rest-double` process with a data dir on a fixed loopback port, and `sonarlab` runs.
final class FaultEnvironment: @unchecked Sendable {
    let dir: TemporaryDirectory
    let dataDir: String
    private(set) var port = 0
    private(set) var double: DoubleProcess?
    private var started: [BackgroundProcess] = []
    /// Variables added to every `sonarlab` run (for example Kerberos ones).
    var extraEnvironment: [String: String] = [:]
    /// How the double authenticates (`--auth none` unless a test says otherwise).
    var doubleArguments = ["--auth", "none"]
    /// How this test process authenticates to the double (``withClient(_:)``).
    var authenticator: any HBaseAuthenticator = HBaseNoAuthenticator()

    static var doubleBinary: String {
        (TestPaths.sonarlabBinary as NSString).deletingLastPathComponent + "/hbase-rest-double"
    }

    init() throws {
        dir = try TemporaryDirectory("sonarlab-outbox")
        dataDir = dir.file("hbase-data")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try dir.write(
            "config.ini",
            """
            [data]
            path = \(TestPaths.sonarData)
            prepared_dir = \(dir.file("prepared"))
            [tracking]
            dir = \(dir.file("store"))
            experiments_dir = \(dir.file("experiments"))
            [hbase]
            timeout_seconds = 30
            """)
    }

    var environment: [String: String] {
        ["SONARLAB_HBASE_URL": "http://127.0.0.1:\(port)", "SONARLAB_HBASE_AUTH": "none", "NO_COLOR": "1"]
            .merging(extraEnvironment) { $1 }
    }

    /// Starts the double: on a free port the first time, then on the same port and data dir.
    func startDouble() throws {
        double?.kill9()
        double = try DoubleProcess(port: port, dataDirectory: dataDir, arguments: doubleArguments)
        port = double?.port ?? 0
    }

    /// Runs `sonarlab ARGS --config …` to the end and checks its exit status.
    @discardableResult
    func sonarlab(
        _ arguments: [String], expecting status: Int32 = 0, environment extra: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> ProcessResult {
        let result = try await SonarLabProcess.run(
            arguments + ["--config", dir.file("config.ini")], in: dir.path,
            environment: environment.merging(extra) { $1 })
        #expect(
            result.status == status, "sonarlab \(arguments.joined(separator: " ")): \(result.stderr.suffix(800))",
            sourceLocation: sourceLocation)
        return result
    }

    /// Starts `sonarlab ARGS` without waiting; killed at tear-down if still running.
    func background(_ arguments: [String]) throws -> BackgroundProcess {
        let process = try BackgroundProcess(
            TestPaths.sonarlabBinary, arguments + ["--config", dir.file("config.ini")], in: dir.path,
            environment: environment, logs: dir.file("proc-\(started.count)"))
        started.append(process)
        return process
    }

    /// The experiment id a `train` prints first (`experiment ID → folder`).
    func experimentID(of process: BackgroundProcess) async throws -> String {
        var id: String?
        try await waitUntil("the run has an id") {
            if !process.isRunning, !process.stderr.contains("→") {
                Issue.record("sonarlab ended before it started a run: \(process.stderr.suffix(600))")
                throw CancellationError()
            }
            id =
                process.stderr.split(separator: "\n").lazy.compactMap { line -> String? in
                    let parts = line.split(separator: " ")
                    return parts.count >= 3 && parts[0] == "experiment" && parts[2] == "→" ? String(parts[1]) : nil
                }.first
            return id != nil
        }
        return try #require(id)
    }

    /// Polls `condition` every 50 ms for at most `timeout`.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Not yet (for example the gateway is down while it is polled).
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out after \(timeout) waiting until \(what)", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    /// Runs `body` with a client for the current gateway.
    func withClient<R: Sendable>(_ body: (HBaseClient, HBaseTrackingLayout) async throws -> R) async throws -> R {
        let configuration = HBaseClientConfiguration(
            baseURL: URL(string: "http://127.0.0.1:\(port)")!,
            timeouts: .init(connect: .seconds(2), read: .seconds(30), request: .seconds(30)), retryPolicy: .never,
            authenticator: authenticator)
        return try await HBaseClient.withClient(configuration: configuration) { client in
            try await body(client, HBaseTrackingLayout())
        }
    }

    /// The double's journal size in bytes (0 before it exists).
    func journalSize() throws -> Int {
        let path = dataDir + "/journal.jsonl"
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        return (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// The outbox's key of the current gateway.
    var clusterKey: String { HBaseOutbox.clusterKey(for: URL(string: "http://127.0.0.1:\(port)")!) }

    /// Writes waiting in the workspace's outbox for this gateway (or another cluster key).
    func queued(cluster: String? = nil) async throws -> Int {
        try await HBaseOutbox.inDirectory(dir.file("store")).count(cluster: cluster ?? clusterKey)
    }

    /// Every entry of the workspace's outbox, without rows.
    func summaries() async throws -> [HBaseOutboxSummary] {
        try await HBaseOutbox.inDirectory(dir.file("store")).summaries()
    }

    /// The run is in HBase with status, result and epochs 1...`epochs`, one version of every cell, one row.
    func expectExactlyOnce(
        id: String, epochs: Int, status: RunStatus, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await withClient { client, layout in
            let store = HBaseExperimentStore(client: client, layout: layout)
            let run = try #require(try await store.experiment(id: id), sourceLocation: sourceLocation)
            #expect(run.status == status, sourceLocation: sourceLocation)
            #expect(run.result != nil, sourceLocation: sourceLocation)
            #expect(run.epochs.map(\.epoch) == Array(1...max(1, epochs)), sourceLocation: sourceLocation)
            let raw = try #require(
                try await client.row(HBaseExperimentStore.rowKey(forID: id), in: layout.experiments, maxVersions: 10),
                sourceLocation: sourceLocation)
            #expect(
                Set(raw.cells.map(\.column)).count == raw.cells.count, "one version per cell",
                sourceLocation: sourceLocation)
        }
    }

    /// Kills every process this environment started and removes the workspace.
    func tearDown() {
        for process in started { process.kill9() }
        double?.kill9()
        dir.remove()
    }
}

/// A thread that polls `condition` every 20 ms (for at most 60 s), then runs `act` once and notes whether the
/// watched process was still running at that moment.
final class Watcher: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var wasRunning: Bool?

    init(train: BackgroundProcess, condition: @escaping @Sendable () -> Bool, act: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            let deadline = Date().addingTimeInterval(60)
            while !condition(), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            let running = train.isRunning
            act()
            lock.withLock {
                wasRunning = running
                done = true
            }
        }
        thread.start()
    }

    var isDone: Bool { lock.withLock { done } }
    var trainWasRunning: Bool? { lock.withLock { wasRunning } }
}

/// `hbase-rest-double --auth none --data-dir DIR` on 127.0.0.1.
final class DoubleProcess: @unchecked Sendable {
    let process: ChildProcess
    let port: Int

    /// Starts it and reads its `listening 127.0.0.1:PORT` line (bounded: the process ends on a bind error).
    init(port: Int, dataDirectory: String, arguments: [String] = ["--auth", "none"]) throws {
        process = try ChildProcess(
            FaultEnvironment.doubleBinary,
            ["--host", "127.0.0.1", "--port", "\(port)", "--data-dir", dataDirectory] + arguments, stderr: .discard)
        let line = process.firstLine(timeout: 30) ?? ""
        guard line.hasPrefix("listening 127.0.0.1:"), let bound = Int(line.dropFirst("listening 127.0.0.1:".count))
        else {
            process.kill9()
            throw HBaseOutboxError(message: "hbase-rest-double did not start on port \(port): \(line)")
        }
        self.port = bound
    }

    /// SIGKILL: no graceful shutdown, like a crashed gateway.
    func kill9() { process.kill9() }
}

/// A process whose output goes to files (so a full pipe never blocks it), with bounded waits.
final class BackgroundProcess: @unchecked Sendable {
    let process: ChildProcess
    let outPath: String
    let errPath: String

    init(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String], logs: String)
        throws
    {
        outPath = logs + ".out"
        errPath = logs + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process = try ChildProcess(
            executable, arguments, in: directory,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, stdout: .file(outPath),
            stderr: .file(errPath))
    }

    var isRunning: Bool { process.isRunning }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { process.signal(signal) }

    /// Waits for the exit at most `timeout`; kills it (and fails) when it takes longer.
    func wait(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill9()
            Issue.record("\(process.commandLine) did not end within \(timeout)")
            throw CancellationError()
        }
        return process.terminationStatus
    }

    func kill9() { process.kill9() }
}

/// Expects `count` rows in `table`, each holding every cell once even when five versions are asked for
/// (a replay rewrote the same versions instead of adding new ones).
func expectRowsOnceEach(
    _ client: HBaseClient, _ table: HBaseTableName, count: Int, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let rows = try await client.scan(HBaseScan(maxVersions: 5), in: table)
    #expect(rows.count == count, "rows in \(table.qualified)", sourceLocation: sourceLocation)
    #expect(
        rows.allSatisfy { row in Set(row.cells.map(\.column)).count == row.cells.count },
        "a cell with more than one version in \(table.qualified)", sourceLocation: sourceLocation)
}
