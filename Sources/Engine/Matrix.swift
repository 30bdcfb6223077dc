/// A dense row-major matrix of `Float`, the Engine's storage for features.
///
/// Shape: `rows × columns`; element `(r, c)` lives at `values[r * columns + c]`.
public struct Matrix: Sendable, Equatable, Codable {
    /// Number of rows (samples).
    public let rows: Int
    /// Number of columns (features).
    public let columns: Int
    /// Row-major storage, `rows * columns` values.
    public var values: [Float]

    /// Creates a matrix from row-major values.
    /// - Precondition: `values.count == rows * columns`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "Matrix: \(values.count) values for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Creates a zero matrix.
    public init(rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: 0, count: rows * columns))
    }

    /// Creates a matrix from an array of equally long rows.
    public init(rowArrays: [[Float]]) {
        let columns = rowArrays.first?.count ?? 0
        self.init(rows: rowArrays.count, columns: columns, values: rowArrays.flatMap { $0 })
    }

    /// The values of row `r` as a new array.
    public func row(_ r: Int) -> [Float] {
        Array(values[(r * columns)..<((r + 1) * columns)])
    }

    /// A new matrix made of the given rows, in the given order.
    public func selecting(rows indices: [Int]) -> Matrix {
        var out = [Float]()
        out.reserveCapacity(indices.count * columns)
        for r in indices { out.append(contentsOf: values[(r * columns)..<((r + 1) * columns)]) }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }
}
