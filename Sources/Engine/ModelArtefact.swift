public import Foundation

/// A saved model: one versioned JSON file with everything needed to predict and to trace the run.
///
/// Holds the architecture and weights (of every member of an ensemble), the standardisation, the label map, the data fingerprint, the
/// hyper-parameters and the kept epoch's metrics. Floats are written in their shortest round-tripping
/// form, so a model read back predicts bit-identically.
public struct ModelArtefact: Sendable, Codable, Equatable {
    /// The value of ``format`` in every SonarLab model file.
    public static let formatName = "sonarlab-model"
    /// The newest format version this build reads and writes.
    public static let currentVersion = 1

    /// Always ``formatName``.
    public var format: String = ModelArtefact.formatName
    /// Format version; readers refuse newer versions.
    public var formatVersion: Int = ModelArtefact.currentVersion
    /// The experiment that produced the model.
    public var experimentID: String
    /// Human name of the run.
    public var name: String
    /// When the model was saved (UTC, ISO 8601).
    public var createdAt: String
    /// Class label of each output logit, in order: `["R", "M"]`.
    public var labels: [String] = SonarClass.allCases.map(\.label)
    /// Hidden-layer activation; always `relu`.
    public var activation: String = "relu"
    /// The weights and standardisation.
    public var model: TrainedModel
    /// The data fingerprint of the training data (SHA-256 of its canonical form; see
    /// ``SonarData/canonicalForm(of:headerLine:)``).
    public var dataFingerprint: String
    /// SHA-256 of the training data file's exact bytes; absent in models saved before it was kept.
    public var dataFileSHA256: String?
    /// The training hyper-parameters.
    public var configuration: TrainingConfiguration
    /// 1-based epoch whose weights these are.
    public var bestEpoch: Int
    /// Training metrics at ``bestEpoch``.
    public var train: SplitMetrics
    /// Validation metrics at ``bestEpoch``.
    public var validation: SplitMetrics
    /// Validation confusion matrix at ``bestEpoch``.
    public var validationConfusion: ConfusionMatrix

    /// Creates an artefact from a finished training run.
    public init(
        experimentID: String, name: String, createdAt: Date, result: TrainingResult, dataFingerprint: String,
        configuration: TrainingConfiguration
    ) {
        self.experimentID = experimentID
        self.name = name
        self.createdAt = ISO8601DateFormatter().string(from: createdAt)
        self.model = result.model
        self.dataFingerprint = dataFingerprint
        self.configuration = configuration
        self.bestEpoch = result.bestEpoch
        self.train = result.history[result.bestEpoch - 1].train
        self.validation = result.bestValidation
        self.validationConfusion = result.validationConfusion
    }

    /// The file's bytes: pretty, key-sorted JSON.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain structs of numbers and strings cannot fail.
        return try! encoder.encode(self)
    }

    /// Writes the file atomically (a temporary file renamed into place).
    /// - Throws: the file system's error.
    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }

    /// Reads and checks a model file.
    /// - Parameter path: the file; named in every error.
    /// - Throws: ``DataError`` `unreadable` or `malformed` (not a SonarLab model, newer version,
    ///   inconsistent shapes).
    public static func load(path: String) throws(DataError) -> ModelArtefact {
        try decode(SonarData.readFile(path), file: path)
    }

    /// Decodes and checks model bytes.
    /// - Throws: ``DataError`` `malformed`.
    public static func decode(_ data: Data, file: String) throws(DataError) -> ModelArtefact {
        let artefact: ModelArtefact
        do {
            artefact = try JSONDecoder().decode(ModelArtefact.self, from: data)
        } catch {
            throw DataError(.malformed, file: file, reason: "not a SonarLab model file (\(describe(error)))")
        }
        guard artefact.format == formatName else {
            throw DataError(.malformed, file: file, reason: "format is '\(artefact.format)', expected '\(formatName)'")
        }
        guard artefact.formatVersion <= currentVersion else {
            throw DataError(
                .malformed, file: file,
                reason:
                    "model format version \(artefact.formatVersion) is newer than this build reads (\(currentVersion))")
        }
        let net = artefact.model.network
        // The size is checked before it is multiplied: a huge hiddenSize would overflow the parameter count.
        guard net.inputSize == SonarData.featureCount, net.outputSize == 2, (1...4096).contains(net.hiddenSize),
            net.parameters.count
                == MLP.parameterCount(inputSize: net.inputSize, hiddenSize: net.hiddenSize, outputSize: net.outputSize),
            artefact.model.standardizer.mean.count == net.inputSize,
            artefact.labels == SonarClass.allCases.map(\.label)
        else {
            throw DataError(.malformed, file: file, reason: "the model's shapes are inconsistent")
        }
        let others = artefact.model.additionalMembers ?? []
        guard (1...100).contains(artefact.configuration.ensemble), others.count + 1 == artefact.configuration.ensemble,
            others.allSatisfy({
                $0.inputSize == net.inputSize && $0.hiddenSize == net.hiddenSize && $0.outputSize == net.outputSize
                    && $0.parameters.count == net.parameters.count
            })
        else {
            throw DataError(
                .malformed, file: file,
                reason:
                    "the ensemble's members are inconsistent (configuration.ensemble = \(artefact.configuration.ensemble), "
                    + "\(others.count + 1) members of the same shape expected)")
        }
        let scale = artefact.model.standardizer
        guard scale.standardDeviation.count == net.inputSize,
            scale.standardDeviation.allSatisfy({ $0.isFinite && $0 > 0 }), scale.mean.allSatisfy(\.isFinite),
            net.parameters.allSatisfy(\.isFinite), others.allSatisfy({ $0.parameters.allSatisfy(\.isFinite) })
        else {
            throw DataError(
                .malformed, file: file,
                reason: "the model's standardiser or weights are not finite numbers (standard deviations must be > 0)")
        }
        return artefact
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing key '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "invalid JSON" : "invalid value at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default:
            return "unreadable"
        }
    }
}

