import Foundation

/// Bytes compared as HBase compares them: unsigned, lexicographic (row ordering by bytes, §3.3).
typealias Bytes = [UInt8]

func bytesLess(_ a: Bytes, _ b: Bytes) -> Bool { a.lexicographicallyPrecedes(b) }

/// A column as HBase stores it: family and qualifier.
struct ColumnKey: Hashable, Codable, Sendable {
    var family: Bytes
    var qualifier: Bytes

    /// `family:qualifier` as on the wire (§2).
    var wire: Bytes { family + [UInt8(ascii: ":")] + qualifier }

    static func < (a: ColumnKey, b: ColumnKey) -> Bool {
        a.family == b.family ? bytesLess(a.qualifier, b.qualifier) : bytesLess(a.family, b.family)
    }
}

/// A column selector from a request: a whole family, or one column (`f` or `f:q`, §3.1).
struct ColumnSelector: Hashable, Sendable {
    var family: Bytes
    var qualifier: Bytes?

    /// Parses `f` or `f:q`, split at the first `:` (CellUtil.parseColumn, §3.1).
    init(wire: Bytes) {
        if let colon = wire.firstIndex(of: UInt8(ascii: ":")) {
            family = Array(wire[..<colon])
            qualifier = Array(wire[(colon + 1)...])
        } else {
            family = wire
            qualifier = nil
        }
    }

    func matches(_ column: ColumnKey) -> Bool {
        column.family == family && (qualifier == nil || qualifier == column.qualifier)
    }
}

struct StoredCell: Codable, Sendable {
    var timestamp: Int64
    var value: Bytes
}

/// One row: versions per column (newest first) and delete markers (§7.8: deletes are tombstones).
struct StoredRow: Sendable {
    var columns: [ColumnKey: [StoredCell]] = [:]
    var rowTombstone: Int64?
    var familyTombstones: [Bytes: Int64] = [:]
    var columnTombstones: [ColumnKey: Int64] = [:]

    func isHidden(_ column: ColumnKey, _ timestamp: Int64) -> Bool {
        if let t = rowTombstone, timestamp <= t { return true }
        if let t = familyTombstones[column.family], timestamp <= t { return true }
        if let t = columnTombstones[column], timestamp <= t { return true }
        return false
    }
}

/// A column family's schema: the attributes as given, VERSIONS and TTL interpreted (§2 ColumnSchema).
struct FamilySchema: Codable, Sendable {
    var name: String
    var attributes: [String: String]

    /// `VERSIONS`, default 1 (HBase's default).
    var maxVersions: Int { attributes["VERSIONS"].flatMap { Int($0) }.map { max(1, $0) } ?? 1 }
    /// `TTL` in seconds, or `nil` for forever (`FOREVER` or Integer.MAX_VALUE).
    var timeToLive: Int64? {
        guard let text = attributes["TTL"], let ttl = Int64(text), ttl < Int64(Int32.max) else { return nil }
        return ttl
    }
}

struct TableSchemaRecord: Codable, Sendable {
    var attributes: [String: String]
    var families: [FamilySchema]
    /// The id of the table's one region: its creation time in ms, like `RegionInfo.getRegionId()`.
    ///
    /// Kept when the schema is replaced or altered; `nil` in journals written before regions existed.
    var regionID: Int64? = nil
}

struct StoredTable: Sendable {
    var schema: TableSchemaRecord
    var rows: [Bytes: StoredRow] = [:]

    func family(_ name: Bytes) -> FamilySchema? {
        schema.families.first { Array($0.name.utf8) == name }
    }

    func sortedKeys() -> [Bytes] { rows.keys.sorted(by: bytesLess) }
}

/// A resolved, journaled mutation: replaying the same list rebuilds the same state.
enum JournalEntry: Codable, Sendable {
    case createNamespace(name: String, properties: [String: String])
    case alterNamespace(name: String, properties: [String: String])
    case deleteNamespace(name: String)
    case setSchema(table: String, schema: TableSchemaRecord)
    case dropTable(table: String)
    case put(table: String, rows: [JournalRow])
    case delete(table: String, row: Bytes, family: Bytes?, qualifier: Bytes?, timestamp: Int64)
}

struct JournalRow: Codable, Sendable {
    var key: Bytes
    var cells: [JournalCell]
}

struct JournalCell: Codable, Sendable {
    var column: ColumnKey
    var timestamp: Int64
    var value: Bytes
}

/// What one read returns for one row: cells sorted by column, newest version first.
struct ReadRow: Sendable {
    var key: Bytes
    var cells: [(column: ColumnKey, cell: StoredCell)]
}

/// A read's filter: columns, versions and a time range (§3.1, §3.2).
struct ReadSpec: Sendable {
    var selectors: [ColumnSelector] = []
    var maxVersions: Int = 1
    var timeRange: Range<Int64> = 0..<Int64.max
}
