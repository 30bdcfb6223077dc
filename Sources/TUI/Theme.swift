import Foundation
import Settings

/// What a style is used for; a theme gives each role a style.
public enum ThemeRole: String, CaseIterable, Hashable, Sendable {
    /// Ordinary text and the background.
    case normal
    /// Panel borders.
    case border
    /// Panel titles.
    case title
    /// Table headers and labels.
    case header
    /// The selected table row or form field.
    case selected
    /// The status bar at the bottom.
    case status
    /// The active screen tab.
    case tabActive = "tab_active"
    /// The other screen tabs.
    case tabInactive = "tab_inactive"
    /// Highlights: values that matter, key names.
    case accent
    /// Secondary text.
    case muted
    /// The training-split series in charts.
    case train
    /// The validation-split series in charts.
    case validation
    /// The filled part of a progress bar.
    case progress
    /// Good news: finished runs, passed scenarios.
    case good
    /// Bad news: failed runs, errors.
    case bad
    /// Warnings: cancelled runs, unreachable store.
    case warning
    /// Runs marked for compare.
    case marked
}

/// How many colours the terminal can show.
public enum ColorCapability: Int, Comparable, Sendable {
    /// No colours: attributes only (the mono theme).
    case none = 0
    /// The 8 basic ANSI colours.
    case eight = 8
    /// The 256-colour xterm palette.
    case full256 = 256

    /// The capability for a terminal reporting `colors` colours (`COLORS` in curses).
    public init(colorCount colors: Int) {
        if colors >= 256 { self = .full256 } else if colors >= 8 { self = .eight } else { self = .none }
    }

    public static func < (lhs: ColorCapability, rhs: ColorCapability) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A named set of styles, one per `ThemeRole`, read from `themes/NAME.ini`.
///
/// File format (read with Settings' `INIDocument`; `#` or `;` start a comment line):
/// ```ini
/// [theme]
/// name = dark
/// description = light text on a dark background
///
/// [styles]
/// # foreground [on background] [bold] [reverse] [underline] [dim]
/// normal = 252 on 234
/// selected = black on cyan bold
/// ```
/// A colour is `default`, a name (`black red green yellow blue magenta cyan white`, `bright-NAME`)
/// or a palette index 0–255. Roles a theme leaves out take the default theme's style.
public struct Theme: Equatable, Sendable {
    /// The theme's name.
    public var name: String
    /// One line saying what the theme is for.
    public var summary: String
    /// The style of each role.
    public var styles: [ThemeRole: TextStyle]

    /// The style for `role` (plain text if the theme has none).
    public func style(_ role: ThemeRole) -> TextStyle { styles[role] ?? .plain }

    /// This theme as a terminal with `capability` can show it: 256-colour indices fall back to
    /// the nearest of the 8 basic colours, and without colours every style keeps its attributes
    /// only (the mono theme's way of marking selection with reverse video).
    /// - Parameter capability: what the terminal can show.
    /// - Returns: the adapted theme.
    public func adapted(to capability: ColorCapability) -> Theme {
        switch capability {
        case .full256: return self
        case .none: return Theme.mono
        case .eight:
            var copy = self
            for (role, style) in styles {
                var s = style
                s.foreground = Self.basic(style.foreground)
                s.background = Self.basic(style.background)
                copy.styles[role] = s
            }
            return copy
        }
    }

    /// The nearest of the 8 basic colours to a palette colour.
    static func basic(_ color: TerminalColor) -> TerminalColor {
        guard case .indexed(let i) = color else { return color }
        if i < 8 { return color }
        if i < 16 { return .indexed(i - 8) }
        let rgb = paletteRGB(Int(i))
        let basics: [(Int, Int, Int)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
            (229, 229, 229),
        ]
        var best = 0
        var bestDistance = Int.max
        for (n, b) in basics.enumerated() {
            let d = (rgb.0 - b.0) * (rgb.0 - b.0) + (rgb.1 - b.1) * (rgb.1 - b.1) + (rgb.2 - b.2) * (rgb.2 - b.2)
            if d < bestDistance { bestDistance = d; best = n }
        }
        return .indexed(UInt8(best))
    }

