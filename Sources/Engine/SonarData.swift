public import Foundation
import Crypto

/// Reads and validates data in the UCI Sonar layout: 60 comma-separated features in `[0, 1]`, then `R` or `M`.
///
/// Accepted: LF or CRLF line ends, a UTF-8 byte-order mark, a missing final newline, blank lines (skipped).
/// Refused with a ``DataError`` naming file, line and field: a row without exactly 61 fields, a non-numeric,
/// NaN or infinite value, a value outside `[0, 1]`, a label other than `R` or `M`, an empty file.
///
/// Source of the layout: UCI `sonar.names` (Gorman & Sejnowski, 1988).
public enum SonarData {
    /// Features per row in the Sonar data.
    public static let featureCount = 60

    /// A loaded data file: its rows and the SHA-256 of its exact bytes.
    public struct LoadedFile: Sendable {
        /// The validated rows.
        public let dataset: Dataset
        /// Lowercase hex SHA-256 of the file's bytes (the data fingerprint every run records).
        public let fingerprint: String
        /// The 1-based line number of each row in the file.
        public let lineNumbers: [Int]
    }

    /// Loads and validates a labelled Sonar file.
    /// - Parameter path: the file to read; named as given in every error.
    /// - Returns: the rows and the file's fingerprint.
    /// - Throws: ``DataError`` (`unreadable`, `empty`, `wrongFieldCount`, `notANumber`, `notFinite`,
    ///   `outOfRange`, `unknownLabel`).
    public static func load(path: String) throws(DataError) -> LoadedFile {
        let bytes = try readFile(path)
        let rows = try parse(bytes: bytes, file: path, labelled: .required)
        return LoadedFile(
            dataset: Dataset(features: rows.features, labels: rows.labels.map { $0! }),
            fingerprint: fingerprint(of: bytes),
            lineNumbers: rows.lineNumbers
        )
    }

    /// Lowercase hex SHA-256 of `bytes`.
    public static func fingerprint(of bytes: Data) -> String {
        SHA256.hash(data: bytes).map { PlainNumber.format("%02x", $0) }.joined()
    }

