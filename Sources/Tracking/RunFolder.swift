public import Engine
public import Foundation
import Yams

/// The seed-style folder of one run: `experiments/exp_<name>_<timestamp>/`.
///
/// Holds `run.log` (the run's log), `exp_config.yaml` (parameters and metrics, written when the run ends),
/// `metrics.csv` (one line per epoch) and, for train runs, `model.json`.
public struct RunFolder: Sendable {
    /// The folder's path.
    public let path: String

    /// Creates the folder `<root>/exp_<name>_<yyyyMMdd_HHmmss>` (a numeric suffix keeps two runs in the same
    /// second apart).
    /// - Throws: a file-system error when the folder cannot be created.
    public init(root: String, name: String, startedAt: Date) throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        let base = (root as NSString).appendingPathComponent("exp_\(name)_\(formatter.string(from: startedAt))")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var candidate = base
        var n = 1
        while true {
            do {
                try FileManager.default.createDirectory(atPath: candidate, withIntermediateDirectories: false)
                break
            } catch {
                guard FileManager.default.fileExists(atPath: candidate), n < 1000 else { throw error }
                n += 1
                candidate = "\(base)_\(n)"
            }
        }
        path = candidate
    }

    /// `run.log` in the folder.
    public var logPath: String { file("run.log") }
    /// `model.json` in the folder.
    public var modelPath: String { file("model.json") }
    /// `exp_config.yaml` in the folder.
    public var configPath: String { file("exp_config.yaml") }
    /// `metrics.csv` in the folder.
    public var metricsPath: String { file("metrics.csv") }

    /// A path inside the folder.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `exp_config.yaml`: id, name, kind, status, times, data fingerprint, parameters and final metrics.
    /// Metrics are written as plain decimals (4 places) so people can read them.
    /// - Throws: a YAML or file-system error.
    public func writeSummary(_ experiment: Experiment) throws {
        try Self.summaryYAML(experiment).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Writes `metrics.csv`: `epoch,train_loss,train_accuracy,train_f1,val_loss,val_accuracy,val_f1,elapsed_s`.
    /// - Throws: a file-system error.
    public func writeEpochs(_ epochs: [EpochMetrics]) throws {
        var text = "epoch,train_loss,train_accuracy,train_f1,val_loss,val_accuracy,val_f1,elapsed_s\n"
        for e in epochs {
            let values = [
                e.train.loss, e.train.accuracy, e.train.macroF1, e.validation.loss, e.validation.accuracy,
                e.validation.macroF1, e.elapsedSeconds,
            ]
            text += "\(e.epoch)," + values.map { PlainNumber.format("%.6f", $0) }.joined(separator: ",") + "\n"
        }
        try text.write(toFile: metricsPath, atomically: true, encoding: .utf8)
    }

    /// The YAML text of ``writeSummary(_:)``.
    public static func summaryYAML(_ e: Experiment) throws -> String {
        func number(_ x: Double) -> Node { Node(PlainNumber.format("%.4f", x), Tag(.float)) }
        func metrics(_ m: SplitMetrics) -> Node {
            Node([
                (Node("loss"), number(m.loss)), (Node("accuracy"), number(m.accuracy)), (Node("f1"), number(m.macroF1)),
            ])
        }
        let iso = ISO8601DateFormatter()
        var pairs: [(Node, Node)] = [
            (Node("id"), Node(e.id)), (Node("name"), Node(e.name)), (Node("kind"), Node(e.kind.rawValue)),
            (Node("status"), Node(e.status.rawValue)), (Node("started"), Node(iso.string(from: e.startedAt))),
        ]
        if let ended = e.endedAt { pairs.append((Node("ended"), Node(iso.string(from: ended)))) }
        pairs.append((Node("data_fingerprint"), Node(e.dataFingerprint)))
        if let raw = e.dataFileSHA256 { pairs.append((Node("data_file_sha256"), Node(raw))) }
        pairs.append(
            (
                Node("params"),
                Node(e.parameters.keys.sorted().map { (Node($0), Node(e.parameters[$0]!)) })
            ))
        if let r = e.result {
            var m: [(Node, Node)] = []
            if let best = r.bestEpoch { m.append((Node("best_epoch"), Node(String(best), Tag(.int)))) }
            if let t = r.train { m.append((Node("train"), metrics(t))) }
            if let v = r.validation { m.append((Node("validation"), metrics(v))) }
            if let c = r.validationConfusion {
                m.append(
                    (Node("confusion_matrix"), Node(c.counts.map { Node($0.map { Node(String($0), Tag(.int)) }) })))
            }
            if let cv = r.crossValidation {
                m.append(
                    (
                        Node("cross_validation"),
                        Node([
                            (Node("folds"), Node(String(cv.folds), Tag(.int))),
                            (Node("repeats"), Node(String(cv.repeats), Tag(.int))),
                            (Node("fits"), Node(String(cv.fits), Tag(.int))),
                            (Node("accuracy_mean"), number(cv.accuracyMean)),
                            (Node("accuracy_sd"), number(cv.accuracySD)),
                            (Node("f1_mean"), number(cv.f1Mean)), (Node("f1_sd"), number(cv.f1SD)),
                        ])
                    ))
            }
            pairs.append((Node("metrics"), Node(m)))
        }
        if let model = e.modelPath { pairs.append((Node("model_path"), Node(model))) }
        if let message = e.message { pairs.append((Node("message"), Node(message))) }
        return try Yams.serialize(node: Node(pairs))
    }
}
