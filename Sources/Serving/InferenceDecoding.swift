import Engine
import Foundation

/// Rows to score, decoded from a request: `count × 60` features in `[0, 1]`, row-major.
struct FeatureRows: Sendable, Equatable {
    /// The features, row-major.
    var values: [Float]
    /// Rows.
    var count: Int

    /// The rows as the Engine's matrix.
    var matrix: Matrix { Matrix(rows: count, columns: SonarData.featureCount, values: values) }
}

/// A decoded Open Inference Protocol V2 inference request.
struct V2InferenceRequest: Sendable, Equatable {
    /// The request's `id`, when it gave one.
    var id: String?
    /// The rows.
    var rows: FeatureRows
    /// The outputs asked for (`label`, `p_mine`), in the request's order; `nil` = all.
    var outputs: [String]?
}

/// Turns request bodies into rows, refusing anything else with a message that names the input, row and column.
///
/// Sources of the rules: the Open Inference Protocol V2 REST spec (`$inference_request`, tensor data "row-major
/// order", nested or flat; datatypes), MLflow's scoring server (`dataframe_split`, `dataframe_records`,
/// `instances`, `inputs`, `text/csv`), and the data rule of the Sonar set (60 finite values in `[0, 1]`, the
/// same check `sonarlab predict` makes, ``Engine/SonarData/checkFeature(_:file:line:field:)``).
enum InferenceDecoding {
    /// The model's input tensor name.
    static let inputName = "features"
    /// The model's output tensor names, in answer order.
    static let outputNames = ["label", "p_mine"]
    static let columns = SonarData.featureCount

    // MARK: V2

    /// Decodes a V2 `$inference_request`.
    /// - Parameters:
    ///   - json: The parsed body.
    ///   - maxRows: The rows limit.
    /// - Returns: The request.
    /// - Throws: ``ServingError/Code/badRequest`` (shape, datatype, values, names), ``ServingError/Code/tooLarge``
    ///   (more rows than `maxRows`).
    static func v2(_ json: JSONValue, maxRows: Int) throws(ServingError) -> V2InferenceRequest {
        guard case .object = json else { throw bad("the body must be a JSON object with \"inputs\"") }
        var id: String?
        if let raw = json["id"] {
            guard case .string(let s) = raw else { throw bad("\"id\" must be a string, not \(raw.typeName)") }
            id = s
        }
        guard let inputsValue = json["inputs"] else {
            throw bad("missing \"inputs\": expected [{\"name\": \"features\", \"shape\": [n, 60], ...}]")
        }
        guard case .array(let inputs) = inputsValue else { throw bad("\"inputs\" must be an array") }
        guard inputs.count == 1 else {
            throw bad("\"inputs\" holds \(inputs.count) tensors; the model takes one, \"features\"")
        }
        let rows = try v2Input(inputs[0], maxRows: maxRows)
        var outputs: [String]?
        if let raw = json["outputs"] {
            guard case .array(let list) = raw else { throw bad("\"outputs\" must be an array") }
            var names: [String] = []
            for (i, item) in list.enumerated() {
                guard case .string(let name)? = item["name"] else {
                    throw bad("outputs[\(i)] needs a \"name\" string")
                }
                guard outputNames.contains(name) else {
                    throw bad("outputs[\(i)]: unknown output '\(clip(name))'; the model's outputs are label, p_mine")
                }
                names.append(name)
            }
            outputs = names
        }
        return V2InferenceRequest(id: id, rows: rows, outputs: outputs)
    }

    static func v2Input(_ input: JSONValue, maxRows: Int) throws(ServingError) -> FeatureRows {
        guard case .object = input else { throw bad("inputs[0] must be an object") }
        guard case .string(let name)? = input["name"] else { throw bad("inputs[0] needs a \"name\" string") }
        let label = "input '\(clip(name))'"
        guard name == inputName else {
            throw bad("inputs[0]: unknown \(label); the model's input is \"features\" (FP32, shape [-1, 60])")
        }
        guard case .string(let datatype)? = input["datatype"] else {
            throw bad("\(label) needs a \"datatype\" string (FP32 or FP64)")
        }
        guard datatype == "FP32" || datatype == "FP64" else {
            throw bad("\(label): datatype '\(clip(datatype))' is not FP32 or FP64")
        }
        guard case .array(let shapeValues)? = input["shape"] else {
            throw bad("\(label) needs a \"shape\" array, [n, 60]")
        }
        var shape: [Int] = []
        for dim in shapeValues {
            guard case .number(let d) = dim, d >= 0, d == d.rounded(), d < 1e12 else {
                throw bad(
                    "\(label): shape \(JSONValue.array(shapeValues).text.prefix(80)) must hold whole numbers >= 0")
            }
            shape.append(Int(d))
        }
        guard shape.count == 2, shape[1] == columns else {
            throw bad("\(label): shape \(shape) is not [n, \(columns)]")
        }
        guard shape[0] > 0 else { throw bad("\(label): shape \(shape) has no rows") }
        guard shape[0] <= maxRows else {
            throw ServingError(.tooLarge, "\(label): \(shape[0]) rows is over the limit of \(maxRows) rows per request")
        }
        guard case .array(let data)? = input["data"] else {
            throw bad("\(label) needs a \"data\" array (flat row-major, or one array of 60 per row)")
        }
        let isFP32 = datatype == "FP32"
        return try rows(data, expectedRows: shape[0], name: label, isFP32: isFP32, maxRows: maxRows)
    }