    /// The RGB value of an xterm palette index 16–255.
    static func paletteRGB(_ i: Int) -> (Int, Int, Int) {
        if i >= 232 { let g = 8 + (i - 232) * 10; return (g, g, g) }
        let n = i - 16
        let level = [0, 95, 135, 175, 215, 255]
        return (level[n / 36], level[(n / 6) % 6], level[n % 6])
    }

    /// The theme compiled into the binary, used when no theme file can be read.
    ///
    /// `themes/default.ini` holds the same styles (a test keeps them equal).
    public static let builtInDefault: Theme = {
        // The literal below is known to parse; a failure here is a programming error caught by tests.
        (try? Theme.parse(defaultThemeSource, file: "<built-in default>"))
            ?? Theme(name: "default", summary: "", styles: [:])
    }()

    /// Attributes only, no colours: for `NO_COLOR`, monochrome terminals and `--theme mono`.
    public static let mono = Theme(
        name: "mono", summary: "no colours: bold, reverse and underline only",
        styles: [
            .normal: .plain, .border: .plain, .title: TextStyle(isBold: true), .header: TextStyle(isUnderline: true),
            .selected: TextStyle(isReverse: true), .status: TextStyle(isReverse: true),
            .tabActive: TextStyle(isBold: true, isReverse: true), .tabInactive: .plain,
            .accent: TextStyle(isBold: true),
            .muted: TextStyle(isDim: true), .train: TextStyle(isBold: true), .validation: .plain,
            .progress: TextStyle(isBold: true), .good: TextStyle(isBold: true),
            .bad: TextStyle(isBold: true, isUnderline: true),
            .warning: TextStyle(isUnderline: true), .marked: TextStyle(isBold: true),
        ])

    /// The default theme's INI text (the same as `themes/default.ini`).
    static let defaultThemeSource = """
        # SonarLab theme: default. Colour names or xterm-256 indices; see Theme.swift for the format.
        [theme]
        name = default
        description = the terminal's own background, cyan accents

        [styles]
        normal = default on default
        border = 244
        title = bright-cyan bold
        header = 250 underline
        selected = black on 45
        status = black on 250
        tab_active = black on 45 bold
        tab_inactive = 250
        accent = 45 bold
        muted = 244
        train = 39
        validation = 208
        progress = 41
        good = 41
        bad = 196 bold
        warning = 214
        marked = 213 bold
        """

    /// Reads a theme from INI text.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the file's path, for error messages.
    /// - Returns: the theme; roles the text leaves out take the default theme's styles.
    /// - Throws: `TUIError.themeSyntax` naming `file` and the line: a line that is not a section,
    ///   a comment or `key = value`; an unknown section, role or key; a bad colour or attribute.
    public static func parse(_ text: String, file: String) throws -> Theme {
        let document: INIDocument
        do {
            document = try INIDocument(text: text, file: file)
        } catch {
            // Settings' reader places errors as "FILE:LINE".
            let line = error.place.split(separator: ":").last.flatMap { Int($0) } ?? 0
            throw TUIError.themeSyntax(file: file, line: line, reason: error.reason)
        }
        var theme = Theme(
            name: (file as NSString).lastPathComponent.replacingOccurrences(of: ".ini", with: ""), summary: "",
            styles: file == "<built-in default>" ? [:] : builtInDefault.styles)
        for entry in document.entries {
            switch entry.section.lowercased() {
            case "theme":
                switch entry.key {
                case "name": theme.name = entry.value
                case "description": theme.summary = entry.value
                default:
                    throw TUIError.themeSyntax(
                        file: file, line: entry.line,
                        reason: "unknown key '\(entry.key)' in [theme] (name, description)")
                }
            case "styles":
                guard let role = ThemeRole(rawValue: entry.key) else {
                    let known = ThemeRole.allCases.map(\.rawValue).joined(separator: ", ")
                    throw TUIError.themeSyntax(
                        file: file, line: entry.line, reason: "unknown role '\(entry.key)' (known: \(known))")
                }
                theme.styles[role] = try parseStyle(entry.value, file: file, line: entry.line)
            default:
                throw TUIError.themeSyntax(
                    file: file, line: entry.line,
                    reason: "unknown section [\(entry.section)] (expected [theme] or [styles])")
            }
        }
        return theme
    }

