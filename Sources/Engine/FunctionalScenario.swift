public import Foundation

/// One functional scenario: labelled rows in the seed's JSON format plus what the model must reach.
///
/// File format (`tests/functional/*.json`): `{"X": [[60 numbers], …], "y": ["R" | "M", …]}` with the
/// optional keys `name` (default: the file name without `.json`), `description`, `min_accuracy` and
/// `min_f1` (thresholds in `[0, 1]`) and `expect_error` (a ``DataError/Code`` name such as `outOfRange`:
/// the rows must be refused with that code, and no metrics are computed).
public struct FunctionalScenario: Sendable {
    /// Scenario name, `[A-Za-z0-9._-]`, 1–64 characters; names the run folder and the JUnit test case.
    public let name: String
    /// The file it was read from, as given.
    public let file: String
    /// What the scenario checks, for people.
    public let description: String?
    /// The lowest accepted accuracy, or `nil` for no accuracy threshold.
    public let minAccuracy: Double?
    /// The lowest accepted macro-F1, or `nil` for no F1 threshold.
    public let minF1: Double?
    /// The ``DataError/Code`` name the rows must be refused with, or `nil` when they must be accepted.
    public let expectError: String?
    /// The labelled rows (`nil` when the scenario expects an error).
    public let dataset: Dataset?
    /// How the rows were refused, for scenarios that expect an error (`nil` if they were accepted).
    public let refusal: DataError?
    /// SHA-256 of the file's bytes.
    public let fingerprint: String

    /// Reads and checks a scenario file.
    ///
    /// A scenario without `expect_error` must have valid rows and one label per row; one with
    /// `expect_error` is read even though its rows are invalid (that is what it tests).
    /// - Parameter path: the file; named in every error.
    /// - Returns: the scenario.
    /// - Throws: ``DataError`` naming the file and the key or the row and field: `unreadable`,
    ///   `malformed` (not an object, wrong type of an optional key, a threshold outside `[0, 1]`, a bad
    ///   name, no labels), or the row errors of ``PredictionInput/decodeScenario(_:file:)``.
    public static func load(path: String) throws(DataError) -> FunctionalScenario {
        let bytes = try SonarData.readFile(path)
        return try decode(bytes, file: path)
    }

    /// Decodes and checks scenario bytes; see ``load(path:)``.
    /// - Throws: ``DataError`` as for ``load(path:)``.
    public static func decode(_ bytes: Data, file: String) throws(DataError) -> FunctionalScenario {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: bytes)
        } catch {
            let (line, reason) = JSONLocation.syntaxError(error, in: bytes)
            throw DataError(.malformed, file: file, line: line, reason: reason)
        }
        guard let root = object as? [String: Any] else {
            throw DataError(.malformed, file: file, reason: "expected an object with an array \"X\" of rows")
        }
        let known: Set<String> = ["X", "y", "name", "description", "min_accuracy", "min_f1", "expect_error"]
        /// The file line of a top-level key (looked up only when there is an error to report).
        func line(_ key: String) -> Int? { JSONLocation.line(of: [.key(key)], in: bytes) }
        if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw DataError(
                .malformed, file: file, line: line(unknown),
                reason: "unknown key \"\(unknown.prefix(32))\" (known: \(known.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String) throws(DataError) -> String? {
            guard let value = root[key], !(value is NSNull) else { return nil }
            guard let s = value as? String else {
                throw DataError(.malformed, file: file, line: line(key), reason: "\"\(key)\" must be a string")
            }
            return s
        }
        func threshold(_ key: String) throws(DataError) -> Double? {
            guard let value = root[key], !(value is NSNull) else { return nil }
            // JSON true/false also arrive as NSNumber; their Objective-C type is "c" (char).
            guard let n = value as? NSNumber, String(cString: n.objCType) != "c", (0...1).contains(n.doubleValue) else {
                throw DataError(
                    .malformed, file: file, line: line(key), reason: "\"\(key)\" must be a number in [0, 1]")
            }
            return n.doubleValue
        }
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = try string("name") ?? stem
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
        guard (1...64).contains(name.count), name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) })
        else {
            throw DataError(
                .malformed, file: file, line: line("name"),
                reason: "\"name\" must be 1–64 characters of A–Z, a–z, 0–9, '.', '_', '-'")
        }
        let expectError = try string("expect_error")
        let minAccuracy = try threshold("min_accuracy")
        let minF1 = try threshold("min_f1")
        if let expectError {
            let codes = [
                "empty", "wrongFieldCount", "notANumber", "notFinite", "outOfRange", "unknownLabel", "malformed",
            ]
            guard codes.contains(expectError) else {
                throw DataError(
                    .malformed, file: file, line: line("expect_error"),
                    reason: "\"expect_error\" must be one of \(codes.joined(separator: ", "))")
            }
            guard minAccuracy == nil, minF1 == nil else {
                throw DataError(
                    .malformed, file: file, line: line("expect_error"),
                    reason: "\"expect_error\" cannot be combined with min_accuracy or min_f1")
            }
        }
        var dataset: Dataset? = nil
        var refusal: DataError? = nil
        do throws(DataError) {
            let rows = try PredictionInput.decodeScenario(bytes, file: file)
            let labels = rows.labels.compactMap { $0 }
            if expectError == nil {
                guard labels.count == rows.labels.count else {
                    throw DataError(
                        .malformed, file: file, reason: "\"y\" is missing: a scenario needs one label per row")
                }
            }
            if labels.count == rows.labels.count {
                dataset = Dataset(features: rows.features, labels: labels)
            }
        } catch {
            guard expectError != nil else { throw error }
            refusal = error
        }
        return FunctionalScenario(
            name: name, file: file, description: try string("description"), minAccuracy: minAccuracy, minF1: minF1,
            expectError: expectError, dataset: dataset, refusal: refusal, fingerprint: SonarData.sha256Hex(of: bytes))
    }

    /// Scores a model on the scenario and checks its thresholds (or its expected refusal).
    /// - Parameter model: the model to test.
    /// - Returns: the metrics (for scenarios with rows) and the failures, empty when the scenario passed.
    public func evaluate(_ model: TrainedModel) -> ScenarioOutcome {
        if let expectError {
            guard let refusal else {
                return ScenarioOutcome(failures: ["the rows were accepted but should be refused (\(expectError))"])
            }
            guard refusal.code.description == expectError else {
                return ScenarioOutcome(failures: ["refused as \(refusal.code), expected \(expectError): \(refusal)"])
            }
            return ScenarioOutcome(refusal: refusal.description)
        }
        guard let dataset else { return ScenarioOutcome(failures: ["no rows"]) }
        let (metrics, confusion) = model.evaluate(dataset)
        var failures = [String]()
        if let minAccuracy, metrics.accuracy < minAccuracy {
            failures.append(
                PlainNumber.format("accuracy %.4f is below min_accuracy %.4f", metrics.accuracy, minAccuracy))
        }
        if let minF1, metrics.macroF1 < minF1 {
            failures.append(PlainNumber.format("macro-F1 %.4f is below min_f1 %.4f", metrics.macroF1, minF1))
        }
        return ScenarioOutcome(metrics: metrics, confusion: confusion, failures: failures)
    }
}