/// Rows to predict, read from CSV or from the seed's scenario JSON.
public enum PredictionInput {
    /// Reads rows to score.
    ///
    /// - CSV (any name not ending in `.json`): 60 features per row, optionally the label as a 61st field
    ///   (all rows alike), validated as ``SonarData``.
    /// - JSON: `{"X": [[60 numbers], …], "y": ["R" | "M", …]}`; `y` optional, but if present one per row.
    /// - Parameters:
    ///   - path: the file; named in every error.
    ///   - header: for CSV, whether the first line is a header (`[data] header`); default
    ///     ``SonarData/HeaderPolicy/auto``.
    /// - Returns: features and, per row, the label when given.
    /// - Throws: ``DataError`` naming the file and the row/field (CSV line, or JSON `X[i][j]`); for CSV every bad
    ///   row and cell in one error.
    public static func load(path: String, header: SonarData.HeaderPolicy = .auto) throws(DataError) -> SonarData.Rows {
        let bytes = try SonarData.readFile(path)
        if path.lowercased().hasSuffix(".json") { return try decodeScenario(bytes, file: path) }
        return try SonarData.parse(bytes: bytes, file: path, labelled: .optional, header: header)
    }

    /// Decodes scenario JSON (`X` and optional `y`), checking every value.
    ///
    /// Errors name the place twice: `line` is the line of the file where the offending row, value or label
    /// starts, and the reason starts with its JSON path, e.g. `s.json:7: field 11: X[1][10]: 1.5 is outside
    /// [0, 1]`. The rows' ``SonarData/Rows/lineNumbers`` are the 1-based row numbers of `X`.
    /// - Throws: ``DataError`` `malformed`, `empty`, `wrongFieldCount`, `notANumber`, `notFinite`, `outOfRange`,
    ///   `unknownLabel`; `field` is the 1-based feature.
    public static func decodeScenario(_ bytes: Data, file: String) throws(DataError) -> SonarData.Rows {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: bytes)
        } catch {
            let (line, reason) = JSONLocation.syntaxError(error, in: bytes)
            throw DataError(.malformed, file: file, line: line, reason: reason)
        }
        /// The file line of the value at `path` (looked up only when there is an error to report).
        func line(_ path: JSONLocation.Step...) -> Int? { JSONLocation.line(of: path, in: bytes) }
        guard let root = object as? [String: Any], let xs = root["X"] as? [Any] else {
            let isObject = object is [String: Any]
            throw DataError(
                .malformed, file: file, line: isObject ? line(.key("X")) : nil,
                reason: "expected an object with an array \"X\" of rows")
        }
        guard !xs.isEmpty else {
            throw DataError(.empty, file: file, line: line(.key("X")), reason: "\"X\" holds no rows")
        }
        var values = [Float]()
        values.reserveCapacity(xs.count * SonarData.featureCount)
        for (i, rowAny) in xs.enumerated() {
            guard let row = rowAny as? [Any] else {
                throw DataError(
                    .malformed, file: file, line: line(.key("X"), .index(i)),
                    reason: "X[\(i)] is not an array of numbers")
            }
            guard row.count == SonarData.featureCount else {
                throw DataError(
                    .wrongFieldCount, file: file, line: line(.key("X"), .index(i)),
                    reason: "X[\(i)] has \(row.count) values, expected \(SonarData.featureCount)")
            }
            for (j, v) in row.enumerated() {
                // JSON true/false also arrive as NSNumber; their Objective-C type is "c" (char).
                guard let number = v as? NSNumber, String(cString: number.objCType) != "c" else {
                    throw DataError(
                        .notANumber, file: file, line: line(.key("X"), .index(i), .index(j)), field: j + 1,
                        reason: "X[\(i)][\(j)] is not a number")
                }
                do {
                    values.append(try SonarData.checkFeature(number.doubleValue, file: file, line: i + 1, field: j + 1))
                } catch {
                    throw DataError(
                        error.code, file: file, line: line(.key("X"), .index(i), .index(j)), field: j + 1,
                        reason: "X[\(i)][\(j)]: \(error.reason)")
                }
            }
        }
        var labels = [SonarClass?](repeating: nil, count: xs.count)
        if let yAny = root["y"], !(yAny is NSNull) {
            guard let ys = yAny as? [Any] else {
                throw DataError(
                    .malformed, file: file, line: line(.key("y")), reason: "\"y\" must be an array of \"R\" or \"M\"")
            }
            guard ys.count == xs.count else {
                throw DataError(
                    .malformed, file: file, line: line(.key("y")),
                    reason: "\"y\" has \(ys.count) labels but \"X\" has \(xs.count) rows")
            }
            for (i, y) in ys.enumerated() {
                guard let s = y as? String, let cls = SonarClass(label: s) else {
                    let shown = (y as? String).map { " " + DataError.quoted(Substring($0)) } ?? ""
                    throw DataError(
                        .unknownLabel, file: file, line: line(.key("y"), .index(i)),
                        reason: "y[\(i)]\(shown) is not \"R\" or \"M\"")
                }
                labels[i] = cls
            }
        }
        return SonarData.Rows(
            features: Matrix(rows: xs.count, columns: SonarData.featureCount, values: values), labels: labels,
            lineNumbers: Array(1...xs.count), fingerprint: SonarData.sha256Hex(of: bytes), header: nil)
    }
}
