import CNCurses
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the backend read from the terminal.
enum TerminalInput: Equatable, Sendable {
    case key(Key)
    case resize(Size)
}

/// The terminal settings from before the dashboard started, for the crash handler (async-signal-safe restore).
nonisolated(unsafe) private var savedTerminalSettings = termios()
nonisolated(unsafe) private var hasSavedTerminalSettings = false

/// Restores the terminal from a fatal signal, then dies of that signal as it would have.
private func restoreTerminalAndReraise(_ signalNumber: Int32) {
    if hasSavedTerminalSettings { _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminalSettings) }
    // Leave the alternate screen, show the cursor, reset attributes.
    let reset: [UInt8] = Array("\u{1B}[?1049l\u{1B}[?25h\u{1B}[0m\r\n".utf8)
    _ = reset.withUnsafeBufferPointer { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    signal(signalNumber, SIG_DFL)
    raise(signalNumber)
}

/// The only code that talks to ncurses: starts and restores the terminal, reads keys, and draws a
/// `CellBuffer` by writing only the cells that changed since the last frame.
final class NCursesBackend {
    private var screen: OpaquePointer?
    private var window: UnsafeMutablePointer<WINDOW>?
    private var previous: CellBuffer?
    private var pairs: [PairKey: Int16] = [:]
    private var nextPair: Int16 = 1
    private var maxPairs = 0
    /// What the terminal can show, known after `start()`.
    private(set) var capability: ColorCapability = .none
    private var isActive = false

    private struct PairKey: Hashable {
        var foreground: TerminalColor
        var background: TerminalColor
    }

    /// Why the terminal named `term` cannot draw the dashboard, or `nil` when it can.
    ///
    /// It can when terminfo knows it and it has cursor addressing and clear screen. Reads terminfo only; the
    /// screen is not touched.
    /// - Parameter term: the `TERM` value, `nil` when unset.
    /// - Returns: a short reason for people, such as `TERM=dumb cannot address the cursor`.
    static func unsupportedTerminalReason(term: String?) -> String? {
        switch sonarlab_terminal_support(term) {
        case 0: return nil
        case 1: return "TERM is not set"
        case 2: return "TERM=\(term ?? "") is unknown here (no terminfo entry)"
        default: return "TERM=\(term ?? "") cannot address the cursor"
        }
    }

    /// Takes over the terminal: curses mode, no echo, keypad, hidden cursor, colours if any.
    /// - Throws: `TUIError.terminalUnavailable` when stdin or stdout is not a terminal or curses cannot start.
    func start() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw TUIError.terminalUnavailable("stdin and stdout must be a terminal")
        }
        if tcgetattr(STDIN_FILENO, &savedTerminalSettings) == 0 { hasSavedTerminalSettings = true }
        for fatal in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] {
            signal(fatal) { restoreTerminalAndReraise($0) }
        }
        // LC_CTYPE only: ncursesw needs the character set for UTF-8 box drawing. LC_ALL would also switch
        // LC_NUMERIC for the whole process, and every C-formatted number (CSV, YAML, the screen) would then
        // follow the user's locale (`0,83` under de_DE/ru_RU). Numbers are formatted with `PlainNumber`.
        setlocale(LC_CTYPE, "")
        guard let screen = sonarlab_newterm(), let window = sonarlab_stdscr() else {
            throw TUIError.terminalUnavailable(
                "curses could not start on TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? "(unset)")")
        }
        self.screen = screen
        self.window = window
        isActive = true
        cbreak()
        noecho()
        nonl()
        keypad(window, true)
        curs_set(0)
        set_escdelay(25)
        if has_colors() {
            start_color()
            use_default_colors()
            capability = ColorCapability(colorCount: Int(sonarlab_colors()))
            maxPairs = Int(sonarlab_color_pairs())
        }
        previous = nil
    }

    /// Gives the terminal back exactly as it was: curses off, original settings, cursor shown.
    ///
    /// Safe to call more than once.
    func stop() {
        guard isActive else { return }
        isActive = false
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
        window = nil
        if hasSavedTerminalSettings { _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminalSettings) }
        for fatal in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { signal(fatal, SIG_DFL) }
    }

    /// The terminal's size now.
    var size: Size {
        guard let window else { return Size(width: 0, height: 0) }
        return Size(width: Int(getmaxx(window)), height: Int(getmaxy(window)))
    }

    /// Waits up to `timeoutMilliseconds` (0: don't wait) for a key or a resize.
    func read(timeoutMilliseconds: Int) -> TerminalInput? {
        guard let window else { return nil }
        wtimeout(window, Int32(timeoutMilliseconds))
        var code: wint_t = 0
        let status = wget_wch(window, &code)
        if status == KEY_CODE_YES {
            switch Int32(code) {
            case KEY_RESIZE:
                previous = nil
                return .resize(size)
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_BTAB: return .key(.backTab)
            case KEY_BACKSPACE: return .key(.backspace)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_ENTER: return .key(.enter)
            default: return nil
            }
        }
        guard status == OK else { return nil }
        switch code {
        case 3: return .key(.interrupt)
        case 9: return .key(.tab)
        case 21: return .key(.clearLine)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        default:
            guard code >= 32, let scalar = Unicode.Scalar(UInt32(code)) else { return nil }
            return .key(.character(Character(scalar)))
        }
    }

    /// Draws `buffer`, writing only the cells that differ from the last frame (all after a resize).
    func draw(_ buffer: CellBuffer) {
        guard let window else { return }
        if previous?.size != buffer.size {
            previous = nil
            clearok(window, true)
        }
        for (x, y) in buffer.changedPositions(since: previous) {
            let cell = buffer[x, y]
            if cell.isContinuation { continue }
            var text: [wchar_t] = cell.character.unicodeScalars.prefix(4).map { wchar_t(bitPattern: $0.value) }
            text.append(0)
            let (attributes, pair) = curses(cell.style)
            _ = text.withUnsafeBufferPointer {
                sonarlab_put_wide(window, Int32(y), Int32(x), $0.baseAddress, attributes, pair)
            }
        }
        previous = buffer
        wnoutrefresh(window)
        doupdate()
    }

    private func curses(_ style: TextStyle) -> (UInt32, Int16) {
        var attributes = sonarlab_a_normal()
        if style.isBold { attributes |= sonarlab_a_bold() }
        if style.isReverse { attributes |= sonarlab_a_reverse() }
        if style.isUnderline { attributes |= sonarlab_a_underline() }
        if style.isDim { attributes |= sonarlab_a_dim() }
        guard capability != .none, style.foreground != .standard || style.background != .standard else {
            return (attributes, 0)
        }
        let key = PairKey(foreground: style.foreground, background: style.background)
        if let pair = pairs[key] { return (attributes, pair) }
        guard Int(nextPair) < maxPairs, nextPair < Int16.max else { return (attributes, 0) }
        func number(_ color: TerminalColor) -> Int16 {
            if case .indexed(let i) = color { return Int16(i) }
            return -1
        }
        init_pair(nextPair, number(style.foreground), number(style.background))
        pairs[key] = nextPair
        nextPair += 1
        return (attributes, pairs[key] ?? 0)
    }
}
