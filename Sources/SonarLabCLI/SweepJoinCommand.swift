import ArgumentParser
import Engine
import Foundation
import Settings
import Sweep
import Tracking

/// `sonarlab sweep join SWEEP-ID`: one more worker for a sweep recorded in the store, on any machine reaching it.
struct SweepJoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Run trials of a sweep already in the store, beside its other workers, until none are left.",
        discussion: """
            Many machines, one sweep (the pattern of Optuna's shared RDB storage, with HBase or SQLite as the \
            storage). Start a sweep on one machine (`sonarlab sweep …`, which prints its id), then on any \
            machine whose config reaches the same store (the same HBase, or the same SQLite file) run \
            `sonarlab sweep join SWEEP-ID`. Every worker reads the sweep's recorded settings (space, strategy, \
            trials, seed, folds, repeats, base [mlp] values), so all of them propose the same trials: trial i of \
            batch b (batches of 4) is proposed from the finished trials of the batches before b only, and a \
            worker starts batch b once every trial before it is done. The results are those of one \
            uninterrupted `sonarlab sweep` with the same settings, whoever ran which trial.

            Leases: a worker claims a trial by a compare-and-set in the store (HBase checkAndPut on the trial's \
            row, cell s:claim; locally one SQLite statement on table trial_claim): its claim names it \
            (host:pid:random) and an expiry, --lease seconds ahead (default 60), renewed after every fit. A \
            worker that dies (kill -9, a lost machine) stops renewing; once its lease has lapsed another worker \
            claims the trial and runs it again from the start. A trial's result is written once, in the same \
            compare-and-set that ends the claim: a late finisher whose lease was taken writes and counts \
            nothing. The workers' clocks must agree to well under the lease (NTP).

            join needs the sweep's data file (--data or [data] path; its fingerprint must match the sweep's). \
            It ends when every trial is done (and then records the sweep finished if nobody has), or at \
            SIGINT/SIGTERM (its running trials are released for others), exit 130.

            Examples:
              sonarlab sweep --backend hbase --trials 100          # machine A: prints the sweep id
              sonarlab sweep join --backend hbase 20261202-013000-a1b2c3 --jobs 2   # machines B, C, …
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The sweep's id (printed by `sonarlab sweep`, listed by `history --kind sweep`)"))
    var sweepID: String
    @Option(help: ArgumentHelp("Labelled Sonar CSV, the sweep's data. [data] path", valueName: "path"))
    var data: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Trials this worker runs at once. Default the number of cores", valueName: "n"))
    var jobs: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds this worker's claims last unless renewed (after every fit). Default 60", valueName: "s"))
    var lease: String?
    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func run() async throws {
        var flags = store.flags
        if let data { flags["data.path"] = .init(flag: "--data", value: data) }
        let context = try CommandContext(global: global, flags: flags)
        let store = try context.openStore()
        guard var sweep = try await store.experiment(id: sweepID), sweep.kind == .sweep else {
            throw CommandFailure.badInput("sweep join: no sweep '\(sweepID.terminalSafe)' in \(store.location)")
        }
        let settings = try SweepSettings(recorded: sweep)
        let jobCount = try settings.jobs(jobs)
        let leases = TrialLeases(
            register: try SweepClaims.register(for: store), duration: try SweepClaims.leaseSeconds(lease))
        let (plan, evaluator, loaded) = try settings.planAndEvaluator(context: context)
        if sweep.dataFingerprint != loaded.fingerprint {
            throw CommandFailure.badInput(
                "sweep join: the data differs from the sweep's (fingerprint \(sweep.dataFingerprint.prefix(12))…)")
        }
        let previous = try await SweepRecords.trials(of: sweep.id, in: store).compactMap(SweepRecords.result(from:))
        let stop = StopSignal()
        let trap = SignalTrap(notice: "\nreleasing the running trials after their current fit…") { stop.raise() }
        defer { trap.release() }
        let progress = SweepProgress(
            total: plan.trials, alreadyDone: previous.filter { $0.status != .cancelled && $0.status != .failed }.count,
            showsProgress: !json || isatty(STDERR_FILENO) == 1)
        let (results, recordFailure) = try await SweepClaims.runTrials(
            plan: plan, evaluator: evaluator, store: store, sweep: sweep, settings: settings, leases: leases,
            previous: previous, redo: [], jobs: jobCount, deadline: nil, stop: stop, progress: progress)
        progress.finish()
        let complete = results.count == plan.trials && !results.contains { $0.status == .cancelled }
        let ranked = SweepRecords.ranked(results)
        // The sweep's own process records it at its end; when it is gone (or not done yet), the last worker does.
        if complete, let current = try await store.experiment(id: sweep.id), current.status == .running {
            sweep = current
            sweep.status = .finished
            sweep.endedAt = Date()
            SweepClaims.recordBest(ranked.first, in: &sweep, settings: settings)
            sweep.message = "\(ranked.count) of \(plan.trials) trials finished (recorded by sweep join)"
            try await store.finish(sweep)
        }
        try CommandContext.reportPending(await store.deliverPendingWrites(within: .seconds(10)), command: "sweep join")
        if let recordFailure { throw CommandFailure.failed("sweep join: a trial was not recorded: \(recordFailure)") }
        let doneCount = results.filter { $0.status != .cancelled }.count
        if json {
            var object: [String: Any] = [
                "sweep_id": sweep.id, "worker": leases.owner, "ran_here": progress.ranHere, "done": doneCount,
                "trials": plan.trials, "complete": complete, "seconds": progress.elapsedSeconds,
            ]
            if let best = ranked.first { object["best"] = SweepRecords.json(best: best, sweep: sweep.id) }
            print(try jsonText(object))
        } else {
            printText(
                "sweep \(sweep.id.terminalSafe): \(progress.ranHere) trials run here, \(doneCount)/\(plan.trials) done"
                    + (complete ? "" : " (not complete: join again or --resume)"))
            if let best = ranked.first {
                printText(
                    "  best trial \(SweepRecords.trialID(sweep: sweep.id, index: best.index).terminalSafe): accuracy "
                        + "\(f4(best.accuracy.mean)) ± \(f4(best.accuracy.sd))")
            }
        }
        if stop.isRaised { throw ExitCode(ExitCodes.cancelled) }
    }
}

/// How `sweep` and `sweep join` share a sweep's trials through the store (``TrialLeases``).
enum SweepClaims {
    /// `--lease`: seconds, > 0 and at most a day; default ``TrialLeases/defaultDuration``.
    static func leaseSeconds(_ text: String?) throws -> Double {
        guard let text else { return TrialLeases.defaultDuration }
        guard let s = Double(text), s.isFinite, s > 0, s <= 86_400 else {
            throw CommandFailure.badInput("--lease '\(text.terminalSafe)': give seconds above 0, at most 86400")
        }
        return s
    }

    /// The claim register of a store: its `trial_claim` table (SQLite) or the trials' `s:claim` cells (HBase).
    static func register(for store: any ExperimentStore) throws -> any TrialClaimRegister {
        if let local = store as? LocalStore { return LocalClaimRegister(store: local) }
        if let hbase = store as? HBaseExperimentStore { return HBaseClaimRegister(store: hbase) }
        throw CommandFailure.failed("\(store.location) cannot hold trial claims")
    }

    /// Trials whose record did not finish (`cancelled`, `failed`): `--resume` runs them again.
    static func unfinished(_ previous: [TrialResult]) -> Set<Int> {
        Set(previous.filter { $0.status == .cancelled || $0.status == .failed }.map(\.index))
    }

    /// Writes a sweep's best trial into its record (result and `sweep.best_trial`).
    static func recordBest(_ best: TrialResult?, in sweep: inout Experiment, settings: SweepSettings) {
        guard let best else { return }
        sweep.result = SweepRecords.experimentResult(of: best, settings: settings)
        sweep.parameters["sweep.best_trial"] = SweepRecords.trialID(sweep: sweep.id, index: best.index)
    }

    /// Runs this worker's share of a sweep (``SharedSweepRunner``) on a thread of its own and records each trial it
    /// starts and ends; returns every result so far and the first record failure.
    static func runTrials(
        plan: SweepPlan, evaluator: TrialEvaluator, store: any ExperimentStore, sweep: Experiment,
        settings: SweepSettings, leases: TrialLeases, previous: [TrialResult], redo: Set<Int>, jobs: Int,
        deadline: ContinuousClock.Instant?, stop: StopSignal, progress: SweepProgress
    ) async throws -> ([TrialResult], (any Error)?) {
        let (events, sink) = AsyncStream.makeStream(of: SweepEvent.self)
        let recorder = Task {
            var failure: (any Error)? = nil
            for await event in events {
                do {
                    switch event {
                    case .started(let index, let parameters):
                        try await store.create(
                            SweepRecords.runningTrial(index: index, parameters: parameters, sweep: sweep))
                    case .ended(let result):
                        try await store.finish(SweepRecords.experiment(for: result, sweep: sweep, settings: settings))
                    }
                } catch {
                    failure = failure ?? error
                }
            }
            return failure
        }
        let outcome = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<[TrialResult], any Error>, Never>) in
            let thread = Thread {
                do {
                    let results = try SharedSweepRunner.run(
                        plan: plan, evaluator: evaluator, leases: leases,
                        key: { SweepRecords.trialID(sweep: sweep.id, index: $0) }, previous: previous, redo: redo,
                        jobs: jobs, deadline: deadline, stop: stop,
                        onEvent: { event in
                            sink.yield(event)
                            progress.record(event)
                        })
                    continuation.resume(returning: .success(results))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        sink.finish()
        let recordFailure = await recorder.value
        switch outcome {
        case .success(let results): return (results, recordFailure)
        case .failure(let failure): throw CommandFailure.failed("sweep \(sweep.id): \(failure)")
        }
    }
}

/// The SQLite store's claim register (``LocalStore/replaceClaim(key:expected:with:)``).
struct LocalClaimRegister: TrialClaimRegister {
    let store: LocalStore

    func value(of key: String) throws -> String? { try store.claimValue(key: key) }

    func replace(_ key: String, expected: String?, with new: String) throws -> Bool {
        try store.replaceClaim(key: key, expected: expected, with: new)
    }
}

/// The HBase store's claim register (``HBaseExperimentStore/replaceClaim(key:expected:with:)``: checkAndPut), called
/// from the sweep's worker threads, which wait for each request (never from Swift's cooperative pool).
struct HBaseClaimRegister: TrialClaimRegister {
    let store: HBaseExperimentStore

    func value(of key: String) throws -> String? {
        try Self.waiting { [store] in try await store.claimValue(key: key) }
    }

    func replace(_ key: String, expected: String?, with new: String) throws -> Bool {
        try Self.waiting { [store] in try await store.replaceClaim(key: key, expected: expected, with: new) }
    }

    /// Runs `body` as a task and blocks this (non-pool) thread until it ends.
    static func waiting<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get()
    }

    private final class Box<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<T, any Error>?

        func set(_ value: Result<T, any Error>) { lock.withLock { result = value } }
        func get() throws -> T { try lock.withLock { result! }.get() }
    }
}
