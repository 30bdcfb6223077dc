import Foundation

/// JSON encoding and decoding of the gateway's models (HBASE_REST.md §2).
///
/// Every `byte[]` field is standard padded base64 (§2); `Data` in `Codable` already encodes that way.
/// Internal: the client's public types are ``HBaseRow``, ``HBaseTableSchema`` and friends.
enum HBaseCodec {
    // MARK: CellSet (§2)

    struct WireCell: Codable {
        var column: Data?
        var timestamp: Int64?
        var value: Data
        enum CodingKeys: String, CodingKey {
            case column
            case timestamp
            case value = "$"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(column, forKey: .column)
            try c.encodeIfPresent(timestamp, forKey: .timestamp)
            try c.encode(value, forKey: .value)
        }
    }

    struct WireRow: Codable {
        var key: Data?
        var cells: [WireCell]
        enum CodingKeys: String, CodingKey {
            case key
            case cells = "Cell"
        }
        init(key: Data?, cells: [WireCell]) {
            self.key = key
            self.cells = cells
        }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            key = try c.decodeIfPresent(Data.self, forKey: .key)
            cells = try c.decodeIfPresent([WireCell].self, forKey: .cells) ?? []
        }
    }

    struct WireCellSet: Codable {
        var rows: [WireRow]
        enum CodingKeys: String, CodingKey { case rows = "Row" }
        init(rows: [WireRow]) { self.rows = rows }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            rows = try c.decodeIfPresent([WireRow].self, forKey: .rows) ?? []
        }
    }

    static func encodeCellSet(_ rows: [HBaseRow]) throws -> Data {
        encodeCellSetFast(rows)
    }

    /// The reference encoder (`JSONEncoder`), kept to check the fast path against.
    static func encodeCellSetWithFoundation(_ rows: [HBaseRow]) throws -> Data {
        let wire = WireCellSet(
            rows: rows.map { row in
                WireRow(
                    key: row.key,
                    cells: row.cells.map { WireCell(column: $0.column.wire, timestamp: $0.timestamp, value: $0.value) }
                )
            }
        )
        return try JSONEncoder().encode(wire)
    }

    /// Decodes a CellSet; `key` and `column` must be present on output (§2).
    static func decodeCellSet(_ data: Data) throws -> [HBaseRow] {
        if let rows = decodeCellSetFast(data) { return rows }
        return try decodeCellSetWithFoundation(data)
    }

    /// The reference decoder (`JSONDecoder`): the fallback, and the oracle for the fast path's tests.
    static func decodeCellSetWithFoundation(_ data: Data) throws -> [HBaseRow] {
        let wire = try JSONDecoder().decode(WireCellSet.self, from: data)
        return try wire.rows.map { row in
            guard let key = row.key else { throw HBaseError.invalidResponse.with("a CellSet row has no key") }
            return HBaseRow(
                key: key,
                cells: try row.cells.map { cell in
                    guard let column = cell.column else {
                        throw HBaseError.invalidResponse.with("a CellSet cell has no column")
                    }
                    return HBaseCell(column: HBaseColumn(wire: column), value: cell.value, timestamp: cell.timestamp)
                }
            )
        }
    }

    // MARK: Scanner (§2)

    struct WireScanner: Codable {
        var startRow: Data?
        var endRow: Data?
        var column: [Data]?
        var batch: Int?
        var maxVersions: Int?
        var startTime: Int64?
        var endTime: Int64?
    }

    static func encodeScanner(_ scan: HBaseScan) throws -> Data {
        let wire = WireScanner(
            startRow: scan.startRow,
            endRow: scan.endRow,
            column: scan.columns.isEmpty ? nil : scan.columns.map(\.wire),
            batch: scan.batch,
            maxVersions: scan.maxVersions,
            startTime: scan.startTime,
            endTime: scan.endTime
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(wire)
    }

    // MARK: TableSchema (§2): flat string attributes next to `name`

    static func encodeSchema(_ schema: HBaseTableSchema) throws -> Data {
        var object: [String: Any] = [:]
        for (key, value) in schema.attributes { object[key] = value }
        object["name"] = schema.table.qualified
        object["ColumnSchema"] = schema.families.map { family -> [String: Any] in
            var column: [String: Any] = [:]
            for (key, value) in family.attributes { column[key] = value }
            column["name"] = family.name
            if let versions = family.maxVersions { column["VERSIONS"] = String(versions) }
            if let ttl = family.timeToLive { column["TTL"] = String(ttl) }
            return column
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Values are strings on output (§2); numbers and booleans are accepted too.
    static func decodeSchema(_ data: Data, table: HBaseTableName) throws -> HBaseTableSchema {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HBaseError.invalidResponse.with("a TableSchema is not a JSON object")
        }
        var attributes: [String: String] = [:]
        for (key, value) in object where key != "name" && key != "ColumnSchema" {
            attributes[key] = stringValue(value)
        }
        let columns = object["ColumnSchema"] as? [[String: Any]] ?? []
        let families = try columns.map { column -> HBaseColumnFamily in
            guard let name = column["name"].map(stringValue) else {
                throw HBaseError.invalidResponse.with("a ColumnSchema has no name")
            }
            var extra: [String: String] = [:]
            for (key, value) in column where key != "name" { extra[key] = stringValue(value) }
            let versions = extra.removeValue(forKey: "VERSIONS").flatMap { Int($0) }
            let ttlText = extra.removeValue(forKey: "TTL")
            // HBase prints TTL as seconds; "FOREVER" or Integer.MAX_VALUE mean no TTL.
            let ttl = ttlText.flatMap { Int($0) }.flatMap { $0 == Int(Int32.max) ? nil : $0 }
            return HBaseColumnFamily(name, maxVersions: versions, timeToLive: ttl, attributes: extra)
        }
        return HBaseTableSchema(table: table, families: families, attributes: attributes)
    }

    private static func stringValue(_ value: Any) -> String {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return String(describing: value)
        }
    }

    // MARK: Small models (§2)

    struct WireTableList: Decodable {
        struct Table: Decodable { var name: String }
        var table: [Table]?
    }

    struct WireNamespaces: Decodable {
        var namespaces: [String]?
        enum CodingKeys: String, CodingKey { case namespaces = "Namespace" }
    }

    struct WireNamespaceProperties: Codable {
        var properties: [String: String]?
    }

    struct WireVersion: Decodable {
        var rest: String?
        var jvm: String?
        var os: String?
        var server: String?
        enum CodingKeys: String, CodingKey {
            case rest = "REST"
            case jvm = "JVM"
            case os = "OS"
            case server = "Server"
        }
    }

    struct WireClusterVersion: Decodable {
        var version: String
        enum CodingKeys: String, CodingKey { case version = "Version" }
    }

    struct WireClusterStatus: Decodable {
        struct Node: Decodable { var name: String }
        var regions: Int?
        var requests: Int?
        var averageLoad: Double?
        var liveNodes: [Node]?
        var deadNodes: [String]?
        enum CodingKeys: String, CodingKey {
            case regions
            case requests
            case averageLoad
            case liveNodes = "LiveNodes"
            case deadNodes = "DeadNodes"
        }
    }

    /// TableInfo (RegionsResource, TableInfoModel / TableRegionModel): byte keys are base64.
    struct WireTableInfo: Decodable {
        struct Region: Decodable {
            var name: String
            var id: Int64
            var startKey: Data?
            var endKey: Data?
            var location: String?
        }
        var name: String
        var regions: [Region]?
        enum CodingKeys: String, CodingKey {
            case name
            case regions = "Region"
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw HBaseError.invalidResponse.with("could not decode \(what) from the gateway's JSON")
        }
    }
}
