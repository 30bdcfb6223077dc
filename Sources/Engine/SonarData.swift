public import Foundation
import Crypto

/// Reads and validates data in the UCI Sonar layout: 60 comma-separated features in `[0, 1]`, then `R` or `M`.
///
/// Accepted: LF or CRLF line ends, a UTF-8 byte-order mark, a missing final newline, blank lines (skipped), a
/// header line (``HeaderPolicy``). Refused with a ``DataError`` naming file, line and field — every bad row and
/// cell of the file in one error: a row without exactly 61 fields, a non-numeric, NaN or infinite value, a value
/// outside `[0, 1]`, a label other than `R` or `M`; and an empty file.
///
/// The data fingerprint (``LoadedFile/fingerprint``) is the SHA-256 of the file's ``canonicalForm(of:headerLine:)``;
/// the SHA-256 of the exact bytes is kept beside it (``LoadedFile/fileSHA256``).
///
/// Source of the layout: UCI `sonar.names` (Gorman & Sejnowski, 1988).
public enum SonarData {
    /// Features per row in the Sonar data.
    public static let featureCount = 60

    /// A loaded data file: its rows, its data fingerprint and the SHA-256 of its exact bytes.
    public struct LoadedFile: Sendable {
        /// The validated rows.
        public let dataset: Dataset
        /// The data fingerprint every run records: lowercase hex SHA-256 of the file's canonical form
        /// (see ``canonicalForm(of:)``), so a CRLF or byte-order-mark copy of the same data has the same one.
        public let fingerprint: String
        /// Lowercase hex SHA-256 of the file's exact bytes (`sha256sum FILE`).
        public let fileSHA256: String
        /// The 1-based line number of each row in the file.
        public let lineNumbers: [Int]
        /// The header line that was skipped, if any.
        public let header: SkippedHeader?
    }

    /// Loads and validates a labelled Sonar file.
    /// - Parameters:
    ///   - path: the file to read; named as given in every error.
    ///   - header: whether the first line is a header (`[data] header`); default ``HeaderPolicy/auto``.
    /// - Returns: the rows, the data fingerprint and the file's SHA-256.
    /// - Throws: ``DataError`` (`unreadable`, `empty`, `wrongFieldCount`, `notANumber`, `notFinite`,
    ///   `outOfRange`, `unknownLabel`); every bad row and cell of the file in one error (see ``DataError/others``).
    public static func load(path: String, header: HeaderPolicy = .auto) throws(DataError) -> LoadedFile {
        let bytes = try readFile(path)
        let rows = try parse(bytes: bytes, file: path, labelled: .required, header: header)
        return LoadedFile(
            dataset: Dataset(features: rows.features, labels: rows.labels.map { $0! }),
            fingerprint: rows.fingerprint, fileSHA256: sha256Hex(of: bytes),
            lineNumbers: rows.lineNumbers, header: rows.header
        )
    }

    /// Lowercase hex SHA-256 of `bytes` (the raw bytes, as `sha256sum` prints it).
    public static func sha256Hex(of bytes: Data) -> String {
        SHA256.hash(data: bytes).map { PlainNumber.format("%02x", $0) }.joined()
    }

    /// Lowercase hex SHA-256 of `bytes`; the same as ``sha256Hex(of:)``.
    ///
    /// Kept for existing callers. The data fingerprint of a CSV is ``dataFingerprint(of:)``.
    public static func fingerprint(of bytes: Data) -> String { sha256Hex(of: bytes) }

    /// The data fingerprint of CSV bytes: the SHA-256 of their ``canonicalForm(of:)``.
    ///
    /// For a file that is already canonical (LF line ends, no byte-order mark, a final newline, no blank lines,
    /// no header — as the committed `data/sonar.all-data`) this equals the SHA-256 of the file.
    /// - Parameters:
    ///   - bytes: the CSV file's content (UTF-8).
    ///   - headerLine: a 1-based line to leave out (the header), if any.
    /// - Returns: lowercase hex SHA-256; of the raw bytes when they are not UTF-8 text.
    public static func dataFingerprint(of bytes: Data, headerLine: Int? = nil) -> String {
        sha256Hex(of: canonicalForm(of: bytes, headerLine: headerLine) ?? bytes)
    }

