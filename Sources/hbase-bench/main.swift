// hbase-bench: writes N prediction-shaped rows in batches through the HBase module, then scans them
// back with a stateful scanner, and prints one JSON line of timings (test support; see
// scripts/bench-hbase.sh, which runs the same workload with a Python `requests` reference client).
//
//   hbase-bench --url URL --table NAME [--rows 10000] [--batch 500] [--scan-batch 5000]
import Foundation
import HBase

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("hbase-bench: \(message)\n".utf8))
    exit(64)
}

var url: URL?
var tableName: String?
var rowCount = 10_000
var batchSize = 500
var scanBatch = 5_000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fail("\(argument) needs a value") }
    switch argument {
    case "--url": url = URL(string: value)
    case "--table": tableName = value
    case "--rows": rowCount = Int(value) ?? rowCount
    case "--batch": batchSize = Int(value) ?? batchSize
    case "--scan-batch": scanBatch = Int(value) ?? scanBatch
    default: fail("unknown argument \(argument)")
    }
}
guard let url, let tableName else {
    fail("usage: hbase-bench --url URL --table NAME [--rows N] [--batch N] [--scan-batch N]")
}

let table = HBaseTableName(qualified: tableName)
let clock = ContinuousClock()
let result: String = try await HBaseClient.withClient(configuration: HBaseClientConfiguration(baseURL: url)) { client in
    try await client.createOrReplaceTable(
        HBaseTableSchema(table: table, families: [HBaseColumnFamily("p", maxVersions: 1)]))
    let rows = (0..<rowCount).map { i in
        HBaseRow(
            key: String(format: "bench-model/validation/%06d", i),
            cells: [
                HBaseCell(column: HBaseColumn("p", "label"), string: i % 2 == 0 ? "R" : "M"),
                HBaseCell(column: HBaseColumn("p", "probability"), string: String(0.5 + Double(i % 500) / 1000)),
                HBaseCell(column: HBaseColumn("p", "input"), string: "validation/\(i)"),
            ])
    }
    let writeStart = clock.now
    for start in stride(from: 0, to: rows.count, by: batchSize) {
        try await client.put(Array(rows[start..<min(rows.count, start + batchSize)]), into: table)
    }
    let writeTime = clock.now - writeStart
    let scanStart = clock.now
    let back = try await client.scan(.prefix("bench-model/", batch: scanBatch), in: table)
    let scanTime = clock.now - scanStart
    try await client.dropTable(table)
    guard back.count == rowCount else { fail("scanned \(back.count) rows, wrote \(rowCount)") }
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    return
        #"{"client":"swift","rows":\#(rowCount),"batch":\#(batchSize),"write_s":\#(seconds(writeTime)),"scan_s":\#(seconds(scanTime))}"#
}
print(result)
