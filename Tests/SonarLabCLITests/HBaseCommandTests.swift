import ArgumentParser
import Engine
import Foundation
import HBaseRESTDouble
import Settings
import SonarLabTestSupport
import Testing
import Tracking

@testable import SonarLabCLI

/// The HBase commands in-process against the test double (the subprocess end to end is scripts/e2e-hbase.sh).
///
/// The HBase address comes only from the environment, so this suite sets `SONARLAB_HBASE_URL` for the
/// process while it runs (serialized) and removes it afterwards.
@Suite("sonarlab hbase, dataset, train/predict/history with --backend hbase (in-process)", .serialized)
struct HBaseCommandTests {
    /// Runs `body` with the double on a free loopback port and `SONARLAB_HBASE_URL` / `_AUTH` pointing at it.
    static func withGateway(_ body: () async throws -> Void) async throws {
        try await HBaseRESTDouble.withRunning(configuration: .init(host: "127.0.0.1", port: 0)) { port in
            setenv("SONARLAB_HBASE_URL", "http://127.0.0.1:\(port)", 1)
            setenv("SONARLAB_HBASE_AUTH", "none", 1)
            // The double answers on this process's cooperative pool, which the process-spawning suites beside this
            // one can hold for seconds under `make test` on 2 cores: a roomy timeout, so a slow answer is not failed.
            setenv("SONARLAB_HBASE_TIMEOUT_SECONDS", "120", 1)
            defer {
                unsetenv("SONARLAB_HBASE_URL")
                unsetenv("SONARLAB_HBASE_AUTH")
                unsetenv("SONARLAB_HBASE_TIMEOUT_SECONDS")
            }
            try await body()
        }
    }

    @Test("init, status, dataset load twice, dataset show, train, predict --from-hbase --store hbase, history")
    func chain() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        try await Self.withGateway {
            try await ws.runInProcess(["hbase", "init"])
            try await ws.runInProcess(["hbase", "init"])
            try await ws.runInProcess(["hbase", "status"])
            try await ws.runInProcess(["dataset", "load"])
            try await ws.runInProcess(["dataset", "load"])
            try await ws.runInProcess(["dataset", "show"])
            try await ws.runInProcess(["train", "--backend", "hbase", "--epochs", "5", "--name", "hb"])
            try await ws.runInProcess(["history", "--backend", "hbase", "--json"])
            try await ws.runInProcess(["predict", "--backend", "hbase", "--from-hbase", "--store", "hbase", "--json"])
            try await ws.runInProcess(["predict", "--backend", "hbase", "--from-hbase", "--store", "hbase"])
            // Only one store is configured at a time: the local one saw nothing.
            #expect(try await ws.store().experiments(limit: nil).isEmpty)
            await #expect(throws: CommandFailure.self) {
                try await ws.runInProcess(["predict", "--backend", "hbase", "--store", "mongo", "--from-hbase"])
            }
            await #expect(throws: CommandFailure.self) {
                try await ws.runInProcess([
                    "predict", "--backend", "hbase", "--input", TestPaths.sonarData, "--from-hbase",
                ])
            }
        }
    }

    @Test("sweep --backend hbase records the sweep and its trials in HBase; --resume there runs no trial again")
    func sweepInHBase() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        try await Self.withGateway {
            try await ws.runInProcess(["hbase", "init"])
            try await ws.runInProcess(SweepCommandTests.tiny + ["--backend", "hbase", "--jobs", "2"])
            let context = try CommandContext(
                global: try GlobalOptions.parse(["--config", ws.config]),
                flags: ["tracking.backend": .init(flag: "--backend", value: "hbase")])
            let store = try context.openStore()
            let sweep = try #require(try await store.experiments(limit: nil).first { $0.kind == .sweep })
            let trials = try await SweepRecords.trials(of: sweep.id, in: store)
            #expect(trials.count == 6)
            #expect(trials.allSatisfy { $0.status == .finished && $0.result?.foldAccuracies?.count == 3 })
            try await ws.runInProcess(["sweep", "--backend", "hbase", "--resume", sweep.id])
            let again = try await SweepRecords.trials(of: sweep.id, in: store)
            #expect(again.map(\.startedAt) == trials.map(\.startedAt))
            try await ws.runInProcess(["show", "--backend", "hbase", sweep.id])
            #expect(try await ws.store().experiments(limit: nil).isEmpty)
        }
    }

    @Test("without SONARLAB_HBASE_URL the hbase backend is refused as bad configuration")
    func missingURL() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        unsetenv("SONARLAB_HBASE_URL")
        await #expect(throws: (any Error).self) { try await ws.runInProcess(["hbase", "status"]) }
        await #expect(throws: (any Error).self) { try await ws.runInProcess(["history", "--backend", "hbase"]) }
    }

    @Test("a run whose store cannot be reached writes its folder and queues its writes in the outbox (exit 0)")
    func unreachableStore() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        setenv("SONARLAB_HBASE_URL", "http://127.0.0.1:1", 1)
        defer { unsetenv("SONARLAB_HBASE_URL") }
        try await ws.runInProcess(["train", "--backend", "hbase", "--epochs", "2", "--name", "offline"])
        #expect(ws.dir.list("experiments").contains { $0.hasPrefix("exp_offline_") })
        let outbox = try HBaseOutbox.inDirectory(ws.dir.file("store"))
        #expect(try await outbox.count(cluster: "http://localhost:1") == 2)  // create, finish (2 epochs: no batch)
        // `sync` cannot deliver them: exit 1 with the reason.
        await #expect(throws: CommandFailure.self) { try await ws.runInProcess(["sync", "--wait", "1"]) }
        await #expect(throws: CommandFailure.self) { try await ws.runInProcess(["sync", "--json"]) }
    }
}
