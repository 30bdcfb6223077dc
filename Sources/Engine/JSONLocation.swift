import Foundation

/// Finds the line of a value in JSON text, so an error in a scenario file can name the line a person opens.
///
/// `JSONSerialization` says what is wrong but not where; this scanner walks the (already parsed, so valid)
/// bytes once more along a path such as `X[3][11]` and counts the newlines before the value. It is used only
/// when reporting an error, never on the happy path.
enum JSONLocation {
    /// One step of a path: an object key or an array index (0-based).
    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    /// The 1-based line where the value at `path` starts.
    /// - Parameters:
    ///   - path: keys and indices from the root.
    ///   - bytes: the JSON text (UTF-8, optionally with a byte-order mark).
    /// - Returns: the line, or `nil` when there is no such value.
    static func line(of path: [Step], in bytes: Data) -> Int? {
        let text = [UInt8](bytes)
        var scanner = Scanner(text: text)
        guard let offset = scanner.find(path[...]) else { return nil }
        return 1 + text[..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Where and why `JSONSerialization` refused `bytes`, as a line (when it can be told) and a reason.
    ///
    /// Foundation reports "Unexpected end of file" for a truncated file (then the place is its last line) and
    /// "… around character N" for other syntax errors (then the line holding byte N).
    static func syntaxError(_ error: any Error, in bytes: Data) -> (line: Int?, reason: String) {
        let debug = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? ""
        let text = [UInt8](bytes)
        func line(atOffset offset: Int) -> Int {
            1 + text[..<min(offset, text.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        if debug.localizedCaseInsensitiveContains("end of file") || text.isEmpty {
            let end = text.last == 0x0A ? text.count - 1 : text.count
            let reason = "invalid JSON: the file ends before the JSON does (truncated?)"
            return (text.isEmpty ? nil : line(atOffset: end), reason)
        }
        if let range = debug.range(of: "character "),
            let offset = Int(debug[range.upperBound...].prefix { $0.isNumber })
        {
            return (line(atOffset: offset), "invalid JSON (a syntax error on this line or just before it)")
        }
        return (nil, "invalid JSON (truncated or not JSON)")
    }

    private struct Scanner {
        let text: [UInt8]
        var at = 0

        init(text: [UInt8]) {
            self.text = text
            if text.starts(with: [0xEF, 0xBB, 0xBF]) { at = 3 }
        }

        /// The offset of the value at `path`, starting at the value under the cursor.
        mutating func find(_ path: ArraySlice<Step>) -> Int? {
            skipSpace()
            guard let step = path.first else { return at < text.count ? at : nil }
            guard at < text.count else { return nil }
            switch (step, text[at]) {
            case (.key(let wanted), UInt8(ascii: "{")):
                at += 1
                while true {
                    skipSpace()
                    guard at < text.count, text[at] == UInt8(ascii: "\"") else { return nil }
                    let start = at + 1
                    guard skipString() else { return nil }
                    let key = String(decoding: text[start..<(at - 1)], as: UTF8.self)
                    skipSpace()
                    guard at < text.count, text[at] == UInt8(ascii: ":") else { return nil }
                    at += 1
                    if key == wanted { return find(path.dropFirst()) }
                    guard skipValue(), skipSeparator(closing: UInt8(ascii: "}")) else { return nil }
                }
            case (.index(let wanted), UInt8(ascii: "[")):
                at += 1
                var index = 0
                while true {
                    skipSpace()
                    guard at < text.count, text[at] != UInt8(ascii: "]") else { return nil }
                    if index == wanted { return find(path.dropFirst()) }
                    guard skipValue(), skipSeparator(closing: UInt8(ascii: "]")) else { return nil }
                    index += 1
                }
            default:
                return nil
            }
        }

        /// Skips a `,`; returns `false` at the closing bracket or anything else.
        mutating func skipSeparator(closing: UInt8) -> Bool {
            skipSpace()
            guard at < text.count, text[at] == UInt8(ascii: ",") else { return false }
            at += 1
            return true
        }

        mutating func skipSpace() {
            while at < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[at]) { at += 1 }
        }

        /// Skips a string whose opening quote is under the cursor; the cursor ends after the closing quote.
        mutating func skipString() -> Bool {
            at += 1
            while at < text.count {
                switch text[at] {
                case UInt8(ascii: "\\"): at += 2
                case UInt8(ascii: "\""):
                    at += 1
                    return true
                default: at += 1
                }
            }
            return false
        }

        /// Skips any value (string, number, literal, array or object).
        mutating func skipValue() -> Bool {
            skipSpace()
            guard at < text.count else { return false }
            switch text[at] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                var depth = 0
                while at < text.count {
                    switch text[at] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        depth -= 1
                        if depth == 0 {
                            at += 1
                            return true
                        }
                    default: break
                    }
                    at += 1
                }
                return false
            default:
                while at < text.count,
                    ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D]
                        .contains(text[at])
                {
                    at += 1
                }
                return true
            }
        }
    }
}
