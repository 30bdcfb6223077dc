import Foundation
import SonarLabTestSupport
import Testing

@testable import Engine

@Suite("data fingerprint over the canonical form, every bad cell in one refusal, the header line")
struct DataInputTests {
    static let rows = [
        SyntheticData.csvLine(value: "0.25", label: "R"), SyntheticData.csvLine(value: "0.75", label: "M"),
    ]

    @Test("a CRLF copy, a BOM copy, a copy without the final newline or with blank lines share the fingerprint")
    func fingerprintIgnoresLineEnds() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let plainText = Self.rows.joined(separator: "\n") + "\n"
        let plain = try SonarData.load(path: dir.write("lf.csv", plainText))
        // Canonical already: the fingerprint is the file's own sha256.
        #expect(plain.fingerprint == plain.fileSHA256)
        #expect(plain.fingerprint == SonarData.sha256Hex(of: Data(plainText.utf8)))
        let variants = [
            try dir.write("crlf.csv", Self.rows.joined(separator: "\r\n") + "\r\n"),
            try dir.write("bom.csv", bytes: [0xEF, 0xBB, 0xBF] + Array(plainText.utf8)),
            try dir.write("bom-crlf.csv", bytes: [0xEF, 0xBB, 0xBF] + Array(Self.rows.joined(separator: "\r\n").utf8)),
            try dir.write("nofinal.csv", Self.rows.joined(separator: "\n")),
            try dir.write("blank.csv", "\n" + Self.rows.joined(separator: "\n\n  \n") + "\n\n"),
        ]
        for path in variants {
            let other = try SonarData.load(path: path)
            #expect(other.fingerprint == plain.fingerprint, "\(path)")
            #expect(other.fileSHA256 != plain.fileSHA256, "\(path): the raw sha256 still tells the files apart")
            #expect(other.fileSHA256 == SonarData.sha256Hex(of: try Data(contentsOf: URL(fileURLWithPath: path))))
        }
    }

    @Test("a changed value, a value written differently or reordered rows give a different fingerprint")
    func fingerprintFollowsTheData() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let plain = try SonarData.load(path: dir.write("lf.csv", Self.rows.joined(separator: "\n") + "\n"))
        let changed = Self.rows[0].replacingOccurrences(of: "0.25,R", with: "0.26,R")
        let spelt = Self.rows[0].replacingOccurrences(of: "0.25,R", with: "0.250,R")
        for text in [
            changed + "\n" + Self.rows[1] + "\n", spelt + "\n" + Self.rows[1] + "\n",
            Self.rows[1] + "\n" + Self.rows[0] + "\n",
        ] {
            let other = try SonarData.load(path: dir.write("changed.csv", text))
            #expect(other.fingerprint != plain.fingerprint)
        }
    }

    @Test("the committed data is canonical: its fingerprint is its sha256, so stored dataset row keys still match")
    func committedDataKeepsItsFingerprint() throws {
        let loaded = try SonarData.load(path: TestPaths.sonarData)
        #expect(loaded.fingerprint == loaded.fileSHA256)
        #expect(loaded.fingerprint == "e90434cdbf00fcf93ffa911fe447ae25606979658e60f1d32e155c3b5240234d")
        #expect(loaded.header == nil)
    }

    @Test("every bad cell and row of a file is reported in one refusal, each with file, line and field")
    func everyProblemAtOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func row(_ edits: [Int: String], label: String = "R") -> String {
            var v = Array(repeating: "0.5", count: 60)
            for (i, value) in edits { v[i] = value }
            return v.joined(separator: ",") + ",\(label)"
        }
        let text = [
            row([:]), row([6: "abc", 10: "1.5"]), row([:], label: "X"), row([0: "nan"]),
            Array(repeating: "0.5", count: 59).joined(separator: ",") + ",R", row([59: "-0.2"]),
        ].joined(separator: "\n")
        let path = try dir.write("six.csv", text + "\n")
        do {
            _ = try SonarData.load(path: path)
            Issue.record("accepted")
        } catch {
            #expect(error.problemCount == 6)
            #expect(error.code == .notANumber && error.line == 2 && error.field == 7)
            let places = ([error] + error.others).map { "\($0.code) \($0.line ?? 0):\($0.field ?? 0)" }
            #expect(
                places == [
                    "notANumber 2:7", "outOfRange 2:11", "unknownLabel 3:61", "notFinite 4:1", "wrongFieldCount 5:0",
                    "outOfRange 6:60",
                ])
            let lines = error.description.split(separator: "\n").map(String.init)
            #expect(lines.first == "\(path): 6 problems in the data:")
            #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  \(path):") }, "\(lines)")
            #expect(lines.contains("  \(path):2: field 11: 1.5 is outside [0, 1]"))
            #expect(lines.contains("  \(path):5: expected 61 fields, found 60"))
        }
    }

    @Test("more than 20 problems: the first 20 are listed, then how many more")
    func problemsAreCapped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bad = SyntheticData.csvLine(value: "2")  // 60 cells outside [0, 1] per row
        let path = try dir.write("many.csv", [bad, bad].joined(separator: "\n") + "\n")
        do {
            _ = try SonarData.load(path: path)
            Issue.record("accepted")
        } catch {
            #expect(error.problemCount == 120)
            #expect(error.others.count == 19)
            #expect(error.unlistedCount == 100)
            let lines = error.description.split(separator: "\n")
            #expect(lines.first == "\(path): 120 problems in the data, the first 20 listed:")
            #expect(lines.count == 22)
            #expect(lines.last == "  … and 100 more")
        }
    }

    static let header = (1...61).map { "attribute_\($0)" }.joined(separator: ",")

    @Test("header = auto skips a first line of non-numeric fields and says so; the data and fingerprint are unchanged")
    func autoHeader() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let body = Self.rows.joined(separator: "\n") + "\n"
        let plain = try SonarData.load(path: dir.write("plain.csv", body))
        let withHeader = try SonarData.load(path: dir.write("header.csv", "\n" + Self.header + "\n" + body))
        #expect(withHeader.header == SonarData.SkippedHeader(line: 2, isDetected: true))
        #expect(withHeader.header?.description.contains("line 2 is a header") == true)
        #expect(withHeader.dataset == plain.dataset)
        #expect(withHeader.lineNumbers == [3, 4])
        #expect(withHeader.fingerprint == plain.fingerprint)
        #expect(withHeader.fileSHA256 != plain.fileSHA256)
        #expect(plain.header == nil)
    }

    @Test("header = auto: a partly numeric first line is data, and refused with its bad cells")
    func partlyNumericFirstLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let mixed = "0.5,0.5," + (3...61).map { "attribute_\($0)" }.joined(separator: ",")
        let path = try dir.write("mixed.csv", mixed + "\n" + Self.rows.joined(separator: "\n") + "\n")
        do {
            _ = try SonarData.load(path: path, header: .auto)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .notANumber && error.line == 1 && error.field == 3)
            #expect(error.problemCount == 59)  // fields 3…60 and the label
        }
        // A first line of words with the wrong field count is not a header either.
        let short = try dir.write("short.csv", "a,b,c\n" + Self.rows.joined(separator: "\n") + "\n")
        #expect(throws: DataError(.wrongFieldCount, file: short, line: 1, reason: "")) {
            try SonarData.load(path: short)
        }
    }

    @Test("header = true always skips line 1; header = false never skips it")
    func explicitHeader() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let body = Self.rows.joined(separator: "\n") + "\n"
        let path = try dir.write("h.csv", Self.header + "\n" + body)
        let skipped = try SonarData.load(path: path, header: .always)
        #expect(skipped.header == SonarData.SkippedHeader(line: 1, isDetected: false))
        #expect(skipped.dataset.count == 2)
        // true skips line 1 even when it is numeric: the first data row is gone.
        let numeric = try SonarData.load(path: dir.write("n.csv", body), header: .always)
        #expect(numeric.dataset.count == 1 && numeric.lineNumbers == [2])
        #expect(throws: DataError(.notANumber, file: path, line: 1, field: 1, reason: "")) {
            try SonarData.load(path: path, header: .never)
        }
        #expect(try SonarData.load(path: dir.write("plain.csv", body), header: .never).dataset.count == 2)
    }

    @Test("prediction CSV without labels: a 60-field header is recognised too")
    func unlabelledHeader() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let header = (1...60).map { "band_\($0)" }.joined(separator: ",")
        let path = try dir.write(
            "p.csv", header + "\n" + Array(repeating: "0.1", count: 60).joined(separator: ",") + "\n")
        let rows = try PredictionInput.load(path: path)
        #expect(rows.features.rows == 1 && rows.lineNumbers == [2] && rows.header?.line == 1)
    }
}
