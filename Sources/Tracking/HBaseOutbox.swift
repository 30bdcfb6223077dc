public import Foundation
import GRDB
public import HBase

/// One write kept in the ``HBaseOutbox``: the rows of one store write, waiting for HBase.
public struct HBaseOutboxEntry: Sendable, Equatable {
    /// Position in the outbox; entries are sent in increasing order.
    public var sequence: Int64
    /// The gateway the write is for, without user info (see ``HBaseOutbox/clusterKey(for:)``).
    public var cluster: String
    /// The table, qualified (`namespace:table`).
    public var table: String
    /// The rows (every cell carries a timestamp, so a replay writes the same versions).
    public var rows: [HBaseRow]
    /// When it was queued.
    public var enqueuedAt: Date
    /// Who wrote it: an experiment id, `dataset load` or `predict`.
    public var origin: String
    /// How many times sending it failed.
    public var attempts: Int
    /// The last failure, as an ``HBaseError`` message (never a secret or a cell value).
    public var lastError: String?
    /// Whether the last failure was a refusal (401, 403, 404, other 4xx: waiting does not fix it), not an outage.
    public var isRefused: Bool

    /// Creates an entry (the outbox makes them; tests and tools may too).
    /// - Parameters:
    ///   - sequence: Position in the outbox.
    ///   - cluster: The cluster key.
    ///   - table: The qualified table.
    ///   - rows: The timestamped rows.
    ///   - enqueuedAt: When it was queued.
    ///   - origin: Who wrote it.
    ///   - attempts: Failed sends so far.
    ///   - lastError: The last failure.
    ///   - isRefused: Whether the last failure was a refusal.
    public init(
        sequence: Int64, cluster: String, table: String, rows: [HBaseRow], enqueuedAt: Date, origin: String,
        attempts: Int = 0, lastError: String? = nil, isRefused: Bool = false
    ) {
        self.sequence = sequence
        self.cluster = cluster
        self.table = table
        self.rows = rows
        self.enqueuedAt = enqueuedAt
        self.origin = origin
        self.attempts = attempts
        self.lastError = lastError
        self.isRefused = isRefused
    }
}

/// One queued write as `sonarlab outbox list` shows it: everything but the rows themselves.
public struct HBaseOutboxSummary: Sendable, Equatable {
    /// Position in the outbox (`sonarlab outbox drop --entry N`).
    public var sequence: Int64
    /// The gateway's cluster key (``HBaseOutbox/clusterKey(for:)``).
    public var cluster: String
    /// The table, qualified (`namespace:table`).
    public var table: String
    /// Rows in the write.
    public var rowCount: Int
    /// Who wrote it: an experiment id, `dataset load` or `predict`.
    public var origin: String
    /// When it was queued.
    public var enqueuedAt: Date
    /// Failed sends so far.
    public var attempts: Int
    /// The last failure's message, if any.
    public var lastError: String?
    /// Whether the last failure was a refusal (``HBaseOutboxPolicy/Disposition/blocked``).
    public var isRefused: Bool
}

/// Which entries ``HBaseOutbox/drop(_:)`` removes.
public enum HBaseOutboxSelection: Sendable, Equatable {
    /// Every entry queued for a cluster key.
    case cluster(String)
    /// One entry, by sequence number.
    case entry(Int64)
    /// Every entry queued behind a refusal: all entries for a cluster and table of which one was refused on its
    /// last send (the others would get the same answer; a refused writer stops sending after the first).
    case refused

    /// The selected entries.
    /// - Parameter summaries: The outbox's entries (``HBaseOutbox/summaries()``).
    /// - Returns: Those ``HBaseOutbox/drop(_:)`` removes, in the given order.
    public func select(from summaries: [HBaseOutboxSummary]) -> [HBaseOutboxSummary] {
        switch self {
        case .cluster(let key):
            return summaries.filter { $0.cluster == key }
        case .entry(let sequence):
            return summaries.filter { $0.sequence == sequence }
        case .refused:
            let refused = Set(summaries.filter(\.isRefused).map { [$0.cluster, $0.table] })
            return summaries.filter { refused.contains([$0.cluster, $0.table]) }
        }
    }
}

