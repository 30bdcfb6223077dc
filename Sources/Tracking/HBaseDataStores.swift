public import Engine
public import Foundation
public import HBase

/// Which split a prepared sample belongs to.
public enum DatasetSplit: String, Sendable, Codable, CaseIterable {
    /// The training split.
    case train
    /// The validation split.
    case validation
}

/// One prepared sample as stored in the datasets table.
public struct DatasetRecord: Sendable, Equatable {
    /// Its split.
    public var split: DatasetSplit
    /// 0-based index within the split.
    public var index: Int
    /// The raw features (before standardisation).
    public var features: [Float]
    /// Its class.
    public var label: SonarClass
    /// The 1-based line of the data file it came from, when known.
    public var line: Int?

    /// Creates a record.
    /// - Parameters:
    ///   - split: The split.
    ///   - index: Index within the split.
    ///   - features: Raw features.
    ///   - label: The class.
    ///   - line: The data file line.
    public init(split: DatasetSplit, index: Int, features: [Float], label: SonarClass, line: Int? = nil) {
        self.split = split
        self.index = index
        self.features = features
        self.label = label
        self.line = line
    }
}

/// The prepared train and validation rows in HBase (`sonarlab dataset load` / `dataset show`).
///
/// Row key `fingerprint/split/index` (index zero-padded to 5 digits), family `d`: `fingerprint`, `split`,
/// `index`, `label` (`R`/`M`), `features` (comma-separated, each value as Swift prints a `Float`, which
/// reads back bit-identically), `line`. Loading twice writes the same cells.
public struct HBaseDatasetStore: Sendable {
    /// The client.
    public let client: HBaseClient
    /// Table names.
    public let layout: HBaseTrackingLayout
    /// The durable writer every write goes through; `nil` sends each batch directly.
    public let writer: HBaseOutboxWriter?

    /// Creates the store.
    /// - Parameters:
    ///   - client: The HBase client.
    ///   - layout: Table names.
    ///   - writer: The outbox writer (SonarLab's commands always pass one); `nil` puts directly.
    public init(
        client: HBaseClient, layout: HBaseTrackingLayout = HBaseTrackingLayout(), writer: HBaseOutboxWriter? = nil
    ) {
        self.client = client
        self.layout = layout
        self.writer = writer
    }

    /// The row key of a sample.
    /// - Parameters:
    ///   - fingerprint: The data file's fingerprint.
    ///   - split: The split.
    ///   - index: Index within the split.
    /// - Returns: `fingerprint/split/00042`.
    public static func rowKey(fingerprint: String, split: DatasetSplit, index: Int) -> String {
        "\(fingerprint)/\(split.rawValue)/\(PlainNumber.format("%05d", index))"
    }

    /// Writes samples, `batchSize` rows per request (per outbox entry with a writer: queued, then sent).
    /// - Parameters:
    ///   - records: The samples.
    ///   - fingerprint: The data file's fingerprint.
    ///   - batchSize: Rows per request.
    /// - Throws: ``HBaseError`` (with a writer: only a refusal seen earlier, see ``HBaseOutboxWriter/write(_:into:origin:)``).
    public func write(_ records: [DatasetRecord], fingerprint: String, batchSize: Int = 500) async throws {
        let rows = records.map { record in
            HBaseRow(
                key: Self.rowKey(fingerprint: fingerprint, split: record.split, index: record.index),
                cells: [
                    HBaseCell(column: HBaseColumn("d", "fingerprint"), string: fingerprint),
                    HBaseCell(column: HBaseColumn("d", "split"), string: record.split.rawValue),
                    HBaseCell(column: HBaseColumn("d", "index"), string: String(record.index)),
                    HBaseCell(column: HBaseColumn("d", "label"), string: record.label.label),
                    HBaseCell(
                        column: HBaseColumn("d", "features"),
                        string: record.features.map { "\($0)" }.joined(separator: ",")),
                ] + (record.line.map { [HBaseCell(column: HBaseColumn("d", "line"), string: String($0))] } ?? []))
        }
        for start in stride(from: 0, to: rows.count, by: max(1, batchSize)) {
            let batch = Array(rows[start..<min(rows.count, start + max(1, batchSize))])
            if let writer {
                try await writer.write(batch, into: layout.datasets, origin: "dataset load")
            } else {
                try await client.put(batch, into: layout.datasets)
            }
        }
    }

