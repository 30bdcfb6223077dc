import Engine
import Foundation
import HBase
import SonarLabTestSupport
import Sweep
import Testing
import Tracking

@testable import SonarLabCLI

/// `sonarlab sweep` plus two `sonarlab sweep join` processes on one store (the double, or one SQLite file).
///
/// The sweep's own process is killed -9 while it holds a trial. Every wait is bounded; every process started is
/// killed on the way out.
@Suite("sweep join: many processes, one sweep (processes, loopback)", .serialized)
struct SweepJoinFaultTests {
    /// 6 trials (batches of 4 and 2) of 5×2 CV; a fit is short (1000 epochs of 32 hidden units), so the 3 s lease
    /// is renewed many times per trial, and a trial lasts long enough (10 fits) to be killed inside.
    static let settings = [
        "--trials", "6", "--strategy", "random", "--seed", "5", "--folds", "5", "--repeats", "2", "--epochs",
        "1000", "--hidden", "32", "--lr", "0.001..0.1:log", "--weight-decay", "0,0.0001",
    ]
    static let lease = ["--lease", "3", "--jobs", "1"]

    /// Reads claims and records of the store under test.
    struct Store: Sendable {
        let claim: @Sendable (String) async throws -> TrialClaim?
        let store: @Sendable () throws -> any ExperimentStore
    }

    static func local(_ env: FaultEnvironment) -> Store {
        let directory = env.dir.file("store")
        return Store(
            claim: { key in try LocalStore(directory: directory).claimValue(key: key).flatMap(TrialClaim.init(text:)) },
            store: { try LocalStore(directory: directory) })
    }

    static func hbase(_ env: FaultEnvironment, client: HBaseClient) -> Store {
        let store = HBaseExperimentStore(client: client)
        return Store(
            claim: { key in try await store.claimValue(key: key).flatMap(TrialClaim.init(text:)) },
            store: { store })
    }