    /// Reads `FG [on BG] [bold] [reverse] [underline] [dim]`.
    static func parseStyle(_ value: String, file: String, line: Int) throws -> TextStyle {
        var style = TextStyle()
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
        guard !words.isEmpty else { throw TUIError.themeSyntax(file: file, line: line, reason: "empty style") }
        var i = 0
        var sawForeground = false
        while i < words.count {
            let w = words[i]
            switch w {
            case "bold": style.isBold = true
            case "reverse": style.isReverse = true
            case "underline": style.isUnderline = true
            case "dim": style.isDim = true
            case "on":
                guard i + 1 < words.count else {
                    throw TUIError.themeSyntax(file: file, line: line, reason: "'on' needs a background colour")
                }
                style.background = try parseColor(words[i + 1], file: file, line: line)
                i += 1
            default:
                guard !sawForeground else {
                    throw TUIError.themeSyntax(
                        file: file, line: line,
                        reason: "unexpected '\(w)' (one foreground colour, then 'on' BACKGROUND and attributes)")
                }
                style.foreground = try parseColor(w, file: file, line: line)
                sawForeground = true
            }
            i += 1
        }
        return style
    }

    static func parseColor(_ word: String, file: String, line: Int) throws -> TerminalColor {
        let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]
        if word == "default" { return .standard }
        if let n = names.firstIndex(of: word) { return .indexed(UInt8(n)) }
        if word.hasPrefix("bright-"), let n = names.firstIndex(of: String(word.dropFirst(7))) {
            return .indexed(UInt8(n + 8))
        }
        if let n = Int(word), (0...255).contains(n) { return .indexed(UInt8(n)) }
        throw TUIError.themeSyntax(
            file: file, line: line, reason: "unknown colour '\(word)' (a name, bright-NAME, default or 0-255)")
    }
}

/// Finds and loads themes from a directory of `NAME.ini` files.
public struct ThemeLoader: Sendable {
    /// The directory holding `NAME.ini` files (the repository's `themes/`), or nil for built-ins only.
    public var directory: String?

    /// Creates a loader.
    /// - Parameter directory: the themes directory; nil uses the built-in default and mono only.
    public init(directory: String?) { self.directory = directory }

    /// Loads theme `name` for a terminal: never fails, a problem falls back and says why.
    ///
    /// `noColor` (the caller reads `NO_COLOR`; screens never read the environment) or a terminal
    /// without colours gives mono; a missing or broken file gives the default theme and a warning
    /// that names the file and line.
    /// - Parameters:
    ///   - name: the theme's name (`default`, `dark`, `light`, `high-contrast`, `mono`, …).
    ///   - capability: what the terminal can show.
    ///   - noColor: whether the user asked for no colours.
    /// - Returns: the theme to use, adapted to `capability`, and a warning to show, if any.
    public func resolve(name: String, capability: ColorCapability, noColor: Bool) -> (theme: Theme, warning: String?) {
        if noColor || capability == .none { return (Theme.mono, nil) }
        do {
            return (try load(name: name).adapted(to: capability), nil)
        } catch let error as TUIError {
            return (Theme.builtInDefault.adapted(to: capability), "\(error.message); using the default theme")
        } catch {
            return (Theme.builtInDefault.adapted(to: capability), "\(error); using the default theme")
        }
    }

    /// Loads theme `name` from the directory.
    /// - Parameter name: the theme's name.
    /// - Returns: the parsed theme (`mono` and `default` also exist without a directory).
    /// - Throws: `TUIError.themeNotFound` when there is no such file; `TUIError.themeSyntax` when it is broken.
    public func load(name: String) throws -> Theme {
        guard let directory else {
            if name == "mono" { return Theme.mono }
            if name == "default" { return Theme.builtInDefault }
            throw TUIError.themeNotFound(name: name, directory: "(no themes directory)")
        }
        let path = (directory as NSString).appendingPathComponent("\(name).ini")
        guard !name.contains("/"), let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)
        else {
            if name == "mono" { return Theme.mono }
            if name == "default" { return Theme.builtInDefault }
            throw TUIError.themeNotFound(name: name, directory: directory)
        }
        return try Theme.parse(text, file: path)
    }

    /// The names of the themes in the directory, sorted.
    public func availableNames() -> [String] {
        guard let directory, let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return ["default", "mono"]
        }
        return files.filter { $0.hasSuffix(".ini") }.map { String($0.dropLast(4)) }.sorted()
    }
}
