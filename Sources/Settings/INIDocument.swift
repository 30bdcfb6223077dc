import Foundation

/// An INI file kept line by line, so values can be looked up with their line numbers and rewritten in place
/// without losing comments or order.
///
/// Syntax: `[section]` headers; `key = value` (also `key: value`); full-line comments starting with `#` or
/// `;`; blank lines. Keys and sections are case-sensitive and trimmed; values are trimmed, and a value
/// wrapped in double quotes loses them. A key before any section header is an error, and so is a key given
/// twice in one section (a section may be opened again; its keys still count once).
public struct INIDocument: Sendable, Equatable {
    /// One entry: a key's value and where it stands.
    public struct Entry: Sendable, Equatable {
        /// The section the key is in.
        public let section: String
        /// The key.
        public let key: String
        /// The value, trimmed and unquoted.
        public let value: String
        /// 1-based line number.
        public let line: Int
    }

    /// The file name used in messages.
    public let file: String
    private var lines: [String]
    /// Every `key = value` entry, in file order.
    public private(set) var entries: [Entry]
    /// Every `[section]` header with its line, in file order.
    public private(set) var sections: [(name: String, line: Int)]

    public static func == (lhs: INIDocument, rhs: INIDocument) -> Bool {
        lhs.file == rhs.file && lhs.lines == rhs.lines
    }

    /// Parses INI text.
    /// - Parameters:
    ///   - text: the content; LF or CRLF (every CR before an LF is dropped, so the CR CR LF of a doubled
    ///     conversion reads as CRLF), an optional UTF-8 byte-order mark.
    ///   - file: the name used in errors.
    /// - Throws: ``SettingsError`` `syntax` with the file and line (a malformed line, a key before any section,
    ///   a key given twice).
    public init(text: String, file: String) throws(SettingsError) {
        self.file = file
        var body = text
        if body.hasPrefix("\u{FEFF}") { body.removeFirst() }
        lines = body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
            var line = String($0)
            while line.hasSuffix("\r") { line.removeLast() }
            return line
        }
        if lines.last == "" { lines.removeLast() }
        entries = []
        sections = []
        var current: String? = nil
        var firstLine: [String: Int] = [:]  // "section\nkey" → the line that set it first
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw SettingsError(
                        .syntax, place: "\(file):\(number)", reason: "a section header must look like [name]")
                }
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                current = name
                sections.append((name, number))
                continue
            }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw SettingsError(
                    .syntax, place: "\(file):\(number)", reason: "expected 'key = value', a [section] or a comment")
            }
            let key = line[..<separator].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw SettingsError(.syntax, place: "\(file):\(number)", reason: "a key is missing before '='")
            }
            guard let section = current else {
                throw SettingsError(.syntax, place: "\(file):\(number)", reason: "'\(key)' stands before any [section]")
            }
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            if let first = firstLine[section + "\n" + key] {
                // A second value for a key is a mistake either way: silently keeping one would hide the other.
                throw SettingsError(
                    .syntax, place: "\(file):\(number)",
                    reason: "'\(key)' in [\(section)] is given again (first on line \(first)); keep one")
            }
            firstLine[section + "\n" + key] = number
            entries.append(Entry(section: section, key: key, value: value, line: number))
        }
    }

    /// Reads and parses a file.
    /// - Throws: ``SettingsError`` `unreadable` or `syntax`.
    public init(contentsOf path: String) throws(SettingsError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SettingsError(.unreadable, place: path, reason: "is a directory, not an INI file")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            var reason = "not readable as UTF-8 text"
            if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
                underlying.domain == NSPOSIXErrorDomain
            {
                reason = String(cString: strerror(Int32(underlying.code)))  // e.g. "Permission denied"
            }
            throw SettingsError(.unreadable, place: path, reason: "cannot read the file (\(reason))")
        }
        try self.init(text: text, file: path)
    }

    /// The entry for `section`/`key`, if any (a document holds each key once per section).
    public func entry(section: String, key: String) -> Entry? {
        entries.last { $0.section == section && $0.key == key }
    }

    /// Sets `key = value` in `section`, keeping comments and order.
    ///
    /// Rewrites the key's line if it exists, otherwise adds it at the end of the section (adding the section at
    /// the end of the file if needed). The value is written as is, so it must fit on one line: a line break
    /// would end the entry and turn the rest of the value into lines of its own (other keys, other sections, or
    /// a syntax error).
    /// - Parameters:
    ///   - section: The section, e.g. `data`.
    ///   - key: The key, e.g. `path`.
    ///   - value: The value, written after `key = `.
    /// - Throws: ``SettingsError`` `syntax` when the section, key or value holds a line break, or when the line
    ///   would not read back as that key in that section; the document is then unchanged.
    public mutating func set(section: String, key: String, value: String) throws(SettingsError) {
        let place = "\(file): [\(section.prefix(32))] \(key.prefix(32))"
        guard !"\(section)\(key)\(value)".unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw SettingsError(
                .syntax, place: place, reason: "a value with a line break cannot be written to an INI file")
        }
        var lines = self.lines
        let text = "\(key) = \(value)"
        if let existing = entry(section: section, key: key) {
            lines[existing.line - 1] = text
        } else if let header = sections.last(where: { $0.name == section }) {
            // After the section's last non-blank line.
            var insertAt = header.line
            var index = header.line
            while index < lines.count {
                let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("[") { break }
                if !trimmed.isEmpty { insertAt = index + 1 }
                index += 1
            }
            lines.insert(text, at: insertAt)
        } else {
            if let last = lines.last, !last.trimmingCharacters(in: .whitespaces).isEmpty { lines.append("") }
            lines.append("[\(section)]")
            lines.append(text)
        }
        // Re-parse to refresh entries and line numbers, and to check that the new line reads back as this key.
        let updated: INIDocument
        do {
            updated = try INIDocument(text: lines.joined(separator: "\n") + "\n", file: file)
        } catch {
            throw SettingsError(.syntax, place: place, reason: "the key or section cannot be written as an INI line")
        }
        guard updated.entry(section: section, key: key) != nil else {
            throw SettingsError(.syntax, place: place, reason: "the key or section cannot be written as an INI line")
        }
        self = updated
    }

    /// The document as text, LF line ends and a final newline.
    public func rendered() -> String {
        lines.joined(separator: "\n") + "\n"
    }
}
