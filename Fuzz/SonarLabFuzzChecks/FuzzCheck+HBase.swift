import Foundation
@_spi(Fuzzing) import HBase

extension FuzzCheck {
    /// The HBase CellSet decoder (HBASE_REST.md §2), run on every gateway reply to a get, multiget or scan.
    ///
    /// Promises: the client's decoder throws, never traps; on any valid JSON document the fast scanner either
    /// declines (the client falls back) or returns exactly what the `JSONDecoder` reference returns; decoded rows
    /// encode and decode back to themselves.
    public static let cellSet = FuzzCheck(name: "cellset") { (data: Data) throws(FuzzFailure) in
        let rows: [HBaseRow]
        do {
            rows = try HBaseCellSetCodec.decode(data)
        } catch {
            return
        }
        let reencoded = HBaseCellSetCodec.encode(rows)
        guard (try? HBaseCellSetCodec.decode(reencoded)) == rows else {
            throw FuzzFailure("cellset", "\(rows.count) decoded row(s) do not survive an encode and decode")
        }
        guard let fast = HBaseCellSetCodec.decodeFast(data) else { return }
        let reference: [HBaseRow]
        do {
            reference = try HBaseCellSetCodec.decodeWithFoundation(data)
        } catch {
            // The scanner is lenient about JSON it skips; that is only a bug when the document is valid JSON.
            guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else { return }
            throw FuzzFailure("cellset", "the fast scanner accepted valid JSON that JSONDecoder refuses (\(error))")
        }
        guard fast == reference else {
            throw FuzzFailure(
                "cellset",
                "the fast scanner read \(fast.count) row(s), JSONDecoder \(reference.count), or different cells")
        }
    }
}
