import Foundation
import HBase
import Testing

/// Contract cases from issue 12 §3, true of a real HBase 2.5 gateway (RowSpec, RowResource,
/// RegionsResource, ScannerInstanceResource, TableDescriptorBuilder) and of the double.
extension HBaseContractTests {
    @Test func regionsOfATableCoverItsWholeKeySpace() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "regions") { (table: HBaseTableName) async throws in
                let regions = try await client.regions(of: table)
                #expect(!regions.isEmpty)
                #expect(regions.first?.startKey.isEmpty == true)
                #expect(regions.last?.endKey.isEmpty == true)
                for region in regions { #expect(region.name.hasPrefix(table.qualified + ",")) }
                await #expect(throws: HBaseError.tableNotFound) {
                    try await client.regions(of: HBaseTableName(ContractTarget.uniqueName("absent")))
                }
            }
        }
    }

    @Test func schemaListsFamiliesInByteOrderAndMarksTheTableAsNotMeta() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            let families = [HBaseColumnFamily("zeta"), HBaseColumnFamily("Beta"), HBaseColumnFamily("alpha")]
            try await ContractTarget.withTable(client, "order", families: families) {
                (table: HBaseTableName) async throws in
                let schema = try await client.tableSchema(table)
                #expect(schema.families.map(\.name) == ["Beta", "alpha", "zeta"])
                #expect(schema.attributes["IS_META"] == "false")
            }
        }
    }

    @Test func rowKeysThatAreNotUTF8AreReadExactlyAndTheirDeleteIsRefused() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "binkeys") { (table: HBaseTableName) async throws in
                let raw = Data([0xFF, 0x61, 0xFE])
                let replacement = Data("\u{FFFD}a\u{FFFD}".utf8)
                try await client.put(
                    [
                        HBaseRow(key: raw, cells: [HBaseCell(column: col("cf", "q"), string: "raw")]),
                        HBaseRow(key: replacement, cells: [HBaseCell(column: col("cf", "q"), string: "replacement")]),
                    ], into: table)
                #expect(try await client.row(raw, in: table)?.string(of: col("cf", "q")) == "raw")
                #expect(try await client.row(replacement, in: table)?.string(of: col("cf", "q")) == "replacement")
                #expect(try await client.row(Data([0xFF]), in: table) == nil)
                let both = try await client.rows([raw, replacement], in: table)
                #expect(Set(both.map(\.key)) == [raw, replacement])
                await #expect(throws: HBaseError.rowKeyNotAddressable) { try await client.delete(raw, from: table) }
                #expect(try await client.row(raw, in: table) != nil)
                #expect(try await client.row(replacement, in: table) != nil)
            }
        }
    }

    @Test func rowKeysEndingInAStarAreNotGlobsAndTheirDeleteIsRefused() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "starkeys") { (table: HBaseTableName) async throws in
                try await client.put(
                    [
                        HBaseRow(key: "ab", cells: [HBaseCell(column: col("cf", "q"), string: "ab")]),
                        HBaseRow(key: "ab*", cells: [HBaseCell(column: col("cf", "q"), string: "star")]),
                        HBaseRow(key: "abc", cells: [HBaseCell(column: col("cf", "q"), string: "abc")]),
                    ], into: table)
                #expect(try await client.row("ab*", in: table)?.string(of: col("cf", "q")) == "star")
                await #expect(throws: HBaseError.rowKeyNotAddressable) {
                    try await client.delete(Data("ab*".utf8), from: table)
                }
                #expect(try await client.row("ab", in: table) != nil)
            }
        }
    }

    @Test func rowKeysNamedLikeTableResourcesAreRowsNotResources() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, _: URL) async throws in
            try await ContractTarget.withTable(client, "reserved") { (table: HBaseTableName) async throws in
                let keys = ["schema", "regions", "scanner", "exists", "multiget", "multigetx"]
                try await client.put(
                    keys.map { HBaseRow(key: $0, cells: [HBaseCell(column: col("cf", "q"), string: "v-" + $0)]) },
                    into: table)
                for key in keys {
                    #expect(try await client.row(key, in: table)?.string(of: col("cf", "q")) == "v-" + key)
                }
                try await client.delete(Data("schema".utf8), from: table)
                #expect(try await client.row("schema", in: table) == nil)
                #expect(try await client.tableExists(table))
            }
        }
    }

    @Test func aScannerThatVanishesMidScanIsReportedAsExpiredOrOnAnotherGateway() async throws {
        try await ContractTarget.withClient { (client: HBaseClient, url: URL) async throws in
            try await ContractTarget.withTable(client, "vanish") { (table: HBaseTableName) async throws in
                try await client.put(
                    (0..<4).map { HBaseRow(key: "r\($0)", cells: [HBaseCell(column: col("cf", "q"), string: "v")]) },
                    into: table)
                let scanner = try await client.openScanner(HBaseScan(batch: 1), in: table)
                #expect(try await scanner.next()?.count == 1)
                // What an expiry or a gateway without the scanner looks like: the id is unknown now.
                try await scanner.close()
                do {
                    _ = try await scanner.next()
                    Issue.record("a closed scanner still answered")
                } catch let error as HBaseError {
                    #expect(error == HBaseError.scannerNotFound)
                    #expect(error.message.contains("expired"))
                    #expect(error.message.contains("another gateway"))
                    #expect(!error.message.contains("hbase init"))
                }
            }
        }
    }
}
