import Foundation

/// Stateful scanners (HBASE_REST.md §3.8): held in this process's memory only, like a real gateway.
actor DoubleScanners {
    struct Flat {
        var key: Bytes
        var column: ColumnKey
        var cell: StoredCell
    }

    struct State {
        var table: String
        /// `nil` when the table did not exist at creation: the first GET answers 404 (§3.8, TSCR.testTableDoesNotExist).
        var cells: [Flat]?
        var position = 0
        var batch: Int
    }

    enum Next {
        case unknown
        case tableMissing
        case gone
        case exhausted
        case rows([ReadRow])
    }

    private var scanners: [String: State] = [:]

    /// The id is `currentTimeMillis` + a hex suffix (§3.8).
    func open(table: String, snapshot: [ReadRow]?, batch: Int) -> String {
        let millis = Int64(Date().timeIntervalSince1970 * 1000)
        var id: String
        repeat {
            id = "\(millis)" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        } while scanners[id] != nil
        let flat = snapshot.map { rows in
            rows.flatMap { row in row.cells.map { Flat(key: row.key, column: $0.column, cell: $0.cell) } }
        }
        scanners[id] = State(table: table, cells: flat, batch: max(1, batch))
        return id
    }

    /// Up to `cells` cells (default: the scanner's batch) and `rows` rows (§3.8; `c` and `n` params).
    func next(id: String, tableExists: Bool, cells: Int?, rows: Int?) -> Next {
        guard var state = scanners[id] else { return .unknown }
        guard let all = state.cells else { return .tableMissing }
        guard tableExists else {
            scanners[id] = nil  // §1: 410 and the scanner is dropped
            return .gone
        }
        guard state.position < all.count else { return .exhausted }
        let cellLimit = max(1, cells ?? state.batch)
        let rowLimit = max(1, rows ?? Int.max)
        var out: [ReadRow] = []
        var taken = 0
        while state.position < all.count && taken < cellLimit {
            let flat = all[state.position]
            if let last = out.last, last.key == flat.key {
                out[out.count - 1].cells.append((flat.column, flat.cell))
            } else {
                guard out.count < rowLimit else { break }
                out.append(ReadRow(key: flat.key, cells: [(flat.column, flat.cell)]))
            }
            state.position += 1
            taken += 1
        }
        scanners[id] = state
        return .rows(out)
    }

    /// §1: 200 even for an unknown id.
    func close(id: String) { scanners[id] = nil }

    func table(of id: String) -> String? { scanners[id]?.table }
}
