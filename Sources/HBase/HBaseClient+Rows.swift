public import Foundation
import NIOHTTP1

extension HBaseClient {
    /// Writes many rows in one request: PUT `/{t}/{firstRow}` with a CellSet (HBASE_REST.md §3.4, §2 CellSet).
    ///
    /// Every row is applied under its own key (the path row is only a default, §3.4). Cells without a
    /// timestamp get the server's time, so such a put is not idempotent and is not retried; a put whose
    /// cells all carry timestamps is.
    /// - Parameters:
    ///   - rows: The rows; every cell needs a family and qualifier.
    ///   - table: The table.
    /// - Throws: ``HBaseError/tableNotFound`` (404: no table or family), ``HBaseError/badRequest`` (400),
    ///   ``HBaseError/forbidden``, ``HBaseError/unavailable``, ``HBaseError/unauthorized``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidArgument`` (no rows or a cell
    ///   without qualifier).
    public func put(_ rows: [HBaseRow], into table: HBaseTableName) async throws {
        guard let first = rows.first else { return }
        let context = Context(
            operation: rows.count == 1 ? "put" : "put \(rows.count) rows into", table: table,
            row: rows.count == 1 ? first.key : nil)
        for row in rows where row.cells.isEmpty || row.cells.contains(where: { $0.column.qualifier == nil }) {
            throw HBaseError.invalidArgument.with(
                "put into table '\(table.qualified)' row '\(Self.printable(row.key))': every cell needs a family and a qualifier, and a row needs at least one cell"
            )
        }
        let idempotent = rows.allSatisfy { $0.cells.allSatisfy { $0.timestamp != nil } }
        // Every row carries its key, so the path row is only a default (§3.4).
        // A key the path cannot name exactly (§3.1) is not used as the path row either.
        let pathKey = HBasePath.isPathAddressable(first.key) ? first.key : Data("row".utf8)
        _ = try await expect(
            [200], .PUT, HBasePath.row(table, key: pathKey), body: try HBaseCodec.encodeCellSet(rows),
            isIdempotent: idempotent, context: context)
    }

    /// Writes one row; see ``put(_:into:)``.
    /// - Parameters:
    ///   - row: The row.
    ///   - table: The table.
    /// - Throws: As ``put(_:into:)``.
    public func put(_ row: HBaseRow, into table: HBaseTableName) async throws {
        try await put([row], into: table)
    }

    /// Reads one row: GET `/{t}/{row}[/{cols}][/{start},{end}][?v=N]` (§3.1, §3.2, §3.3).
    ///
    /// HBase answers 404 both for a missing row and for a missing table on a row GET (§3.3); both give `nil`.
    ///
    /// A key the path cannot name exactly (not valid UTF-8, which RowSpec would read as U+FFFD, or
    /// ending in `*`, which RowSpec reads as a prefix glob) is read with a stateful scanner whose start
    /// and end rows are the key and the key + 0x00: the Scanner model carries them as base64 bytes, exactly.
    /// - Parameters:
    ///   - key: The row key, any bytes.
    ///   - table: The table.
    ///   - columns: Columns or whole families to read; empty for all.
    ///   - maxVersions: Versions per column (HBase's default is 1).
    ///   - timeRange: Only versions with `lowerBound <= ts < upperBound` (§3.2); needs `columns`.
    /// - Returns: The row, or `nil` if nothing matched.
    /// - Throws: ``HBaseError/forbidden``, ``HBaseError/badRequest``, ``HBaseError/unavailable``,
    ///   ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``,
    ///   ``HBaseError/invalidResponse``, ``HBaseError/invalidArgument`` (time range without columns).
    public func row(
        _ key: Data,
        in table: HBaseTableName,
        columns: [HBaseColumn] = [],
        maxVersions: Int? = nil,
        timeRange: Range<Int64>? = nil
    ) async throws -> HBaseRow? {
        if timeRange != nil && columns.isEmpty {
            throw HBaseError.invalidArgument.with(
                "get of table '\(table.qualified)' row '\(Self.printable(key))': a time range needs columns (§3.1)")
        }
        guard HBasePath.isPathAddressable(key) else {
            return try await rowThroughScanner(
                key, in: table, columns: columns, maxVersions: maxVersions, timeRange: timeRange)
        }
        let context = Context(operation: "get", table: table, row: key, notFound: .rowNotFound)
        var path = HBasePath.row(table, key: key, columns: columns, timeRange: timeRange)
        if let maxVersions { path += "?v=\(maxVersions)" }
        let reply = try await expect([200, 404], .GET, path, isIdempotent: true, context: context)
        guard reply.status == 200 else { return nil }
        return try HBaseCodec.decodeCellSet(reply.body).first { $0.key == key }
    }

