import Engine
import Foundation

extension FuzzCheck {
    /// The CSV reader (`SonarData.parse`, behind `load`, `prepare` and `predict --input FILE.csv`).
    ///
    /// Promises: it only throws ``DataError``; a refusal names a line inside the file and a field in 1…61, and its
    /// message stays short (values are quoted at most 32 characters long); accepted rows have 60 finite features in `[0, 1]`, one label each when labels are
    /// required, and increasing line numbers; a file accepted with required labels is read identically with
    /// optional labels.
    public static let csv = FuzzCheck(name: "csv") { (data: Data) throws(FuzzFailure) in
        let lineCount = data.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        var required: SonarData.Rows?
        for presence in [SonarData.LabelPresence.required, .optional] {
            let rows: SonarData.Rows
            do throws(DataError) {
                rows = try SonarData.parse(bytes: data, file: "fuzz.csv", labelled: presence)
            } catch {
                try checkRefusal(error, check: "csv", lineCount: lineCount)
                if presence == .optional, required != nil {
                    throw FuzzFailure("csv", "accepted with required labels, refused with optional ones: \(error)")
                }
                continue
            }
            try checkRows(rows, check: "csv", labelsRequired: presence == .required)
            if let last = rows.lineNumbers.last, last > lineCount {
                throw FuzzFailure("csv", "row on line \(last) of a \(lineCount)-line input")
            }
            if presence == .required {
                required = rows
            } else if let required,
                required.features != rows.features || required.labels != rows.labels
                    || required.lineNumbers != rows.lineNumbers
            {
                throw FuzzFailure("csv", "optional labels read the file differently from required labels")
            }
        }
    }

    /// The scenario decoder (`FunctionalScenario.decode`, behind `sonarlab test`, and
    /// `PredictionInput.decodeScenario`, behind `predict --input FILE.json`).
    ///
    /// Promises: only ``DataError``; a scenario it accepts has a valid name, thresholds in `[0, 1]`, and either
    /// an expected error or rows that pass the same checks as the CSV reader with one label per row; rows the
    /// prediction decoder accepts pass those checks too.
    public static let scenario = FuzzCheck(name: "scenario") { (data: Data) throws(FuzzFailure) in
        let predicted: SonarData.Rows?
        do throws(DataError) {
            predicted = try PredictionInput.decodeScenario(data, file: "fuzz.json")
        } catch {
            try checkRefusal(error, check: "scenario", lineCount: nil)
            predicted = nil
        }
        if let predicted { try checkRows(predicted, check: "scenario", labelsRequired: false) }
        let scenario: FunctionalScenario
        do throws(DataError) {
            scenario = try FunctionalScenario.decode(data, file: "fuzz.json")
        } catch {
            try checkRefusal(error, check: "scenario", lineCount: nil)
            return
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(scenario.name.count), scenario.name.allSatisfy(allowed.contains) else {
            throw FuzzFailure("scenario", "accepted the name \(scenario.name.debugDescription.prefix(80))")
        }
        for threshold in [scenario.minAccuracy, scenario.minF1].compactMap({ $0 }) where !(0...1).contains(threshold) {
            throw FuzzFailure("scenario", "accepted the threshold \(threshold)")
        }
        if scenario.expectError == nil {
            guard let dataset = scenario.dataset, scenario.refusal == nil else {
                throw FuzzFailure("scenario", "no expect_error, yet no rows or a refusal")
            }
            try checkRows(
                features: dataset.features, labels: dataset.labels, lineNumbers: (0..<dataset.count).map { $0 + 1 },
                check: "scenario", labelsRequired: true)
        } else if scenario.minAccuracy != nil || scenario.minF1 != nil {
            throw FuzzFailure("scenario", "expect_error combined with a threshold was accepted")
        }
    }

    /// Checks a refusal: its line and field (when given) lie in the input, and its message stays short.
    static func checkRefusal(_ error: DataError, check: String, lineCount: Int?) throws(FuzzFailure) {
        if let line = error.line, line < 1 || line > (lineCount ?? Int.max) {
            throw FuzzFailure(check, "refusal names line \(line) of a \(lineCount ?? 0)-line input: \(error)")
        }
        if let field = error.field, field < 1 || field > SonarData.featureCount + 1 {
            throw FuzzFailure(check, "refusal names field \(field): \(error)")
        }
        // The reason's own words are short; only a quoted value could make it long, and a quote is ≤ 32 characters.
        if error.reason.count > 200 {
            throw FuzzFailure(
                check, "refusal message of \(error.reason.count) characters: \(error.reason.prefix(120))…")
        }
    }

    /// Checks accepted rows: shape, finite features in `[0, 1]`, labels, increasing line numbers.
    static func checkRows(_ rows: SonarData.Rows, check: String, labelsRequired: Bool) throws(FuzzFailure) {
        try checkRows(
            features: rows.features, labels: rows.labels, lineNumbers: rows.lineNumbers, check: check,
            labelsRequired: labelsRequired)
    }

    static func checkRows(
        features: Matrix, labels: [SonarClass?], lineNumbers: [Int], check: String, labelsRequired: Bool
    ) throws(FuzzFailure) {
        let count = labels.count
        guard count > 0 else { throw FuzzFailure(check, "accepted an input without rows") }
        guard features.columns == SonarData.featureCount, features.rows == count,
            features.values.count == count * SonarData.featureCount, lineNumbers.count == count
        else {
            throw FuzzFailure(
                check,
                "shape \(features.rows)×\(features.columns) (\(features.values.count) values), "
                    + "\(count) labels, \(lineNumbers.count) line numbers")
        }
        if let bad = features.values.first(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) {
            throw FuzzFailure(check, "accepted the feature \(bad)")
        }
        let labelled = labels.filter { $0 != nil }.count
        if labelsRequired ? labelled != count : (labelled != 0 && labelled != count) {
            throw FuzzFailure(check, "\(labelled) of \(count) rows labelled")
        }
        let increasing = zip(lineNumbers, lineNumbers.dropFirst()).allSatisfy { $0 < $1 }
        guard increasing, lineNumbers.first.map({ $0 >= 1 }) ?? true else {
            throw FuzzFailure(check, "line numbers \(lineNumbers.prefix(8)) are not increasing from 1")
        }
    }
}
