import Engine
import Foundation
import Settings
import SonarLabTestSupport
import Sweep
import Testing

/// A wall clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double

    init(_ seconds: Double = 1_000_000) { self.seconds = seconds }

    var now: Double { lock.withLock { seconds } }

    func advance(_ by: Double) { lock.withLock { seconds += by } }
}

/// A register that counts its successful writes and can be made to fail.
final class CountingRegister: TrialClaimRegister, @unchecked Sendable {
    let inner = InMemoryClaimRegister()
    private let lock = NSLock()
    private var writes = [String: Int]()
    var failing = false

    struct Down: Error {}

    func value(of key: String) throws -> String? {
        if lock.withLock({ failing }) { throw Down() }
        return inner.value(of: key)
    }

    func replace(_ key: String, expected: String?, with new: String) throws -> Bool {
        if lock.withLock({ failing }) { throw Down() }
        let written = inner.replace(key, expected: expected, with: new)
        if written { lock.withLock { writes[key, default: 0] += 1 } }
        return written
    }

    func claims() -> [Int: TrialClaim] {
        var out = [Int: TrialClaim]()
        for index in 0..<100 {
            if let text = inner.value(of: "t\(index)"), let claim = TrialClaim(text: text) { out[index] = claim }
        }
        return out
    }
}

@Suite("Trial leases")
struct TrialLeaseTests {
    static func result(_ index: Int, accuracy: Double = 0.8, f1: Double = 0.7, loss: Double = 0.5) -> TrialResult {
        TrialResult(
            index: index, parameters: ["mlp.lr": "0.01"], foldAccuracies: [accuracy, accuracy - 0.1], f1Mean: f1,
            lossMean: loss, status: .finished, seconds: 1)
    }

    @Test("a free trial is claimed once: a second worker cannot claim it while the lease is live")
    func claimIsExclusive() throws {
        let register = InMemoryClaimRegister()
        let clock = ManualClock()
        let a = TrialLeases(register: register, owner: "a", duration: 10, now: { clock.now })
        let b = TrialLeases(register: register, owner: "b", duration: 10, now: { clock.now })
        let lease = try #require(try a.claim("t0"))
        #expect(lease.claim.owner == "a" && lease.claim.attempt == 1 && lease.claim.state == .running)
        #expect(try b.claim("t0") == nil)
        #expect(try b.standing(of: "t0") == .held(owner: "a"))
        clock.advance(9.9)
        #expect(try b.claim("t0") == nil)
    }

    @Test("renewing moves the expiry, so a renewed lease outlives its first expiry; renewIfDue waits a third")
    func renewExtends() throws {
        let register = InMemoryClaimRegister()
        let clock = ManualClock()
        let a = TrialLeases(register: register, owner: "a", duration: 9, now: { clock.now })
        let b = TrialLeases(register: register, owner: "b", duration: 9, now: { clock.now })
        var lease = try #require(try a.claim("t0"))
        let first = lease.claim.expiresAt
        clock.advance(2)
        #expect(a.renewIfDue(&lease))
        #expect(lease.claim.expiresAt == first, "renewed before a third of the lease had passed")
        clock.advance(2)
        #expect(a.renewIfDue(&lease))
        #expect(lease.claim.expiresAt == clock.now + 9)
        clock.advance(7)  // past the first expiry, inside the renewed one
        #expect(try b.claim("t0") == nil)
    }

    @Test("a lapsed lease is stolen (attempt 2); the old owner can then neither renew nor finish nor release")
    func expiryStealAndLateFinisher() throws {
        let register = InMemoryClaimRegister()
        let clock = ManualClock()
        let a = TrialLeases(register: register, owner: "a", duration: 5, now: { clock.now })
        let b = TrialLeases(register: register, owner: "b", duration: 5, now: { clock.now })
        var old = try #require(try a.claim("t0"))
        clock.advance(5)
        #expect(try b.standing(of: "t0") == .free(stale: true))
        let stolen = try #require(try b.claim("t0"))
        #expect(stolen.claim.attempt == 2 && stolen.claim.owner == "b")
        #expect(try !a.renew(&old))
        #expect(!a.renewIfDue(&old))
        #expect(try !a.finish(old, with: Self.result(0, accuracy: 0.1)))
        #expect(try !a.release(old))
        #expect(try b.finish(stolen, with: Self.result(0)))
        guard case .done(let recorded) = try a.standing(of: "t0") else {
            Issue.record("not done")
            return
        }
        #expect(recorded.hasSameOutcome(as: Self.result(0)), "the late finisher's result replaced the owner's")
        #expect(try a.claim("t0") == nil && b.claim("t0") == nil)
    }

