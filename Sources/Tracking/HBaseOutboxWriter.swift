import Foundation
public import HBase

/// The outbox's decisions as pure functions, tested without I/O: what a failure means, how long to wait,
/// and how queued entries are grouped into requests.
public struct HBaseOutboxPolicy: Sendable, Equatable {
    /// What a failed put means for the outbox.
    public enum Disposition: Sendable, Equatable {
        /// HBase is away or overloaded (transport error, timeout, HTTP 5xx): keep the entries, retry later.
        case retryLater
        /// HBase refused the write (401, 403, 404, 400, other 4xx): keep the entries, stop sending, and
        /// tell the user what to fix. Queuing silently would hide a misconfiguration.
        case blocked
        /// The task was cancelled: keep the entries, nothing is wrong with HBase.
        case cancelled
    }

    /// The wait after the first failed delivery.
    ///
    /// Default 1 s.
    public var initialBackoff: Duration
    /// The longest wait between delivery attempts.
    ///
    /// Default 8 s.
    public var maxBackoff: Duration
    /// Rows per request when several entries are sent together.
    ///
    /// Default 500 (the stores' own batch size).
    public var maxRowsPerRequest: Int
    /// Request body bytes (CellSet JSON, before base64 overhead is counted twice) per request.
    ///
    /// Default 2 MiB.
    public var maxBytesPerRequest: Int

    /// Creates a policy; every argument has the documented default.
    /// - Parameters:
    ///   - initialBackoff: The wait after the first failure.
    ///   - maxBackoff: The cap on any wait.
    ///   - maxRowsPerRequest: Rows per request.
    ///   - maxBytesPerRequest: Approximate body bytes per request.
    public init(
        initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(8), maxRowsPerRequest: Int = 500,
        maxBytesPerRequest: Int = 2 << 20
    ) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRowsPerRequest = max(1, maxRowsPerRequest)
        self.maxBytesPerRequest = max(1, maxBytesPerRequest)
    }

    /// Sorts a failed put: only "HBase is away" keeps the outbox retrying on its own.
    /// - Parameter error: What the put threw.
    /// - Returns: ``Disposition/retryLater`` for ``HBaseError/transport``, ``HBaseError/timeout``,
    ///   ``HBaseError/unavailable`` (503), ``HBaseError/serverError`` (500) and any other HTTP 5xx (HBASE_REST.md
    ///   §3.9); ``Disposition/cancelled`` for `CancellationError`; ``Disposition/blocked`` for everything else.
    public static func disposition(of error: any Error) -> Disposition {
        if error is CancellationError { return .cancelled }
        guard let error = error as? HBaseError else { return .blocked }
        switch error {
        case HBaseError.transport, HBaseError.timeout, HBaseError.unavailable, HBaseError.serverError:
            return .retryLater
        case HBaseError.notImplemented:
            return .blocked
        default:
            if let status = error.status, status >= 500 { return .retryLater }
            return .blocked
        }
    }

    /// The wait before the next attempt after `failures` consecutive failed deliveries (1 is the first).
    /// - Parameter failures: Consecutive failures so far (at least 1).
    /// - Returns: `initialBackoff · 2^(failures-1)`, capped at ``maxBackoff``.
    public func backoff(afterFailures failures: Int) -> Duration {
        var wait = initialBackoff
        var n = 1
        while n < failures, wait < maxBackoff {
            wait = wait * 2
            n += 1
        }
        return min(wait, maxBackoff)
    }

    /// Groups entries, in order, into requests: consecutive entries for the same table, up to
    /// ``maxRowsPerRequest`` rows and about ``maxBytesPerRequest`` bytes (an entry is never split).
    /// - Parameter entries: Entries in sequence order.
    /// - Returns: The requests, in order; their concatenation is `entries`.
    public func requests(for entries: [HBaseOutboxEntry]) -> [[HBaseOutboxEntry]] {
        var groups: [[HBaseOutboxEntry]] = []
        var current: [HBaseOutboxEntry] = []
        var rows = 0
        var bytes = 0
        for entry in entries {
            let entryBytes = entry.rows.reduce(0) {
                $0 + $1.key.count + $1.cells.reduce(0) { $0 + $1.value.count + 32 }
            }
            if let first = current.first,
                first.table != entry.table || rows + entry.rows.count > maxRowsPerRequest
                    || bytes + entryBytes > maxBytesPerRequest
            {
                groups.append(current)
                current = []
                rows = 0
                bytes = 0
            }
            current.append(entry)
            rows += entry.rows.count
            bytes += entryBytes
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }
}

