import Crypto
public import Engine
import Foundation
public import Logging
import Synchronization
public import Tracking

/// The service's state and its one scoring path: the model holder, the recorder, the metrics and the limits.
///
/// Handlers call ``score(_:model:requestID:caller:deadline:)``: it predicts with the Engine's path (the same as
/// `sonarlab predict`: standardise, logits, softmax), then records every row before returning, so an answer is
/// only sent for predictions that are durable.
public final class ModelService: Sendable {
    /// Names and limits.
    public let configuration: ServingConfiguration
    /// The served model.
    public let holder: ModelHolder
    /// Where predictions are recorded.
    public let recorder: any PredictionRecorder
    /// `/metrics`.
    public let metrics: ServingMetrics
    /// The service's logger.
    public let logger: Logger
    let inflight = Atomic<Int>(0)
    private let refusals = Mutex<Set<String>>([])

    /// Creates the service.
    /// - Parameters:
    ///   - configuration: Names and limits.
    ///   - holder: The model holder (its model is loaded and verified).
    ///   - recorder: Where predictions go.
    ///   - metrics: The metrics (a new registry by default).
    ///   - logger: The logger (silent by default).
    public init(
        configuration: ServingConfiguration, holder: ModelHolder, recorder: any PredictionRecorder,
        metrics: ServingMetrics = ServingMetrics(),
        logger: Logger = Logger(label: "sonarlab.serve") { _ in SwiftLogNoOpLogHandler() }
    ) {
        self.configuration = configuration
        self.holder = holder
        self.recorder = recorder
        self.metrics = metrics
        self.logger = logger
        metrics.setModel(name: configuration.modelName, version: holder.model.version)
    }

    /// One scored request.
    struct Scored: Sendable {
        var labels: [SonarClass]
        var mineProbabilities: [Float]
    }

    /// Scores rows on `model` and records them; returns once the records are durable.
    /// - Parameters:
    ///   - rows: The rows.
    ///   - model: The model the request took at its start.
    ///   - requestID: The request id (row keys `modelID/requestID/row`).
    ///   - caller: Who asked, when known.
    ///   - deadline: Past it, nothing is recorded and the request fails.
    /// - Returns: Labels and P(mine) per row.
    /// - Throws: ``ServingError/Code/unavailable`` when the deadline passed or the recorder failed (nothing recorded).
    func score(
        _ rows: FeatureRows, model: ServedModel, requestID: String, caller: String?,
        deadline: ContinuousClock.Instant
    ) async throws(ServingError) -> Scored {
        let clock = ContinuousClock()
        let start = clock.now
        let matrix = rows.matrix
        let probabilities = model.artefact.model.mineProbabilities(matrix)
        let labels = model.artefact.model.predict(matrix)
        let inferred = clock.now
        metrics.recordStage("infer", inferred - start)
        guard inferred < deadline else {
            throw ServingError(.unavailable, "the request took longer than the request timeout; nothing was recorded")
        }
        let now = Date()
        let key = Self.rowKeyPart(requestID)
        let records = (0..<rows.count).map { i in
            PredictionRecord(
                modelID: model.version, inputReference: "\(key)/\(Self.padded(i))", label: labels[i],
                probability: labels[i] == .mine ? Double(probabilities[i]) : 1 - Double(probabilities[i]),
                predictedAt: now, mineProbability: Double(probabilities[i]),
                featuresSHA256: Self.fingerprint(rows.values, row: i), caller: caller)
        }
        do {
            try await recorder.record(records)
        } catch {
            metrics.countDeliveryError(reason: "recorder")
            logger.error("recording predictions failed: \(error)")
            throw ServingError(.unavailable, "the predictions could not be recorded, so none is answered; try again")
        }
        metrics.recordStage("record", clock.now - inferred)
        metrics.addRows(rows.count)
        return Scored(labels: labels, mineProbabilities: probabilities)
    }

    /// Logs an HBase refusal once per distinct message and counts it when it came from a new attempt (the
    /// writes are kept).
    func noteRefusal(_ message: String, reason: String, isNewAttempt: Bool = true) {
        if isNewAttempt { metrics.countDeliveryError(reason: reason) }
        let isNew = refusals.withLock { $0.insert(message).inserted }
        if isNew { logger.error("HBase refused the predictions' writes (kept in the outbox): \(message)") }
    }

    /// The SHA-256 (hex) of one row's features as little-endian IEEE 754 binary32 values.
    static func fingerprint(_ values: [Float], row: Int) -> String {
        let columns = SonarData.featureCount
        var hasher = SHA256()
        let bits = values[row * columns..<(row + 1) * columns].map { $0.bitPattern.littleEndian }
        bits.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in hasher.finalize() {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// A request id as a row-key part: `A-Z a-z 0-9 . _ : -` kept, every other byte as `%XX`.
    static func rowKeyPart(_ id: String) -> String {
        var out = ""
        for byte in id.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || ".-_:".contains(c) {
                out.append(c)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (byte < 16 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// A row index as six digits at least (`000012`), so rows sort in order in a scan.
    static func padded(_ i: Int) -> String {
        let s = String(i)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }
}
