/// A configuration problem. Its message names where the bad value came from and never holds a secret.
///
/// Places look like `config.ini:12: [mlp] lr`, `environment SONARLAB_MLP_LR` or `flag --lr`.
public struct SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem; errors compare equal by code and place.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }
        /// A file could not be read.
        public static let unreadable = Code(name: "unreadable")
        /// A line is not `[section]`, `key = value`, a comment or blank.
        public static let syntax = Code(name: "syntax")
        /// A section name SonarLab does not know.
        public static let unknownSection = Code(name: "unknownSection")
        /// A key SonarLab does not know in its section.
        public static let unknownKey = Code(name: "unknownKey")
        /// A value of the wrong type (e.g. text where a number belongs).
        public static let wrongType = Code(name: "wrongType")
        /// A value of the right type outside its allowed range or set.
        public static let outOfRange = Code(name: "outOfRange")
        /// A required setting (e.g. the HBase URL) is missing.
        public static let missing = Code(name: "missing")
        /// A secret file named by a `*_FILE` variable, or a keytab, cannot be read.
        public static let secretUnreadable = Code(name: "secretUnreadable")
    }

    /// The kind of problem.
    public let code: Code
    /// Where the value came from.
    public let place: String
    /// What is wrong, in plain words; never the value of a secret.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, place: String, reason: String) {
        self.code = code
        self.place = place
        self.reason = reason
    }

    public var description: String { "\(place): \(reason)" }

    /// Errors are equal when their code and place are; the wording of the reason may change.
    public static func == (lhs: SettingsError, rhs: SettingsError) -> Bool {
        lhs.code == rhs.code && lhs.place == rhs.place
    }
}
