import Foundation

/// A secret value (a password or token) that never prints itself.
///
/// `description` and `debugDescription` are `<redacted>` and the mirror is empty, so string interpolation,
/// logging and `dump` cannot leak it; read ``revealed`` only where the value is sent.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself. Use only to build the request that needs it.
    public let revealed: String

    /// Wraps a secret value.
    public init(_ value: String) { revealed = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    /// An empty mirror, so `dump` and reflection-based printers show no value either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Reads the secret `NAME` from the environment, or from the file named by `NAME_FILE` (the form that
    /// Docker, Kubernetes and CI secrets mount). `NAME` wins when both are set. One trailing newline of the
    /// file is dropped.
    /// - Parameters:
    ///   - name: the variable, e.g. `SONARLAB_HBASE_PASSWORD`.
    ///   - environment: the process environment.
    /// - Returns: the secret, or `nil` when neither variable is set.
    /// - Throws: ``SettingsError`` `secretUnreadable` naming the `_FILE` variable and its path (never the content).
    public static func fromEnvironment(_ name: String, _ environment: [String: String]) throws(SettingsError) -> Secret?
    {
        if let value = environment[name] { return Secret(value) }
        guard let path = environment[name + "_FILE"] else { return nil }
        guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8)
        else {
            throw SettingsError(
                .secretUnreadable, place: "environment \(name)_FILE", reason: "cannot read the secret file \(path)")
        }
        if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix("\r") { text.removeLast() }
        return Secret(text)
    }
}