    /// One row through a scanner on `[key, key + 0x00)`: the only row in that range is `key` itself.
    ///
    /// The row GET defaults apply: one version unless `maxVersions` says otherwise. A missing table is
    /// `nil`, as on the path form (§3.3).
    func rowThroughScanner(
        _ key: Data, in table: HBaseTableName, columns: [HBaseColumn], maxVersions: Int?, timeRange: Range<Int64>?
    ) async throws -> HBaseRow? {
        guard !key.isEmpty else {
            throw HBaseError.invalidArgument.with("get of table '\(table.qualified)': an empty row key is not a row")
        }
        let scan = HBaseScan(
            startRow: key, endRow: key + [0], columns: columns, maxVersions: maxVersions ?? 1,
            startTime: timeRange?.lowerBound, endTime: timeRange?.upperBound)
        do {
            return try await self.scan(scan, in: table).first { $0.key == key }
        } catch HBaseError.tableNotFound {
            return nil
        }
    }

    /// Reads one row by UTF-8 key; see ``row(_:in:columns:maxVersions:timeRange:)-(Data,_,_,_,_)``.
    /// - Parameters:
    ///   - key: The row key.
    ///   - table: The table.
    ///   - columns: Columns or families; empty for all.
    ///   - maxVersions: Versions per column.
    /// - Returns: The row, or `nil`.
    /// - Throws: As the `Data` variant.
    public func row(_ key: String, in table: HBaseTableName, columns: [HBaseColumn] = [], maxVersions: Int? = nil)
        async throws -> HBaseRow?
    {
        try await row(Data(key.utf8), in: table, columns: columns, maxVersions: maxVersions)
    }

    /// Reads many rows in one request: GET `/{t}/multiget[/{cols}]?row=…&row=…[&v=N]` (§1, TMRR).
    ///
    /// Row values are percent-encoded twice because the gateway decodes them twice (§7.5).
    /// - Parameters:
    ///   - keys: The row keys.
    ///   - table: The table.
    ///   - columns: Columns or families; empty for all.
    ///   - maxVersions: Versions per column.
    /// - Returns: The rows found, in the server's order; empty if none (HBase's 404 "No rows found.").
    /// - Throws: ``HBaseError/forbidden``, ``HBaseError/badRequest``, ``HBaseError/unavailable``,
    ///   ``HBaseError/unauthorized``, ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidResponse``.
    public func rows(_ keys: [Data], in table: HBaseTableName, columns: [HBaseColumn] = [], maxVersions: Int? = nil)
        async throws -> [HBaseRow]
    {
        // Keys the path cannot name exactly (§3.1) would be read as other rows: read those one by one.
        var found: [HBaseRow] = []
        for key in keys where !HBasePath.isPathAddressable(key) {
            if let row = try await row(key, in: table, columns: columns, maxVersions: maxVersions) { found.append(row) }
        }
        let keys = keys.filter(HBasePath.isPathAddressable)
        guard !keys.isEmpty else { return found }
        let context = Context(operation: "multiget \(keys.count) rows of", table: table, notFound: .rowNotFound)
        var path = HBasePath.table(table) + "/multiget"
        if !columns.isEmpty { path += "/" + HBasePath.columns(columns) }
        var query = keys.map { "row=" + HBasePath.encode(HBasePath.encode($0)) }
        if let maxVersions { query.append("v=\(maxVersions)") }
        path += "?" + query.joined(separator: "&")
        let reply = try await expect([200, 404], .GET, path, isIdempotent: true, context: context)
        guard reply.status == 200 else { return found }
        return try HBaseCodec.decodeCellSet(reply.body) + found
    }

    /// Deletes a whole row, or only some columns or families of it: DELETE `/{t}/{row}[/{cols}]` (§3.6).
    ///
    /// A `family:qualifier` column deletes all its versions; a family-only column deletes the family.
    /// HBase keeps tombstones: a later put with an older timestamp stays hidden (§7.8).
    ///
    /// RowResource.delete deletes the spec's start row, so a key the path cannot name exactly is refused
    /// before any request: one that is not valid UTF-8 would delete the U+FFFD row, one ending in `*` the
    /// key without it. HBase 2.5 reaches such rows only with `check=delete` (the key travels base64 in
    /// the body, but a current value must be named as the condition) or, from 2.6, with `e=b64` keys.
    /// - Parameters:
    ///   - key: The row key.
    ///   - table: The table.
    ///   - columns: What to delete; empty deletes the row.
    /// - Throws: ``HBaseError/rowKeyNotAddressable`` (no request sent),
    ///   ``HBaseError/tableNotFound`` (404: no table or family), ``HBaseError/badRequest``,
    ///   ``HBaseError/forbidden``, ``HBaseError/unavailable``, ``HBaseError/unauthorized``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``.
    public func delete(_ key: Data, from table: HBaseTableName, columns: [HBaseColumn] = []) async throws {
        guard HBasePath.isPathAddressable(key) else {
            let why =
                String(data: key, encoding: .utf8) == nil
                ? "is not valid UTF-8 (RowSpec would decode it to U+FFFD and delete another row)"
                : key.isEmpty
                    ? "is empty" : "ends in '*' (RowSpec would read a prefix glob and delete the key without it)"
            throw HBaseError.rowKeyNotAddressable.with(
                "delete from table '\(table.qualified)' row '\(Self.printable(key))': the key \(why); an HBase 2.5 "
                    + "REST path cannot name it, so nothing was sent (HBase allows only check=delete with the key in "
                    + "the body, or 2.6's e=b64 keys)")
        }
        let context = Context(operation: "delete", table: table, row: key)
        _ = try await expect(
            [200], .DELETE, HBasePath.row(table, key: key, columns: columns), isIdempotent: true, context: context)
    }

