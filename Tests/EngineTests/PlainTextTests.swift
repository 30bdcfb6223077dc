import Engine
import Foundation
import SonarLabTestSupport
import Testing

@Suite struct PlainNumberTests {
    @Test(
        "formats like printf with a dot and no grouping",
        arguments: [
            ("%.4f", 0.82692, "0.8269"), ("%.6f", 1.0, "1.000000"), ("%.1f", 7713.04, "7713.0"),
            ("%.0e", 0.0001, "1e-04"),
            ("%.3f", -0.5, "-0.500"), ("%.2f", Double.nan, "nan"), ("%.2f", Double.infinity, "inf"),
        ])
    func formatsDoubles(format: String, value: Double, expected: String) {
        #expect(PlainNumber.format(format, value) == expected)
    }

    @Test("formats integers, several arguments and text longer than the first buffer")
    func formatsIntegersAndLongText() {
        #expect(PlainNumber.format("%06d", 42) == "000042")
        #expect(PlainNumber.format("%d:%02d:%02d", 1, 2, 5) == "1:02:05")
        #expect(PlainNumber.format("\\x%02X", UInt32(0x1B)) == "\\x1B")
        #expect(PlainNumber.fixed(0.123456, 3) == "0.123")
        let long = PlainNumber.format("%0200d|%.3f", 7, 0.25)
        #expect(long.count == 206 && long.hasSuffix("7|0.250"))
        #expect(PlainNumber.format("epoch %4d │ %7.4f", 3, 0.5) == "epoch    3 │  0.5000")
    }

    /// Pins the class of defect, not one call site.
    ///
    /// A float formatted with `String(format:)` follows the process's LC_NUMERIC, and a process-wide
    /// `setlocale(LC_ALL/LC_NUMERIC, "")` switches it. Neither may come back.
    @Test("no source formats a floating-point number with String(format:) or sets the numeric locale")
    func noLocaleDependentFormattingInSources() throws {
        let root = URL(fileURLWithPath: TestPaths.packageRoot).appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50)
        var offenders: [String] = []
        for file in files {
            // Code only: comments may name what they warn against.
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }.joined(separator: "\n")
            for match in text.matches(of: /String\(\s*format:\s*"((?:[^"\\]|\\.)*)"/) {
                if match.1.contains(/%[-+ #0-9.*]*[aAeEfFgG]/) { offenders.append("\(file): \(match.0)") }
            }
            for match in text.matches(of: /setlocale\(\s*(LC_ALL|LC_NUMERIC)/) {
                offenders.append("\(file): \(match.0)")
            }
        }
        #expect(offenders.isEmpty, "locale-dependent number formatting:\n\(offenders.joined(separator: "\n"))")
    }
}

@Suite struct TerminalTextTests {
    @Test(
        "C0, DEL, C1 and bidirectional controls become visible escapes; other text is kept",
        arguments: [
            ("\u{1B}[2J", "\\x1B[2J"), ("a\u{7F}b", "a\\x7Fb"), ("\u{9B}31m", "\\x9B31m"), ("\u{85}", "\\x85"),
            ("tab\there", "tab\\there"), ("cr\rlf\n", "cr\\rlf\\n"), ("\u{0}", "\\x00"), ("bell\u{07}", "bell\\x07"),
            ("Grüße · ████ 日本 é", "Grüße · ████ 日本 é"), ("C:\\path\\x1B", "C:\\path\\x1B"), ("", ""),
            ("\u{A0}\u{9F}\u{A0}", "\u{A0}\\x9F\u{A0}"), ("abc\u{202E}fed", "abc\\u{202E}fed"),
            ("\u{202A}\u{2066}x\u{2069}", "\\u{202A}\\u{2066}x\\u{2069}"), ("\u{2029}\u{2065}", "\u{2029}\u{2065}"),
        ])
    func escapes(input: String, expected: String) {
        #expect(TerminalText.escape(input) == expected)
        #expect(input.terminalSafe == expected)
        #expect(!TerminalText.escape(input).unicodeScalars.contains(where: TerminalText.isControl))
    }

    @Test("line breaks can be kept for multi-line messages, every other control is still escaped")
    func keepsNewlinesWhenAsked() {
        #expect(TerminalText.escape("one\ntwo\u{1B}[0m\r\n", keepingNewlines: true) == "one\ntwo\\x1B[0m\\r\n")
    }

    @Test("isControl is exactly C0, DEL and C1")
    func controlRange() {
        let controls = (0...0x2FF).compactMap(Unicode.Scalar.init).filter(TerminalText.isControl).map(\.value)
        #expect(controls == Array(0...0x1F) + Array(0x7F...0x9F))
    }
}
