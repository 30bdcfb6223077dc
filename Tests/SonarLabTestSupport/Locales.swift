import Foundation

/// Locales with a decimal comma, compiled by the tests themselves with glibc's `localedef` (Debian package
/// `locales`) into a temporary directory that a child process reads through `LOCPATH`.
///
/// Nothing is installed system-wide; the directory lives as long as the test process.
public enum TestLocales {
    /// The locales SonarLab's users run with that write `0,83`: German and Russian, UTF-8.
    public static let decimalComma = ["de_DE.UTF-8", "ru_RU.UTF-8"]

    /// The `LOCPATH` directory holding every locale of ``decimalComma``, or why it could not be made.
    ///
    /// Compiled once, on a thread of its own (localedef takes seconds per locale): a static initializer that
    /// blocked would hold one of the cooperative pool's two threads, and every test waiting for it another.
    public static var compiled: Result<String, LocaleUnavailable> {
        get async { await compilation.value }
    }

    private static let compilation = Task<Result<String, LocaleUnavailable>, Never> {
        (try? await SonarLabProcess.offPool { compile() })
            ?? .failure(LocaleUnavailable(reason: "localedef could not run"))
    }

    private static func compile() -> Result<String, LocaleUnavailable> {
        guard
            let localedef = ["/usr/bin/localedef", "/usr/sbin/localedef", "/bin/localedef"]
                .first(where: FileManager.default.isExecutableFile(atPath:))
        else { return .failure(LocaleUnavailable(reason: "localedef is not installed (apt-get install locales)")) }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sonarlab-locales-\(UUID().uuidString.prefix(8))").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for name in decimalComma {
                let parts = name.split(separator: ".")
                let result = try SonarLabProcess.runBlocking(
                    localedef, ["-i", String(parts[0]), "-f", String(parts[1]), "\(directory)/\(name)"], in: directory)
                // localedef exits 1 for warnings but still writes the locale; the LC_NUMERIC file is what counts.
                guard FileManager.default.fileExists(atPath: "\(directory)/\(name)/LC_NUMERIC") else {
                    return .failure(
                        LocaleUnavailable(reason: "localedef could not make \(name): \(result.stderr)\(result.stdout)"))
                }
            }
        } catch {
            return .failure(LocaleUnavailable(reason: "localedef could not run: \(error)"))
        }
        return .success(directory)
    }

    /// The environment that makes a child process run in `locale` (every category, as a desktop session does).
    /// - Parameter locale: one of ``decimalComma``.
    /// - Returns: `LOCPATH`, `LANG` and `LC_ALL`.
    /// - Throws: ``LocaleUnavailable`` when the locales could not be compiled.
    public static func environment(for locale: String) async throws -> [String: String] {
        let directory = try await compiled.get()
        return ["LOCPATH": directory, "LANG": locale, "LC_ALL": locale]
    }
}

/// Why the test locales could not be made.
public struct LocaleUnavailable: Error, CustomStringConvertible {
    /// What went wrong, for the test's message.
    public let reason: String
    public var description: String { reason }
}
