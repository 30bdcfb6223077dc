import Foundation
import SonarLabTestSupport
import Testing

@testable import Engine

@Suite("Loading and validating Sonar CSV")
struct DataLoadingTests {
    @Test("the committed data has 208 rows, 97 rocks and 111 mines, and the documented sha256")
    func realData() throws {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        #expect(loaded.dataset.count == 208)
        #expect(loaded.dataset.featureCount == 60)
        #expect(loaded.dataset.classCounts[.rock] == 97)
        #expect(loaded.dataset.classCounts[.mine] == 111)
        #expect(loaded.fingerprint == "e90434cdbf00fcf93ffa911fe447ae25606979658e60f1d32e155c3b5240234d")
    }

    @Test("CRLF line ends, a UTF-8 BOM and a missing final newline are accepted with the same values")
    func goodVariants() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let rows = [SyntheticData.csvLine(value: "0.25", label: "R"), SyntheticData.csvLine(value: "0.75", label: "M")]
        let plain = try SonarData.load(path: dir.write("lf.csv", rows.joined(separator: "\n") + "\n"))
        let crlf = try SonarData.load(path: dir.write("crlf.csv", rows.joined(separator: "\r\n") + "\r\n"))
        let bom = try SonarData.load(
            path: dir.write("bom.csv", bytes: [0xEF, 0xBB, 0xBF] + Array((rows.joined(separator: "\n")).utf8)))
        for other in [crlf, bom] {
            #expect(other.dataset == plain.dataset)
            #expect(other.lineNumbers == [1, 2])
        }
        #expect(plain.dataset.labels == [.rock, .mine])
        #expect(plain.dataset.features.row(1).allSatisfy { $0 == 0.75 })
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let content: String
        let code: DataError.Code
        let line: Int?
        let field: Int?
        let phrase: String
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = {
        let good = SyntheticData.csvLine()
        var values = Array(repeating: "0.5", count: 60)
        func row(_ index: Int, _ value: String, label: String = "R") -> String {
            var v = values
            v[index] = value
            return v.joined(separator: ",") + ",\(label)"
        }
        values = Array(repeating: "0.5", count: 60)
        return [
            Refusal(
                name: "short row",
                content: good + "\n" + Array(repeating: "0.5", count: 59).joined(separator: ",") + ",R\n",
                code: .wrongFieldCount, line: 2, field: nil, phrase: "expected 61 fields, found 60"),
            Refusal(
                name: "long row", content: good + ",0.5\n", code: .wrongFieldCount, line: 1, field: nil,
                phrase: "found 62"),
            Refusal(
                name: "non-numeric", content: good + "\n" + row(6, "abc") + "\n", code: .notANumber, line: 2, field: 7,
                phrase: "'abc' is not a number"),
            Refusal(
                name: "NaN", content: row(0, "nan") + "\n", code: .notFinite, line: 1, field: 1,
                phrase: "not a finite number"),
            Refusal(
                name: "infinite", content: row(59, "inf") + "\n", code: .notFinite, line: 1, field: 60,
                phrase: "not a finite number"),
            Refusal(
                name: "above 1", content: row(3, "1.5") + "\n", code: .outOfRange, line: 1, field: 4,
                phrase: "outside [0, 1]"),
            Refusal(
                name: "negative", content: row(3, "-0.1") + "\n", code: .outOfRange, line: 1, field: 4,
                phrase: "outside [0, 1]"),
            Refusal(
                name: "unknown label", content: good + "\n" + row(0, "0.5", label: "X") + "\n", code: .unknownLabel,
                line: 2,
                field: 61, phrase: "label 'X' is not R or M"),
            Refusal(
                name: "lower-case label", content: row(0, "0.5", label: "r") + "\n", code: .unknownLabel, line: 1,
                field: 61,
                phrase: "not R or M"),
            Refusal(name: "empty file", content: "", code: .empty, line: nil, field: nil, phrase: "no data rows"),
            Refusal(
                name: "blank lines only", content: "\n  \n\r\n", code: .empty, line: nil, field: nil,
                phrase: "no data rows"),
            Refusal(
                name: "wrong delimiter", content: good.replacingOccurrences(of: ",", with: ";") + "\n",
                code: .wrongFieldCount,
                line: 1, field: nil, phrase: "separated by commas"),
        ]
    }()