    @Test("a released trial is claimed again at once; a done one only when redoing, and adopt keeps the first result")
    func releaseRedoAndAdopt() throws {
        let register = InMemoryClaimRegister()
        let clock = ManualClock()
        let a = TrialLeases(register: register, owner: "a", duration: 5, now: { clock.now })
        let lease = try #require(try a.claim("t0"))
        #expect(try a.release(lease))
        #expect(try a.standing(of: "t0") == .free(stale: false))
        let again = try #require(try a.claim("t0"))
        #expect(again.claim.attempt == 2)
        #expect(try a.finish(again, with: Self.result(0)))
        #expect(try a.claim("t0") == nil)
        #expect(try a.claim("t0", redoingDone: true)?.claim.attempt == 3)
        #expect(try a.adopt("t1", result: Self.result(1))?.hasSameOutcome(as: Self.result(1)) == true)
        #expect(try a.adopt("t1", result: Self.result(1, accuracy: 0.2))?.hasSameOutcome(as: Self.result(1)) == true)
    }

    @Test("a renewal the store cannot take keeps the lease (retried after the next fit); a lost one does not")
    func renewalThroughAnOutage() throws {
        let register = CountingRegister()
        let clock = ManualClock()
        let a = TrialLeases(register: register, owner: "a", duration: 3, now: { clock.now })
        var lease = try #require(try a.claim("t0"))
        clock.advance(2)
        register.failing = true
        #expect(a.renewIfDue(&lease))
        #expect(throws: CountingRegister.Down.self) { try a.standing(of: "t0") }
        register.failing = false
        #expect(a.renewIfDue(&lease))
        #expect(lease.claim.expiresAt == clock.now + 3)
    }

    @Test("a claim's text round-trips exactly, non-finite loss and F1 included; other text is no claim")
    func claimText() throws {
        let claim = TrialClaim(
            state: .done, owner: "h:1:ab", expiresAt: 12.5, attempt: 2,
            result: Self.result(3, f1: .nan, loss: .infinity))
        let back = try #require(TrialClaim(text: claim.text))
        #expect(back.text == claim.text)
        #expect(back.result?.foldAccuracies == claim.result?.foldAccuracies)
        #expect(back.result?.lossMean == .infinity && back.result?.f1Mean.isNaN == true)
        #expect(TrialClaim(text: "{") == nil)
        #expect(TrialLeases.makeOwner().split(separator: ":").count == 3)
        #expect(TrialLeases.makeOwner() != TrialLeases.makeOwner())
    }

    @Test("the shared runner gives the plain runner's results, alone or as three workers on one register")
    func sharedRunnerMatchesPlainRunner() async throws {
        let plan = try SweepRunnerTests.plan(.tpe, trials: 6)
        let evaluator = try SweepRunnerTests.evaluator()
        let plain = SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 2)
        let register = CountingRegister()
        let shared = try await SharedRun.workers(3, plan: plan, evaluator: evaluator, register: register)
        for results in shared {
            #expect(results.count == plain.count)
            for (a, b) in zip(results, plain) { #expect(a.hasSameOutcome(as: b)) }
        }
        let claims = register.claims()
        #expect(claims.count == 6 && claims.values.allSatisfy { $0.state == .done && $0.attempt == 1 })
    }

