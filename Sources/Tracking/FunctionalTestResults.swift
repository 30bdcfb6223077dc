public import Engine
public import Foundation

/// The results of the last `sonarlab test` run, as saved in `<[tracking] dir>/last-test-results.json`.
///
/// This is what the dashboard's Tests screen reads: ``load(directory:)`` returns `nil` when no test has
/// run yet. The JSON uses snake_case keys and ISO 8601 dates; metrics are plain numbers.
public struct FunctionalTestResults: Sendable, Codable, Equatable {
    /// The file name inside the `[tracking] dir` folder.
    public static let fileName = "last-test-results.json"

    /// The result of one scenario.
    public struct Scenario: Sendable, Codable, Equatable {
        /// Scenario name (the JUnit test case name and the run folder's name part).
        public var name: String
        /// The scenario file, as given on the command line or found in the scenarios folder.
        public var file: String
        /// What the scenario checks.
        public var description: String?
        /// `passed` or `failed`.
        public var status: Status
        /// Number of rows scored (0 for expected-error scenarios).
        public var rows: Int
        /// Accuracy on the rows (`nil` for expected-error scenarios).
        public var accuracy: Double?
        /// Macro-F1 on the rows.
        public var f1: Double?
        /// Mean cross-entropy on the rows.
        public var loss: Double?
        /// Confusion matrix, `[actual][predicted]`, rock first.
        public var confusionMatrix: [[Int]]?
        /// The accuracy threshold, when the scenario has one.
        public var minAccuracy: Double?
        /// The macro-F1 threshold, when the scenario has one.
        public var minF1: Double?
        /// The error code the rows had to be refused with.
        public var expectError: String?
        /// Each failed check (empty when passed); for expected errors, the refusal message when passed.
        public var messages: [String]
        /// The experiment recorded for this scenario.
        public var experimentID: String
        /// Its seed-style run folder.
        public var runDirectory: String
        /// Seconds the scenario took.
        public var seconds: Double

        /// Creates a scenario result.
        public init(
            name: String, file: String, description: String?, status: Status, rows: Int, accuracy: Double?,
            f1: Double?, loss: Double?, confusionMatrix: [[Int]]?, minAccuracy: Double?, minF1: Double?,
            expectError: String?, messages: [String], experimentID: String, runDirectory: String, seconds: Double
        ) {
            self.name = name
            self.file = file
            self.description = description
            self.status = status
            self.rows = rows
            self.accuracy = accuracy
            self.f1 = f1
            self.loss = loss
            self.confusionMatrix = confusionMatrix
            self.minAccuracy = minAccuracy
            self.minF1 = minF1
            self.expectError = expectError
            self.messages = messages
            self.experimentID = experimentID
            self.runDirectory = runDirectory
            self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey {
            case name, file, description, status, rows, accuracy, f1, loss, messages, seconds
            case confusionMatrix = "confusion_matrix", minAccuracy = "min_accuracy", minF1 = "min_f1"
            case expectError = "expect_error", experimentID = "experiment_id", runDirectory = "run_directory"
        }
    }

    /// Whether a scenario passed.
    public enum Status: String, Sendable, Codable {
        /// Every threshold met (or the expected refusal happened).
        case passed
        /// A threshold was missed (or the expected refusal did not happen).
        case failed
    }

    /// When the run started.
    public var startedAt: Date
    /// The model file tested (a `model.json` or a distribution zip).
    public var modelPath: String
    /// The experiment that trained the model.
    public var modelExperimentID: String
    /// The scenarios folder or files.
    public var scenariosSource: String
    /// One entry per scenario, in the order run (file name order).
    public var scenarios: [Scenario]

    /// Creates results.
    public init(
        startedAt: Date, modelPath: String, modelExperimentID: String, scenariosSource: String, scenarios: [Scenario]
    ) {
        self.startedAt = startedAt
        self.modelPath = modelPath
        self.modelExperimentID = modelExperimentID
        self.scenariosSource = scenariosSource
        self.scenarios = scenarios
    }

    enum CodingKeys: String, CodingKey {
        case scenarios
        case startedAt = "started_at", modelPath = "model_path", modelExperimentID = "model_experiment_id"
        case scenariosSource = "scenarios_source"
    }

