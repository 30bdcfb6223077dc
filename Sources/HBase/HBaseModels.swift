public import Foundation

/// A table name, optionally qualified by a namespace (`ns:table`, HBASE_REST.md §1).
public struct HBaseTableName: Hashable, Sendable, CustomStringConvertible {
    /// The namespace, or `nil` for HBase's `default` namespace.
    public var namespace: String?
    /// The table's name inside its namespace.
    public var name: String

    /// Creates a table name.
    /// - Parameters:
    ///   - name: The table's name inside its namespace.
    ///   - namespace: The namespace; `nil` means `default`.
    public init(_ name: String, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }

    /// Parses `ns:table` or `table` as HBase prints it in a table list (§2 TableList).
    /// - Parameter qualified: The name as HBase spells it.
    public init(qualified: String) {
        if let colon = qualified.firstIndex(of: ":") {
            self.namespace = String(qualified[..<colon])
            self.name = String(qualified[qualified.index(after: colon)...])
        } else {
            self.namespace = nil
            self.name = qualified
        }
    }

    /// The name as it appears in a URL path and in HBase's table list: `ns:table`, or `table` in `default`.
    public var qualified: String {
        guard let namespace, namespace != "default" else { return name }
        return "\(namespace):\(name)"
    }

    /// Same as ``qualified``.
    public var description: String { qualified }
}

/// A column: a family and an optional qualifier (`family` or `family:qualifier`, HBASE_REST.md §3.1).
public struct HBaseColumn: Hashable, Sendable, CustomStringConvertible {
    /// The column family's name bytes.
    public var family: Data
    /// The qualifier bytes, or `nil` to mean the whole family (only valid where the spec allows a family).
    public var qualifier: Data?

    /// Creates a column from raw bytes.
    /// - Parameters:
    ///   - family: The family's name bytes.
    ///   - qualifier: The qualifier bytes, or `nil` for the whole family.
    public init(family: Data, qualifier: Data?) {
        self.family = family
        self.qualifier = qualifier
    }

    /// Creates a column from UTF-8 strings.
    /// - Parameters:
    ///   - family: The family name.
    ///   - qualifier: The qualifier, or `nil` for the whole family.
    public init(_ family: String, _ qualifier: String?) {
        self.init(family: Data(family.utf8), qualifier: qualifier.map { Data($0.utf8) })
    }

    /// Parses HBase's wire form `family:qualifier`, split at the first `:` (CellUtil.parseColumn, §3.1).
    ///
    /// A form without `:` is a whole family.
    /// - Parameter bytes: The `column` bytes of a cell.
    public init(wire bytes: Data) {
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            self.family = Data(bytes[bytes.startIndex..<colon])
            self.qualifier = Data(bytes[bytes.index(after: colon)...])
        } else {
            self.family = Data(bytes)
            self.qualifier = nil
        }
    }

    /// The wire form: `family:qualifier`, or `family` for a whole family (§2 CellSet `column`).
    public var wire: Data {
        guard let qualifier else { return family }
        return family + Data([UInt8(ascii: ":")]) + qualifier
    }

    /// The wire form decoded as UTF-8 (lossy), for messages and debugging.
    public var description: String { String(decoding: wire, as: UTF8.self) }
}

/// One cell version: a column, a timestamp and a value (§2 CellSet `Cell`).
public struct HBaseCell: Hashable, Sendable {
    /// The cell's column; a qualifier is required on writes.
    public var column: HBaseColumn
    /// Milliseconds since the epoch; `nil` on a write lets the server assign the time (§2).
    public var timestamp: Int64?
    /// The cell's value bytes.
    public var value: Data

    /// Creates a cell.
    /// - Parameters:
    ///   - column: The column (family and qualifier).
    ///   - value: The value bytes.
    ///   - timestamp: Milliseconds since the epoch, or `nil` for server time.
    public init(column: HBaseColumn, value: Data, timestamp: Int64? = nil) {
        self.column = column
        self.value = value
        self.timestamp = timestamp
    }

    /// Creates a cell holding a UTF-8 string.
    /// - Parameters:
    ///   - column: The column (family and qualifier).
    ///   - string: The value, stored as UTF-8 bytes.
    ///   - timestamp: Milliseconds since the epoch, or `nil` for server time.
    public init(column: HBaseColumn, string: String, timestamp: Int64? = nil) {
        self.init(column: column, value: Data(string.utf8), timestamp: timestamp)
    }
}

