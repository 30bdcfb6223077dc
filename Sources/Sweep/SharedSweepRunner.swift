public import Engine
import Foundation

/// Runs a sweep's trials together with every other worker of the same sweep (`sonarlab sweep`, `sweep join`).
///
/// The trial list is a function of the sweep's recorded plan: trial `i` of batch `b` is proposed from the finished
/// trials of batches `< b` only (``SweepPlan/batchSize``), which every worker reads from the shared
/// ``TrialClaimRegister``. So a worker proposes the same parameters for a trial whoever ran the earlier ones, and a
/// worker starts batch `b` only once every trial of the batches before it is `done`. Inside a batch each worker
/// claims free trials (``TrialLeases/claim(_:redoingDone:)``), up to `jobs` at once, renews each lease after every
/// fit, and ends it with the result in one compare-and-set; a trial held by a live lease elsewhere is waited for
/// (polling), one whose lease lapsed (its worker died) is claimed again. The results, and so the whole sweep, are
/// the same as ``SweepRunner``'s for any number of workers and any `--jobs`.
public enum SharedSweepRunner {
    /// A register that could not be read.
    public struct RegisterFailure: Error, Sendable, CustomStringConvertible {
        /// The register's error text.
        public let reason: String
        public var description: String { "the sweep's trial claims cannot be read: \(reason)" }
    }

    /// Runs trials until every trial of the sweep is done (or a stop, the deadline, or a cancelled trial).
    /// - Parameters:
    ///   - plan: The sweep's plan (from its recorded settings).
    ///   - evaluator: How to score a trial.
    ///   - leases: The shared register and this worker's lease settings.
    ///   - key: The register key of trial `i` (the trial's experiment id).
    ///   - previous: Results recorded before claims existed (`--resume` of an older sweep): a finished or pruned
    ///     one whose parameters match its proposal is adopted as `done`, not run again.
    ///   - redo: Trials to run again even if the register says `done` (`--resume`: their record did not finish).
    ///   - jobs: Trials this worker runs at once, ≥ 1.
    ///   - pollInterval: How long to wait before looking again when every free trial is held elsewhere.
    ///   - wait: How to wait `pollInterval` (`nil`: sleep this thread; tests move a manual clock instead).
    ///   - deadline: No trial starts after it.
    ///   - stop: Raised by a signal: running trials end `cancelled` (their leases released) and nothing starts.
    ///   - onEvent: Called on a worker thread when this worker starts a trial and when it records one (a late
    ///     finisher whose lease was taken reports no end).
    /// - Returns: Every result of the sweep so far (whoever ran it), in index order, with this worker's cancelled
    ///   trials.
    /// - Throws: ``RegisterFailure`` when the register cannot be read three times in a row.
    public static func run(
        plan: SweepPlan, evaluator: TrialEvaluator, leases: TrialLeases, key: @escaping @Sendable (Int) -> String,
        previous: [TrialResult] = [], redo: Set<Int> = [], jobs: Int, pollInterval: Duration = .milliseconds(200),
        wait: (@Sendable (Duration) -> Void)? = nil,
        deadline: ContinuousClock.Instant? = nil, stop: StopSignal = StopSignal(),
        onEvent: @escaping @Sendable (SweepEvent) -> Void = { _ in }
    ) throws(RegisterFailure) -> [TrialResult] {
        let wait = wait ?? { Thread.sleep(forTimeInterval: $0.seconds) }
        let reusable = Dictionary(
            previous.filter { $0.status == .finished || $0.status == .pruned }.map { ($0.index, $0) },
            uniquingKeysWith: { a, _ in a })
        let redoLeft = Locked(redo.subtracting(reusable.keys))
        var results = [TrialResult]()
        var batchStart = 0
        while batchStart < plan.trials {
            let earlier = results.filter { $0.status == .finished }
            let history = earlier.map { Observation(parameters: $0.parameters, score: $0.accuracy.mean) }
            let indices = Array(batchStart..<min(plan.trials, batchStart + plan.batchSize))
            let parameters = Dictionary(
                uniqueKeysWithValues: indices.map { ($0, plan.parameters(forTrial: $0, history: history)) })
            for index in indices {
                if let old = reusable[index], old.parameters == parameters[index] {
                    _ = try? leases.adopt(key(index), result: old)
                }
            }
            var cancelled = [TrialResult]()
            var done = [Int: TrialResult]()
            var failures = 0
            while true {
                var free = [Int]()
                do {
                    for index in indices {
                        switch try leases.standing(of: key(index)) {
                        case .done(let result):
                            if redoLeft.value.contains(index) { free.append(index) } else { done[index] = result }
                        case .free: free.append(index)
                        case .held:
                            // Another worker is (re)running it: its result will be the one recorded.
                            redoLeft.update { $0.remove(index) }
                        }
                    }
                    failures = 0
                } catch {
                    failures += 1
                    if failures >= 3 { throw RegisterFailure(reason: "\(error)") }
                    wait(pollInterval)
                    continue
                }
                if done.count == indices.count || !cancelled.isEmpty { break }
                if stop.isRaised { break }
                if let deadline, ContinuousClock.now >= deadline { break }
                if free.isEmpty {
                    wait(pollInterval)
                    continue
                }
                let pool = WorkerPool(count: free.count)
                let items = free.map { (index: $0, parameters: parameters[$0]!) }
                pool.run(workers: max(1, jobs)) { n in
                    let item = items[n]
                    if stop.isRaised { return }
                    if let deadline, ContinuousClock.now >= deadline { return }
                    let redoing = redoLeft.value.contains(item.index)
                    guard var lease = try? leases.claim(key(item.index), redoingDone: redoing) else { return }
                    if redoing { redoLeft.update { $0.remove(item.index) } }
                    onEvent(.started(index: item.index, parameters: item.parameters))
                    let rule = TrialStopRule(plan: plan, earlier: earlier, stop: stop)
                    var lost = false
                    let result = evaluator.evaluate(
                        index: item.index, parameters: item.parameters,
                        control: { accuracies in
                            if !leases.renewIfDue(&lease) {
                                lost = true
                                return .stop
                            }
                            return rule.decide(accuracies)
                        }, isPruned: { rule.pruned })
                    if lost { return }
                    if result.status == .cancelled {
                        _ = try? leases.release(lease)
                    } else {
                        guard (try? leases.finish(lease, with: result)) == true else { return }
                    }
                    pool.store(result, at: n)
                    onEvent(.ended(result))
                }
                for n in 0..<items.count {
                    if let result = pool.result(at: n), result.status == .cancelled { cancelled.append(result) }
                }
            }
            let batch = (Array(done.values) + cancelled).sorted { $0.index < $1.index }
            results += batch
            // As in SweepRunner: a gap (a stop, the deadline) or a cancelled trial ends the run here, so no later
            // proposal is made from a history an uninterrupted sweep would not have had.
            if batch.count < indices.count || !cancelled.isEmpty { break }
            batchStart += plan.batchSize
        }
        return results
    }
}

/// A value behind a lock.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }

    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
