import Foundation

/// Fast paths for the CellSet, the payload of every put and read (HBASE_REST.md §2).
///
/// Foundation's `JSONEncoder`/`JSONDecoder` dominate the cost of large batches on Linux, so the CellSet is
/// written directly (base64 needs no JSON escaping) and read by a small byte scanner that knows the
/// CellSet shape and skips anything else. The scanner returns `nil` on anything unexpected (escapes, numbers
/// that are not plain integers, a member it reads given twice, skipped values nested deeper than 64) and the
/// caller falls back to `JSONDecoder`, so on valid JSON it can only be faster, never less correct (the
/// `fuzz-cellset` target checks this, docs/fuzzing.md). It does not validate what it skips: malformed JSON
/// outside the members it reads may be accepted.
extension HBaseCodec {
    static func encodeCellSetFast(_ rows: [HBaseRow]) -> Data {
        var out = Data()
        out.reserveCapacity(rows.count * 128)
        func append(_ text: String) { out.append(contentsOf: text.utf8) }
        append(#"{"Row":["#)
        for (rowIndex, row) in rows.enumerated() {
            if rowIndex > 0 { append(",") }
            append(#"{"key":""#)
            append(row.key.base64EncodedString())
            append(#"","Cell":["#)
            for (cellIndex, cell) in row.cells.enumerated() {
                if cellIndex > 0 { append(",") }
                append(#"{"column":""#)
                append(cell.column.wire.base64EncodedString())
                append("\"")
                if let timestamp = cell.timestamp { append(#","timestamp":\#(timestamp)"#) }
                append(#","$":""#)
                append(cell.value.base64EncodedString())
                append("\"}")
            }
            append("]}")
        }
        append("]}")
        return out
    }

    static func decodeCellSetFast(_ data: Data) -> [HBaseRow]? {
        data.withUnsafeBytes { raw -> [HBaseRow]? in
            var parser = CellSetScanner(bytes: raw.bindMemory(to: UInt8.self))
            return parser.cellSet()
        }
    }
}

/// A forward-only scanner over a CellSet JSON document.
private struct CellSetScanner {
    /// How deep ``skipValue()`` follows nested arrays and objects before it declines (and `JSONDecoder`, which has
    /// its own limit, decides): without a bound a deeply nested reply overflowed the stack (found by fuzz-cellset).
    static let maxSkipDepth = 64

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var skipDepth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skipSpace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
        }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// A string without escapes (keys and base64 values); `nil` if it has escapes (then fall back).
    mutating func rawString() -> UnsafeBufferPointer<UInt8>? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") { return nil }
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return slice
            }
            index += 1
        }
        return nil
    }

    mutating func key() -> String? {
        guard let raw = rawString(), consume(UInt8(ascii: ":")) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func base64() -> Data? {
        guard let raw = rawString() else { return nil }
        return Data(base64Encoded: Data(raw))
    }

    mutating func integer() -> Int64? {
        skipSpace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value: Int64 = 0
        var digits = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
            digits += 1
            index += 1
        }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            return nil
        }
        return digits > 0 ? (negative ? -value : value) : nil
    }

    /// Skips any JSON value without escapes in strings; `false` when it cannot.
    mutating func skipValue() -> Bool {
        guard let first = peek() else { return false }
        switch first {
        case UInt8(ascii: "\""): return rawString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard skipDepth < Self.maxSkipDepth else { return false }
            skipDepth += 1
            defer { skipDepth -= 1 }
            let close = first == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            if consume(close) { return true }
            repeat {
                if first == UInt8(ascii: "{") { guard key() != nil else { return false } }
                guard skipValue() else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(close)
        default:
            while index < bytes.count,
                ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[index])
            { index += 1 }
            return true
        }
    }

    /// `{` members `}` calling `member` for each key; `false` on malformed input.
    mutating func object(_ member: (inout CellSetScanner, String) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        repeat {
            guard let name = key(), member(&self, name) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    /// `[` elements `]`.
    mutating func array(_ element: (inout CellSetScanner) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "[")) else { return false }
        if consume(UInt8(ascii: "]")) { return true }
        repeat {
            guard element(&self) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]"))
    }

    mutating func cellSet() -> [HBaseRow]? {
        var rows: [HBaseRow] = []
        var sawRows = false
        // A member given twice is declined: JSONDecoder keeps one of them, and that choice is its own to make.
        let ok = object { scanner, name in
            guard name == "Row" else { return scanner.skipValue() }
            guard !sawRows else { return false }
            sawRows = true
            return scanner.array { scanner in
                var key: Data?
                var cells: [HBaseCell] = []
                var sawCells = false
                let rowOK = scanner.object { scanner, name in
                    switch name {
                    case "key":
                        guard key == nil else { return false }
                        key = scanner.base64()
                        return key != nil
                    case "Cell":
                        guard !sawCells else { return false }
                        sawCells = true
                        return scanner.array { scanner in
                            var column: Data?
                            var timestamp: Int64?
                            var value: Data?
                            let cellOK = scanner.object { scanner, name in
                                switch name {
                                case "column":
                                    guard column == nil else { return false }
                                    column = scanner.base64()
                                    return column != nil
                                case "timestamp":
                                    guard timestamp == nil else { return false }
                                    timestamp = scanner.integer()
                                    return timestamp != nil
                                case "$":
                                    guard value == nil else { return false }
                                    value = scanner.base64()
                                    return value != nil
                                default:
                                    return scanner.skipValue()
                                }
                            }
                            guard cellOK, let column, let value else { return false }
                            cells.append(
                                HBaseCell(column: HBaseColumn(wire: column), value: value, timestamp: timestamp))
                            return true
                        }
                    default:
                        return scanner.skipValue()
                    }
                }
                guard rowOK, let key else { return false }
                rows.append(HBaseRow(key: key, cells: cells))
                return true
            }
        }
        guard ok, peek() == nil else { return nil }
        return rows
    }
}