/// A row: its key and cells, as in a CellSet `Row` (§2).
public struct HBaseRow: Hashable, Sendable {
    /// The row key bytes.
    public var key: Data
    /// The cells, in the server's order (by column, newest version first) on reads.
    public var cells: [HBaseCell]

    /// Creates a row.
    /// - Parameters:
    ///   - key: The row key bytes.
    ///   - cells: The cells.
    public init(key: Data, cells: [HBaseCell]) {
        self.key = key
        self.cells = cells
    }

    /// Creates a row whose key is a UTF-8 string.
    /// - Parameters:
    ///   - key: The row key.
    ///   - cells: The cells.
    public init(key: String, cells: [HBaseCell]) {
        self.init(key: Data(key.utf8), cells: cells)
    }

    /// The row key decoded as UTF-8 (lossy).
    public var keyString: String { String(decoding: key, as: UTF8.self) }

    /// The newest value of a column, or `nil` if the row has no cell in it.
    /// - Parameter column: The column to look up.
    /// - Returns: The value of the cell with the highest timestamp.
    public func value(of column: HBaseColumn) -> Data? {
        cells.filter { $0.column == column }.max { ($0.timestamp ?? 0) < ($1.timestamp ?? 0) }?.value
    }

    /// The newest value of a column decoded as UTF-8, or `nil`.
    /// - Parameter column: The column to look up.
    /// - Returns: The string value.
    public func string(of column: HBaseColumn) -> String? {
        value(of: column).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// A column family's schema (§2 ColumnSchema).
public struct HBaseColumnFamily: Hashable, Sendable {
    /// The family name.
    public var name: String
    /// `VERSIONS`: how many versions of a cell HBase keeps; `nil` leaves HBase's default (1).
    public var maxVersions: Int?
    /// `TTL` in seconds; `nil` means HBase's default (forever).
    public var timeToLive: Int?
    /// Other attributes as HBase spells them (`BLOOMFILTER`, `COMPRESSION`, …), values as strings.
    public var attributes: [String: String]

    /// Creates a column family schema.
    /// - Parameters:
    ///   - name: The family name.
    ///   - maxVersions: `VERSIONS`, or `nil` for the server default.
    ///   - timeToLive: `TTL` in seconds, or `nil` for forever.
    ///   - attributes: Other attributes, sent as given.
    public init(_ name: String, maxVersions: Int? = nil, timeToLive: Int? = nil, attributes: [String: String] = [:]) {
        self.name = name
        self.maxVersions = maxVersions
        self.timeToLive = timeToLive
        self.attributes = attributes
    }
}

/// A table's schema (§2 TableSchema).
public struct HBaseTableSchema: Hashable, Sendable {
    /// The table.
    public var table: HBaseTableName
    /// The column families.
    public var families: [HBaseColumnFamily]
    /// Table attributes as HBase spells them (`IS_META`, `READONLY`, …), values as strings.
    public var attributes: [String: String]

    /// Creates a table schema.
    /// - Parameters:
    ///   - table: The table.
    ///   - families: The column families.
    ///   - attributes: Table attributes, sent as given.
    public init(table: HBaseTableName, families: [HBaseColumnFamily], attributes: [String: String] = [:]) {
        self.table = table
        self.families = families
        self.attributes = attributes
    }

    /// The family with this name, if any.
    /// - Parameter name: The family name.
    /// - Returns: Its schema.
    public func family(_ name: String) -> HBaseColumnFamily? { families.first { $0.name == name } }
}

/// What a scan reads: a row range, columns, versions and a time range (§2 Scanner, §3.7, §3.8).
public struct HBaseScan: Hashable, Sendable {
    /// First row, inclusive; `nil` means the start of the table.
    public var startRow: Data?
    /// Last row, exclusive; `nil` means the end of the table.
    public var endRow: Data?
    /// Columns or whole families to read; empty means all.
    public var columns: [HBaseColumn]
    /// Cells per batch of a stateful scanner (§3.8); `nil` leaves the server default.
    public var batch: Int?
    /// Versions per column; `nil` is the endpoint's default (all for a stateful scanner, 1 for a stateless scan).
    public var maxVersions: Int?
    /// Lowest timestamp, inclusive.
    public var startTime: Int64?
    /// Highest timestamp, exclusive.
    public var endTime: Int64?

    /// Creates a scan.
    /// - Parameters:
    ///   - startRow: First row, inclusive, or `nil`.
    ///   - endRow: Last row, exclusive, or `nil`.
    ///   - columns: Columns or families; empty for all.
    ///   - batch: Cells per batch, or `nil`.
    ///   - maxVersions: Versions per column, or `nil`.
    ///   - startTime: Lowest timestamp, inclusive, or `nil`.
    ///   - endTime: Highest timestamp, exclusive, or `nil`.
    public init(
        startRow: Data? = nil,
        endRow: Data? = nil,
        columns: [HBaseColumn] = [],
        batch: Int? = nil,
        maxVersions: Int? = nil,
        startTime: Int64? = nil,
        endTime: Int64? = nil
    ) {
        self.startRow = startRow
        self.endRow = endRow
        self.columns = columns
        self.batch = batch
        self.maxVersions = maxVersions
        self.startTime = startTime
        self.endTime = endTime
    }

    /// A scan of every row whose key starts with `prefix`, as explicit start and end rows (§7.1).
    /// - Parameters:
    ///   - prefix: The key prefix.
    ///   - columns: Columns or families; empty for all.
    ///   - batch: Cells per batch, or `nil`.
    /// - Returns: A scan from `prefix` to the prefix's successor (or the end of the table if none exists).
    public static func prefix(_ prefix: Data, columns: [HBaseColumn] = [], batch: Int? = nil) -> HBaseScan {
        HBaseScan(startRow: prefix, endRow: successor(ofPrefix: prefix), columns: columns, batch: batch)
    }

    /// A prefix scan over a UTF-8 prefix; see ``prefix(_:columns:batch:)-(Data,_,_)``.
    /// - Parameters:
    ///   - prefix: The key prefix.
    ///   - columns: Columns or families; empty for all.
    ///   - batch: Cells per batch, or `nil`.
    /// - Returns: A scan from `prefix` to its successor.
    public static func prefix(_ prefix: String, columns: [HBaseColumn] = [], batch: Int? = nil) -> HBaseScan {
        Self.prefix(Data(prefix.utf8), columns: columns, batch: batch)
    }

    /// The smallest key greater than every key that starts with `prefix`.
    ///
    /// Drops trailing 0xFF bytes, then adds one to the last byte; `nil` when no such key exists (empty or
    /// all-0xFF prefix).
    ///
    /// - Parameter prefix: The key prefix.
    /// - Returns: The exclusive end row of a prefix scan.
    public static func successor(ofPrefix prefix: Data) -> Data? {
        var bytes = [UInt8](prefix)
        while let last = bytes.last, last == 0xFF { bytes.removeLast() }
        guard let last = bytes.popLast() else { return nil }
        bytes.append(last + 1)
        return Data(bytes)
    }
}

/// The REST gateway's own version (§2 Version).
public struct HBaseRESTVersion: Hashable, Sendable {
    /// The REST protocol version, `0.0.3` in HBase 2.x.
    public var rest: String
    /// The JVM description.
    public var jvm: String
    /// The operating system description.
    public var os: String
    /// The servlet server description.
    public var server: String
}

/// A summary of the cluster's status (§2 ClusterStatus).
public struct HBaseClusterStatus: Hashable, Sendable {
    /// Number of regions.
    public var regions: Int
    /// Requests per second reported by the cluster.
    public var requests: Int
    /// Average regions per live server.
    public var averageLoad: Double
    /// Names (`host:port`) of live region servers.
    public var liveNodes: [String]
    /// Names of dead region servers.
    public var deadNodes: [String]
}

/// One region of a table as GET `/{t}/regions` lists it (RegionsResource, TableRegionModel).
public struct HBaseRegion: Hashable, Sendable {
    /// The region name, `table,startKey,id.encodedName.` (RegionInfo.createRegionName).
    public var name: String
    /// The region id (its creation time in ms).
    public var id: Int64
    /// First row, inclusive; empty for the first region.
    public var startKey: Data
    /// Last row, exclusive; empty for the last region.
    public var endKey: Data
    /// `host:port` of the region server hosting it, if the gateway knows.
    public var location: String?

    /// Creates a region description.
    /// - Parameters:
    ///   - name: The region name.
    ///   - id: The region id.
    ///   - startKey: First row, inclusive (empty: the table's start).
    ///   - endKey: Last row, exclusive (empty: the table's end).
    ///   - location: `host:port` of the region server, or `nil`.
    public init(name: String, id: Int64, startKey: Data, endKey: Data, location: String?) {
        self.name = name
        self.id = id
        self.startKey = startKey
        self.endKey = endKey
        self.location = location
    }
}