    @Test("locally (SQLite): a killed sweep's trial is rerun by a joined worker; every trial is recorded once")
    func localSweepSurvivesAKilledWorker() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try await Self.killOneOfThree(env, backend: [], store: Self.local(env))
        // The same settings in one uninterrupted process give the same trials and scores.
        let reference = try FaultEnvironment()
        defer { reference.tearDown() }
        try await reference.sonarlab(["sweep"] + Self.settings + ["--jobs", "2"])
        let shared = try await SweepRecords.trials(of: Self.sweepID(in: Self.local(env)), in: Self.local(env).store())
        let single = try await SweepRecords.trials(
            of: Self.sweepID(in: Self.local(reference)), in: Self.local(reference).store())
        #expect(SweepCommandTests.outcomes(shared) == SweepCommandTests.outcomes(single))
    }

    @Test("against the HBase double: a killed sweep's trial is rerun by a joined worker; every trial is recorded once")
    func hbaseSweepSurvivesAKilledWorker() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        try env.startDouble()
        try await env.sonarlab(["hbase", "init"])
        try await env.withClient { client, _ in
            try await Self.killOneOfThree(env, backend: ["--backend", "hbase"], store: Self.hbase(env, client: client))
        }
    }

    @Test("sweep join refuses an unknown sweep and a bad --lease (exit 2)")
    func joinRefusals() async throws {
        guard try requireFaultPrerequisites() else { return }
        let env = try FaultEnvironment()
        defer { env.tearDown() }
        let unknown = try await env.sonarlab(["sweep", "join", "20260101-000000-abcdef"], expecting: 2)
        #expect(unknown.stderr.contains("no sweep '20260101-000000-abcdef'"), "\(unknown.stderr)")
        let lease = try await env.sonarlab(["sweep", "--lease", "0", "--trials", "1"], expecting: 2)
        #expect(lease.stderr.contains("--lease '0'"), "\(lease.stderr)")
        let help = try await env.sonarlab(["sweep", "join", "--help"])
        #expect(help.stdout.contains("checkAndPut") && help.stdout.contains("--lease"))
    }

    // MARK: Support

    static func sweepID(in store: Store) async throws -> String {
        try #require(try await recordedSweepID(in: store))
    }

    static func recordedSweepID(in store: Store) async throws -> String? {
        try await store.store().experiments(limit: nil).first { $0.kind == .sweep }?.id
    }

    /// Starts the sweep, waits for its record, starts two joins, kills the sweep -9 while it holds a trial, and
    /// checks the outcome.
    ///
    /// The watching runs on a thread of its own (``withOwnThread(_:_:)``): on the shared cooperative pool, under
    /// the load of the whole run, the poll once got no turn until the sweep had finished every trial.
    static func killOneOfThree(_ env: FaultEnvironment, backend: [String], store: Store) async throws {
        try await withOwnThread("sweep-join-watch") {
            try await killOneOfThreeWatched(env, backend: backend, store: store)
        }
    }

    static func killOneOfThreeWatched(_ env: FaultEnvironment, backend: [String], store: Store) async throws {
        let origin = try env.background(["sweep"] + settings + lease + backend)
        var id = ""
        try await env.waitUntil("the sweep is recorded", timeout: .seconds(60)) {
            try expectRunning(origin)
            id = try await recordedSweepID(in: store) ?? ""
            return !id.isEmpty
        }
        let joins = try (0..<2).map { _ in try env.background(["sweep", "join", id, "--json"] + lease + backend) }
        let originTag = ":\(origin.process.processIdentifier):"
        var held = [String]()
        try await env.waitUntil("the sweep's process holds a trial", timeout: .seconds(120)) {
            try expectRunning(origin)
            for index in 0..<6 {
                let key = SweepRecords.trialID(sweep: id, index: index)
                if let claim = try await store.claim(key), claim.state == .running, claim.owner.contains(originTag) {
                    held.append(key)
                }
            }
            return !held.isEmpty
        }
        // Frozen first, so what it holds cannot change between the reading below and its death; the pause lets a
        // write it had already sent reach the store.
        origin.signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(300))
        var killed = [String: TrialClaim]()
        for index in 0..<6 {
            let key = SweepRecords.trialID(sweep: id, index: index)
            if let claim = try await store.claim(key), claim.state == .running, claim.owner.contains(originTag) {
                killed[key] = claim
            }
        }
        origin.kill9()
        #expect(!killed.isEmpty, "the sweep's process was killed while it held a trial (\(held))")
        var ranHere = 0
        for join in joins {
            let status = try await join.wait(timeout: .seconds(300))
            #expect(status == 0, "\(join.stderr.suffix(800))")
            let summary = try? JSONSerialization.jsonObject(with: Data(join.stdout.utf8)) as? [String: Any]
            #expect(summary != nil, "sweep join --json: \(join.stdout)")
            #expect(summary?["complete"] as? Bool == true, "\(join.stdout)")
            ranHere += summary?["ran_here"] as? Int ?? 0
        }
        var claims = [String: TrialClaim]()
        for index in 0..<6 {
            let key = SweepRecords.trialID(sweep: id, index: index)
            claims[key] = try await store.claim(key)
        }
        #expect(claims.values.count == 6 && claims.values.allSatisfy { $0.state == .done && $0.result != nil })
        for (key, old) in killed {
            let now = try #require(claims[key])
            #expect(!now.owner.contains(originTag) && now.attempt > old.attempt, "\(key) was not run again: \(now)")
        }
        // Each trial ended once: the joins recorded exactly the trials whose claims name them.
        #expect(ranHere == claims.values.filter { !$0.owner.contains(originTag) }.count)
        let records = try await SweepRecords.trials(of: id, in: store.store())
        #expect(records.count == 6 && records.allSatisfy { $0.status == .finished })
        for record in records {
            let result = try #require(SweepRecords.result(from: record))
            let claimed = try #require(claims[record.id]?.result)
            #expect(result.hasSameOutcome(as: claimed), "\(record.id): record and claim disagree")
        }
        let sweep = try #require(try await store.store().experiment(id: id))
        #expect(sweep.status == .finished, "the last join records the sweep whose process died")
        let best = TrialResult.ranked(claims.values.compactMap(\.result)).first
        #expect(sweep.parameters["sweep.best_trial"] == best.map { SweepRecords.trialID(sweep: id, index: $0.index) })
        #expect(sweep.result?.crossValidation?.accuracyMean == best?.accuracy.mean)
    }

    /// Fails the wait at once (not at its timeout) when the sweep's process has ended.
    static func expectRunning(_ process: BackgroundProcess) throws {
        guard !process.isRunning else { return }
        Issue.record("sonarlab sweep ended early: \(process.stderr.suffix(600))")
        throw CancellationError()
    }
}
