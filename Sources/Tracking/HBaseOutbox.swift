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
    public init(
        sequence: Int64, cluster: String, table: String, rows: [HBaseRow], enqueuedAt: Date, origin: String,
        attempts: Int = 0, lastError: String? = nil
    ) {
        self.sequence = sequence
        self.cluster = cluster
        self.table = table
        self.rows = rows
        self.enqueuedAt = enqueuedAt
        self.origin = origin
        self.attempts = attempts
        self.lastError = lastError
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
        try migrator.migrate(pool)
    }

    /// Opens the outbox of a tracking directory: `<directory>/hbase-outbox.sqlite`.
    /// - Parameter directory: The `[tracking] dir` folder.
    /// - Returns: The outbox.
    /// - Throws: As ``init(path:)``.
    public static func inDirectory(_ directory: String) throws -> HBaseOutbox {
        try HBaseOutbox(path: (directory as NSString).appendingPathComponent(fileName))
    }

    /// The cluster key of a gateway URL: `scheme://host:port/path` without user info, query or fragment.
    ///
    /// Entries are replayed only to a gateway with the same key.
    /// - Parameter url: The gateway's base URL.
    /// - Returns: For example `https://hbase-rest.example:8443`.
    public static func clusterKey(for url: URL) -> String {
        let scheme = (url.scheme ?? "http").lowercased()
        let host = (url.host ?? "").lowercased()
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
                    origin: row["origin"], attempts: row["attempts"], lastError: row["last_error"])
            }
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

    /// Records a failed attempt on entries (attempt count and the error's message).
    /// - Parameters:
    ///   - sequences: The entries that were in the failed request.
    ///   - message: The error's message (no secrets, no cell values).
    /// - Throws: GRDB's `DatabaseError`.
    public func recordFailure(_ sequences: [Int64], message: String) async throws {
        guard !sequences.isEmpty else { return }
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE entry SET attempts = attempts + 1, last_error = ?
                    WHERE seq IN (\(sequences.map { _ in "?" }.joined(separator: ",")))
                    """,
                arguments: StatementArguments([message]) + StatementArguments(sequences))
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