/// The durable outbox of HBase writes: one SQLite file (WAL, `synchronous=NORMAL`), shared by every process.
///
/// Each store write is appended here *before* it is sent and removed only after HBase accepted it, so a
/// write survives a gateway outage, a `kill -9` of SonarLab in the middle of a put, and a restart. Writes
/// are replayed in sequence order and only to the cluster they were meant for. Every cell carries the
/// timestamp it was given when queued, so sending an entry twice writes the same cell versions again: a
/// replay never duplicates anything (HBASE_REST.md §2 CellSet `timestamp`, §3.4).
///
/// Only one process drains at a time: ``tryLock()`` / ``lock(waitingUpTo:)`` take an exclusive `flock(2)` on
/// `<file>.lock`, which the kernel releases when the holder exits, even by `kill -9`.
public final class HBaseOutbox: Sendable {
    private let pool: DatabasePool
    /// The SQLite file, `<tracking dir>/hbase-outbox.sqlite` in SonarLab.
    public let path: String
    /// The lock file next to it.
    public var lockPath: String { path + ".lock" }

    /// The outbox file's name inside the tracking directory.
    public static let fileName = "hbase-outbox.sqlite"

    /// Opens (creating if needed) the outbox file.
    /// - Parameter path: The SQLite file; its folder is created if missing.
    /// - Throws: GRDB's `DatabaseError` or a file-system error when it cannot be created or opened.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        self.path = path
        // Opening a new outbox (WAL switch, migration) from two processes at once races in SQLite ("database is
        // locked" on `journal_mode`, a duplicate migration record): open under a short exclusive flock of
        // `<file>.open.lock`, which the kernel releases if this process dies.
        let openLock = open(path + ".open.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard openLock >= 0 else {
            throw HBaseOutboxError(message: "cannot open the outbox lock \(path).open.lock: errno \(errno)")
        }
        defer { close(openLock) }
        _ = flock(openLock, LOCK_EX)
        defer { _ = flock(openLock, LOCK_UN) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            // WAL + NORMAL: a committed entry survives the process being killed (kill -9, OOM) at any point; only
            // an OS crash or power loss may lose the last commits. FULL (an fsync per commit) measured 7.3 ms per
            // entry here against 0.3 ms: 2,000 epoch batches of a long run would spend 15 s in fsync.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "entry", options: .ifNotExists) { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("cluster", .text).notNull().indexed()
                t.column("table_name", .text).notNull()
                t.column("rows", .blob).notNull()
                t.column("row_count", .integer).notNull()
                t.column("origin", .text).notNull()
                t.column("enqueued_at", .double).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("last_error", .text)
            }
        }
        migrator.registerMigration("v2-refused") { db in
            // `refused`: whether the last failure was a refusal (`sonarlab outbox drop --refused`).
            if try !db.columns(in: "entry").contains(where: { $0.name == "refused" }) {
                try db.alter(table: "entry") { t in t.add(column: "refused", .boolean).notNull().defaults(to: false) }
            }
        }
        try migrator.migrate(pool)
        try pool.write(Self.normaliseClusterKeys)
    }

    /// Rewrites cluster keys that are not in ``clusterKey(for:)``'s form, so their entries are sent again.
    ///
    /// Keys written by an older SonarLab (before loopback names were unified, the IPv4 loopback address next
    /// to `localhost` for one port) or by another tool. Runs on every open: one indexed `DISTINCT` read when every
    /// key is already normal.
    private static func normaliseClusterKeys(_ db: Database) throws {
        for key in try String.fetchAll(db, sql: "SELECT DISTINCT cluster FROM entry") {
            guard let url = URL(string: key), url.host != nil else { continue }
            let normalised = clusterKey(for: url)
            if normalised != key {
                try db.execute(sql: "UPDATE entry SET cluster = ? WHERE cluster = ?", arguments: [normalised, key])
            }
        }
    }

    /// Opens the outbox of a tracking directory only if its file exists (never creates a folder or file).
    /// - Parameter directory: The `[tracking] dir` folder.
    /// - Returns: The outbox, or `nil` when nothing was ever queued there.
    /// - Throws: As ``init(path:)``.
    public static func existing(inDirectory directory: String) throws -> HBaseOutbox? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try HBaseOutbox(path: path)
    }

    /// Opens the outbox of a tracking directory: `<directory>/hbase-outbox.sqlite`.
    /// - Parameter directory: The `[tracking] dir` folder.
    /// - Returns: The outbox.
    /// - Throws: As ``init(path:)``.
    public static func inDirectory(_ directory: String) throws -> HBaseOutbox {
        try HBaseOutbox(path: (directory as NSString).appendingPathComponent(fileName))
    }

    /// The cluster key of a gateway URL: `scheme://host:port/path`, the one identity of a gateway.
    ///
    /// Entries are replayed only to a gateway with the same key. The scheme and host are lowercased, a
    /// trailing dot of the host is dropped, the loopback names (`localhost` and the IPv4 and IPv6 loopback
    /// addresses) all become `localhost`, a missing port is the scheme's default for `http` or `https`, and
    /// user info, query, fragment and trailing slashes are left out. So an upper-case `LOCALHOST` with a
    /// trailing slash and the IPv4 loopback address of the same port are one gateway; another port is another.
    /// - Parameter url: The gateway's base URL.
    /// - Returns: For example `https://hbase-rest.example:PORT`, or `http://localhost:PORT` for any loopback name.
    /// Whether `host` is the IPv4 loopback address (`INADDR_LOOPBACK`) or the IPv6 one (`in6addr_loopback`), in
    /// any spelling `inet_pton` reads (so `::1` and its long form are one).
    static func isLoopbackAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return v4.s_addr == in_addr_t(INADDR_LOOPBACK).bigEndian }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        var loopback = in6addr_loopback
        return memcmp(&v6, &loopback, MemoryLayout<in6_addr>.size) == 0
    }

    public static func clusterKey(for url: URL) -> String {
        let scheme = (url.scheme ?? "http").lowercased()
        var host = (url.host ?? "").lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix("."), host.count > 1 { host.removeLast() }
        if host == "localhost" || isLoopbackAddress(host) { host = "localhost" }
        if host.contains(":") { host = "[\(host)]" }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        return "\(scheme)://\(host):\(port)\(path)"
    }

    /// Appends a write.
    /// - Parameters:
    ///   - rows: The rows, cells already timestamped.
    ///   - table: The table.
    ///   - cluster: The cluster key.
    ///   - origin: Who wrote it.
    ///   - date: The enqueue time.
    /// - Returns: The entry's sequence number.
    /// - Throws: GRDB's `DatabaseError` (the write was not kept).
    @discardableResult
    public func enqueue(
        _ rows: [HBaseRow], into table: HBaseTableName, cluster: String, origin: String, at date: Date = Date()
    ) async throws -> Int64 {
        let blob = HBaseRow.encodeCellSet(rows)
        return try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO entry (cluster, table_name, rows, row_count, origin, enqueued_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [cluster, table.qualified, blob, rows.count, origin, date.timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    /// The oldest entries of a cluster, in sequence order.
    /// - Parameters:
    ///   - cluster: The cluster key.
    ///   - limit: At most this many.
    /// - Returns: The entries.
    /// - Throws: GRDB's `DatabaseError`; a `DecodingError` for a damaged entry.
    public func entries(cluster: String, limit: Int = 1000) async throws -> [HBaseOutboxEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM entry WHERE cluster = ? ORDER BY seq LIMIT ?", arguments: [cluster, limit]
            ).map { row in
                let blob: Data = row["rows"]
                let enqueued: Double = row["enqueued_at"]
                return HBaseOutboxEntry(
                    sequence: row["seq"], cluster: row["cluster"], table: row["table_name"],
                    rows: try HBaseRow.decodeCellSet(blob), enqueuedAt: Date(timeIntervalSince1970: enqueued),
                    origin: row["origin"], attempts: row["attempts"], lastError: row["last_error"],
                    isRefused: row["refused"])
            }
        }
    }

    /// Every queued entry, without its rows, in sequence order (for `sonarlab outbox list`).
    /// - Returns: The summaries.
    /// - Throws: GRDB's `DatabaseError`.
    public func summaries() async throws -> [HBaseOutboxSummary] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, cluster, table_name, row_count, origin, enqueued_at, attempts, last_error, refused
                    FROM entry ORDER BY seq
                    """
            ).map { row in
                let enqueued: Double = row["enqueued_at"]
                return HBaseOutboxSummary(
                    sequence: row["seq"], cluster: row["cluster"], table: row["table_name"], rowCount: row["row_count"],
                    origin: row["origin"], enqueuedAt: Date(timeIntervalSince1970: enqueued),
                    attempts: row["attempts"], lastError: row["last_error"], isRefused: row["refused"])
            }
        }
    }

    /// Removes the selected entries without sending them, and compacts the file when it is then empty.
    /// - Parameter selection: Which entries.
    /// - Returns: The entries removed, in sequence order (what `sonarlab outbox drop` reports).
    /// - Throws: GRDB's `DatabaseError`.
    @discardableResult
    public func drop(_ selection: HBaseOutboxSelection) async throws -> [HBaseOutboxSummary] {
        let dropped = selection.select(from: try await summaries())
        // Removing by sequence (not by the selection again) drops exactly what was listed, even if another
        // process changed the outbox in between.
        try await remove(dropped.map(\.sequence))
        try await compactIfEmpty()
        return dropped
    }

    /// Gives the file's free pages back to the file system (`VACUUM`, then a WAL checkpoint that truncates the
    /// `-wal` file) when no entry is queued for any cluster.
    ///
    /// Called after a full drain and after ``drop(_:)``: a long outage can grow the outbox to many megabytes,
    /// which SQLite otherwise keeps as free pages.
    /// - Returns: Whether it compacted (`false` when entries are queued or there was nothing to free).
    /// - Throws: GRDB's `DatabaseError`.
    @discardableResult
    public func compactIfEmpty() async throws -> Bool {
        try await pool.writeWithoutTransaction { db in
            let queued = try Int.fetchOne(db, sql: "SELECT count(*) FROM entry") ?? 0
            let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            guard queued == 0, free > 0 else { return false }
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return true
        }
    }

    /// Removes delivered entries.
    /// - Parameter sequences: Their sequence numbers.
    /// - Throws: GRDB's `DatabaseError`.
    public func remove(_ sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM entry WHERE seq IN (\(sequences.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments(sequences))
        }
    }

    /// Records a failed attempt on entries (attempt count, the error's message, and whether it was a refusal).
    /// - Parameters:
    ///   - sequences: The entries that were in the failed request.
    ///   - message: The error's message (no secrets, no cell values).
    ///   - isRefusal: Whether HBase refused them (``HBaseOutboxPolicy/Disposition/blocked``) rather than being away.
    /// - Throws: GRDB's `DatabaseError`.
    public func recordFailure(_ sequences: [Int64], message: String, isRefusal: Bool = false) async throws {
        guard !sequences.isEmpty else { return }
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE entry SET attempts = attempts + 1, last_error = ?, refused = ?
                    WHERE seq IN (\(sequences.map { _ in "?" }.joined(separator: ",")))
                    """,
                arguments: [message, isRefusal] + StatementArguments(sequences))
        }
    }

    /// How many entries wait for a cluster.
    /// - Parameter cluster: The cluster key.
    /// - Returns: The count.
    /// - Throws: GRDB's `DatabaseError`.
    public func count(cluster: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM entry WHERE cluster = ?", arguments: [cluster]) ?? 0
        }
    }

    /// Entries per cluster key, for every cluster.
    /// - Returns: Cluster key → count.
    /// - Throws: GRDB's `DatabaseError`.
    public func countsByCluster() async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT cluster, count(*) AS n FROM entry GROUP BY cluster") {
                let cluster: String = row["cluster"]
                let n: Int = row["n"]
                counts[cluster] = n
            }
            return counts
        }
    }

    // MARK: The drainer lock

    /// The exclusive drainer lock; released by ``release()`` or when the process exits.
    public final class Lock: @unchecked Sendable {
        private var descriptor: Int32
        private let guardLock = NSLock()

        init(descriptor: Int32) { self.descriptor = descriptor }

        /// Releases the lock (idempotent).
        public func release() {
            guardLock.withLock {
                guard descriptor >= 0 else { return }
                _ = flock(descriptor, LOCK_UN)
                close(descriptor)
                descriptor = -1
            }
        }

        deinit { release() }
    }

    /// Takes the drainer lock if no other drainer (in any process) holds it.
    /// - Returns: The lock, or `nil` when another drainer holds it.
    /// - Throws: ``HBaseOutboxError`` when the lock file cannot be opened.
    public func tryLock() throws -> Lock? {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw HBaseOutboxError(message: "cannot open the outbox lock \(lockPath): errno \(errno)")
        }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return Lock(descriptor: fd) }
        close(fd)
        return nil
    }

    /// Takes the drainer lock, waiting for another drainer to finish for at most `timeout`.
    /// - Parameter timeout: The longest wait.
    /// - Returns: The lock, or `nil` when it stayed taken.
    /// - Throws: ``HBaseOutboxError`` when the lock file cannot be opened.
    public func lock(waitingUpTo timeout: Duration) async throws -> Lock? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let lock = try tryLock() { return lock }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// An outbox failure that is not HBase's: the lock or the SQLite file.
public struct HBaseOutboxError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public let message: String
    /// The message.
    public var description: String { message }

    /// Creates an error.
    /// - Parameter message: What failed (no secrets).
    public init(message: String) { self.message = message }
}