    /// The canonical form of a data file, over which the data fingerprint is defined.
    ///
    /// The UTF-8 text without a leading byte-order mark, split into lines at LF with a CR before the LF removed;
    /// lines that are empty or hold only spaces and tabs, and the header line, are left out; every other line
    /// is kept exactly as written (fields, spaces and number spellings untouched) and ends with one LF.
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - headerLine: a 1-based line to leave out (the header), if any.
    /// - Returns: the canonical bytes, or `nil` when `bytes` are not UTF-8 text.
    public static func canonicalForm(of bytes: Data, headerLine: Int? = nil) -> Data? {
        guard var text = String(data: bytes, encoding: .utf8) else { return nil }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var out = Data()
        for (index, line) in lines(of: text).enumerated() where index + 1 != headerLine && !isBlank(line) {
            out.append(contentsOf: line.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// The lines of `text`, split at LF, each without a trailing CR.
    static func lines(of text: String) -> [Substring] {
        // Swift treats "\r\n" as one Character, so split the unicode scalars rather than the Characters.
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            let line = Substring(String(scalars))
            return line.hasSuffix("\r") ? line.dropLast() : line
        }
    }

    /// Whether a line holds only spaces and tabs (skipped, like an empty line).
    static func isBlank(_ line: Substring) -> Bool { line.allSatisfy { $0 == " " || $0 == "\t" } }

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

    /// Whether the first line of a data file is a header (`[data] header` in config.ini).
    public enum HeaderPolicy: String, Sendable, CaseIterable {
        /// `auto`: the first non-blank line is a header when it has the row's field count and none of its fields
        /// is a number; a first line with some numeric fields is checked as data (and refused if it is bad).
        case auto
        /// `true`: the first line is always a header and is skipped unchecked.
        case always = "true"
        /// `false`: there is no header; every line is data.
        case never = "false"
    }

    /// A header line that was left out of the rows.
    public struct SkippedHeader: Sendable, Equatable, CustomStringConvertible {
        /// Its 1-based line number.
        public let line: Int
        /// Whether `auto` recognised it (all fields non-numeric), rather than `header = true`.
        public let isDetected: Bool

        public var description: String {
            isDetected
                ? "line \(line) is a header (every field is non-numeric; [data] header = auto): skipped"
                : "line \(line) skipped as the header ([data] header = true)"
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
        /// The data fingerprint: SHA-256 of the canonical form (see ``SonarData/canonicalForm(of:headerLine:)``).
        public let fingerprint: String
        /// The header line that was skipped, if any.
        public let header: SkippedHeader?
    }

    /// Parses Sonar CSV bytes.
    ///
    /// Every line is checked: all bad rows and cells are reported in one ``DataError`` (the first 20 listed with
    /// file, line and field, then how many more).
    /// - Parameters:
    ///   - bytes: the file content.
    ///   - file: the name used in errors.
    ///   - labelled: whether the label field is required or optional (consistent across rows).
    ///   - header: whether the first line is a header; default ``HeaderPolicy/auto``.
    /// - Returns: the rows, their line numbers, the data fingerprint and the skipped header line, if any.
    /// - Throws: ``DataError`` as for ``load(path:header:)``.
    public static func parse(
        bytes: Data, file: String, labelled: LabelPresence, header: HeaderPolicy = .auto
    ) throws(DataError) -> Rows {
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
        var problems = DataError.Collector()
        var expectedFields: Int? = labelled == .required ? featureCount + 1 : nil
        var skipped: SkippedHeader? = nil
        var seenContent = false
        for (index, line) in lines(of: text).enumerated() {
            let lineNumber = index + 1
            if header == .always, lineNumber == 1 {
                skipped = SkippedHeader(line: 1, isDetected: false)
                continue
            }
            if isBlank(line) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if !seenContent {
                seenContent = true
                if header == .auto, isHeader(fields, labelled: labelled) {
                    skipped = SkippedHeader(line: lineNumber, isDetected: true)
                    continue
                }
            }
            if expectedFields == nil, fields.count == featureCount || fields.count == featureCount + 1 {
                expectedFields = fields.count
            }
            guard fields.count == expectedFields else {
                let want = expectedFields.map { "\($0)" } ?? "\(featureCount) or \(featureCount + 1)"
                var hint = ""
                if fields.count == 1, line.contains(";") || line.contains("\t") {
                    hint = " (fields must be separated by commas)"
                }
                problems.add(
                    DataError(
                        .wrongFieldCount, file: file, line: lineNumber,
                        reason: "expected \(want) fields, found \(fields.count)\(hint)"))
                continue
            }
            for (index, field) in fields.prefix(featureCount).enumerated() {
                do {
                    values.append(try parseFeature(field, file: file, line: lineNumber, field: index + 1))
                } catch {
                    problems.add(error)
                    values.append(0)
                }
            }
            if fields.count == featureCount + 1 {
                let raw = fields[featureCount].trimmingCharacters(in: .whitespaces)
                if let label = SonarClass(label: raw) {
                    labels.append(label)
                } else {
                    problems.add(
                        DataError(
                            .unknownLabel, file: file, line: lineNumber, field: featureCount + 1,
                            reason: "label \(DataError.quoted(Substring(raw))) is not R or M"))
                    labels.append(nil)
                }
            } else {
                labels.append(nil)
            }
            lineNumbers.append(lineNumber)
        }
        try problems.check()
        guard !labels.isEmpty else {
            throw DataError(.empty, file: file, reason: "the file holds no data rows")
        }
        return Rows(
            features: Matrix(rows: labels.count, columns: featureCount, values: values),
            labels: labels, lineNumbers: lineNumbers,
            fingerprint: dataFingerprint(of: bytes, headerLine: skipped?.line), header: skipped)
    }

    /// Whether a first line is a header for ``HeaderPolicy/auto``: a row's field count (61, or 60 when labels are
    /// optional) and no field that reads as a number (NaN and infinity count as numbers).
    static func isHeader(_ fields: [Substring], labelled: LabelPresence) -> Bool {
        let counts = labelled == .required ? [featureCount + 1] : [featureCount, featureCount + 1]
        guard counts.contains(fields.count) else { return false }
        return fields.allSatisfy { field in
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            return !(isDecimalNotation(trimmed) && Double(trimmed) != nil)
        }
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
