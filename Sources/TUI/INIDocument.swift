/// A tiny INI reader for theme files: sections, `key = value`, `#`/`;` comments, line numbers kept.
struct INIDocument: Sendable {
    struct Entry: Sendable, Equatable {
        var section: String
        var key: String
        var value: String
        var line: Int
    }

    var entries: [Entry]

    /// Parses INI text.
    /// - Throws: `TUIError.themeSyntax` for a key before any section, a bad section header or a line
    ///   without `=`.
    static func parse(_ text: String, file: String) throws -> INIDocument {
        var entries: [Entry] = []
        var section: String?
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so both line ends split here.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            var line = Substring(rawLine)
            if lineNumber == 1, line.first == "\u{FEFF}" { line = line.dropFirst() }
            // Strip comments: a line starting with # or ;, or " ;" / " #" after a value.
            var content = String(line)
            if let cut = content.indices.first(where: { i in
                (content[i] == ";" || content[i] == "#") && i > content.startIndex
                    && (content[content.index(before: i)] == " " || content[content.index(before: i)] == "\t")
            }) {
                content = String(content[..<cut])
            }
            content = content.trimmingCharacters(in: " \t")
            if content.isEmpty || content.hasPrefix("#") || content.hasPrefix(";") { continue }
            if content.hasPrefix("[") {
                guard content.hasSuffix("]"), content.count > 2 else {
                    throw TUIError.themeSyntax(file: file, line: lineNumber, reason: "bad section header '\(content)'")
                }
                section = String(content.dropFirst().dropLast()).trimmingCharacters(in: " \t").lowercased()
                continue
            }
            guard let eq = content.firstIndex(of: "=") else {
                throw TUIError.themeSyntax(file: file, line: lineNumber, reason: "expected 'key = value', found '\(content)'")
            }
            guard let section else {
                throw TUIError.themeSyntax(file: file, line: lineNumber, reason: "'key = value' before any [section]")
            }
            let key = String(content[..<eq]).trimmingCharacters(in: " \t").lowercased()
            let value = String(content[content.index(after: eq)...]).trimmingCharacters(in: " \t")
            guard !key.isEmpty else {
                throw TUIError.themeSyntax(file: file, line: lineNumber, reason: "missing key before '='")
            }
            entries.append(Entry(section: section, key: key, value: value, line: lineNumber))
        }
        return INIDocument(entries: entries)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
