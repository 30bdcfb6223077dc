public import Engine
import Foundation
import GRDB

/// The embedded experiment store: one SQLite file (WAL mode, through GRDB), safe for several processes.
///
/// Tables: `experiment` (one row per run; parameters and result as JSON text) and `epoch`
/// (`experiment_id`, `epoch` primary key, six metrics and elapsed seconds). Writes use
/// `INSERT OR REPLACE`, so every write is idempotent.
public final class LocalStore: ExperimentStore {
    private let pool: DatabasePool
    /// The database file.
    public let path: String

    public var location: String { "local SQLite \(path)" }

    /// Opens (creating if needed) the store in `directory`.
    /// - Parameter directory: the folder; created if missing. The file is `experiments.sqlite`.
    /// - Throws: GRDB's `DatabaseError` or a file-system error when the folder or file cannot be created.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("experiments.sqlite")
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "experiment", options: .ifNotExists) { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .text).notNull()
                t.column("started_at", .double).notNull()
                t.column("ended_at", .double)
                t.column("parameters", .text).notNull()
                t.column("data_fingerprint", .text).notNull()
                t.column("result", .text)
                t.column("model_path", .text)
                t.column("run_directory", .text)
                t.column("message", .text)
            }
            try db.create(table: "epoch", options: .ifNotExists) { t in
                t.column("experiment_id", .text).notNull().indexed()
                t.column("epoch", .integer).notNull()
                t.column("metrics", .text).notNull()
                t.primaryKey(["experiment_id", "epoch"])
            }
        }
        migrator.registerMigration("v2-data-file-sha256") { db in
            // Idempotent like v1: a process racing this one may have added the column already (see below).
            guard try !db.columns(in: "experiment").contains(where: { $0.name == "data_file_sha256" }) else { return }
            try db.alter(table: "experiment") { t in t.add(column: "data_file_sha256", .text) }
        }
        migrator.registerMigration("v2-heartbeat") { db in
            // A running run's heartbeat (``RunHeartbeat``): seconds since 2001 (exact), pid, host name.
            let existing = Set(try db.columns(in: "experiment").map(\.name))
            try db.alter(table: "experiment") { t in
                if !existing.contains("heartbeat_ref") { t.add(column: "heartbeat_ref", .double) }
                if !existing.contains("heartbeat_pid") { t.add(column: "heartbeat_pid", .integer) }
                if !existing.contains("heartbeat_host") { t.add(column: "heartbeat_host", .text) }
            }
        }
        migrator.registerMigration("v3-trial-claim") { db in
            // Shared sweeps' trial claims (``claimValue(key:)``): key = the trial's experiment id, value = its
            // claim's JSON text. Idempotent like v1.
            try db.create(table: "trial_claim", options: .ifNotExists) { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        // Several processes opened a new store at the same moment: GRDB reads the applied migrations before it
        // takes the write lock, so two of them ran the same migration and the later one's record of it collided.
        // Every migration is idempotent (CREATE … IF NOT EXISTS, columns added only when missing), so another
        // pass goes on from what is recorded; with N openers and M migrations a pass can collide again, hence
        // a bounded loop rather than one retry.
        var attempt = 0
        while true {
            do {
                try migrator.migrate(pool)
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT && attempt < 20 {
                attempt += 1
            }
        }
    }

    public func create(_ experiment: Experiment) async throws {
        try await pool.write { db in try Self.upsert(experiment, db) }
    }

    public func appendEpochs(_ epochs: [EpochMetrics], experimentID: String) async throws {
        try await pool.write { db in try Self.upsert(epochs, experimentID, db) }
    }

    public func finish(_ experiment: Experiment) async throws {
        try await pool.write { db in
            try Self.upsert(experiment, db)
            try Self.upsert(experiment.epochs, experiment.id, db)
        }
    }

    public func recordHeartbeat(_ heartbeat: RunHeartbeat, experimentID: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE experiment SET heartbeat_ref = ?, heartbeat_pid = ?, heartbeat_host = ?
                    WHERE id = ? AND status = 'running'
                    """,
                arguments: [
                    heartbeat.at.timeIntervalSinceReferenceDate, heartbeat.pid, heartbeat.host, experimentID,
                ])
        }
    }

    public func experiments(limit: Int?) async throws -> [Experiment] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM experiment ORDER BY started_at DESC, id DESC LIMIT ?", arguments: [limit ?? -1])
            return try rows.map(Self.experiment(from:))
        }
    }

    public func experiment(id: String) async throws -> Experiment? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM experiment WHERE id = ?", arguments: [id]) else {
                return nil
            }
            var experiment = try Self.experiment(from: row)
            let decoder = JSONDecoder()
            experiment.epochs = try String.fetchAll(
                db, sql: "SELECT metrics FROM epoch WHERE experiment_id = ? ORDER BY epoch", arguments: [id]
            ).map { try decoder.decode(EpochMetrics.self, from: Data($0.utf8)) }
            return experiment
        }
    }

    public func checkReachable() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM experiment") }
    }

    /// The claim text of a shared sweep's trial (table `trial_claim`), or `nil` when it was never claimed.
    ///
    /// Synchronous: called from the sweep's own worker threads, never from Swift's cooperative pool.
    /// - Parameter key: The trial's experiment id.
    /// - Returns: The text.
    /// - Throws: GRDB's `DatabaseError` when the file cannot be read.
    public func claimValue(key: String) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM trial_claim WHERE key = ?", arguments: [key])
        }
    }

    /// Replaces a trial's claim text only if it is still `expected` (`nil`: no claim yet), in one SQL statement,
    /// so it is atomic against every process using the file (SQLite's write lock; WAL mode).
    /// - Parameters:
    ///   - key: The trial's experiment id.
    ///   - expected: The text read before, or `nil`.
    ///   - new: The new text.
    /// - Returns: `true` when written.
    /// - Throws: GRDB's `DatabaseError` (after the 30 s busy timeout) when the file cannot be written.
    public func replaceClaim(key: String, expected: String?, with new: String) throws -> Bool {
        try pool.write { db in
            if let expected {
                try db.execute(
                    sql: "UPDATE trial_claim SET value = ? WHERE key = ? AND value = ?",
                    arguments: [new, key, expected])
            } else {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO trial_claim (key, value) VALUES (?, ?)", arguments: [key, new])
            }
            return db.changesCount == 1
        }
    }

    private static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func upsert(_ e: Experiment, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO experiment
                (id, name, kind, status, started_at, ended_at, parameters, data_fingerprint, result, model_path,
                 run_directory, message, data_file_sha256, heartbeat_ref, heartbeat_pid, heartbeat_host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                e.id, e.name, e.kind.rawValue, e.status.rawValue, e.startedAt.timeIntervalSince1970,
                e.endedAt?.timeIntervalSince1970, try json(e.parameters), e.dataFingerprint,
                try e.result.map { try json($0) }, e.modelPath, e.runDirectory, e.message, e.dataFileSHA256,
                e.heartbeat?.at.timeIntervalSinceReferenceDate, e.heartbeat?.pid, e.heartbeat?.host,
            ])
    }

    private static func upsert(_ epochs: [EpochMetrics], _ id: String, _ db: Database) throws {
        for epoch in epochs {
            try db.execute(
                sql: "INSERT OR REPLACE INTO epoch (experiment_id, epoch, metrics) VALUES (?, ?, ?)",
                arguments: [id, epoch.epoch, try json(epoch)])
        }
    }

    private static func experiment(from row: Row) throws -> Experiment {
        let decoder = JSONDecoder()
        var e = Experiment(
            id: row["id"], name: row["name"], kind: ExperimentKind(rawValue: row["kind"]) ?? .train,
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            parameters: try decoder.decode([String: String].self, from: Data((row["parameters"] as String).utf8)),
            dataFingerprint: row["data_fingerprint"], status: RunStatus(rawValue: row["status"]) ?? .failed)
        e.endedAt = (row["ended_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        if let result = row["result"] as String? {
            e.result = try decoder.decode(ExperimentResult.self, from: Data(result.utf8))
        }
        e.modelPath = row["model_path"]
        e.dataFileSHA256 = row["data_file_sha256"]
        e.runDirectory = row["run_directory"]
        e.message = row["message"]
        if let at = row["heartbeat_ref"] as Double?, let pid = row["heartbeat_pid"] as Int32?,
            let host = row["heartbeat_host"] as String?
        {
            e.heartbeat = RunHeartbeat(at: Date(timeIntervalSinceReferenceDate: at), pid: pid, host: host)
        }
        return e
    }
}
