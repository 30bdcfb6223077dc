/// A sweep problem: a search space that cannot be read, or a strategy that cannot use it.
///
/// The message names the flag, file line or `[sweep]` key the bad text came from (`flag --lr`,
/// `config.ini:31: [sweep] lr`); errors compare equal by code and place.
public struct SweepError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }
        /// A parameter's text is not a list, choice or range (`0.1..`, `a..b`, `1..2:cubic`, an empty item).
        public static let syntax = Code(name: "syntax")
        /// A range whose low end is not below its high end, or a log range that does not start above 0.
        public static let emptyRange = Code(name: "emptyRange")
        /// A value (a list item or a range end) that its `[mlp]` key refuses (the Settings check).
        public static let invalidValue = Code(name: "invalidValue")
        /// The strategy cannot enumerate the space (grid over a real range, or too many points).
        public static let unsupported = Code(name: "unsupported")
        /// The space has no parameter, or names one twice.
        public static let badSpace = Code(name: "badSpace")
    }

    /// The kind of problem.
    public let code: Code
    /// Where the text came from.
    public let place: String
    /// What is wrong, in plain words.
    public let reason: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind.
    ///   - place: Where the text came from.
    ///   - reason: What is wrong.
    public init(_ code: Code, place: String, reason: String) {
        self.code = code
        self.place = place
        self.reason = reason
    }

    public var description: String { "\(place): \(reason)" }

    /// Errors are equal when their code and place are.
    public static func == (lhs: SweepError, rhs: SweepError) -> Bool {
        lhs.code == rhs.code && lhs.place == rhs.place
    }
}
