import Foundation
import NIOHTTP1

/// A stateful scanner held by one REST gateway (HBASE_REST.md §3.8).
///
/// Get batches with ``next()`` until it returns `nil`, then ``close()``. The scanner lives in the
/// memory of the gateway that created it (§3.8) and may expire when idle (§6).
public struct HBaseScanner: Sendable {
    /// The scanner's table.
    public let table: HBaseTableName
    /// The gateway's id for the scanner (the last segment of its `Location`).
    public let id: String
    let client: HBaseClient

    /// The next batch: GET `/{t}/scanner/{id}` (§3.8).
    ///
    /// A batch holds at most the scanner's `batch` cells; a row can be split across batches, and then the
    /// next batch repeats its key (§3.8). ``HBaseClient/scan(_:in:)`` merges such pieces.
    /// - Returns: The rows of this batch, or `nil` when the scanner is exhausted (204).
    /// A 404 is ambiguous on the wire (§3.8): an unknown table, or a scanner id this gateway does not
    /// know. The client then asks whether the table exists: if it does, the scanner expired
    /// (`hbase.rest.scannercache.expire.time`, §6) or the request reached another gateway than the one
    /// holding the scanner (a load balancer without sticky sessions).
    /// - Throws: ``HBaseError/tableNotFound`` (404 and the table does not exist, §3.8),
    ///   ``HBaseError/scannerNotFound`` (404 while the table exists), ``HBaseError/scannerGone`` (410),
    ///   ``HBaseError/forbidden``, ``HBaseError/unauthorized``, ``HBaseError/transport``,
    ///   ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func next() async throws -> [HBaseRow]? {
        // Not idempotent: a repeated GET would skip a batch.
        let context = HBaseClient.Context(operation: "read scanner \(id) of", table: table, notFound: .tableNotFound)
        let reply = try await client.expect([200, 204, 404], .GET, path, isIdempotent: false, context: context)
        if reply.status == 404 {
            guard try await client.tableExists(table) else {
                throw HBaseClient.error(status: 404, body: reply.body, context: context)
            }
            throw HBaseError.scannerNotFound.with(
                "\(context.summary): the gateway no longer knows this scanner (HTTP 404) although the table exists: "
                    + "the scanner expired (idle longer than hbase.rest.scannercache.expire.time) or this request "
                    + "reached another gateway than the one that created it (a load balancer without sticky "
                    + "sessions; scanners live in one gateway's memory). Scan again; behind a load balancer, "
                    + "enable sticky sessions or point SONARLAB_HBASE_URL at one gateway",
                status: 404)
        }
        guard reply.status == 200 else { return nil }
        return try HBaseCodec.decodeCellSet(reply.body)
    }

    /// Closes the scanner: DELETE `/{t}/scanner/{id}` (§1; 200 even for an unknown id, 404 in later versions, §6).
    /// - Throws: ``HBaseError/forbidden``, ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``.
    public func close() async throws {
        let context = HBaseClient.Context(operation: "close scanner \(id) of", table: table, notFound: .scannerNotFound)
        _ = try await client.expect([200, 404], .DELETE, path, isIdempotent: true, context: context)
    }

    var path: String { HBasePath.table(table) + "/scanner/" + HBasePath.encode(id) }
}

extension HBaseClient {
    /// Opens a stateful scanner: PUT `/{t}/scanner` with a Scanner model (§1, §2 Scanner, §3.8).
    ///
    /// HBase answers 201 even for a missing table; the first ``HBaseScanner/next()`` then fails with 404 (§3.8).
    /// - Parameters:
    ///   - scan: Rows, columns, batch, versions (default: all, §2) and time range.
    ///   - table: The table.
    /// - Returns: The scanner.
    /// - Throws: ``HBaseError/forbidden`` (403), ``HBaseError/tableNotFound`` (404), ``HBaseError/badRequest``,
    ///   ``HBaseError/unavailable``, ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``,
    ///   ``HBaseError/invalidResponse`` (no `Location`).
    public func openScanner(_ scan: HBaseScan, in table: HBaseTableName) async throws -> HBaseScanner {
        let context = Context(operation: "open scanner on", table: table)
        let reply = try await expect(
            [201], .PUT, HBasePath.table(table) + "/scanner", body: try HBaseCodec.encodeScanner(scan),
            isIdempotent: false, context: context)
        // The id is the last path segment of Location; the host part is the gateway's view of itself,
        // which may differ behind a proxy, so only the id is used.
        guard let location = reply.headers.first(name: "Location"),
            let id = location.split(separator: "?").first?.split(separator: "/").last.map(String.init),
            !id.isEmpty
        else {
            throw HBaseError.invalidResponse.with("open scanner on table '\(table.qualified)': 201 without a Location")
        }
        return HBaseScanner(table: table, id: id.removingPercentEncoding ?? id, client: self)
    }

    /// Reads every row of a scan through a stateful scanner and always closes it (§3.8).
    ///
    /// Pieces of one row split across batches are merged.
    /// - Parameters:
    ///   - scan: Rows, columns, batch, versions and time range.
    ///   - table: The table.
    ///   - limit: Stop after this many complete rows (the scanner model has no limit, §2); `nil` for all.
    /// - Returns: The rows in key order.
    /// - Throws: As ``openScanner(_:in:)`` and ``HBaseScanner/next()``.
    public func scan(_ scan: HBaseScan, in table: HBaseTableName, limit: Int? = nil) async throws -> [HBaseRow] {
        let scanner = try await openScanner(scan, in: table)
        var rows: [HBaseRow] = []
        do {
            // A row is complete once a later key appears, so read until limit + 1 keys are seen.
            while rows.count <= (limit ?? Int.max), let batch = try await scanner.next() {
                for row in batch {
                    if let last = rows.last, last.key == row.key {
                        rows[rows.count - 1].cells.append(contentsOf: row.cells)
                    } else {
                        rows.append(row)
                    }
                }
            }
        } catch {
            try? await scanner.close()
            throw error
        }
        try await scanner.close()
        if let limit, rows.count > limit { rows.removeLast(rows.count - limit) }
        return rows
    }
}