    @Test("bad files are refused with the file, line and field named", arguments: refusals)
    func refusal(_ refusal: Refusal) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("bad.csv", refusal.content)
        do {
            _ = try SonarData.load(path: path)
            Issue.record("\(refusal.name) was accepted")
        } catch {
            #expect(error.code == refusal.code)
            #expect(error.file == path)
            #expect(error.line == refusal.line)
            #expect(error.field == refusal.field)
            #expect(error.description.contains(refusal.phrase), "\(error.description)")
            #expect(error.description.hasPrefix(path + (refusal.line.map { ":\($0)" } ?? "")))
        }
    }

    @Test("a missing file is refused as unreadable")
    func missingFile() {
        #expect(throws: DataError(.unreadable, file: "/nonexistent/sonar.csv", reason: "")) {
            try SonarData.load(path: "/nonexistent/sonar.csv")
        }
    }

    @Test("a directory is refused as unreadable, saying it is a directory")
    func directoryRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let error = #expect(throws: DataError.self) { try SonarData.load(path: dir.path) }
        #expect(error?.code == .unreadable)
        #expect(error?.description == "\(dir.path): is a directory, not a data file")
    }

    @Test("control characters in a refused value are escaped, never printed raw")
    func controlCharactersEscaped() {
        let error = #expect(throws: DataError.self) {
            try SonarData.parseFeature("0.1\u{0}\u{1B}[2J", file: "f.csv", line: 3, field: 4)
        }
        #expect(error?.description.contains("'0.1\\x00\\x1B[2J' is not a number") == true, "\(String(describing: error))")
        #expect(error?.description.unicodeScalars.contains { $0.value < 0x20 } == false)
    }

    @Test("a long bad value is shortened in the message")
    func longValueShortened() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let secretish = String(repeating: "x", count: 500)
        var values = Array(repeating: "0.5", count: 60)
        values[0] = secretish
        let path = try dir.write("long.csv", values.joined(separator: ",") + ",R\n")
        do {
            _ = try SonarData.load(path: path)
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains(secretish))
            #expect(error.description.count < 200)
        }
    }
}

@Suite("Prediction input: CSV without labels and scenario JSON")
struct PredictionInputTests {
    @Test("CSV rows without labels are read with nil labels")
    func unlabelledCSV() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("x.csv", Array(repeating: "0.1", count: 60).joined(separator: ",") + "\n")
        let rows = try PredictionInput.load(path: path)
        #expect(rows.features.rows == 1)
        #expect(rows.labels == [nil])
    }

    @Test("mixing labelled and unlabelled rows is refused on the first odd line")
    func mixedCSV() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write(
            "x.csv", Array(repeating: "0.1", count: 60).joined(separator: ",") + "\n" + SyntheticData.csvLine() + "\n")
        #expect(throws: DataError(.wrongFieldCount, file: path, line: 2, reason: "")) {
            try PredictionInput.load(path: path)
        }
    }

    @Test("scenario JSON with X and y is read")
    func scenario() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let row = "[" + Array(repeating: "0.2", count: 60).joined(separator: ",") + "]"
        let path = try dir.write("s.json", "{\"X\": [\(row), \(row)], \"y\": [\"R\", \"M\"]}")
        let rows = try PredictionInput.load(path: path)
        #expect(rows.labels == [.rock, .mine])
        #expect(rows.features.values.allSatisfy { $0 == 0.2 })
    }

    struct BadScenario: Sendable, CustomTestStringConvertible {
        let name: String
        let json: String
        let code: DataError.Code
        let line: Int?
        var testDescription: String { name }
    }

    static let row60 = "[" + Array(repeating: "0.2", count: 60).joined(separator: ",") + "]"
    static let bad: [BadScenario] = [
        BadScenario(name: "truncated", json: "{\"X\": [[0.1, 0.2", code: .malformed, line: 1),
        BadScenario(name: "wrong shape", json: "{\"X\": 5}", code: .malformed, line: 1),
        BadScenario(
            name: "59 features",
            json: "{\"X\": [\(row60), [" + Array(repeating: "0.2", count: 59).joined(separator: ",") + "]]}",
            code: .wrongFieldCount, line: 1),
        BadScenario(
            name: "mismatched X/y", json: "{\"X\": [\(row60)], \"y\": [\"R\", \"M\"]}", code: .malformed, line: 1),
        BadScenario(name: "unknown label", json: "{\"X\": [\(row60)], \"y\": [\"Q\"]}", code: .unknownLabel, line: 1),
        BadScenario(
            name: "out of range",
            json: "{\"X\": [[" + (["1.2"] + Array(repeating: "0.2", count: 59)).joined(separator: ",") + "]]}",
            code: .outOfRange, line: 1),
        BadScenario(
            name: "string feature",
            json: "{\"X\": [[" + (["\"a\""] + Array(repeating: "0.2", count: 59)).joined(separator: ",") + "]]}",
            code: .notANumber, line: 1),
        BadScenario(name: "no rows", json: "{\"X\": []}", code: .empty, line: 1),
        BadScenario(
            name: "boolean feature, third line",
            json: "{\"X\": [\n\(row60),\n["
                + (["true"] + Array(repeating: "0.2", count: 59)).joined(separator: ",") + "]]}",
            code: .notANumber, line: 3),
        BadScenario(
            name: "unknown label on its own line",
            json: "{\"X\": [\(row60), \(row60)],\n\"y\": [\"R\",\n  \"Q\"]}", code: .unknownLabel, line: 3),
    ]

    @Test("malformed scenario JSON is refused, naming the row", arguments: bad)
    func badScenario(_ bad: BadScenario) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("bad.json", bad.json)
        do {
            _ = try PredictionInput.load(path: path)
            Issue.record("accepted \(bad.name)")
        } catch {
            #expect(error.code == bad.code, "\(error)")
            #expect(error.line == bad.line)
            #expect(error.description.hasPrefix(path))
        }
    }
}
