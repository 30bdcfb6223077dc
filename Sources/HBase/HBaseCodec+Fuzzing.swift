public import Foundation

/// The CellSet codec's entry points for the fuzz targets and their regression tests (`Fuzz/`, docs/fuzzing.md).
///
/// Not API: the client's public surface is ``HBaseClient``. These wrap the internal ``HBaseCodec`` so that the
/// fuzz target can drive the exact code the client runs on every gateway reply, and compare the fast scanner
/// with the `JSONDecoder` reference it falls back to (HBASE_REST.md §2).
@_spi(Fuzzing)
public enum HBaseCellSetCodec {
    /// Decodes a CellSet as the client does: the fast scanner, then `JSONDecoder` when the scanner declines.
    /// - Parameter data: A CellSet JSON document.
    /// - Returns: The rows, in document order.
    /// - Throws: ``HBaseError`` `invalidResponse` (a row without key, a cell without column), or the
    ///   `DecodingError` of `JSONDecoder` for anything that is not a CellSet.
    public static func decode(_ data: Data) throws -> [HBaseRow] {
        try HBaseCodec.decodeCellSet(data)
    }

    /// The fast scanner alone.
    /// - Parameter data: A CellSet JSON document.
    /// - Returns: The rows, or `nil` when the scanner declines the document (the client then falls back).
    public static func decodeFast(_ data: Data) -> [HBaseRow]? {
        HBaseCodec.decodeCellSetFast(data)
    }

    /// The `JSONDecoder` reference decoder alone.
    /// - Parameter data: A CellSet JSON document.
    /// - Returns: The rows, in document order.
    /// - Throws: As ``decode(_:)``.
    public static func decodeWithFoundation(_ data: Data) throws -> [HBaseRow] {
        try HBaseCodec.decodeCellSetWithFoundation(data)
    }

    /// Encodes rows as the client writes them (the fast encoder).
    /// - Parameter rows: The rows to write.
    /// - Returns: The CellSet JSON document.
    public static func encode(_ rows: [HBaseRow]) -> Data {
        HBaseCodec.encodeCellSetFast(rows)
    }
}