/// What a delivery attempt did (``HBaseOutboxWriter/deliver(waitingForLockUpTo:)``).
public struct HBaseOutboxDelivery: Sendable, Equatable {
    /// Entries sent and removed in this attempt.
    public var sentEntries: Int
    /// Rows in them.
    public var sentRows: Int
    /// What is still queued for this cluster.
    public var pending: PendingWrites
    /// Whether another process held the drainer lock for the whole wait (nothing was sent by this one).
    public var lockWasBusy: Bool
    /// Entries queued for other clusters (cluster key → count): never sent here.
    public var otherClusters: [String: Int]
}

/// The one path of SonarLab's HBase writes: every write is kept in the ``HBaseOutbox`` first, then sent in
/// order by a background drain; it is removed only after HBase accepted it.
///
/// - Order: a write never overtakes an older queued one for the same cluster; entries are sent in sequence
///   order by one drainer at a time across processes (the outbox's `flock`).
/// - Idempotence: each write's cells get a client timestamp (milliseconds since 1970, strictly increasing in
///   this process) before they are queued, so a replay rewrites the same versions (HBASE_REST.md §2, §3.4) —
///   and a late replay of an older write can never hide a newer one.
/// - Outages: a transport error, timeout or 5xx keeps the entries and waits (``HBaseOutboxPolicy/backoff(afterFailures:)``)
///   before the next attempt; writes keep being queued meanwhile.
/// - Refusals: 401, 403, 404 and other 4xx stop this writer's sending (the entries stay, nothing is lost) and
///   the next ``write(_:into:origin:)`` throws an ``HBaseError`` whose message says what to fix.
public actor HBaseOutboxWriter {
    /// The durable queue.
    public nonisolated let outbox: HBaseOutbox
    /// The client (shared; the caller shuts it down).
    public nonisolated let client: HBaseClient
    /// The cluster key of the client's gateway (``HBaseOutbox/clusterKey(for:)``).
    public nonisolated let cluster: String
    /// Who the client authenticates as, for messages, for example `principal trainer` or `no authentication`.
    public nonisolated let identity: String
    /// Backoff and grouping.
    public nonisolated let policy: HBaseOutboxPolicy

    private var drainTask: Task<Void, Never>?
    private var retryAt: ContinuousClock.Instant?
    private var failures = 0
    private var lastError: String?
    private var refusal: HBaseError?
    private var refusalReported = false
    private var lastTimestamp: Int64 = 0
    private var sentEntries = 0
    private var sentRows = 0

    /// Creates the writer.
    /// - Parameters:
    ///   - outbox: The durable queue.
    ///   - client: The HBase client whose gateway receives the writes.
    ///   - identity: Who the client is, for messages (never a secret).
    ///   - policy: Backoff and grouping.
    public init(
        outbox: HBaseOutbox, client: HBaseClient, identity: String = "the configured identity",
        policy: HBaseOutboxPolicy = HBaseOutboxPolicy()
    ) {
        self.outbox = outbox
        self.client = client
        self.cluster = HBaseOutbox.clusterKey(for: client.configuration.baseURL)
        self.identity = identity
        self.policy = policy
    }

    /// Keeps a write in the outbox and starts delivering it (and anything queued before it) in the background.
    ///
    /// Returns once the write is durable, before it reaches HBase.
    /// - Parameters:
    ///   - rows: The rows; their cells' timestamps are replaced by this write's timestamp.
    ///   - table: The table.
    ///   - origin: Who writes: an experiment id, `dataset load`, `predict`.
    /// - Throws: ``HBaseError/invalidArgument`` for a row without cells or a cell without qualifier (nothing is
    ///   queued); the ``HBaseError`` that stopped delivery (`unauthorized`, `forbidden`, `tableNotFound`, …)
    ///   once, on the first write after it (this write is still kept); ``HBaseOutboxError`` or GRDB's error when
    ///   the outbox cannot be written (the write is not kept).
    public func write(_ rows: [HBaseRow], into table: HBaseTableName, origin: String) async throws {
        guard !rows.isEmpty else { return }
        for row in rows where row.cells.isEmpty || row.cells.contains(where: { $0.column.qualifier == nil }) {
            throw HBaseError.invalidArgument.with(
                message: "write to '\(table.qualified)': every cell needs a family and a qualifier, and a row a cell")
        }
        let timestamp = nextTimestamp()
        let stamped = rows.map { row in
            HBaseRow(
                key: row.key,
                cells: row.cells.map { HBaseCell(column: $0.column, value: $0.value, timestamp: timestamp) })
        }
        try await outbox.enqueue(stamped, into: table, cluster: cluster, origin: origin)
        if let refusal {
            if !refusalReported {
                refusalReported = true
                throw refusal
            }
            return
        }
        startDrainIfDue()
    }

    /// What is queued for this cluster and why.
    /// - Returns: The pending writes (count 0 when the outbox cannot be read).
    public func pending() async -> PendingWrites {
        let count = (try? await outbox.count(cluster: cluster)) ?? 0
        return PendingWrites(
            count: count, reason: refusal?.message ?? (count > 0 ? lastError : nil), isBlocked: refusal != nil,
            refusal: refusal)
    }

    /// Waits for a background delivery in flight, if any (read-your-writes before a read).
    public func settle() async {
        await drainTask?.value
    }

    /// Delivers now: waits for the background delivery, then sends everything queued for this cluster, in
    /// order, until the outbox is empty or a put fails (even during a backoff; not after a refusal of this
    /// writer unless `retryRefused`).
    /// - Parameters:
    ///   - lockWait: How long to wait for another process that is delivering.
    ///   - retryRefused: Whether to try again after this writer saw a refusal (`sonarlab sync` does).
    /// - Returns: What was sent and what is left.
    public func deliver(waitingForLockUpTo lockWait: Duration, retryRefused: Bool = false) async -> HBaseOutboxDelivery
    {
        await drainTask?.value
        let sentBefore = (sentEntries, sentRows)
        var lockWasBusy = false
        if retryRefused { refusal = nil }
        if refusal == nil {
            lockWasBusy = !(await drain(lockWait: lockWait))
        }
        let others = ((try? await outbox.countsByCluster()) ?? [:]).filter { $0.key != cluster }
        // A full drain with nothing queued elsewhere: give the file's free pages back (VACUUM).
        if !lockWasBusy, others.isEmpty, (try? await outbox.count(cluster: cluster)) == 0 {
            _ = try? await outbox.compactIfEmpty()
        }
        // Entries left without a failure of this writer are being sent by another process (``lockWasBusy``).
        return HBaseOutboxDelivery(
            sentEntries: sentEntries - sentBefore.0, sentRows: sentRows - sentBefore.1, pending: await pending(),
            lockWasBusy: lockWasBusy, otherClusters: others)
    }

    // MARK: Internals

    private func nextTimestamp() -> Int64 {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        lastTimestamp = max(now, lastTimestamp + 1)
        return lastTimestamp
    }

    private func startDrainIfDue() {
        guard drainTask == nil, refusal == nil else { return }
        if let retryAt, ContinuousClock.now < retryAt { return }
        drainTask = Task {
            _ = await self.drain(lockWait: nil)
            self.drainFinished()
        }
    }

    private func drainFinished() { drainTask = nil }

    /// Sends queued entries in order until empty or a failure.
    /// - Returns: `false` when another process held the lock.
    private func drain(lockWait: Duration?) async -> Bool {
        let lock: HBaseOutbox.Lock?
        do {
            if let lockWait {
                lock = try await outbox.lock(waitingUpTo: lockWait)
            } else {
                lock = try outbox.tryLock()
            }
        } catch {
            noteFailure(String(describing: error))
            return true
        }
        guard let lock else {
            // Another process is delivering; look again shortly.
            retryAt = ContinuousClock.now + .milliseconds(250)
            return false
        }
        defer { lock.release() }
        while true {
            let entries: [HBaseOutboxEntry]
            do {
                entries = try await outbox.entries(cluster: cluster, limit: 256)
            } catch {
                noteFailure("cannot read the outbox \(outbox.path): \(error)")
                return true
            }
            if entries.isEmpty {
                failures = 0
                lastError = nil
                retryAt = nil
                return true
            }
            for request in policy.requests(for: entries) {
                let sequences = request.map(\.sequence)
                let table = HBaseTableName(qualified: request[0].table)
                do {
                    try await client.put(request.flatMap(\.rows), into: table)
                } catch {
                    let message = (error as? HBaseError)?.message ?? String(describing: error)
                    let disposition = HBaseOutboxPolicy.disposition(of: error)
                    try? await outbox.recordFailure(sequences, message: message, isRefusal: disposition == .blocked)
                    switch disposition {
                    case .retryLater: noteFailure(message)
                    case .cancelled: break
                    case .blocked:
                        refusal = refusalError(error, table: table)
                        refusalReported = false
                        lastError = refusal?.message
                    }
                    return true
                }
                do {
                    try await outbox.remove(sequences)
                } catch {
                    // Sent but still queued: a later replay rewrites the same versions.
                    noteFailure("cannot update the outbox \(outbox.path): \(error)")
                    return true
                }
                sentEntries += request.count
                sentRows += request.reduce(0) { $0 + $1.rows.count }
                failures = 0
            }
        }
    }

    private func noteFailure(_ message: String) {
        failures += 1
        lastError = message
        retryAt = ContinuousClock.now + policy.backoff(afterFailures: failures)
    }

    /// The refusal as an error that says what to fix.
    private func refusalError(_ error: any Error, table: HBaseTableName) -> HBaseError {
        let kept = "the writes stay in \(outbox.path); fix it, then run `sonarlab sync`"
        guard let error = error as? HBaseError else {
            return HBaseError.invalidResponse.with(message: "writing \(table.qualified) failed: \(error); \(kept)")
        }
        switch error {
        case HBaseError.unauthorized:
            return error.with(
                message: "HBase rejected the credentials of \(identity) (HTTP 401) writing \(table.qualified): check "
                    + "SONARLAB_HBASE_AUTH and the principal's keytab or ticket (KRB5_CLIENT_KTNAME, kinit) or the "
                    + "Basic user; \(kept)")
        case HBaseError.forbidden:
            // `identity` reads "principal 'name'" or "user 'name'": the grant example uses the name when known.
            let quoted = identity.split(separator: "'", omittingEmptySubsequences: false)
            let grantee = quoted.count == 3 && !quoted[1].contains(" ") ? String(quoted[1]) : "<principal>"
            return error.with(
                message: "HBase refused \(identity) write access to \(table.qualified) (HTTP 403): grant it, e.g. "
                    + "`grant '\(grantee)', 'RW', '\(table.qualified)'` in the HBase shell, or turn off read-only "
                    + "mode; \(kept)")
        case HBaseError.tableNotFound:
            return error.with(
                message: "table \(table.qualified) (or a family) does not exist (HTTP 404): run `sonarlab hbase init`; "
                    + kept)
        default:
            return error.with(message: "\(error.message); \(kept)")
        }
    }
}