    /// Reads a whole file.
    /// - Throws: ``DataError/Code/unreadable``.
    public static func readFile(_ path: String) throws(DataError) -> Data {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw DataError(.unreadable, file: path, reason: "is a directory, not a data file")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DataError(.unreadable, file: path, reason: "cannot read the file (\(Self.reason(error)))")
        }
    }

    /// Whether rows carry the label as their 61st field.
    public enum LabelPresence: Sendable {
        /// Every row must have 61 fields, the last `R` or `M`.
        case required
        /// Every row has 60 fields, or every row 61 (then the last is a label).
        case optional
    }

    /// Parsed rows, labels present or not.
    public struct Rows: Sendable {
        /// Features, `count × 60`.
        public let features: Matrix
        /// One label per row, or `nil` per row when the file has none.
        public let labels: [SonarClass?]
        /// 1-based line of each row.
        public let lineNumbers: [Int]
    }

    /// Parses Sonar CSV bytes.
    /// - Parameters:
    ///   - bytes: the file content.
    ///   - file: the name used in errors.
    ///   - labelled: whether the label field is required or optional (consistent across rows).
    /// - Throws: ``DataError`` as for ``load(path:)``.
    public static func parse(bytes: Data, file: String, labelled: LabelPresence) throws(DataError) -> Rows {
        guard var text = String(data: bytes, encoding: .utf8) else {
            // Name the first line that is not UTF-8 (e.g. a Latin-1 "é" from a spreadsheet export).
            let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            let bad = lines.firstIndex { String(data: Data($0), encoding: .utf8) == nil }.map { $0 + 1 }
            throw DataError(.unreadable, file: file, line: bad, reason: "the file is not UTF-8 text")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var values = [Float]()
        var labels = [SonarClass?]()
        var lineNumbers = [Int]()
        var expectedFields: Int? = labelled == .required ? featureCount + 1 : nil
        // Split on LF; a trailing CR (CRLF files) is dropped per line. Swift treats "\r\n" as one
        // Character, so split the unicode scalars rather than the Characters.
        var lineNumber = 0
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(String(rawLine))
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if expectedFields == nil, fields.count == featureCount || fields.count == featureCount + 1 {
                expectedFields = fields.count
            }
            guard fields.count == expectedFields else {
                let want = expectedFields.map { "\($0)" } ?? "\(featureCount) or \(featureCount + 1)"
                var hint = ""
                if fields.count == 1, line.contains(";") || line.contains("\t") {
                    hint = " (fields must be separated by commas)"
                }
                throw DataError(
                    .wrongFieldCount, file: file, line: lineNumber,
                    reason: "expected \(want) fields, found \(fields.count)\(hint)")
            }
            for (index, field) in fields.prefix(featureCount).enumerated() {
                values.append(try parseFeature(field, file: file, line: lineNumber, field: index + 1))
            }
            if fields.count == featureCount + 1 {
                let raw = fields[featureCount].trimmingCharacters(in: .whitespaces)
                guard let label = SonarClass(label: raw) else {
                    throw DataError(
                        .unknownLabel, file: file, line: lineNumber, field: featureCount + 1,
                        reason: "label \(DataError.quoted(Substring(raw))) is not R or M")
                }
                labels.append(label)
            } else {
                labels.append(nil)
            }
            lineNumbers.append(lineNumber)
        }
        guard !labels.isEmpty else {
            throw DataError(.empty, file: file, reason: "the file holds no data rows")
        }
        return Rows(
            features: Matrix(rows: labels.count, columns: featureCount, values: values),
            labels: labels, lineNumbers: lineNumbers)
    }

    /// Parses one feature, checking it is a finite decimal in `[0, 1]`.
    /// - Throws: ``DataError`` (`notANumber`, `notFinite`, `outOfRange`).
    public static func parseFeature(_ raw: Substring, file: String, line: Int?, field: Int) throws(DataError) -> Float {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        guard Self.isDecimalNotation(trimmed), let value = Double(trimmed) else {
            throw DataError(
                .notANumber, file: file, line: line, field: field,
                reason: "\(DataError.quoted(raw)) is not a number")
        }
        guard value.isFinite else {
            // Name the text as written (`1e400`), not the value it overflowed to.
            throw DataError(
                .notFinite, file: file, line: line, field: field,
                reason: "\(DataError.quoted(raw)) is not a finite number")
        }
        return try checkFeature(value, file: file, line: line, field: field)
    }

    /// Whether `text` is written as a decimal number (`0.02`, `2e-2`, `+.5`) or as NaN or infinity.
    ///
    /// NaN and infinity are refused later with their own reason. `Double(_:)` alone is too lenient: it also
    /// takes hexadecimal floats (`0x1p-2`) and stops reading at a NUL byte (`0.1\0junk` reads as 0.1).
    static func isDecimalNotation(_ text: String) -> Bool {
        let unsigned = text.hasPrefix("+") || text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        if ["nan", "inf", "infinity"].contains(unsigned.lowercased()) { return true }
        return !unsigned.isEmpty && unsigned.unicodeScalars.allSatisfy { "0123456789.eE+-".unicodeScalars.contains($0) }
    }

    /// Checks that a feature value is finite and in `[0, 1]`.
    /// - Throws: ``DataError`` (`notFinite`, `outOfRange`).
    public static func checkFeature(_ value: Double, file: String, line: Int?, field: Int) throws(DataError) -> Float {
        guard value.isFinite else {
            throw DataError(.notFinite, file: file, line: line, field: field, reason: "\(value) is not a finite number")
        }
        guard (0...1).contains(value) else {
            throw DataError(.outOfRange, file: file, line: line, field: field, reason: "\(value) is outside [0, 1]")
        }
        return Float(value)
    }

    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoSuchFileError { return "no such file" }
        return ns.localizedDescription
    }
}