/// What one scenario gave: metrics, or the refusal it expected, and why it failed (if it did).
public struct ScenarioOutcome: Sendable, Equatable {
    /// Loss, accuracy and macro-F1 on the scenario's rows (`nil` for expected-error scenarios).
    public var metrics: SplitMetrics?
    /// The confusion matrix (`nil` for expected-error scenarios).
    public var confusion: ConfusionMatrix?
    /// The refusal message, when the scenario expected one and got it.
    public var refusal: String?
    /// Each failed check, in words; empty when the scenario passed.
    public var failures: [String]

    /// Creates an outcome.
    public init(
        metrics: SplitMetrics? = nil, confusion: ConfusionMatrix? = nil, refusal: String? = nil, failures: [String] = []
    ) {
        self.metrics = metrics
        self.confusion = confusion
        self.refusal = refusal
        self.failures = failures
    }

    /// Whether every check passed.
    public var passed: Bool { failures.isEmpty }
}

/// Writes the committed functional scenarios from the data: the generator behind `tests/functional/`.
///
/// Deterministic: the same data file, split settings and ``noiseSeed`` give byte-identical files, so a
/// test can check that the committed scenarios are what the generator makes.
public enum ScenarioGenerator {
    /// Seed of the Gaussian noise in `validation_noisy.json`.
    public static let noiseSeed: UInt64 = 20_261_129
    /// Standard deviation of that noise.
    public static let noiseSigma = 0.02

    /// One generated file.
    public struct File: Sendable, Equatable {
        /// File name such as `validation.json`.
        public let name: String
        /// The JSON text.
        public let text: String
    }