    /// Rows from `data`: flat row-major (`n·60` numbers) or nested (`n` arrays of 60).
    static func rows(
        _ data: [JSONValue], expectedRows: Int?, name: String, isFP32: Bool = false, maxRows: Int
    ) throws(ServingError) -> FeatureRows {
        var values: [Float] = []
        let nested = data.first.map { if case .array = $0 { return true } else { return false } } ?? false
        if nested {
            guard data.count <= maxRows else {
                throw ServingError(
                    .tooLarge, "\(name): \(data.count) rows is over the limit of \(maxRows) rows per request")
            }
            if let expectedRows, data.count != expectedRows {
                throw bad("\(name): data holds \(data.count) rows, shape says \(expectedRows)")
            }
            values.reserveCapacity(data.count * columns)
            for (r, rowValue) in data.enumerated() {
                guard case .array(let row) = rowValue else {
                    throw bad("\(name): row \(r + 1) is \(rowValue.typeName), not an array of \(columns) numbers")
                }
                guard row.count == columns else {
                    throw bad("\(name): row \(r + 1) has \(row.count) values, expected \(columns)")
                }
                for (c, v) in row.enumerated() {
                    values.append(try feature(v, name: name, row: r, column: c, isFP32: isFP32))
                }
            }
        } else {
            let n = expectedRows ?? data.count / columns
            guard expectedRows != nil || data.count % columns == 0 else {
                throw bad("\(name): \(data.count) values is not a whole number of rows of \(columns)")
            }
            guard data.count == n * columns else {
                throw bad("\(name): data holds \(data.count) values, shape [\(n), \(columns)] needs \(n * columns)")
            }
            guard n <= maxRows else {
                throw ServingError(.tooLarge, "\(name): \(n) rows is over the limit of \(maxRows) rows per request")
            }
            values.reserveCapacity(data.count)
            for (i, v) in data.enumerated() {
                values.append(try feature(v, name: name, row: i / columns, column: i % columns, isFP32: isFP32))
            }
        }
        guard !values.isEmpty else { throw bad("\(name): no rows") }
        return FeatureRows(values: values, count: values.count / columns)
    }

    /// One feature: a JSON number, finite, in `[0, 1]` (row and column named 1-based).
    static func feature(
        _ value: JSONValue, name: String, row: Int, column: Int, isFP32: Bool = false
    ) throws(ServingError) -> Float {
        // The place is formatted only for a refusal: per value it would cost more than the decoding.
        func place() -> String { "\(name): row \(row + 1), column \(column + 1)" }
        guard case .number(let d) = value else {
            throw bad("\(place()): \(value.typeName) is not a number")
        }
        do {
            return try SonarData.checkFeature(d, file: "", line: nil, field: column + 1)
        } catch {
            throw bad("\(place()): \(error.reason)")
        }
    }

    // MARK: MLflow

