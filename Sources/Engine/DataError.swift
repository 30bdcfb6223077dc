/// An error in input data: the data file, a prediction input or a scenario. Always names the place.
///
/// The message has the form `FILE:LINE: field N: what is wrong` (line and field when known), so a
/// person can open the file at the right place. Values from the file are quoted only when they are
/// short (at most 32 characters); the error never holds more of the file than that.
///
/// A file with several bad rows or cells is refused once with all of them: the error is the first problem
/// and ``others`` holds the next ones (at most ``listLimit`` listed in all), ``unlistedCount`` counts the rest.
/// ``description`` is then a heading line followed by one indented line per listed problem.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is; compare errors by code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }
        /// The file could not be read.
        public static let unreadable = Code(name: "unreadable")
        /// The file holds no data rows.
        public static let empty = Code(name: "empty")
        /// A row has the wrong number of fields.
        public static let wrongFieldCount = Code(name: "wrongFieldCount")
        /// A feature is not a decimal number.
        public static let notANumber = Code(name: "notANumber")
        /// A feature is NaN or infinite.
        public static let notFinite = Code(name: "notFinite")
        /// A feature lies outside the allowed range `[0, 1]`.
        public static let outOfRange = Code(name: "outOfRange")
        /// A label other than `R` or `M`.
        public static let unknownLabel = Code(name: "unknownLabel")
        /// A structured input (JSON) has the wrong shape.
        public static let malformed = Code(name: "malformed")
    }

    /// The kind of problem.
    public let code: Code
    /// The file, as the user named it.
    public let file: String
    /// 1-based line number, when the problem is on one line.
    public let line: Int?
    /// 1-based field (column) number, when the problem is in one field.
    public let field: Int?
    /// What is wrong, in plain words.
    public let reason: String
    /// Further problems of the same file, in file order, after this one (empty for a single problem).
    public private(set) var others: [DataError] = []
    /// Problems found beyond the ``listLimit`` listed ones (counted, not kept).
    public private(set) var unlistedCount = 0

    /// How many problems one refusal lists at most (the first one and ``others``).
    public static let listLimit = 20

    /// Creates an error for a place in a file.
    public init(_ code: Code, file: String, line: Int? = nil, field: Int? = nil, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
    }

    /// Every problem this error reports: 1 + ``others`` + ``unlistedCount``.
    public var problemCount: Int { 1 + others.count + unlistedCount }

    /// `FILE:LINE: field N: reason` of this problem alone.
    public var singleDescription: String {
        var place = file
        if let line { place += ":\(line)" }
        if let field { place += ": field \(field)" }
        return "\(place): \(reason)"
    }

    public var description: String { lines.joined(separator: "\n") }

    /// The lines of ``description``: a heading and one indented line per listed problem, or the single
    /// problem's line.
    ///
    /// Each line quotes cells of the file, which may hold any character; print them one by one, each escaped
    /// as a single line (``TerminalText/escape(_:keepingNewlines:)``), so that a line break inside a cell
    /// cannot forge a line of the refusal.
    public var lines: [String] {
        guard problemCount > 1 else { return [singleDescription] }
        let listed = [self] + others
        var heading = "\(file): \(problemCount) problems in the data"
        heading += unlistedCount > 0 ? ", the first \(listed.count) listed:" : ":"
        var lines = [heading] + listed.map { "  " + $0.singleDescription }
        if unlistedCount > 0 { lines.append("  … and \(unlistedCount) more") }
        return lines
    }

    /// Collects the problems of one file so that one refusal reports them all (capped at ``listLimit``).
    struct Collector {
        private(set) var listed: [DataError] = []
        private(set) var unlisted = 0

        /// Whether no problem was added.
        var isEmpty: Bool { listed.isEmpty }

        /// Adds one problem (or every problem a combined error carries).
        mutating func add(_ error: DataError) {
            var single = error
            single.others = []
            single.unlistedCount = 0
            for problem in [single] + error.others {
                if listed.count < DataError.listLimit { listed.append(problem) } else { unlisted += 1 }
            }
            unlisted += error.unlistedCount
        }

        /// Throws the collected problems as one error, if there are any.
        /// - Throws: ``DataError`` whose code, line and field are the first problem's.
        func check() throws(DataError) {
            guard var first = listed.first else { return }
            first.others = Array(listed.dropFirst())
            first.unlistedCount = unlisted
            throw first
        }
    }

    public static func == (lhs: DataError, rhs: DataError) -> Bool {
        lhs.code == rhs.code && lhs.file == rhs.file && lhs.line == rhs.line && lhs.field == rhs.field
    }

    /// Quotes a raw value for a message, shortened so that an error never carries a large payload.
    /// - Parameter raw: text from the input (a field, an entry name).
    /// - Returns: `'text'` with control characters escaped, at most 32 characters inside the quotes.
    public static func quoted(_ raw: Substring) -> String {
        // Control characters (a NUL, an escape sequence, C1) are shown as everywhere else (`\x00`, `\x1B`,
        // `\x9B`), by the one shared function, never sent raw.
        let shown = TerminalText.escape(String(raw))
        return shown.count <= 32 ? "'\(shown)'" : "'\(shown.prefix(29))...'"
    }
}