    /// Makes every scenario file.
    /// - Parameters:
    ///   - data: the labelled data (the real Sonar file).
    ///   - dataPath: its path, for the descriptions.
    ///   - testSize: validation fraction of the split (as training uses).
    ///   - seed: split seed (as training uses).
    /// - Returns: the files, in name order.
    public static func make(data: SonarData.LoadedFile, dataPath: String, testSize: Double, seed: UInt64) -> [File] {
        let dataset = data.dataset
        let split = StratifiedSplit.split(labels: dataset.labels, testSize: testSize, seed: seed)
        let validation = split.validation
        let rocks = validation.filter { dataset.labels[$0] == .rock }
        let mines = validation.filter { dataset.labels[$0] == .mine }
        let splitText = "split test_size \(testSize), seed \(seed)"
        let source = (dataPath as NSString).lastPathComponent
        func rows(_ indices: [Int]) -> [[String]] { indices.map { dataset.features.row($0).map { "\($0)" } } }
        func labels(_ indices: [Int]) -> [SonarClass] { indices.map { dataset.labels[$0] } }
        func line(_ i: Int) -> Int { data.lineNumbers[i] }

        var noise = SplitMix64(seed: noiseSeed)
        let noisy: [[String]] = validation.map { r in
            dataset.features.row(r).map { x in
                let v = min(1, max(0, Double(x) + noiseSigma * gaussian(&noise)))
                return "\(Float((v * 10_000).rounded() / 10_000))"
            }
        }
        var broken = rows(Array(validation.prefix(2)))
        broken[0][10] = "1.5"
        broken[1][3] = "-0.2"
        // The single-row cases: the most typical rock and mine, chosen without any model — the training row
        // nearest its class's training mean (Euclidean), so a trained model must get both right.
        let firstRock = typicalRow(of: .rock, among: split.train, in: dataset)
        let firstMine = typicalRow(of: .mine, among: split.train, in: dataset)

        var files = [
            File(
                name: "validation.json",
                text: render(
                    name: "validation",
                    description: "the whole validation split of \(source) (\(splitText)): \(validation.count) rows",
                    minAccuracy: 0.75, minF1: 0.75, rows: rows(validation), labels: labels(validation))),
            File(
                name: "rocks_only.json",
                text: render(
                    name: "rocks_only", description: "the \(rocks.count) rocks of the validation split (\(splitText))",
                    minAccuracy: 0.7, rows: rows(rocks), labels: labels(rocks))),
            File(
                name: "mines_only.json",
                text: render(
                    name: "mines_only", description: "the \(mines.count) mines of the validation split (\(splitText))",
                    minAccuracy: 0.7, rows: rows(mines), labels: labels(mines))),
            File(
                name: "single_rock.json",
                text: render(
                    name: "single_rock",
                    description:
                        "one rock: line \(line(firstRock)) of \(source), the training rock nearest the rocks' mean",
                    minAccuracy: 1, rows: rows([firstRock]), labels: [.rock])),
            File(
                name: "single_mine.json",
                text: render(
                    name: "single_mine",
                    description:
                        "one mine: line \(line(firstMine)) of \(source), the training mine nearest the mines' mean",
                    minAccuracy: 1, rows: rows([firstMine]), labels: [.mine])),
            File(
                name: "validation_noisy.json",
                text: render(
                    name: "validation_noisy",
                    description: "the validation split with Gaussian noise (sigma \(noiseSigma), seed \(noiseSeed)) "
                        + "clipped to [0, 1], 4 decimals",
                    minAccuracy: 0.65, minF1: 0.65, rows: noisy, labels: labels(validation))),
            File(
                name: "out_of_range.json",
                text: render(
                    name: "out_of_range",
                    description: "two validation rows with values 1.5 and -0.2: must be refused",
                    expectError: DataError.Code.outOfRange.description, rows: broken,
                    labels: labels(Array(validation.prefix(2))))),
        ]
        files.sort { $0.name < $1.name }
        return files
    }

    /// The row of class `cls` among `rows` nearest (Euclidean) to the mean of those rows; ties go to the first.
    static func typicalRow(of cls: SonarClass, among rows: [Int], in dataset: Dataset) -> Int {
        let members = rows.filter { dataset.labels[$0] == cls }
        var mean = [Double](repeating: 0, count: dataset.featureCount)
        for r in members { for (j, v) in dataset.features.row(r).enumerated() { mean[j] += Double(v) } }
        mean = mean.map { $0 / Double(max(members.count, 1)) }
        func distance(_ r: Int) -> Double {
            zip(dataset.features.row(r), mean).reduce(0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
        }
        return members.min { distance($0) < distance($1) } ?? 0
    }

    /// A standard normal draw (Box–Muller, one value per call) from 53-bit uniforms.
    static func gaussian(_ rng: inout SplitMix64) -> Double {
        let u1 = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_993.0  // (0, 1]
        let u2 = Double(rng.next() >> 11) / 9_007_199_254_740_992.0  // [0, 1)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    static func render(
        name: String, description: String, minAccuracy: Double? = nil, minF1: Double? = nil,
        expectError: String? = nil, rows: [[String]], labels: [SonarClass]
    ) -> String {
        func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var text = "{\n  \"name\": \(quoted(name)),\n  \"description\": \(quoted(description)),\n"
        if let minAccuracy { text += "  \"min_accuracy\": \(minAccuracy),\n" }
        if let minF1 { text += "  \"min_f1\": \(minF1),\n" }
        if let expectError { text += "  \"expect_error\": \(quoted(expectError)),\n" }
        text += "  \"X\": [\n"
        text += rows.map { "    [" + $0.joined(separator: ", ") + "]" }.joined(separator: ",\n")
        text += "\n  ],\n  \"y\": [" + labels.map { quoted($0.label) }.joined(separator: ", ") + "]\n}\n"
        return text
    }
}
