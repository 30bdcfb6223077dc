import Foundation
public import HBase

/// SonarLab's tables in HBase (ARCHITECTURE.md "HBase layout"): one namespace, three tables.
///
/// - `experiments`: one row per run, key = the run id with its date digits inverted, so a scan lists
///   newest first. Families `s` (status and metadata), `p` (parameters, one qualifier per key),
///   `m` (final metrics: `m:result` JSON plus flat `m:val_accuracy`, …), `e` (per-epoch metrics, qualifier
///   = zero-padded epoch number, value = JSON).
/// - `datasets`: one row per prepared sample, key `fingerprint/split/index` (index zero-padded). Family `d`.
/// - `predictions`: one row per prediction, key `modelID/inputReference`. Family `p`.
///
/// Every write is idempotent: the same run, sample or prediction always gives the same row key and cells.
public struct HBaseTrackingLayout: Sendable, Equatable {
    /// The namespace.
    ///
    /// Default `sonarlab`.
    public var namespace: String
    /// The experiments table's name.
    ///
    /// Default `experiments`.
    public var experimentsTable: String
    /// The datasets table's name.
    ///
    /// Default `datasets`.
    public var datasetsTable: String
    /// The predictions table's name.
    ///
    /// Default `predictions`.
    public var predictionsTable: String

    /// Creates a layout; every name has the documented default.
    /// - Parameters:
    ///   - namespace: The namespace.
    ///   - experimentsTable: The experiments table.
    ///   - datasetsTable: The datasets table.
    ///   - predictionsTable: The predictions table.
    public init(
        namespace: String = "sonarlab",
        experimentsTable: String = "experiments",
        datasetsTable: String = "datasets",
        predictionsTable: String = "predictions"
    ) {
        self.namespace = namespace
        self.experimentsTable = experimentsTable
        self.datasetsTable = datasetsTable
        self.predictionsTable = predictionsTable
    }

    /// The experiments table.
    public var experiments: HBaseTableName { HBaseTableName(experimentsTable, namespace: namespace) }
    /// The datasets table.
    public var datasets: HBaseTableName { HBaseTableName(datasetsTable, namespace: namespace) }
    /// The predictions table.
    public var predictions: HBaseTableName { HBaseTableName(predictionsTable, namespace: namespace) }

    /// The three schemas (one version per cell: every write is a full, idempotent overwrite).
    public var schemas: [HBaseTableSchema] {
        [
            HBaseTableSchema(
                table: experiments, families: ["s", "p", "m", "e"].map { HBaseColumnFamily($0, maxVersions: 1) }),
            HBaseTableSchema(table: datasets, families: [HBaseColumnFamily("d", maxVersions: 1)]),
            HBaseTableSchema(table: predictions, families: [HBaseColumnFamily("p", maxVersions: 1)]),
        ]
    }

    /// Creates the namespace and any missing table or family; safe to run again (`sonarlab hbase init`).
    /// - Parameter client: The HBase client.
    /// - Returns: What was created, for example `["namespace sonarlab", "table sonarlab:experiments"]`; empty when
    ///   everything existed.
    /// - Throws: ``HBaseError`` (`unauthorized`, `forbidden`, `unavailable`, `transport`, …).
    @discardableResult
    public func ensure(using client: HBaseClient) async throws -> [String] {
        var created: [String] = []
        // Reading a namespace descriptor needs Admin under HBase's AccessController; a user with Create on
        // the namespace (SonarLab's trainer) gets 403 there. The namespace then exists (403 is only given
        // for an existing one): go on to the tables, which need only Create.
        let exists: Bool
        do {
            exists = try await client.namespaceProperties(namespace) != nil
        } catch HBaseError.forbidden {
            exists = true
        }
        if !exists {
            do {
                try await client.createNamespace(namespace)
                created.append("namespace \(namespace)")
            } catch HBaseError.alreadyExists {
                // Another process won the race.
            }
        }
        for schema in schemas {
            // POST creates the table or adds missing families, keeping the others (HBASE_REST.md §1).
            if try await client.alterTable(schema) { created.append("table \(schema.table.qualified)") }
        }
        return created
    }

    /// What `sonarlab hbase status` shows: the cluster version and each table's presence.
    /// - Parameter client: The HBase client.
    /// - Returns: Version and table presence.
    /// - Throws: ``HBaseError``.
    public func status(using client: HBaseClient) async throws -> HBaseTrackingStatus {
        let version = try await client.clusterVersion()
        var tables: [String: Bool] = [:]
        for table in [experiments, datasets, predictions] {
            tables[table.qualified] = try await client.tableExists(table)
        }
        return HBaseTrackingStatus(clusterVersion: version, tables: tables)
    }
}

/// The result of ``HBaseTrackingLayout/status(using:)``.
public struct HBaseTrackingStatus: Sendable, Equatable {
    /// The HBase version the gateway reports.
    public var clusterVersion: String
    /// Qualified table name → whether it exists.
    public var tables: [String: Bool]

    /// Whether every table exists.
    public var isInitialized: Bool { tables.values.allSatisfy { $0 } }
}