    /// Number of scenarios that passed.
    public var passedCount: Int { scenarios.filter { $0.status == .passed }.count }
    /// Number of scenarios that failed.
    public var failedCount: Int { scenarios.count - passedCount }
    /// Whether every scenario passed.
    public var allPassed: Bool { failedCount == 0 }

    /// The JSON bytes (pretty, key-sorted).
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        // Plain structs of numbers and strings always encode.
        return try! encoder.encode(self)
    }

    /// Saves the results as `directory/last-test-results.json` (atomically), creating the folder.
    /// - Parameter directory: the `[tracking] dir` folder.
    /// - Throws: a file-system error.
    public func write(toDirectory directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try encoded().write(to: URL(fileURLWithPath: Self.path(inDirectory: directory)), options: .atomic)
    }

    /// The results file's path inside `directory`.
    public static func path(inDirectory directory: String) -> String {
        (directory as NSString).appendingPathComponent(fileName)
    }

    /// Reads the last results saved in `directory`.
    /// - Parameter directory: the `[tracking] dir` folder.
    /// - Returns: the results, or `nil` when no test has run yet (no file).
    /// - Throws: ``DataError`` `malformed` when the file exists but is not valid results JSON.
    public static func load(directory: String) throws(DataError) -> FunctionalTestResults? {
        let path = path(inDirectory: directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try SonarData.readFile(path)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(FunctionalTestResults.self, from: bytes)
        } catch {
            throw DataError(.malformed, file: path, reason: "not a SonarLab test results file")
        }
    }

    /// The results as JUnit XML: one `<testsuite>`, one `<testcase>` per scenario, a `<failure>` with a
    /// message for each failed one.
    public func junitXML() -> String {
        let total = scenarios.reduce(0) { $0 + $1.seconds }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"sonarlab\" tests=\"\(scenarios.count)\" failures=\"\(failedCount)\" errors=\"0\">\n"
        xml += "  <testsuite name=\"functional\" tests=\"\(scenarios.count)\" failures=\"\(failedCount)\" errors=\"0\""
        xml += " skipped=\"0\" time=\"\(PlainNumber.format("%.3f", total))\""
        xml += " timestamp=\"\(Self.escape(ISO8601DateFormatter().string(from: startedAt)))\">\n"
        xml += "    <properties>\n"
        xml += "      <property name=\"model\" value=\"\(Self.escape(modelPath))\"/>\n"
        xml += "      <property name=\"model_experiment_id\" value=\"\(Self.escape(modelExperimentID))\"/>\n"
        xml += "    </properties>\n"
        for s in scenarios {
            xml += "    <testcase classname=\"sonarlab.functional\" name=\"\(Self.escape(s.name))\""
            xml += " file=\"\(Self.escape(s.file))\" time=\"\(PlainNumber.format("%.3f", s.seconds))\">\n"
            if s.status == .failed {
                let message = s.messages.joined(separator: "; ")
                xml += "      <failure message=\"\(Self.escape(message))\" type=\"threshold\">"
                xml += Self.escape(s.summaryLine) + "</failure>\n"
            }
            xml += "      <system-out>\(Self.escape(s.summaryLine))</system-out>\n"
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    /// Escapes text for an XML attribute or element.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension FunctionalTestResults.Scenario {
    /// One line for people: metrics, thresholds and messages.
    public var summaryLine: String {
        var parts = [String]()
        if let accuracy, let f1 {
            parts.append(PlainNumber.format("%d rows, accuracy %.4f, macro-F1 %.4f", rows, accuracy, f1))
        }
        if let minAccuracy { parts.append(PlainNumber.format("min_accuracy %.4f", minAccuracy)) }
        if let minF1 { parts.append(PlainNumber.format("min_f1 %.4f", minF1)) }
        if let expectError { parts.append("expect_error \(expectError)") }
        if let c = confusionMatrix { parts.append("confusion [[\(c[0][0]), \(c[0][1])], [\(c[1][0]), \(c[1][1])]]") }
        parts += messages
        return parts.joined(separator: "; ")
    }
}