    /// Decodes an MLflow scoring JSON body: exactly one of `dataframe_split`, `dataframe_records`, `instances`,
    /// `inputs` (and optionally `params`, ignored).
    /// - Throws: ``ServingError/Code/badRequest``, ``ServingError/Code/tooLarge``.
    static func mlflow(_ json: JSONValue, maxRows: Int) throws(ServingError) -> FeatureRows {
        guard case .object(let members) = json else {
            throw bad(
                "the body must be a JSON object with one of dataframe_split, dataframe_records, instances, inputs")
        }
        let formats = ["dataframe_split", "dataframe_records", "instances", "inputs"]
        let given = members.map(\.0).filter { formats.contains($0) }
        let unknown = members.map(\.0).filter { !formats.contains($0) && $0 != "params" }
        guard unknown.isEmpty else {
            throw bad(
                "unknown key '\(clip(unknown[0]))'; expected one of \(formats.joined(separator: ", ")) (and params)")
        }
        guard given.count == 1, let key = given.first, let value = json[key] else {
            throw bad(
                given.isEmpty
                    ? "missing input: give one of \(formats.joined(separator: ", "))"
                    : "give only one of \(given.joined(separator: ", "))")
        }
        switch key {
        case "dataframe_split":
            guard case .object = value else { throw bad("\"dataframe_split\" must be an object with \"data\"") }
            if let columnsValue = value["columns"] {
                guard case .array(let names) = columnsValue, names.count == columns else {
                    throw bad("dataframe_split.columns must list \(columns) column names")
                }
            }
            guard case .array(let data)? = value["data"] else {
                throw bad("dataframe_split needs \"data\": an array of rows of \(columns) numbers")
            }
            return try nestedRows(data, name: "dataframe_split.data", maxRows: maxRows)
        case "dataframe_records":
            guard case .array(let records) = value else { throw bad("\"dataframe_records\" must be an array") }
            return try recordRows(records, name: "dataframe_records", maxRows: maxRows)
        default:
            var data = value
            if key == "inputs", case .object = value {
                guard let features = value[inputName] else {
                    throw bad("inputs: expected an array of rows, or {\"features\": rows}")
                }
                data = features
            }
            guard case .array(let list) = data else { throw bad("\"\(key)\" must be an array of rows") }
            if case .object? = list.first { return try recordRows(list, name: key, maxRows: maxRows) }
            return try nestedRows(list, name: key, maxRows: maxRows)
        }
    }

    /// Rows that must be nested (one array of 60 per row).
    static func nestedRows(_ data: [JSONValue], name: String, maxRows: Int) throws(ServingError) -> FeatureRows {
        guard !data.isEmpty else { throw bad("\(name): no rows") }
        guard case .array = data[0] else { throw bad("\(name): row 1 is \(data[0].typeName), not an array") }
        return try rows(data, expectedRows: nil, name: name, maxRows: maxRows)
    }

    /// Rows from records (objects of 60 columns each); the columns are taken in the first record's key order, and
    /// every record must have the same columns.
    static func recordRows(_ records: [JSONValue], name: String, maxRows: Int) throws(ServingError) -> FeatureRows {
        guard !records.isEmpty else { throw bad("\(name): no rows") }
        guard records.count <= maxRows else {
            throw ServingError(
                .tooLarge, "\(name): \(records.count) rows is over the limit of \(maxRows) rows per request")
        }
        guard case .object(let first) = records[0] else { throw bad("\(name): record 1 is not an object") }
        let keys = first.map(\.0)
        guard keys.count == columns else {
            throw bad("\(name): record 1 has \(keys.count) columns, expected \(columns)")
        }
        var values: [Float] = []
        values.reserveCapacity(records.count * columns)
        for (r, record) in records.enumerated() {
            guard case .object(let members) = record else { throw bad("\(name): record \(r + 1) is not an object") }
            guard members.count == columns else {
                throw bad("\(name): record \(r + 1) has \(members.count) columns, expected \(columns)")
            }
            let byName = Dictionary(members, uniquingKeysWith: { a, _ in a })
            for (c, key) in keys.enumerated() {
                guard let v = byName[key] else {
                    throw bad("\(name): record \(r + 1) has no column '\(clip(key))' (record 1 has it)")
                }
                values.append(try feature(v, name: name, row: r, column: c))
            }
        }
        return FeatureRows(values: values, count: records.count)
    }

    /// Rows from `text/csv`: 60 numbers a line, an optional header line (MLflow sends pandas' header).
    static func csv(_ bytes: [UInt8], maxRows: Int) throws(ServingError) -> FeatureRows {
        let parsed: SonarData.Rows
        do {
            parsed = try SonarData.parse(bytes: Data(bytes), file: "text/csv body", labelled: .optional, header: .auto)
        } catch {
            throw bad(error.description)
        }
        guard parsed.features.rows <= maxRows else {
            throw ServingError(
                .tooLarge,
                "text/csv body: \(parsed.features.rows) rows is over the limit of \(maxRows) rows per request")
        }
        guard parsed.labels.allSatisfy({ $0 == nil }) else {
            throw bad("text/csv body: rows have \(columns + 1) fields; send the \(columns) features only")
        }
        return FeatureRows(values: parsed.features.values, count: parsed.features.rows)
    }

    static func bad(_ message: String) -> ServingError { ServingError(.badRequest, message) }

    /// Caller text in a message: at most 64 characters, control characters replaced.
    static func clip(_ s: String) -> String {
        String(s.prefix(64).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }
}
