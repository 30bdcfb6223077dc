import Foundation

/// The claim state of one trial in a shared sweep, stored as one JSON text per trial in a ``TrialClaimRegister``.
///
/// A worker claims a trial by replacing the text it read with a `running` claim naming itself and an expiry; it
/// renews the expiry while the trial runs; it ends the claim with `done` (holding the result, so the result and
/// the end of the claim are one atomic write) or `released` (stopped by the user). A `running` claim whose expiry
/// has passed may be taken by anyone (its owner is presumed dead). The pattern is Optuna's shared RDB storage
/// (heartbeats and `fail_stale_trials`), with a compare-and-set per trial in place of row locks.
public struct TrialClaim: Sendable, Codable, Equatable {
    /// Where a trial's claim is.
    public enum State: String, Sendable, Codable {
        /// A worker holds it until ``TrialClaim/expiresAt`` (renewed while it runs).
        case running
        /// Its last owner gave it up unfinished (SIGINT, `--timeout` does not): anyone may claim it.
        case released
        /// Ended; ``TrialClaim/result`` is the trial's one recorded result.
        case done
    }

    /// The state.
    public var state: State
    /// Who holds or held it: `host:pid:random` (``TrialLeases/makeOwner()``).
    public var owner: String
    /// When a `running` claim lapses: seconds since 1970 (the workers' wall clocks, which must roughly agree).
    public var expiresAt: Double
    /// How many times it was claimed: 1 for the first claim, +1 for each claim after a lapse or release.
    public var attempt: Int
    /// The result, when `done`.
    public var result: TrialResult?

    /// Creates a claim.
    /// - Parameters:
    ///   - state: The state.
    ///   - owner: The owner.
    ///   - expiresAt: Seconds since 1970.
    ///   - attempt: The claim count.
    ///   - result: The result of a `done` claim.
    public init(state: State, owner: String, expiresAt: Double, attempt: Int, result: TrialResult? = nil) {
        self.state = state
        self.owner = owner
        self.expiresAt = expiresAt
        self.attempt = attempt
        self.result = result
    }

    /// The stored text: JSON with sorted keys.
    ///
    /// Equal claims have equal text, which compare-and-set compares; a non-finite loss or F1 is written `"nan"`/`"inf"`. Swift's JSON numbers round-trip every `Double` exactly,
    /// so a result read back proposes the same next batch as the one in memory.
    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Reads a stored text; `nil` when it is not a claim.
    /// - Parameter text: The register's value.
    public init?(text: String) {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let decoded = try? decoder.decode(TrialClaim.self, from: Data(text.utf8)) else { return nil }
        self = decoded
    }
}

/// A compare-and-set register of texts by key, shared by every worker of a sweep.
///
/// SonarLab's stores implement it: SQLite with one conditional statement (`INSERT OR IGNORE` / `UPDATE … WHERE
/// value = ?`), HBase with `checkAndPut` on the trial's row (HBASE_REST.md §3.5; an empty expected value matches an
/// absent cell, as HBase's `HRegion.checkAndMutate` treats an empty value as "no cell").
public protocol TrialClaimRegister: Sendable {
    /// The current text of `key`, or `nil` when none was ever written.
    /// - Parameter key: The trial's key.
    /// - Returns: The text.
    /// - Throws: The store's error when it cannot read.
    func value(of key: String) throws -> String?

    /// Writes `new` only if `key` holds `expected` now (`nil`: holds nothing); atomic against every other worker.
    /// - Parameters:
    ///   - key: The trial's key.
    ///   - expected: The text read before, or `nil`.
    ///   - new: The text to write.
    /// - Returns: `true` when written, `false` when the value had changed (someone else won).
    /// - Throws: The store's error when it cannot write.
    func replace(_ key: String, expected: String?, with new: String) throws -> Bool
}

/// A register in memory (one process; for tests and single-process use).
public final class InMemoryClaimRegister: TrialClaimRegister, @unchecked Sendable {
    private let lock = NSLock()
    private var values = [String: String]()

    /// Creates an empty register.
    public init() {}

    public func value(of key: String) -> String? { lock.withLock { values[key] } }

    public func replace(_ key: String, expected: String?, with new: String) -> Bool {
        lock.withLock {
            guard values[key] == expected else { return false }
            values[key] = new
            return true
        }
    }
}

/// A claim this worker holds: the key and the exact text it last wrote (the next compare-and-set's expectation).
public struct TrialLease: Sendable, Equatable {
    /// The trial's key.
    public let key: String
    /// The claim as last written.
    public fileprivate(set) var claim: TrialClaim
    /// When this worker last renewed it, seconds since 1970.
    public fileprivate(set) var renewedAt: Double
}

/// Claims, renews and ends trial leases in a ``TrialClaimRegister``.
///
/// Every transition is one compare-and-set from the text read (or last written) to the next, so two workers can
/// never both hold a trial, and a worker whose lease was taken after it lapsed cannot end it: its ``finish(_:with:)``
/// fails and its result is dropped (the "late finisher" writes nothing and counts nothing).
public struct TrialLeases: Sendable {
    /// Where claims are kept.
    public let register: any TrialClaimRegister
    /// This worker's name (``makeOwner()``).
    public let owner: String
    /// Seconds a claim lasts without renewal (`--lease`, default 60).
    public let duration: Double
    /// The wall clock, seconds since 1970 (injected by tests).
    public let now: @Sendable () -> Double

    /// The default lease: 60 s.
    public static let defaultDuration = 60.0

