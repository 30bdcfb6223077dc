/// An error from the dashboard: a theme that cannot be read, a terminal that cannot be used.
///
/// Equality compares the code only, so tests can match an error without its context.
public struct TUIError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case themeSyntax, themeNotFound, terminalUnavailable, scenariosUnavailable, noSweep, sweepUnreadable
    }

    private let code: Code
    /// A readable message with the safe context (file and line for themes).
    public let message: String
    /// The file the error is about, if any.
    public let file: String?
    /// The 1-based line in `file`, if any.
    public let line: Int?

    private init(code: Code, message: String, file: String? = nil, line: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// A theme file has a line that cannot be understood.
    /// - Parameters:
    ///   - file: the theme file's path.
    ///   - line: the 1-based line number.
    ///   - reason: what is wrong with the line.
    /// - Returns: the error, its message `FILE:LINE: reason`.
    public static func themeSyntax(file: String, line: Int, reason: String) -> TUIError {
        TUIError(code: .themeSyntax, message: "\(file):\(line): \(reason)", file: file, line: line)
    }

    /// No theme file of that name.
    /// - Parameters:
    ///   - name: the theme asked for.
    ///   - directory: where it was looked for.
    /// - Returns: the error.
    public static func themeNotFound(name: String, directory: String) -> TUIError {
        TUIError(code: .themeNotFound, message: "no theme '\(name)' in \(directory)", file: directory)
    }

    /// The terminal cannot be driven (not a terminal, or curses could not start).
    /// - Parameter reason: why.
    /// - Returns: the error.
    public static func terminalUnavailable(_ reason: String) -> TUIError {
        TUIError(code: .terminalUnavailable, message: "cannot open the dashboard: \(reason)")
    }

    /// The functional scenarios cannot be run from this dashboard.
    /// - Parameter reason: why, and what to run instead.
    /// - Returns: the error.
    public static func scenariosUnavailable(_ reason: String) -> TUIError {
        TUIError(code: .scenariosUnavailable, message: "cannot run the functional scenarios: \(reason)")
    }

    /// The store holds no sweep to show on the Sweep screen (or not the one asked for).
    /// - Parameter store: the store's description.
    /// - Returns: the error.
    public static func noSweep(in store: String) -> TUIError {
        TUIError(code: .noSweep, message: "no sweep in \(store): run `sonarlab sweep` first")
    }

    /// The sweep's trials cannot be read from the store.
    /// - Parameter reason: why (unreachable, broken).
    /// - Returns: the error.
    public static func sweepUnreadable(_ reason: String) -> TUIError {
        TUIError(code: .sweepUnreadable, message: "cannot read the sweep's trials: \(reason)")
    }

    /// Matches any theme syntax error (for `catch` and tests).
    public static let anyThemeSyntax = TUIError(code: .themeSyntax, message: "")

    /// Matches any missing theme.
    public static let anyThemeNotFound = TUIError(code: .themeNotFound, message: "")

    public static func == (lhs: TUIError, rhs: TUIError) -> Bool { lhs.code == rhs.code }

    public var description: String { message }
}
