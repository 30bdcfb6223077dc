import Foundation

/// The JSON models the double reads and writes (HBASE_REST.md §2).
///
/// Independent of the client's codec on
/// purpose, so the contract suite checks two readings of the spec against each other.
enum DoubleWire {
    struct Cell: Codable {
        var column: Data?
        var timestamp: Int64?
        var value: Data
        enum CodingKeys: String, CodingKey {
            case column
            case timestamp
            case value = "$"
        }
    }

    struct Row: Codable {
        var key: Data?
        var cells: [Cell]?
        enum CodingKeys: String, CodingKey {
            case key
            case cells = "Cell"
        }
    }

    struct CellSet: Codable {
        var rows: [Row]?
        enum CodingKeys: String, CodingKey { case rows = "Row" }
    }

    /// §2 Scanner; `filter` and `labels` are read only to refuse them (501).
    struct Scanner: Decodable {
        var startRow: Data?
        var endRow: Data?
        var column: [Data]?
        var batch: Int?
        var maxVersions: Int?
        var startTime: Int64?
        var endTime: Int64?
        var caching: Int?
        var cacheBlocks: Bool?
        var filter: String?
        var labels: [String]?
    }

    struct NamespaceProperties: Codable {
        var properties: [String: String]?
    }

    /// Output of a read: `timestamp` always present (§2).
    ///
    /// Written directly (base64 needs no escaping):
    /// Foundation's JSONEncoder would dominate the time of large scans.
    static func cellSet(_ rows: [ReadRow]) -> Data {
        var out = Data()
        out.reserveCapacity(rows.count * 160)
        func append(_ text: String) { out.append(contentsOf: text.utf8) }
        append(#"{"Row":["#)
        for (rowIndex, row) in rows.enumerated() {
            if rowIndex > 0 { append(",") }
            append(#"{"key":""# + Data(row.key).base64EncodedString() + #"","Cell":["#)
            for (cellIndex, entry) in row.cells.enumerated() {
                if cellIndex > 0 { append(",") }
                append(#"{"column":""# + Data(entry.column.wire).base64EncodedString())
                append(
                    #"","timestamp":\#(entry.cell.timestamp),"$":""# + Data(entry.cell.value).base64EncodedString()
                        + "\"}")
            }
            append("]}")
        }
        append("]}")
        return out
    }

    static func json(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// Parses a TableSchema body; values of any JSON scalar type become strings (§2).
    static func parseSchema(_ data: Data) -> TableSchemaRecord? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var attributes: [String: String] = [:]
        for (key, value) in object where key != "name" && key != "ColumnSchema" {
            guard let text = scalar(value) else { return nil }
            attributes[key] = text
        }
        var families: [FamilySchema] = []
        for column in object["ColumnSchema"] as? [[String: Any]] ?? [] {
            guard let name = column["name"].flatMap(scalar), !name.isEmpty else { return nil }
            var attrs: [String: String] = [:]
            for (key, value) in column where key != "name" {
                guard let text = scalar(value) else { return nil }
                attrs[key] = text
            }
            families.append(FamilySchema(name: name, attributes: attrs))
        }
        return TableSchemaRecord(attributes: attributes, families: families)
    }

    private static func scalar(_ value: Any) -> String? {
        switch value {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}

/// Percent-decoding as the gateway's layers do it (§3.1, §7.5).
enum DoubleDecoding {
    /// Decodes `%XX`; `plusAsSpace` for Java's `URLDecoder` and query strings.
    ///
    /// `nil` on a bad escape.
    static func percentDecode<S: StringProtocol>(_ text: S, plusAsSpace: Bool) -> Bytes? {
        var out: Bytes = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard bytes.count >= 2, let high = hex(bytes[bytes.startIndex]),
                    let low = hex(bytes[bytes.startIndex + 1])
                else {
                    return nil
                }
                out.append(high << 4 | low)
                bytes = bytes.dropFirst(2)
            } else if byte == UInt8(ascii: "+") && plusAsSpace {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(byte)
            }
        }
        return out
    }

    /// Java `URLDecoder.decode(s, "UTF-8")` then `Bytes.toBytes`: `+` is a space and the bytes go
    /// through a UTF-8 string, so invalid sequences become U+FFFD (§3.1, §7.5).
    static func urlDecoder<S: StringProtocol>(_ text: S) -> Bytes? {
        percentDecode(text, plusAsSpace: true).map { Array(String(decoding: $0, as: UTF8.self).utf8) }
    }

    /// Jersey's path-parameter decoding (`+` stays `+`), as a string.
    static func pathParam<S: StringProtocol>(_ text: S) -> String? {
        percentDecode(text, plusAsSpace: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Query parameters, decoded once (Jersey), in order.
    static func query(_ text: Substring?) -> [(String, String)]? {
        guard let text, !text.isEmpty else { return [] }
        var items: [(String, String)] = []
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecode(parts[0], plusAsSpace: true),
                let value = percentDecode(parts.count > 1 ? parts[1] : "", plusAsSpace: true)
            else { return nil }
            items.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return items
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A parsed row spec: `{row}[,{end}][/{col}[,{col}…][/{ts} | /{start},{end}]]` (§3.1, §3.2, RowSpec).
struct RowSpec: Sendable {
    var startRow: Bytes
    /// The exclusive end: the `,end` bound, or for a decoded start row ending in `*` the prefix + 0xFF.
    var endRow: Bytes?
    var columns: [Bytes]
    /// The path's time: one value is [0, ts), a pair is [start, end) (§3.2); `single` keeps a lone ts for DELETE.
    var timeRange: Range<Int64>?
    var single: Int64?

    /// RowResource.getBinary's 400 text for a spec without exactly one column.
    static let binaryNeedsOneColumn =
        "Bad request: Default 'GET' method only works if there is exactly 1 column in the row. Using the 'Accept' "
        + "header with one of these formats lets you retrieve the entire row if it has multiple columns: text/xml, "
        + "application/json, application/x-protobuf, application/protobuf\r\n"

    /// Parses the raw (still encoded) spec as RowSpec does.
    ///
    /// The row part splits at `,` before decoding; each part is decoded with `URLDecoder` (so `%FF` is
    /// U+FFFD); the glob `*` is looked for **after** decoding, so `%2A` is a glob too.
    /// - Throws: A 500 ``DoubleReply`` for what RowSpec rejects with an exception thrown from Jersey's
    ///   sub-resource locator (an empty start row, a glob with an end row, a bad escape or time).
    static func parse(_ raw: Substring) throws -> RowSpec {
        guard let spec = RowSpec(raw: raw) else { throw DoubleReply.text(500, "Malformed row specification\r\n") }
        return spec
    }

    private init?(raw: Substring) {
        let segments = raw.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        let rowBounds = segments[0].split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
        guard var start = DoubleDecoding.urlDecoder(rowBounds[0]), !start.isEmpty else { return nil }
        if rowBounds.count == 2 {
            guard let end = DoubleDecoding.urlDecoder(rowBounds[1]) else { return nil }
            endRow = end
        }
        if start.last == UInt8(ascii: "*") {
            guard endRow == nil else { return nil }  // "invalid path: start row specified with wildcard"
            start.removeLast()
            endRow = start + [0xFF]
        }
        startRow = start
        columns = []
        if segments.count > 1 && !segments[1].isEmpty {
            for column in segments[1].split(separator: ",") {
                guard let decoded = DoubleDecoding.urlDecoder(column) else { return nil }
                columns.append(decoded)
            }
        }
        if segments.count > 2 && !segments[2].isEmpty {
            let times = segments[2].split(separator: ",", omittingEmptySubsequences: false)
            guard let first = Int64(times[0]), times.count <= 2 else { return nil }
            if times.count == 2 {
                guard let second = Int64(times[1]), first <= second else { return nil }
                timeRange = first..<second
            } else {
                timeRange = 0..<first
                single = first
            }
        }
    }

    /// Path columns in sorted, de-duplicated byte order, as RowSpec keeps them (§7.3).
    var sortedColumns: [Bytes] { Array(Set(columns)).sorted(by: bytesLess) }

    var isSingleRow: Bool { endRow == nil }
}
