public import Foundation

extension HBaseRow {
    /// Encodes rows as the gateway's JSON CellSet (HBASE_REST.md §2), exactly the bytes a put sends.
    ///
    /// For callers that keep writes for later, such as a durable outbox: the result decodes back with
    /// ``decodeCellSet(_:)`` to equal rows (keys, columns, timestamps and values bit for bit).
    /// - Parameter rows: The rows.
    /// - Returns: `{"Row":[{"key":"<b64>","Cell":[{"column":"<b64 fam:qual>","timestamp":…,"$":"<b64>"}]}]}`.
    public static func encodeCellSet(_ rows: [HBaseRow]) -> Data {
        HBaseCodec.encodeCellSetFast(rows)
    }

    /// Decodes a JSON CellSet (HBASE_REST.md §2), for example one made by ``encodeCellSet(_:)``.
    /// - Parameter data: The JSON.
    /// - Returns: The rows, in order.
    /// - Throws: A `DecodingError` when `data` is not a CellSet.
    public static func decodeCellSet(_ data: Data) throws -> [HBaseRow] {
        try HBaseCodec.decodeCellSet(data)
    }
}