    /// Creates the lease logic.
    /// - Parameters:
    ///   - register: The shared register.
    ///   - owner: This worker's name.
    ///   - duration: Lease seconds, > 0.
    ///   - now: The clock; `nil` for the system's wall clock.
    public init(
        register: any TrialClaimRegister, owner: String = makeOwner(), duration: Double = defaultDuration,
        now: (@Sendable () -> Double)? = nil
    ) {
        self.register = register
        self.owner = owner
        self.duration = duration
        self.now = now ?? { Date().timeIntervalSince1970 }
    }

    /// A worker name unique across machines and restarts: `host:pid:16 random hex digits`.
    public static func makeOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):"
            + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// What a trial's register says.
    public enum Standing: Sendable, Equatable {
        /// Nobody holds it: never claimed, released, or its lease lapsed (`stale`).
        case free(stale: Bool)
        /// A live lease (another worker's, or this worker's own).
        case held(owner: String)
        /// Ended with this result.
        case done(TrialResult)
    }

    /// The standing of a trial now.
    /// - Parameter key: The trial's key.
    /// - Returns: Its standing; an unreadable text counts as free.
    /// - Throws: The register's error.
    public func standing(of key: String) throws -> Standing {
        guard let text = try register.value(of: key), let claim = TrialClaim(text: text) else {
            return .free(stale: false)
        }
        return standing(of: claim)
    }

    func standing(of claim: TrialClaim) -> Standing {
        switch claim.state {
        case .done: return claim.result.map(Standing.done) ?? .free(stale: false)
        case .released: return .free(stale: false)
        case .running: return claim.expiresAt > now() ? .held(owner: claim.owner) : .free(stale: true)
        }
    }

    /// Claims a trial if nobody holds it (or its holder's lease lapsed).
    /// - Parameters:
    ///   - key: The trial's key.
    ///   - redoingDone: Also take a `done` trial (`sweep --resume` of a trial whose record did not finish).
    /// - Returns: The lease, or `nil` when the trial is held, done, or another worker claimed it first.
    /// - Throws: The register's error.
    public func claim(_ key: String, redoingDone: Bool = false) throws -> TrialLease? {
        let text = try register.value(of: key)
        let old = text.flatMap(TrialClaim.init(text:))
        if let old {
            switch standing(of: old) {
            case .held: return nil
            case .done: if !redoingDone { return nil }
            case .free: break
            }
        }
        let at = now()
        let new = TrialClaim(state: .running, owner: owner, expiresAt: at + duration, attempt: (old?.attempt ?? 0) + 1)
        guard try register.replace(key, expected: text, with: new.text) else { return nil }
        return TrialLease(key: key, claim: new, renewedAt: at)
    }

    /// Records a result already known (a trial finished before claims existed) as `done`, if nobody holds it.
    /// - Parameters:
    ///   - key: The trial's key.
    ///   - result: Its result.
    /// - Returns: The result the register holds now: `result`, or the one another worker recorded first.
    /// - Throws: The register's error.
    public func adopt(_ key: String, result: TrialResult) throws -> TrialResult? {
        let text = try register.value(of: key)
        let old = text.flatMap(TrialClaim.init(text:))
        if let old, case .done(let recorded) = standing(of: old) { return recorded }
        let done = TrialClaim(
            state: .done, owner: owner, expiresAt: now(), attempt: old?.attempt ?? 0, result: result)
        if try register.replace(key, expected: text, with: done.text) { return result }
        if case .done(let recorded) = try standing(of: key) { return recorded }
        return nil
    }

    /// Extends a lease by ``duration`` from now.
    /// - Parameter lease: The lease; updated on success.
    /// - Returns: `false` when the lease was lost (it lapsed and another worker claimed the trial).
    /// - Throws: The register's error (the lease is kept; try again later).
    public func renew(_ lease: inout TrialLease) throws -> Bool {
        var next = lease.claim
        let at = now()
        next.expiresAt = at + duration
        guard try register.replace(lease.key, expected: lease.claim.text, with: next.text) else { return false }
        lease.claim = next
        lease.renewedAt = at
        return true
    }

    /// Renews when a third of the lease has passed since the last renewal.
    /// - Parameter lease: The lease.
    /// - Returns: `false` only when the lease was lost; a register error keeps it (the next call retries).
    public func renewIfDue(_ lease: inout TrialLease) -> Bool {
        guard now() - lease.renewedAt >= duration / 3 else { return true }
        do { return try renew(&lease) } catch { return true }
    }

    /// Ends a lease with the trial's result, in one compare-and-set.
    /// - Parameters:
    ///   - lease: The lease.
    ///   - result: The result.
    /// - Returns: `false` when the lease had been lost: the result must not be recorded or counted.
    /// - Throws: The register's error.
    public func finish(_ lease: TrialLease, with result: TrialResult) throws -> Bool {
        var done = lease.claim
        done.state = .done
        done.expiresAt = now()
        done.result = result
        return try register.replace(lease.key, expected: lease.claim.text, with: done.text)
    }

    /// Gives a lease up unfinished, so anyone may claim the trial at once.
    /// - Parameter lease: The lease.
    /// - Returns: `false` when it had been lost already.
    /// - Throws: The register's error.
    public func release(_ lease: TrialLease) throws -> Bool {
        var released = lease.claim
        released.state = .released
        released.expiresAt = now()
        return try register.replace(lease.key, expected: lease.claim.text, with: released.text)
    }
}