    /// Reads every sample of a fingerprint (train then validation, by index).
    /// - Parameter fingerprint: The data file's fingerprint.
    /// - Returns: The samples.
    /// - Throws: ``HBaseError`` (`invalidResponse` for a malformed row or one whose fingerprint cell differs).
    public func records(fingerprint: String) async throws -> [DatasetRecord] {
        await writer?.settle()
        let rows = try await client.scan(.prefix(fingerprint + "/", batch: 5000), in: layout.datasets)
        return try rows.map { row in
            func d(_ qualifier: String) -> String? { row.string(of: HBaseColumn("d", qualifier)) }
            guard d("fingerprint") == fingerprint, let split = d("split").flatMap(DatasetSplit.init(rawValue:)),
                let index = d("index").flatMap({ Int($0) }), let label = d("label").flatMap({ SonarClass(label: $0) }),
                let featureText = d("features")
            else {
                throw HBaseError.invalidResponse.with(
                    message: "dataset row '\(row.keyString)' in \(layout.datasets.qualified) is malformed")
            }
            let features = featureText.split(separator: ",").compactMap { Float(String($0)) }
            return DatasetRecord(
                split: split, index: index, features: features, label: label, line: d("line").flatMap { Int($0) })
        }.sorted { ($0.split == .train ? 0 : 1, $0.index) < ($1.split == .train ? 0 : 1, $1.index) }
    }
}

/// One prediction as stored in the predictions table.
public struct PredictionRecord: Sendable, Equatable {
    /// The model's id (the experiment id that produced it).
    public var modelID: String
    /// Which input this is, for example `validation/00012` or `file.csv:7`.
    public var inputReference: String
    /// The predicted class.
    public var label: SonarClass
    /// The probability of the predicted class.
    public var probability: Double
    /// When the prediction was made.
    public var predictedAt: Date
    /// P(mine), when recorded (`sonarlab serve` records it; cell `p:p_mine`).
    public var mineProbability: Double?
    /// The SHA-256 (hex) of the row's features, when recorded (cell `p:features_sha256`).
    public var featuresSHA256: String?
    /// Who asked, when known: the caller's principal or token name (cell `p:caller`).
    public var caller: String?

    /// Creates a record.
    /// - Parameters:
    ///   - modelID: The model's id.
    ///   - inputReference: Which input.
    ///   - label: The predicted class.
    ///   - probability: Its probability.
    ///   - predictedAt: When.
    ///   - mineProbability: P(mine), or `nil`.
    ///   - featuresSHA256: The features' fingerprint, or `nil`.
    ///   - caller: The caller, or `nil`.
    public init(
        modelID: String, inputReference: String, label: SonarClass, probability: Double, predictedAt: Date,
        mineProbability: Double? = nil, featuresSHA256: String? = nil, caller: String? = nil
    ) {
        self.modelID = modelID
        self.inputReference = inputReference
        self.label = label
        self.probability = probability
        self.predictedAt = predictedAt
        self.mineProbability = mineProbability
        self.featuresSHA256 = featuresSHA256
        self.caller = caller
    }