    @Test("a trial whose worker stopped renewing is run again by another once the lease lapses, and counted once")
    func deadWorkersTrialIsRerun() throws {
        let plan = try SweepRunnerTests.plan(.random, trials: 2)
        let evaluator = try SweepRunnerTests.evaluator()
        let register = CountingRegister()
        let clock = ManualClock()
        // A dead worker's claim on trial 1: it never renews.
        let dead = TrialLeases(register: register, owner: "dead", duration: 30, now: { clock.now })
        _ = try #require(try dead.claim("t1"))
        let live = TrialLeases(register: register, owner: "live", duration: 30, now: { clock.now })
        let log = EventLog()
        // The live worker runs trial 0, then finds trial 1 held and polls; each poll moves the clock 10 s.
        let results = try SharedSweepRunner.run(
            plan: plan, evaluator: evaluator, leases: live, key: { "t\($0)" }, jobs: 1, pollInterval: .zero,
            wait: { _ in clock.advance(10) }, onEvent: { log.append($0) })
        #expect(results.map(\.index) == [0, 1] && results.allSatisfy { $0.status == .finished })
        #expect(log.started == [0, 1])
        let claims = register.claims()
        #expect(claims[1]?.owner == "live" && claims[1]?.attempt == 2 && claims[1]?.state == .done)
        #expect(results[1].hasSameOutcome(as: SweepRunner.run(plan: plan, evaluator: evaluator, jobs: 1)[1]))
    }

    @Test("a register that cannot be read ends the shared run with its reason")
    func registerDown() throws {
        let register = CountingRegister()
        register.failing = true
        let leases = TrialLeases(register: register, owner: "a")
        #expect(throws: SharedSweepRunner.RegisterFailure.self) {
            try SharedSweepRunner.run(
                plan: try SweepRunnerTests.plan(.random, trials: 2), evaluator: try SweepRunnerTests.evaluator(),
                leases: leases, key: { "t\($0)" }, jobs: 1, pollInterval: .zero)
        }
    }

    @Test("a stop releases the running trial for others and ends the run; a resumed run redoes the trials asked")
    func stopReleasesAndRedo() throws {
        let plan = try SweepRunnerTests.plan(.random, trials: 2)
        let evaluator = try SweepRunnerTests.evaluator()
        let register = CountingRegister()
        let leases = TrialLeases(register: register, owner: "a")
        let stop = StopSignal()
        let first = try SharedSweepRunner.run(
            plan: plan, evaluator: evaluator, leases: leases, key: { "t\($0)" }, jobs: 1, stop: stop,
            onEvent: { event in
                if case .started = event { stop.raise() }
            })
        #expect(first.map(\.status) == [.cancelled])
        #expect(register.claims()[0]?.state == .released)
        let second = try SharedSweepRunner.run(
            plan: plan, evaluator: evaluator, leases: leases, key: { "t\($0)" }, jobs: 2)
        #expect(second.allSatisfy { $0.status == .finished } && second.count == 2)
        let log = EventLog()
        var interrupted = second[1]
        interrupted.status = .cancelled
        let third = try SharedSweepRunner.run(
            plan: plan, evaluator: evaluator, leases: leases, key: { "t\($0)" }, previous: [second[0], interrupted],
            redo: [1],
            jobs: 2, onEvent: { log.append($0) })
        #expect(log.started == [1])
        #expect(zip(third, second).allSatisfy { $0.hasSameOutcome(as: $1) })
        #expect(register.claims()[1]?.attempt == 2)
    }
}

/// Several shared-runner workers on one register, each on a thread of its own.
enum SharedRun {
    static func workers(_ count: Int, plan: SweepPlan, evaluator: TrialEvaluator, register: any TrialClaimRegister)
        async throws -> [[TrialResult]]
    {
        try await withThrowingTaskGroup(of: [TrialResult].self) { group in
            for n in 0..<count {
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        Thread {
                            continuation.resume(
                                with: Result {
                                    try SharedSweepRunner.run(
                                        plan: plan, evaluator: evaluator,
                                        leases: TrialLeases(register: register, owner: "w\(n)"), key: { "t\($0)" },
                                        jobs: 1, pollInterval: .milliseconds(5))
                                })
                        }.start()
                    }
                }
            }
            var all = [[TrialResult]]()
            for try await results in group { all.append(results) }
            return all
        }
    }
}
