import Foundation
import Settings

extension FuzzCheck {
    /// The INI parser (`INIDocument`, behind config.ini and the themes) and its in-place writer (`set`, behind
    /// `sonarlab config --save-config`).
    ///
    /// Input: INI text, optionally followed by a NUL byte and a value. Promises: only ``SettingsError``
    /// `syntax`; entries and sections carry increasing line numbers inside the text; a document renders to text
    /// that parses back to the same entries; `set` of a value under a plain section and key never traps, and the
    /// key then reads back that value (trimmed and unquoted, as the parser reads values), or `set` refuses a value
    /// with a line break and leaves the document alone.
    public static let ini = FuzzCheck(name: "ini") { (data: Data) throws(FuzzFailure) in
        let parts = data.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let text = String(decoding: parts[0], as: UTF8.self)
        var document: INIDocument
        do throws(SettingsError) {
            document = try INIDocument(text: text, file: "fuzz.ini")
        } catch {
            guard error.code == .syntax, error.place.hasPrefix("fuzz.ini:") else {
                throw FuzzFailure("ini", "unexpected refusal \(error.code) at \(error.place)")
            }
            return
        }
        try checkDocument(document)
        let reparsed: INIDocument
        do {
            reparsed = try INIDocument(text: document.rendered(), file: "fuzz.ini")
        } catch {
            throw FuzzFailure("ini", "the rendered document does not parse: \(error)")
        }
        guard reparsed.entries == document.entries else {
            throw FuzzFailure("ini", "the rendered document reads differently: \(diff(document, reparsed))")
        }
        guard parts.count == 2 else { return }
        let value = String(decoding: parts[1], as: UTF8.self)
        for (section, key) in [("fuzz", "value"), (document.sections.last?.name ?? "fuzz", "value")] {
            var copy = document
            do throws(SettingsError) {
                try copy.set(section: section, key: key, value: value)
            } catch {
                // A section read from the document may itself hold a lone CR ("[a]\rb]"); that refusal is fine too.
                guard error.code == .syntax,
                    (section + value).unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" })
                else {
                    throw FuzzFailure("ini", "set refused \(value.debugDescription.prefix(60)): \(error)")
                }
                guard copy == document else { throw FuzzFailure("ini", "a refused set changed the document") }
                continue
            }
            try checkDocument(copy)
            let expected = value.trimmingCharacters(in: .whitespaces)
            guard let entry = copy.entry(section: section, key: key),
                entry.value == expected
                    || (expected.count >= 2 && expected.hasPrefix("\"") && expected.hasSuffix("\"")
                        && entry.value == String(expected.dropFirst().dropLast()))
            else {
                throw FuzzFailure(
                    "ini", "set [\(section)] \(key) = \(value.debugDescription.prefix(60)) reads back differently")
            }
        }
    }

    static func checkDocument(_ document: INIDocument) throws(FuzzFailure) {
        // Count scalars: "\r\n" is one Character, so splitting the String on "\n" would miss lines ending in a CR.
        let lines = document.rendered().unicodeScalars.filter { $0 == "\n" }.count
        let entryLines = document.entries.map(\.line)
        let sectionLines = document.sections.map(\.line)
        for numbers in [entryLines, sectionLines] {
            guard zip(numbers, numbers.dropFirst()).allSatisfy({ $0 < $1 }),
                numbers.allSatisfy({ (1...lines).contains($0) })
            else {
                throw FuzzFailure("ini", "line numbers \(numbers.prefix(8)) are not increasing inside 1…\(lines)")
            }
        }
        guard Set(entryLines).isDisjoint(with: sectionLines) else {
            throw FuzzFailure("ini", "a line is both a section and an entry")
        }
        if let entry = document.entries.first(where: { $0.key.isEmpty }) {
            throw FuzzFailure("ini", "an empty key on line \(entry.line)")
        }
    }

    static func diff(_ a: INIDocument, _ b: INIDocument) -> String {
        for (x, y) in zip(a.entries, b.entries) where x != y {
            return "\(x.section).\(x.key)=\(x.value.debugDescription.prefix(40)) (line \(x.line)) became "
                + "\(y.section).\(y.key)=\(y.value.debugDescription.prefix(40)) (line \(y.line))"
        }
        return "\(a.entries.count) entries became \(b.entries.count)"
    }
}
