import Engine
import Foundation
import GRDB

/// Predictions in the embedded store (`sonarlab serve` with `[serve] record = local`): one SQLite file
/// `predictions.sqlite` beside the experiment store, WAL mode, through GRDB.
///
/// Table `prediction`: `row_key` (the predictions table's row key, `modelID/inputReference`) primary key,
/// `model`, `input`, `label`, `probability`, `p_mine`, `features_sha256`, `time` (seconds since 1970), `caller`.
/// Writes use `INSERT OR REPLACE`, so a repeated write changes nothing. A write returns once SQLite committed it.
public final class LocalPredictionStore: Sendable {
    private let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the store in `directory`.
    /// - Parameter directory: The folder (created if missing).
    /// - Throws: GRDB's `DatabaseError` or a file-system error.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("predictions.sqlite")
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "prediction", options: .ifNotExists) { t in
                t.primaryKey("row_key", .text)
                t.column("model", .text).notNull().indexed()
                t.column("input", .text).notNull()
                t.column("label", .text).notNull()
                t.column("probability", .double).notNull()
                t.column("p_mine", .double)
                t.column("features_sha256", .text)
                t.column("time", .double).notNull()
                t.column("caller", .text)
            }
        }
        try migrator.migrate(pool)
    }

    /// Writes predictions in one transaction.
    /// - Parameter records: The predictions.
    /// - Throws: GRDB's `DatabaseError`.
    public func write(_ records: [PredictionRecord]) async throws {
        try await pool.write { db in
            for r in records {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO prediction
                        (row_key, model, input, label, probability, p_mine, features_sha256, time, caller)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        "\(r.modelID)/\(r.inputReference)", r.modelID, r.inputReference, r.label.label, r.probability,
                        r.mineProbability, r.featuresSHA256, r.predictedAt.timeIntervalSince1970, r.caller,
                    ])
            }
        }
    }

    /// A model's predictions, by input reference.
    /// - Parameter modelID: The model's id.
    /// - Returns: The predictions.
    /// - Throws: GRDB's `DatabaseError`.
    public func predictions(modelID: String) async throws -> [PredictionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM prediction WHERE model = ? ORDER BY input", arguments: [modelID])
                .compactMap { row -> PredictionRecord? in
                    guard let label = SonarClass(label: row["label"]) else { return nil }
                    return PredictionRecord(
                        modelID: row["model"], inputReference: row["input"], label: label,
                        probability: row["probability"], predictedAt: Date(timeIntervalSince1970: row["time"]),
                        mineProbability: row["p_mine"], featuresSHA256: row["features_sha256"], caller: row["caller"])
                }
        }
    }
}
