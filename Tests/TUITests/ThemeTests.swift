import Foundation
import Testing
@testable import TUI

@Suite struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("themes").path

    @Test(arguments: ["default", "dark", "light", "high-contrast", "mono"])
    func everyShippedThemeParsesAndStylesEveryRole(name: String) throws {
        let path = (Self.themesDirectory as NSString).appendingPathComponent("\(name).ini")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let theme = try Theme.parse(text, file: path)
        #expect(theme.name == name)
        #expect(!theme.summary.isEmpty)
        // Each file names every role itself rather than leaning on the default.
        let named = Set(
            text.split(separator: "\n").compactMap {
                $0.split(separator: "=").first?.trimmingCharacters(in: .whitespaces)
            })
        for role in ThemeRole.allCases { #expect(named.contains(role.rawValue), "\(name).ini lacks \(role.rawValue)") }
    }

    @Test func theDefaultFileMatchesTheBuiltInDefault() throws {
        let loaded = try ThemeLoader(directory: Self.themesDirectory).load(name: "default")
        #expect(loaded.styles == Theme.builtInDefault.styles)
        #expect(Theme.builtInDefault.styles.count == ThemeRole.allCases.count)
    }

    @Test func theMonoFileMatchesTheBuiltInMonoAndHasNoColours() throws {
        let loaded = try ThemeLoader(directory: Self.themesDirectory).load(name: "mono")
        #expect(loaded.styles == Theme.mono.styles)
        for style in loaded.styles.values {
            #expect(style.foreground == .standard && style.background == .standard)
        }
    }

    @Test func stylesReadColoursAttributesAndBackgrounds() throws {
        let theme = try Theme.parse(
            "[styles]\nselected = black on 45 bold underline\ntrain = bright-cyan\n", file: "t.ini")
        #expect(
            theme.style(.selected)
                == TextStyle(foreground: .indexed(0), background: .indexed(45), isBold: true, isUnderline: true))
        #expect(theme.style(.train) == TextStyle(foreground: .indexed(14)))
        // Roles the file leaves out come from the default theme.
        #expect(theme.style(.bad) == Theme.builtInDefault.style(.bad))
    }

    @Test(arguments: [
        ("[styles]\nnormal = default\ntrain = purplish\n", 3, "unknown colour 'purplish'"),
        ("[styles]\n\n# comment\nthis line has no equals sign\n", 4, "expected 'key = value'"),
        ("train = red\n", 1, "before any [section]"),
        ("[styles]\nsparkle = red\n", 2, "unknown role 'sparkle'"),
        ("[colours]\nnormal = red\n", 2, "unknown section [colours]"),
        ("[styles]\ntrain = red on\n", 2, "'on' needs a background colour"),
        ("[styles]\ntrain = red blue\n", 2, "unexpected 'blue'"),
        ("[styles]\ntrain = 256\n", 2, "unknown colour '256'"),
        ("[theme\n", 1, "a section header must look like [name]"),
        ("[styles]\r\nnormal = red\r\ntrain = nope\r\n", 3, "unknown colour 'nope'"),
    ])
    func brokenThemesNameTheFileAndLine(text: String, line: Int, reason: String) {
        #expect {
            try Theme.parse(text, file: "themes/broken.ini")
        } throws: { error in
            guard let error = error as? TUIError else { return false }
            return error == .anyThemeSyntax && error.file == "themes/broken.ini" && error.line == line
                && error.message.hasPrefix("themes/broken.ini:\(line): ") && error.message.contains(reason)
        }
    }

    @Test func aBrokenThemeFileFallsBackToTheDefaultWithAWarningNamingFileAndLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sonarlab-themes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("neon.ini")
        try "[theme]\nname = neon\n[styles]\naccent = hotpink\n".write(to: file, atomically: true, encoding: .utf8)
        let (theme, warning) = ThemeLoader(directory: directory.path).resolve(
            name: "neon", capability: .full256, noColor: false)
        #expect(theme == Theme.builtInDefault)
        #expect(
            warning
                == "\(file.path):4: unknown colour 'hotpink' (a name, bright-NAME, default or 0-255); using the default theme"
        )
    }

    @Test func aMissingThemeFallsBackToTheDefaultAndSaysWhere() {
        let (theme, warning) = ThemeLoader(directory: Self.themesDirectory).resolve(
            name: "nope", capability: .full256, noColor: false)
        #expect(theme == Theme.builtInDefault)
        #expect(warning?.contains("no theme 'nope' in \(Self.themesDirectory)") == true)
    }

    @Test func noColorOrAColourlessTerminalGivesMono() {
        let loader = ThemeLoader(directory: Self.themesDirectory)
        #expect(loader.resolve(name: "dark", capability: .full256, noColor: true).theme == Theme.mono)
        #expect(loader.resolve(name: "dark", capability: .none, noColor: false).theme == Theme.mono)
        #expect(loader.resolve(name: "dark", capability: .full256, noColor: false).theme.name == "dark")
    }

    @Test func eightColourTerminalsGetTheNearestBasicColours() throws {
        let dark = try ThemeLoader(directory: Self.themesDirectory).load(name: "dark")
        let adapted = dark.adapted(to: .eight)
        for style in adapted.styles.values {
            for color in [style.foreground, style.background] {
                if case .indexed(let i) = color { #expect(i < 8) }
            }
        }
        #expect(Theme.basic(.indexed(196)) == .indexed(1))  // bright red → red
        #expect(Theme.basic(.indexed(235)) == .indexed(0))  // dark grey → black
        #expect(Theme.basic(.indexed(255)) == .indexed(7))  // near white → white
        #expect(Theme.basic(.indexed(12)) == .indexed(4))  // bright blue → blue
        #expect(dark.adapted(to: .full256) == dark)
    }

    @Test func capabilityFollowsTheColourCount() {
        #expect(ColorCapability(colorCount: 0) == .none)
        #expect(ColorCapability(colorCount: 8) == .eight)
        #expect(ColorCapability(colorCount: 88) == .eight)
        #expect(ColorCapability(colorCount: 256) == .full256)
    }

    @Test func theLoaderListsTheShippedThemes() {
        let names = ThemeLoader(directory: Self.themesDirectory).availableNames()
        #expect(names == ["dark", "default", "high-contrast", "light", "mono"])
    }
}
