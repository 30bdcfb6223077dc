import Crypto
import Foundation

/// The bearer tokens the service accepts: token names with the SHA-256 digest of each token.
///
/// File format (`SONARLAB_SERVE_TOKENS_FILE`): one `name:sha256-hex` per line, where `name` is letters, digits,
/// `.`, `_` or `-` and the digest is the 64 hexadecimal digits of SHA-256 over the token's bytes (for example
/// `printf %s "$TOKEN" | sha256sum`); blank lines and lines starting with `#` are ignored. The file holds no token,
/// only digests, yet it is refused when every user can read it (as ssh refuses a world-readable key).
///
/// ``caller(presenting:)`` hashes the presented token and compares it with every digest in constant time (no early
/// exit), so neither the match nor its position shows in the timing; the token is never stored or logged.
public struct BearerTokenTable: Sendable {
    private let entries: [(name: String, digest: [UInt8])]

    /// The token names, in file order.
    public var names: [String] { entries.map(\.name) }

    /// Parses a tokens file's text.
    /// - Parameters:
    ///   - text: the file's text.
    ///   - file: the path, for messages.
    /// - Throws: ``ServingAuthError`` `syntax` naming `file:line` (a line that is not `name:sha256-hex`, a repeated
    ///   name), `configuration` for a file without any token.
    public init(text: String, file: String) throws(ServingAuthError) {
        var entries: [(name: String, digest: [UInt8])] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            let place = "\(file):\(index + 1)"
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw ServingAuthError(.syntax, place: place, reason: "expected name:sha256-hex")
            }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(Self.isNameScalar) else {
                throw ServingAuthError(
                    .syntax, place: place, reason: "the token name must be letters, digits, '.', '_' or '-'")
            }
            guard let digest = Self.hexBytes(parts[1].trimmingCharacters(in: .whitespaces)), digest.count == 32 else {
                throw ServingAuthError(
                    .syntax, place: place,
                    reason: "the digest of '\(name)' is not 64 hexadecimal digits (SHA-256 of the token)")
            }
            guard !entries.contains(where: { $0.name == name }) else {
                throw ServingAuthError(.syntax, place: place, reason: "the token name '\(name)' appears twice")
            }
            entries.append((name, digest))
        }
        guard !entries.isEmpty else {
            throw ServingAuthError(.configuration, place: file, reason: "the tokens file holds no token")
        }
        self.entries = entries
    }

    /// Reads a tokens file, refusing one that every user may read.
    /// - Parameter path: the file (`SONARLAB_SERVE_TOKENS_FILE`).
    /// - Throws: ``ServingAuthError`` `unreadable`, `worldReadable`, or those of ``init(text:file:)``.
    public init(contentsOfFile path: String) throws(ServingAuthError) {
        try ServingSecretFile.requireNotWorldReadable(path, what: "tokens file")
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ServingAuthError(.unreadable, place: path, reason: "cannot read the tokens file")
        }
        try self.init(text: text, file: path)
    }

    /// The name of the token a caller presented, or `nil` when it is none of the table's.
    /// - Parameter token: the bytes after `Bearer ` in `Authorization`.
    /// - Returns: the token's name.
    public func caller(presenting token: some StringProtocol) -> String? {
        let digest = Array(SHA256.hash(data: Data(token.utf8)))
        var found: Int? = nil
        for (index, entry) in entries.enumerated() {
            // Every entry is compared in full, whatever matched before.
            var difference: UInt8 = 0
            for (a, b) in zip(entry.digest, digest) { difference |= a ^ b }
            if difference == 0 { found = index }
        }
        return found.map { entries[$0].name }
    }

    static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII
            && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Checks on files that hold secrets (tokens, private keys).
enum ServingSecretFile {
    /// Throws unless `path` exists and its mode denies reading to others.
    /// - Throws: ``ServingAuthError`` `unreadable` (no such file), `worldReadable`.
    static func requireNotWorldReadable(_ path: String, what: String) throws(ServingAuthError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ServingAuthError(.unreadable, place: path, reason: "cannot read the \(what) (no such file?)")
        }
        if info.st_mode & S_IROTH != 0 {
            throw ServingAuthError(
                .worldReadable, place: path, reason: "the \(what) is readable by every user; chmod o-r (e.g. 600) it")
        }
    }
}
