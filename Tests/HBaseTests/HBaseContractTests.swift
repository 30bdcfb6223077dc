import Foundation
import HBase
import Testing

/// The contract suite: the client against an HBase REST URL.
///
/// The double by default, a real gateway when `SONARLAB_HBASE_CONTRACT_URL` is set. Every test uses its own table and drops it.
@Suite("HBase REST contract")
struct HBaseContractTests {
    @Test func clusterVersionAndStatusAreReported() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            let version = try await client.clusterVersion()
            #expect(version.hasPrefix("2."))
            let rest = try await client.restVersion()
            #expect(rest.rest == "0.0.3")
            let status = try await client.clusterStatus()
            #expect(!status.liveNodes.isEmpty)
        }
    }

    @Test func namespaceLifecycleCreatesListsAndDeletes() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            let namespace = ContractTarget.uniqueName("ns")
            #expect(try await client.namespaceProperties(namespace) == nil)
            try await client.createNamespace(namespace, properties: ["owner": "contract"])
            #expect(try await client.listNamespaces().contains(namespace))
            #expect(try await client.namespaceProperties(namespace)?["owner"] == "contract")
            await #expect(throws: HBaseError.alreadyExists) { try await client.createNamespace(namespace) }

            try await ContractTarget.withTable(client, "inns", namespace: namespace) {
                (table: HBaseTableName) async throws in
                #expect(try await client.listTables(inNamespace: namespace).map(\.name) == [table.name])
                #expect(try await client.listTables().contains(table))
                // A non-empty namespace cannot be dropped (§1: 503).
                await #expect(throws: HBaseError.unavailable) { try await client.deleteNamespace(namespace) }
                try await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: col("cf", "q"), string: "v")]), into: table)
                #expect(try await client.row("r", in: table)?.string(of: col("cf", "q")) == "v")
            }
            try await client.deleteNamespace(namespace)
            #expect(try await client.namespaceProperties(namespace) == nil)
            await #expect(throws: HBaseError.namespaceNotFound) { try await client.deleteNamespace(namespace) }
        }
    }

    @Test func schemaRoundTripsVersionsAndTTLAndAlterKeepsOtherFamilies() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            let families = [HBaseColumnFamily("a", maxVersions: 5, timeToLive: 86400), HBaseColumnFamily("b")]
            try await ContractTarget.withTable(client, "schema", families: families) {
                (table: HBaseTableName) async throws in
                #expect(try await client.tableExists(table))
                let schema = try await client.tableSchema(table)
                #expect(schema.family("a")?.maxVersions == 5)
                #expect(schema.family("a")?.timeToLive == 86400)
                #expect(schema.family("b") != nil)

                let created = try await client.alterTable(
                    HBaseTableSchema(
                        table: table,
                        families: [HBaseColumnFamily("c", maxVersions: 2), HBaseColumnFamily("a", maxVersions: 7)]))
                #expect(created == false)
                let altered = try await client.tableSchema(table)
                #expect(Set(altered.families.map(\.name)) == ["a", "b", "c"])
                #expect(altered.family("a")?.maxVersions == 7)
                #expect(altered.family("c")?.maxVersions == 2)
            }
        }
    }

    @Test func droppedOrMissingTableIsReportedAsNotFound() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            let table = HBaseTableName(ContractTarget.uniqueName("missing"))
            #expect(try await client.tableExists(table) == false)
            await #expect(throws: HBaseError.tableNotFound) { try await client.tableSchema(table) }
            await #expect(throws: HBaseError.tableNotFound) { try await client.dropTable(table) }
            await #expect(throws: HBaseError.tableNotFound) {
                try await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: col("cf", "q"), string: "v")]), into: table)
            }
            // A row GET on a missing table is a 404 like a missing row (§3.3).
            #expect(try await client.row("r", in: table) == nil)
        }
    }

    @Test func putAndGetOneRowWithColumnsAndMissingRow() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "get") { (table: HBaseTableName) async throws in
                let row = HBaseRow(
                    key: "run-1",
                    cells: [
                        HBaseCell(column: col("cf", "loss"), string: "0.25"),
                        HBaseCell(column: col("cf", "acc"), string: "0.9"),
                        HBaseCell(column: col("meta", "status"), string: "done"),
                    ])
                try await client.put(row, into: table)
                let all = try #require(try await client.row("run-1", in: table))
                #expect(all.cells.count == 3)
                #expect(all.string(of: col("cf", "loss")) == "0.25")
                #expect(all.cells.allSatisfy { ($0.timestamp ?? 0) > 0 })

                let one = try #require(try await client.row("run-1", in: table, columns: [col("cf", "acc")]))
                #expect(one.cells.map(\.column) == [col("cf", "acc")])
                let family = try #require(try await client.row("run-1", in: table, columns: [HBaseColumn("meta", nil)]))
                #expect(family.cells.map(\.column) == [col("meta", "status")])

                #expect(try await client.row("run-2", in: table) == nil)
                #expect(try await client.row("run-1", in: table, columns: [col("cf", "nothing")]) == nil)
            }
        }
    }

    @Test func putIntoUnknownFamilyIsNotFoundAndWritesNothing() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "badcf") { (table: HBaseTableName) async throws in
                let error = await #expect(throws: HBaseError.tableNotFound) {
                    try await client.put(
                        HBaseRow(key: "r", cells: [HBaseCell(column: col("nope", "q"), string: "v")]), into: table)
                }
                #expect(error?.message.contains(table.qualified) == true)
                #expect(try await client.row("r", in: table) == nil)
            }
        }
    }

    @Test func manyRowsInOneRequestComeBackInByteOrder() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "many") { (table: HBaseTableName) async throws in
                let keys = ["b", "a", "a0", "B", "c~", "a/b", "\u{7F}", "Z"]
                try await client.put(
                    keys.map { HBaseRow(key: $0, cells: [HBaseCell(column: col("cf", "k"), string: $0)]) }, into: table)
                let rows = try await client.scan(HBaseScan(), in: table)
                let expected = keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }.map {
                    String(decoding: $0, as: UTF8.self)
                }
                #expect(rows.map(\.keyString) == expected)
                #expect(rows.allSatisfy { $0.string(of: col("cf", "k")) == $0.keyString })
            }
        }
    }

    @Test func rowKeysWithReservedCharactersRoundTrip() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "keys") { (table: HBaseTableName) async throws in
                // §7.5: +, /, ",", *, :, space, %, ? and non-ASCII must survive the path.
                let keys = [
                    "a+b", "http://example.com/foo", "x,y", "pre*", "ns:row", "with space", "100%", "q?x=1&y", "é✓",
                ]
                for key in keys {
                    try await client.put(
                        HBaseRow(key: key, cells: [HBaseCell(column: col("cf", "q:with:colons"), string: key)]),
                        into: table)
                }
                for key in keys {
                    let row = try #require(try await client.row(key, in: table), "row \(key)")
                    #expect(row.keyString == key)
                    #expect(row.string(of: col("cf", "q:with:colons")) == key)
                }
                // Multiget parses each row as a row spec, where a trailing `*` is a glob (§3.1): leave it out.
                let plain = keys.filter { !$0.hasSuffix("*") }
                let multi = try await client.rows(plain.map { Data($0.utf8) }, in: table)
                #expect(Set(multi.map(\.keyString)) == Set(plain))
                try await client.delete(Data("a+b".utf8), from: table)
                #expect(try await client.row("a+b", in: table) == nil)
                #expect(try await client.row("with space", in: table) != nil)
            }
        }
    }

    @Test func versionsAndTimestampsAreKeptUpToTheFamilyLimit() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "versions") { (table: HBaseTableName) async throws in
                let column = col("cf", "v")
                for ts in 1...5 {
                    try await client.put(
                        HBaseRow(key: "r", cells: [HBaseCell(column: column, string: "v\(ts)", timestamp: Int64(ts))]),
                        into: table)
                }
                let latest = try #require(try await client.row("r", in: table))
                #expect(latest.cells.count == 1)
                #expect(latest.cells.first?.timestamp == 5)
                #expect(latest.string(of: column) == "v5")

                // VERSIONS = 3 on `cf`: only the three newest remain, newest first.
                let all = try #require(try await client.row(Data("r".utf8), in: table, maxVersions: 10))
                #expect(all.cells.map(\.timestamp) == [5, 4, 3])

                // §3.2: a time range [start, end) in the path.
                let ranged = try #require(
                    try await client.row(
                        Data("r".utf8), in: table, columns: [column], maxVersions: 10, timeRange: 3..<5))
                #expect(ranged.cells.map(\.timestamp) == [4, 3])
            }
        }
    }

    @Test func multigetReturnsOnlyRowsThatExist() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "multi") { (table: HBaseTableName) async throws in
                try await client.put(
                    [
                        HBaseRow(
                            key: "r1",
                            cells: [
                                HBaseCell(column: col("cf", "a"), string: "1"),
                                HBaseCell(column: col("meta", "m"), string: "x"),
                            ]),
                        HBaseRow(key: "r2", cells: [HBaseCell(column: col("cf", "a"), string: "2")]),
                    ], into: table)
                let rows = try await client.rows(["r1", "r2", "r3"].map { Data($0.utf8) }, in: table)
                #expect(rows.map(\.keyString) == ["r1", "r2"])
                let narrowed = try await client.rows([Data("r1".utf8)], in: table, columns: [col("cf", "a")])
                #expect(narrowed.first?.cells.map(\.column) == [col("cf", "a")])
                #expect(try await client.rows([Data("none".utf8)], in: table).isEmpty)
            }
        }
    }

    @Test func statefulScannerHonoursRangePrefixColumnsAndBatch() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "scan") { (table: HBaseTableName) async throws in
                var rows: [HBaseRow] = []
                for i in 0..<12 {
                    let key = String(format: "%@-%03d", i % 2 == 0 ? "even" : "odd", i)
                    rows.append(
                        HBaseRow(
                            key: key,
                            cells: [
                                HBaseCell(column: col("cf", "a"), string: "a\(i)"),
                                HBaseCell(column: col("cf", "b"), string: "b\(i)"),
                                HBaseCell(column: col("meta", "c"), string: "c\(i)"),
                            ]))
                }
                try await client.put(rows, into: table)

                // batch = 2 cells per GET: rows split across batches are merged back (§3.8).
                let all = try await client.scan(HBaseScan(batch: 2), in: table)
                #expect(all.count == 12)
                #expect(all.allSatisfy { $0.cells.count == 3 })

                let even = try await client.scan(.prefix("even-"), in: table)
                #expect(even.map(\.keyString) == stride(from: 0, to: 12, by: 2).map { String(format: "even-%03d", $0) })

                let ranged = try await client.scan(
                    HBaseScan(startRow: Data("odd-003".utf8), endRow: Data("odd-007".utf8), columns: [col("cf", "b")]),
                    in: table)
                #expect(ranged.map(\.keyString) == ["odd-003", "odd-005"])
                #expect(ranged.allSatisfy { $0.cells.map(\.column) == [col("cf", "b")] })

                // Manual batches: the first holds at most `batch` cells; the scanner ends with nil (204).
                let scanner = try await client.openScanner(
                    HBaseScan(columns: [HBaseColumn("meta", nil)], batch: 5), in: table)
                var cells = 0
                var batches = 0
                while let batch = try await scanner.next() {
                    let count = batch.reduce(0) { $0 + $1.cells.count }
                    #expect(count <= 5)
                    cells += count
                    batches += 1
                }
                #expect(cells == 12)
                #expect(batches == 3)
                try await scanner.close()
            }
        }
    }

    @Test func scannerOnMissingTableFailsOnFirstBatch() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            let table = HBaseTableName(ContractTarget.uniqueName("noscan"))
            // §3.8: creation still answers 201; the first GET is a 404.
            let scanner = try await client.openScanner(HBaseScan(), in: table)
            await #expect(throws: HBaseError.tableNotFound) { _ = try await scanner.next() }
            try await scanner.close()
        }
    }

    @Test func statelessScanUsesExplicitBoundsAndLimit() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "stateless") { (table: HBaseTableName) async throws in
                let keys = ["aa", "ab", "aba", "abz", "ac", "b"]
                try await client.put(
                    keys.map { HBaseRow(key: $0, cells: [HBaseCell(column: col("cf", "x"), string: $0)]) }, into: table)
                let prefixed = try await client.statelessScan(.prefix("ab"), in: table)
                #expect(prefixed.map(\.keyString) == ["ab", "aba", "abz"])
                let limited = try await client.statelessScan(HBaseScan(startRow: Data("ab".utf8)), in: table, limit: 2)
                #expect(limited.map(\.keyString) == ["ab", "aba"])
                let none = try await client.statelessScan(.prefix("zz"), in: table)
                #expect(none.isEmpty)
            }
        }
    }

    @Test func deleteRemovesAColumnThenTheRowAndTombstonesHideOlderPuts() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "delete") { (table: HBaseTableName) async throws in
                try await client.put(
                    HBaseRow(
                        key: "r",
                        cells: [
                            HBaseCell(column: col("cf", "a"), string: "1"),
                            HBaseCell(column: col("cf", "b"), string: "2"),
                        ]), into: table)
                try await client.delete(Data("r".utf8), from: table, columns: [col("cf", "a")])
                let after = try #require(try await client.row("r", in: table))
                #expect(after.cells.map(\.column) == [col("cf", "b")])

                try await client.delete(Data("r".utf8), from: table)
                #expect(try await client.row("r", in: table) == nil)

                // §7.8: a put older than the delete stays hidden; a newer one is visible.
                try await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: col("cf", "a"), string: "old", timestamp: 1)]),
                    into: table)
                #expect(try await client.row("r", in: table) == nil)
                try await client.put(
                    HBaseRow(key: "r", cells: [HBaseCell(column: col("cf", "a"), string: "new")]), into: table)
                #expect(try await client.row("r", in: table)?.string(of: col("cf", "a")) == "new")

                await #expect(throws: HBaseError.tableNotFound) {
                    try await client.delete(Data("r".utf8), from: table, columns: [col("nofamily", "x")])
                }
            }
        }
    }

    @Test func checkAndPutWritesOnlyWhenTheConditionHolds() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "cas") { (table: HBaseTableName) async throws in
                let status = col("meta", "status")
                try await client.put(
                    HBaseRow(key: "run", cells: [HBaseCell(column: status, string: "running")]), into: table)

                let lost = try await client.checkAndPut(
                    [HBaseCell(column: status, string: "done"), HBaseCell(column: col("cf", "acc"), string: "0.9")],
                    row: Data("run".utf8), in: table, ifColumn: status, equals: Data("queued".utf8)
                )
                #expect(lost == false)
                #expect(try await client.row("run", in: table)?.string(of: status) == "running")
                #expect(try await client.row("run", in: table, columns: [col("cf", "acc")]) == nil)

                let won = try await client.checkAndPut(
                    [HBaseCell(column: status, string: "done"), HBaseCell(column: col("cf", "acc"), string: "0.9")],
                    row: Data("run".utf8), in: table, ifColumn: status, equals: Data("running".utf8)
                )
                #expect(won)
                let row = try #require(try await client.row("run", in: table))
                #expect(row.string(of: status) == "done")
                #expect(row.string(of: col("cf", "acc")) == "0.9")

                // §3.5: one written cell must use the condition's column.
                await #expect(throws: HBaseError.badRequest) {
                    _ = try await client.checkAndPut(
                        [HBaseCell(column: col("cf", "acc"), string: "1.0")],
                        row: Data("run".utf8), in: table, ifColumn: status, equals: Data("done".utf8)
                    )
                }
            }
        }
    }

    /// HRegion.checkAndMutate treats a null or empty expected value as "no cell": the compare-and-set that creates a
    /// sweep's trial claim (RowResource.checkAndPut passes the condition cell's value, here empty, to `ifEquals`).
    @Test func checkAndPutWithAnEmptyExpectedValueWritesOnlyAnAbsentCell() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "casabsent") { (table: HBaseTableName) async throws in
                let claim = col("meta", "claim")
                let first = try await client.checkAndPut(
                    [HBaseCell(column: claim, string: "a")], row: Data("trial".utf8), in: table, ifColumn: claim,
                    equals: Data())
                #expect(first)
                let second = try await client.checkAndPut(
                    [HBaseCell(column: claim, string: "b")], row: Data("trial".utf8), in: table, ifColumn: claim,
                    equals: Data())
                #expect(second == false)
                #expect(try await client.row("trial", in: table)?.string(of: claim) == "a")
                let swapped = try await client.checkAndPut(
                    [HBaseCell(column: claim, string: "b")], row: Data("trial".utf8), in: table, ifColumn: claim,
                    equals: Data("a".utf8))
                #expect(swapped)
                #expect(try await client.row("trial", in: table)?.string(of: claim) == "b")
            }
        }
    }

    @Test func replacingASchemaDropsUnlistedFamilies() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "replace") { (table: HBaseTableName) async throws in
                try await client.createOrReplaceTable(
                    HBaseTableSchema(table: table, families: [HBaseColumnFamily("cf", maxVersions: 3)]))
                let schema = try await client.tableSchema(table)
                #expect(schema.families.map(\.name) == ["cf"])
            }
        }
    }
}