    /// The record as its predictions-table row: row key `modelID/inputReference`, family `p`.
    public var row: HBaseRow {
        var cells = [
            HBaseCell(column: HBaseColumn("p", "model"), string: modelID),
            HBaseCell(column: HBaseColumn("p", "input"), string: inputReference),
            HBaseCell(column: HBaseColumn("p", "label"), string: label.label),
            HBaseCell(column: HBaseColumn("p", "probability"), string: String(describing: probability)),
            HBaseCell(column: HBaseColumn("p", "time"), string: String(describing: predictedAt.timeIntervalSince1970)),
        ]
        if let mineProbability {
            cells.append(HBaseCell(column: HBaseColumn("p", "p_mine"), string: String(describing: mineProbability)))
        }
        if let featuresSHA256 {
            cells.append(HBaseCell(column: HBaseColumn("p", "features_sha256"), string: featuresSHA256))
        }
        if let caller { cells.append(HBaseCell(column: HBaseColumn("p", "caller"), string: caller)) }
        return HBaseRow(key: "\(modelID)/\(inputReference)", cells: cells)
    }
}

/// Predictions in HBase (`sonarlab predict --store hbase`).
///
/// Row key `modelID/inputReference`, family `p`: `model`, `input`, `label`, `probability`, `time` (seconds
/// since 1970). The same prediction always lands on the same row.
public struct HBasePredictionStore: Sendable {
    /// The client.
    public let client: HBaseClient
    /// Table names.
    public let layout: HBaseTrackingLayout
    /// The durable writer every write goes through; `nil` sends each batch directly.
    public let writer: HBaseOutboxWriter?

    /// Creates the store.
    /// - Parameters:
    ///   - client: The HBase client.
    ///   - layout: Table names.
    ///   - writer: The outbox writer (SonarLab's commands always pass one); `nil` puts directly.
    public init(
        client: HBaseClient, layout: HBaseTrackingLayout = HBaseTrackingLayout(), writer: HBaseOutboxWriter? = nil
    ) {
        self.client = client
        self.layout = layout
        self.writer = writer
    }

    /// Writes predictions, `batchSize` rows per request (per outbox entry with a writer: queued, then sent).
    /// - Parameters:
    ///   - records: The predictions.
    ///   - batchSize: Rows per request.
    ///   - origin: Who writes, for the outbox (`predict`, `serve`).
    /// - Throws: ``HBaseError`` (with a writer: only a refusal seen earlier, see ``HBaseOutboxWriter/write(_:into:origin:)``).
    public func write(_ records: [PredictionRecord], batchSize: Int = 500, origin: String = "predict") async throws {
        let rows = records.map(\.row)
        for start in stride(from: 0, to: rows.count, by: max(1, batchSize)) {
            let batch = Array(rows[start..<min(rows.count, start + max(1, batchSize))])
            if let writer {
                try await writer.write(batch, into: layout.predictions, origin: origin)
            } else {
                try await client.put(batch, into: layout.predictions)
            }
        }
    }

    /// Reads a model's predictions, by input reference.
    /// - Parameter modelID: The model's id.
    /// - Returns: The predictions.
    /// - Throws: ``HBaseError``.
    public func predictions(modelID: String) async throws -> [PredictionRecord] {
        await writer?.settle()
        let rows = try await client.scan(.prefix(modelID + "/", batch: 5000), in: layout.predictions)
        return try rows.map { row in
            func p(_ qualifier: String) -> String? { row.string(of: HBaseColumn("p", qualifier)) }
            guard let model = p("model"), let input = p("input"),
                let label = p("label").flatMap({ SonarClass(label: $0) }),
                let probability = p("probability").flatMap(Double.init), let time = p("time").flatMap(Double.init)
            else {
                throw HBaseError.invalidResponse.with(
                    message: "prediction row '\(row.keyString)' in \(layout.predictions.qualified) is malformed")
            }
            return PredictionRecord(
                modelID: model, inputReference: input, label: label, probability: probability,
                predictedAt: Date(timeIntervalSince1970: time), mineProbability: p("p_mine").flatMap(Double.init),
                featuresSHA256: p("features_sha256"), caller: p("caller"))
        }
    }
}