    /// Writes cells only if a column currently holds an expected value: PUT `/{t}/{row}?check=put` (§3.5).
    ///
    /// The request's last cell is the condition; HBase requires one of the written cells to use the
    /// condition's column (§3.5). A 304 means the condition was not met and nothing was written (§7.2).
    /// - Parameters:
    ///   - cells: The cells to write (at least one, one of them in `column`).
    ///   - key: The row key.
    ///   - table: The table.
    ///   - column: The condition's column (with a non-empty qualifier).
    ///   - expected: The value the column must hold now.
    /// - Returns: `true` if written, `false` if the condition was not met.
    /// - Throws: ``HBaseError/badRequest`` (400, for example the columns do not match), ``HBaseError/tableNotFound``
    ///   (404: table or family), ``HBaseError/forbidden``, ``HBaseError/unavailable``, ``HBaseError/unauthorized``,
    ///   ``HBaseError/transport``, ``HBaseError/timeout``, ``HBaseError/invalidArgument``.
    public func checkAndPut(
        _ cells: [HBaseCell],
        row key: Data,
        in table: HBaseTableName,
        ifColumn column: HBaseColumn,
        equals expected: Data
    ) async throws -> Bool {
        guard !cells.isEmpty, let qualifier = column.qualifier, !qualifier.isEmpty else {
            throw HBaseError.invalidArgument.with(
                "check-and-put on table '\(table.qualified)' row '\(Self.printable(key))': needs cells and a condition column with a qualifier"
            )
        }
        let context = Context(operation: "check-and-put", table: table, row: key)
        let condition = HBaseCell(column: column, value: expected)
        let body = try HBaseCodec.encodeCellSet([HBaseRow(key: key, cells: cells + [condition])])
        let reply = try await expect(
            // The body carries the key (RowResource.checkAndPut), so any key works; the path row is a default.
            [200, 304], .PUT,
            HBasePath.row(table, key: HBasePath.isPathAddressable(key) ? key : Data("row".utf8)) + "?check=put",
            body: body, isIdempotent: false,
            context: context)
        return reply.status == 200
    }

    /// Reads a row range in one response: GET `/{t}/*?startrow=…&endrow=…` (§3.7, §7.1).
    ///
    /// `startrow` and `endrow` are sent as UTF-8 strings, so both must be valid UTF-8; use a stateful
    /// scanner (``scan(_:in:)``) for binary keys or large ranges. A prefix is sent as explicit bounds,
    /// never as `prefix*` (§7.1).
    /// - Parameters:
    ///   - scan: Rows, columns, versions (default 1) and time range; `batch` is ignored.
    ///   - table: The table.
    ///   - limit: At most this many rows.
    /// - Returns: The rows in key order.
    /// - Throws: ``HBaseError/tableNotFound``, ``HBaseError/badRequest``, ``HBaseError/forbidden``,
    ///   ``HBaseError/unavailable``, ``HBaseError/unauthorized``, ``HBaseError/transport``,
    ///   ``HBaseError/timeout``, ``HBaseError/invalidResponse``, ``HBaseError/invalidArgument`` (non-UTF-8 bound).
    public func statelessScan(_ scan: HBaseScan, in table: HBaseTableName, limit: Int? = nil) async throws -> [HBaseRow]
    {
        var items: [(String, String)] = []
        for (name, bound) in [("startrow", scan.startRow), ("endrow", scan.endRow)] {
            guard let bound else { continue }
            guard let text = String(data: bound, encoding: .utf8) else {
                throw HBaseError.invalidArgument.with(
                    "stateless scan of table '\(table.qualified)': \(name) is not valid UTF-8 (§3.7)")
            }
            items.append((name, text))
        }
        for column in scan.columns { items.append(("column", String(decoding: column.wire, as: UTF8.self))) }
        if let maxVersions = scan.maxVersions { items.append(("maxversions", String(maxVersions))) }
        if let startTime = scan.startTime { items.append(("starttime", String(startTime))) }
        if let endTime = scan.endTime { items.append(("endtime", String(endTime))) }
        if let limit { items.append(("limit", String(limit))) }
        let context = Context(operation: "scan", table: table)
        let reply = try await expect(
            [200], .GET, HBasePath.table(table) + "/*" + HBasePath.query(items), isIdempotent: true, context: context)
        return try HBaseCodec.decodeCellSet(reply.body)
    }
}
