import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numbers as SonarLab writes and shows them: the same bytes in every locale.
///
/// `String(format:)` and C `printf` follow the process's `LC_NUMERIC`, so once anything calls
/// `setlocale` for every category (ncursesw needs only the character set) a de_DE or ru_RU user gets `0,83` in CSV,
/// YAML and on screen. Every number SonarLab formats goes through ``format(_:_:)``, which formats in the C
/// ("POSIX") locale whatever the process locale is: a dot for the decimal point, no grouping.
public enum PlainNumber {
    /// The C locale, made once for the process lifetime (`nil` if the C library cannot make one).
    ///
    /// Only the numeric category is named; with no base locale every other category is C's as well.
    nonisolated(unsafe) private static let cLocale: locale_t? = newlocale(numericMask, "C", nil)

    /// `LC_NUMERIC_MASK`, which does not import into Swift from glibc (it is `1 << LC_NUMERIC` there).
    private static var numericMask: Int32 {
        #if canImport(Glibc)
            return 1 << LC_NUMERIC
        #else
            return LC_NUMERIC_MASK
        #endif
    }

    /// Formats numbers like `String(format:)` with a printf format, in the C locale.
    ///
    /// Only numeric conversions (`%d`, `%f`, `%e`, `%x`, … with flags, width and precision) are supported:
    /// no `%@` or `%s`. The current thread's locale is switched to C for the call only (`uselocale`, thread
    /// local), so other threads are not affected.
    /// - Parameters:
    ///   - format: a printf format, e.g. `"%.4f"`, `"%06d"`.
    ///   - arguments: the numbers (`Int`, `Int32`, `UInt32`, `Double`, …).
    /// - Returns: the formatted text, e.g. `0.8269` for `format("%.4f", 0.82692)` under any locale.
    public static func format(_ format: String, _ arguments: any CVarArg...) -> String {
        let previous = cLocale.map { uselocale($0) }
        defer { if let previous { uselocale(previous) } }
        return withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 64)
            // A va_list can be used once: when the text is longer than the buffer, format again into one that fits.
            let needed = Int(vsnprintf(&buffer, buffer.count, format, list))
            guard needed >= buffer.count else { return text(buffer, count: needed) }
            return withVaList(arguments) { again in
                var large = [CChar](repeating: 0, count: needed + 1)
                _ = vsnprintf(&large, large.count, format, again)
                return text(large, count: needed)
            }
        }
    }

    /// The first `count` bytes of a C buffer as UTF-8 text (none when vsnprintf failed with a negative count).
    private static func text(_ buffer: [CChar], count: Int) -> String {
        String(decoding: buffer.prefix(max(0, count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The shortest text of a double that reads back as the same value, a whole number without a fraction
    /// (`0.25`, `10`, `0`): how configuration values are written, so a run started from the dashboard and one
    /// started from the command line record `0`, not `0.0` beside `0`.
    /// - Parameter value: a finite number.
    /// - Returns: its text, locale-independent.
    public static func shortest(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }

    /// `x` with a fixed number of decimals (`%.Nf`) in the C locale: `fixed(0.82692, 4)` is `0.8269`.
    /// - Parameters:
    ///   - x: the number.
    ///   - decimals: digits after the point, 0 or more.
    /// - Returns: the text; `nan`, `inf`, `-inf` for those values.
    public static func fixed(_ x: Double, _ decimals: Int) -> String {
        format("%.*f", Int32(max(0, decimals)), x)
    }
}

/// Text from outside (run names, ids, paths, flag and environment values, store cells) made safe for a
/// terminal or a log.
///
/// A name holding `ESC[2J`, written by another client into a shared store, would clear the user's screen when
/// printed raw; C1 controls (U+0080–U+009F, e.g. U+009B CSI) act like ESC sequences on many terminals.
/// ``escape(_:keepingNewlines:)`` turns every such character into a visible escape. JSON output does not need
/// it (JSON escapes control characters itself).
public enum TerminalText {
    /// Whether a scalar is a control character a terminal may act on: C0 (U+0000–U+001F, including ESC),
    /// DEL (U+007F), C1 (U+0080–U+009F), or a bidirectional embedding, override or isolate (U+202A–U+202E,
    /// U+2066–U+2069), which reorders the rest of a line as shown ("Trojan Source", CVE-2021-42574).
    /// - Parameter scalar: the scalar.
    /// - Returns: `true` for a control character.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// `text` with every control character replaced by a visible escape.
    ///
    /// `\n`, `\r` and `\t` are written so, any other as `\xHH` (ESC is `\x1B`, CSI U+009B is `\x9B`), a
    /// bidirectional control as `\u{HHHH}` (U+202E is `\u{202E}`).
    /// Everything else, backslashes included, is kept as it is.
    /// - Parameters:
    ///   - text: text from outside.
    ///   - keepingNewlines: keep `\n` as a line break (for multi-line messages of our own that quote outside
    ///     text); every other control character is still escaped.
    /// - Returns: text with no control characters (but `\n` when `keepingNewlines`).
    public static func escape(_ text: String, keepingNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                result.append(scalar)
                continue
            }
            let visible: String
            switch scalar {
            case "\n": visible = keepingNewlines ? "\n" : "\\n"
            case "\r": visible = "\\r"
            case "\t": visible = "\\t"
            default:
                visible =
                    scalar.value > 0xFF
                    ? PlainNumber.format("\\u{%04X}", scalar.value) : PlainNumber.format("\\x%02X", scalar.value)
            }
            result.append(contentsOf: visible.unicodeScalars)
        }
        return String(result)
    }
}

extension String {
    /// This text with control characters made visible for a terminal (``TerminalText/escape(_:keepingNewlines:)``).
    public var terminalSafe: String { TerminalText.escape(self) }
}
