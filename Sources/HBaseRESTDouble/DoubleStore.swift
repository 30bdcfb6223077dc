import Foundation

/// Why a store operation was refused; the responder maps each case to HBase's status (§3.9).
enum StoreFailure: Error, Equatable {
    /// TableNotFound or NoSuchColumnFamily → 404 "Not found" (§3.9).
    case notFound
    /// A RuntimeException in HBase → 400 "Bad request" (§3.9), with RowResource's own message if any.
    case badRequest(String)
    /// Any other IOException → 503 "Unavailable" (§3.9), for example a missing namespace or a non-empty one.
    case unavailable
    /// The journal could not be written: nothing was acknowledged.
    case storage(String)
}

/// The double's state: namespaces, tables, rows, all in memory, with an optional append-only journal.
///
/// Every mutation is validated first, then appended to the journal and fsync'd, and only then applied
/// and acknowledged, so a restart with the same data directory loses nothing that got a 2xx.
actor DoubleStore {
    private(set) var namespaces: [String: [String: String]] = ["default": [:], "hbase": [:]]
    private(set) var tables: [String: StoredTable] = [:]
    private let journal: FileHandle?
    private var lastTimestamp: Int64 = 0

    init(dataDirectory: String?) throws {
        guard let dataDirectory else {
            journal = nil
            return
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent("journal.jsonl")
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw StoreFailure.storage("cannot create the journal in the data directory")
            }
        }
        let contents = try Data(contentsOf: URL(fileURLWithPath: path))
        var replayed: [JournalEntry] = []
        var validLength = 0
        var offset = 0
        let decoder = JSONDecoder()
        for line in contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            defer { offset += line.count + 1 }
            guard !line.isEmpty else { continue }
            // A torn last line (a crash mid-write) was never acknowledged: drop it.
            guard let entry = try? decoder.decode(JournalEntry.self, from: Data(line)) else { break }
            replayed.append(entry)
            validLength = min(offset + line.count + 1, contents.count)
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(validLength))
        try handle.seekToEnd()
        journal = handle
        for entry in replayed { Self.apply(entry, namespaces: &namespaces, tables: &tables) }
        for entry in replayed {
            switch entry {
            case .put(_, let rows):
                for row in rows { for cell in row.cells { lastTimestamp = max(lastTimestamp, cell.timestamp) } }
            case .delete(_, _, _, _, let ts): lastTimestamp = max(lastTimestamp, ts)
            default: break
            }
        }
    }

    /// Milliseconds since the epoch, never going backwards, for server-assigned timestamps.
    func now() -> Int64 {
        let wall = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        lastTimestamp = max(lastTimestamp, wall)
        return lastTimestamp
    }

    private func wallClock() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Journals (fsync) then applies a mutation.
    private func commit(_ entry: JournalEntry) throws {
        if let journal {
            do {
                var line = try JSONEncoder().encode(entry)
                line.append(UInt8(ascii: "\n"))
                try journal.write(contentsOf: line)
                try journal.synchronize()
            } catch {
                throw StoreFailure.storage("cannot append to the journal")
            }
        }
        Self.apply(entry, namespaces: &namespaces, tables: &tables)
    }

    // MARK: Names

    /// `ns:t` → (ns, t); `t` → ("default", t); `default:t` is the same table as `t`.
    static func split(_ table: String) -> (namespace: String, name: String) {
        if let colon = table.firstIndex(of: ":") {
            return (String(table[..<colon]), String(table[table.index(after: colon)...]))
        }
        return ("default", table)
    }

    static func canonical(_ table: String) -> String {
        let (namespace, name) = split(table)
        return namespace == "default" ? name : "\(namespace):\(name)"
    }

    // MARK: Namespaces (§1)

    func namespaceExists(_ name: String) -> Bool { namespaces[name] != nil }

    func createNamespace(_ name: String, properties: [String: String]) throws {
        try commit(.createNamespace(name: name, properties: properties))
    }

    func alterNamespace(_ name: String, properties: [String: String]) throws {
        try commit(.alterNamespace(name: name, properties: properties))
    }

    /// §1: 503 for a non-empty namespace and for `default`/`hbase` (TNIR).
    func deleteNamespace(_ name: String) throws {
        guard namespaces[name] != nil else { throw StoreFailure.notFound }
        if name == "default" || name == "hbase" { throw StoreFailure.unavailable }
        if tables.keys.contains(where: { Self.split($0).namespace == name }) { throw StoreFailure.unavailable }
        try commit(.deleteNamespace(name: name))
    }

    func tableNames(inNamespace namespace: String? = nil) -> [String] {
        tables.keys.filter { namespace == nil || Self.split($0).namespace == namespace }.sorted()
    }

    // MARK: Schema (§1)

    func schema(of table: String) -> TableSchemaRecord? { tables[Self.canonical(table)]?.schema }

    /// PUT schema: create, or replace the whole descriptor (§1).
    ///
    /// A missing namespace is an IOException → 503.
    func replaceSchema(_ table: String, schema: TableSchemaRecord) throws {
        guard namespaces[Self.split(table).namespace] != nil else { throw StoreFailure.unavailable }
        var schema = schema
        schema.regionID = tables[Self.canonical(table)]?.schema.regionID ?? wallClock()
        try commit(.setSchema(table: Self.canonical(table), schema: schema))
    }

    /// The id of the table's one region (GET /{t}/regions), or `nil` if there is no such table.
    func regionID(of table: String) -> Int64? {
        guard let stored = tables[Self.canonical(table)] else { return nil }
        return stored.schema.regionID ?? 0
    }

    /// POST schema: create if missing (returns true), else modify or add the given families (§1).
    func updateSchema(_ table: String, schema: TableSchemaRecord) throws -> Bool {
        let name = Self.canonical(table)
        guard var current = tables[name]?.schema else {
            try replaceSchema(table, schema: schema)
            return true
        }
        for (key, value) in schema.attributes { current.attributes[key] = value }
        for family in schema.families {
            if let index = current.families.firstIndex(where: { $0.name == family.name }) {
                current.families[index].attributes.merge(family.attributes) { _, new in new }
            } else {
                current.families.append(family)
            }
        }
        try commit(.setSchema(table: name, schema: current))
        return false
    }

    func dropTable(_ table: String) throws {
        guard tables[Self.canonical(table)] != nil else { throw StoreFailure.notFound }
        try commit(.dropTable(table: Self.canonical(table)))
    }

    // MARK: Rows (§3.3–§3.6)

    /// A put request's cell before the server resolves its timestamp.
    struct PendingCell {
        var column: ColumnKey
        var timestamp: Int64?
        var value: Bytes
    }

    /// Applies a whole batch or nothing: table and every family are checked first (§3.4: 404).
    func put(_ table: String, rows: [(key: Bytes, cells: [PendingCell])]) throws {
        let name = Self.canonical(table)
        guard let stored = tables[name] else { throw StoreFailure.notFound }
        for row in rows {
            for cell in row.cells where stored.family(cell.column.family) == nil { throw StoreFailure.notFound }
        }
        let now = now()
        let resolved = rows.map { row in
            JournalRow(
                key: row.key,
                cells: row.cells.map { JournalCell(column: $0.column, timestamp: $0.timestamp ?? now, value: $0.value) }
            )
        }
        try commit(.put(table: name, rows: resolved))
    }

    /// DELETE row, family or column (§3.6).
    ///
    /// `timestamp` nil means "now" (all versions up to now).
    func delete(_ table: String, row: Bytes, selectors: [ColumnSelector], timestamp: Int64?) throws {
        let name = Self.canonical(table)
        guard let stored = tables[name] else { throw StoreFailure.notFound }
        for selector in selectors where stored.family(selector.family) == nil { throw StoreFailure.notFound }
        let ts = timestamp ?? now()
        if selectors.isEmpty {
            try commit(.delete(table: name, row: row, family: nil, qualifier: nil, timestamp: ts))
        }
        for selector in selectors {
            try commit(
                .delete(table: name, row: row, family: selector.family, qualifier: selector.qualifier, timestamp: ts))
        }
    }

    /// check=put (§3.5): compares the newest visible value of `condition`, then puts atomically.
    func checkAndPut(_ table: String, row: Bytes, cells: [PendingCell], condition: ColumnKey, expected: Bytes) throws
        -> Bool
    {
        let name = Self.canonical(table)
        guard let stored = tables[name] else { throw StoreFailure.notFound }
        guard stored.family(condition.family) != nil else { throw StoreFailure.notFound }
        let current = read(stored, key: row, spec: ReadSpec(selectors: [ColumnSelector(wire: condition.wire)]))
        let value = current?.cells.first { $0.column == condition }?.cell.value
        // An empty expected value means "no cell" (HRegion.checkAndMutate: a null or empty value matches an
        // absent cell or an empty one).
        guard expected.isEmpty ? (value ?? []).isEmpty : value == expected else { return false }
        try put(table, rows: [(row, cells)])
        return true
    }

    /// The visible cells of one row, or nil if none match.
    ///
    /// A selector naming an unknown family is a
    /// NoSuchColumnFamily → 404 (TGAP.testNoSuchCF).
    func get(_ table: String, key: Bytes, spec: ReadSpec) throws -> ReadRow? {
        guard let stored = tables[Self.canonical(table)] else { throw StoreFailure.notFound }
        for selector in spec.selectors where stored.family(selector.family) == nil { throw StoreFailure.notFound }
        return read(stored, key: key, spec: spec)
    }

    /// Rows in `[start, end)` in byte order (or reversed), visible cells only, empty rows skipped.
    func scan(
        _ table: String,
        start: Bytes?,
        end: Bytes?,
        spec: ReadSpec,
        reversed: Bool = false,
        limit: Int = Int.max
    ) throws -> [ReadRow] {
        guard let stored = tables[Self.canonical(table)] else { throw StoreFailure.notFound }
        for selector in spec.selectors where stored.family(selector.family) == nil { throw StoreFailure.notFound }
        var keys = stored.sortedKeys()
        if reversed {
            // §7.6: startrow is the high inclusive bound, endrow the low exclusive one.
            keys = keys.reversed().filter { key in
                (start == nil || start!.isEmpty || !bytesLess(start!, key))
                    && (end == nil || end!.isEmpty || bytesLess(end!, key))
            }
        } else {
            keys = keys.filter { key in
                (start == nil || !bytesLess(key, start!)) && (end == nil || end!.isEmpty || bytesLess(key, end!))
            }
        }
        var out: [ReadRow] = []
        for key in keys {
            guard out.count < limit else { break }
            if let row = read(stored, key: key, spec: spec) { out.append(row) }
        }
        return out
    }

    func tableExists(_ table: String) -> Bool { tables[Self.canonical(table)] != nil }

    private func read(_ table: StoredTable, key: Bytes, spec: ReadSpec) -> ReadRow? {
        guard let row = table.rows[key] else { return nil }
        let wall = wallClock()
        var cells: [(column: ColumnKey, cell: StoredCell)] = []
        for column in row.columns.keys.sorted(by: <) {
            if !spec.selectors.isEmpty && !spec.selectors.contains(where: { $0.matches(column) }) { continue }
            guard let family = table.family(column.family) else { continue }
            var taken = 0
            for cell in row.columns[column] ?? [] {
                guard taken < spec.maxVersions, taken < family.maxVersions else { break }
                guard spec.timeRange.contains(cell.timestamp), !row.isHidden(column, cell.timestamp) else { continue }
                if let ttl = family.timeToLive, cell.timestamp <= wall - ttl * 1000 { continue }
                cells.append((column, cell))
                taken += 1
            }
        }
        return cells.isEmpty ? nil : ReadRow(key: key, cells: cells)
    }

    // MARK: Applying journal entries (pure over the state)

    static func apply(
        _ entry: JournalEntry, namespaces: inout [String: [String: String]], tables: inout [String: StoredTable]
    ) {
        switch entry {
        case .createNamespace(let name, let properties), .alterNamespace(let name, let properties):
            namespaces[name] = properties
        case .deleteNamespace(let name):
            namespaces[name] = nil
        case .setSchema(let table, let schema):
            if var existing = tables[table] {
                // A replaced descriptor drops the data of families it no longer lists.
                let kept = Set(schema.families.map { Array($0.name.utf8) })
                for (key, var row) in existing.rows {
                    row.columns = row.columns.filter { kept.contains($0.key.family) }
                    existing.rows[key] = row
                }
                existing.schema = schema
                tables[table] = existing
            } else {
                tables[table] = StoredTable(schema: schema)
            }
        case .dropTable(let table):
            tables[table] = nil
        case .put(let table, let rows):
            guard var stored = tables[table] else { return }
            for row in rows {
                var current = stored.rows[row.key] ?? StoredRow()
                for cell in row.cells {
                    guard let family = stored.family(cell.column.family) else { continue }
                    var versions = current.columns[cell.column] ?? []
                    versions.removeAll { $0.timestamp == cell.timestamp }
                    let index = versions.firstIndex { $0.timestamp < cell.timestamp } ?? versions.count
                    versions.insert(StoredCell(timestamp: cell.timestamp, value: cell.value), at: index)
                    if versions.count > family.maxVersions { versions.removeLast(versions.count - family.maxVersions) }
                    current.columns[cell.column] = versions
                }
                stored.rows[row.key] = current
            }
            tables[table] = stored
        case .delete(let table, let key, let family, let qualifier, let ts):
            guard var stored = tables[table], var row = stored.rows[key] else {
                if var stored = tables[table] {
                    // Tombstones apply to rows not written yet too (§7.8).
                    var row = StoredRow()
                    mark(&row, family: family, qualifier: qualifier, ts: ts)
                    stored.rows[key] = row
                    tables[table] = stored
                }
                return
            }
            mark(&row, family: family, qualifier: qualifier, ts: ts)
            let marked = row
            var remaining: [ColumnKey: [StoredCell]] = [:]
            for (column, versions) in marked.columns {
                let kept = versions.filter { !marked.isHidden(column, $0.timestamp) }
                if !kept.isEmpty { remaining[column] = kept }
            }
            row.columns = remaining
            stored.rows[key] = row
            tables[table] = stored
        }
    }

    private static func mark(_ row: inout StoredRow, family: Bytes?, qualifier: Bytes?, ts: Int64) {
        switch (family, qualifier) {
        case (nil, _): row.rowTombstone = max(row.rowTombstone ?? Int64.min, ts)
        case (let family?, nil): row.familyTombstones[family] = max(row.familyTombstones[family] ?? Int64.min, ts)
        case (let family?, let qualifier?):
            let column = ColumnKey(family: family, qualifier: qualifier)
            row.columnTombstones[column] = max(row.columnTombstones[column] ?? Int64.min, ts)
        }
    }
}
