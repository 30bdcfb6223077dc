import Foundation

/// URL path and query building for the gateway (HBASE_REST.md §3.1, §7.5).
///
/// Every byte outside RFC 3986 unreserved characters is percent-encoded, including `+`, `/`, `,`,
/// `*` and `:`: the gateway decodes row keys with Java's `URLDecoder` (§7.5) and splits row specs at
/// `/` and `,` before decoding (§3.1).
enum HBasePath {
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Percent-encodes every byte outside unreserved characters (§7.5).
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        for byte in bytes {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ string: String) -> String { encode(Array(string.utf8)) }

    /// `/{table}` with the table segment encoded (`ns:t` → `ns%3At`).
    static func table(_ table: HBaseTableName) -> String { "/" + encode(table.qualified) }

    /// `{col},{col}` for a row spec's column segment (§3.1).
    static func columns(_ columns: [HBaseColumn]) -> String {
        columns.map { encode($0.wire) }.joined(separator: ",")
    }

    /// TableResource's literal sub-resources; Jersey matches them on the encoded path, before `{rowspec}`.
    static let reservedSegments: Set<String> = ["exists", "regions", "scanner", "schema"]

    /// Whether a row key can be named exactly in a path row spec (§3.1, RowSpec).
    ///
    /// RowSpec decodes the path to a Java string (`URLDecoder`, UTF-8) and back to bytes, so bytes that
    /// are not valid UTF-8 become U+FFFD and address another row; a decoded key ending in `*` is a
    /// prefix glob (its DELETE deletes the key without the `*`); an empty key is not a row.
    static func isPathAddressable(_ key: Data) -> Bool {
        !key.isEmpty && key.last != UInt8(ascii: "*") && String(data: key, encoding: .utf8) != nil
    }

    /// The path segment for a row key: every byte outside unreserved characters percent-encoded, and
    /// the first byte too when the key would otherwise read as a reserved segment (`schema`, `regions`,
    /// `scanner`, `exists`, `multiget…`), which Jersey routes before the row spec (§1 Routing).
    static func rowSegment(_ key: Data) -> String {
        let encoded = encode(key)
        guard reservedSegments.contains(encoded) || encoded.hasPrefix("multiget"), let first = key.first else {
            return encoded
        }
        return "%" + String(decoding: [hex[Int(first >> 4)], hex[Int(first & 0x0F)]], as: UTF8.self)
            + encode(key.dropFirst())
    }

    /// `/{t}/{row}[/{cols}][/{start},{end}]` (§3.1, §3.2).
    static func row(
        _ table: HBaseTableName,
        key: Data,
        columns: [HBaseColumn] = [],
        timeRange: Range<Int64>? = nil
    ) -> String {
        var path = Self.table(table) + "/" + rowSegment(key)
        if !columns.isEmpty || timeRange != nil {
            // A time range needs a column segment; an empty family list is not expressible, so the
            // caller passes columns when it passes a time range.
            path += "/" + Self.columns(columns)
        }
        if let timeRange { path += "/\(timeRange.lowerBound),\(timeRange.upperBound)" }
        return path
    }

    /// A query string from pairs, each name and value percent-encoded once.
    static func query(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        return "?" + items.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }
}
