/// An error in input data: the data file, a prediction input or a scenario. Always names the place.
///
/// The message has the form `FILE:LINE: field N: what is wrong` (line and field when known), so a
/// person can open the file at the right place. Values from the file are quoted only when they are
/// short (at most 32 characters); the error never holds more of the file than that.
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

    /// Creates an error for a place in a file.
    public init(_ code: Code, file: String, line: Int? = nil, field: Int? = nil, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let field { place += ": field \(field)" }
        return "\(place): \(reason)"
    }

    public static func == (lhs: DataError, rhs: DataError) -> Bool {
        lhs.code == rhs.code && lhs.file == rhs.file && lhs.line == rhs.line && lhs.field == rhs.field
    }

    /// Quotes a raw value for a message, shortened so that an error never carries a large payload.
    static func quoted(_ raw: Substring) -> String {
        // Control characters (a NUL, an escape sequence) are shown escaped (`\0`, `\u{1B}`), never sent raw.
        let shown = raw.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return shown.count <= 32 ? "'\(shown)'" : "'\(shown.prefix(29))...'"
    }
}
