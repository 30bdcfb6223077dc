import Engine
import Foundation
import ZIPFoundation

extension ModelPackage {
    /// Size limits an archive must keep before any entry is extracted (the zip-bomb guard).
    ///
    /// A real package is a few hundred kilobytes: `model.json` of the largest network `[mlp] hidden_size` allows
    /// (60-4096-2) is about 5 MB, the other entries a few kilobytes.
    public struct Limits: Sendable, Equatable {
        /// Most uncompressed bytes one entry may state or inflate to (default 16 MiB).
        public var maxEntryBytes: UInt64
        /// Most uncompressed bytes of all entries together (default 32 MiB).
        public var maxTotalBytes: UInt64
        /// Most entries in the archive (default 32; a package has 6).
        public var maxEntries: Int

        /// Creates limits; the defaults are ``standard``'s.
        public init(maxEntryBytes: UInt64 = 16 << 20, maxTotalBytes: UInt64 = 32 << 20, maxEntries: Int = 32) {
            self.maxEntryBytes = maxEntryBytes
            self.maxTotalBytes = maxTotalBytes
            self.maxEntries = maxEntries
        }

        /// 16 MiB per entry, 32 MiB in all, 32 entries.
        public static let standard = Limits()
    }

    /// What the central directory says about one entry beyond what ZIPFoundation's `Entry` exposes.
    struct RawEntry {
        /// The host system in the high byte of "version made by" (3 = Unix, 19 = macOS).
        let host: UInt8
        /// The Unix file mode in the high half of the external attributes (when `host` is Unix or macOS).
        let mode: UInt16
        /// The entry's name as the central directory spells it (UTF-8; invalid bytes replaced).
        let name: String
        /// The general-purpose bit flag (bit 0: encrypted; APPNOTE.TXT 4.4.4).
        let flags: UInt16
        /// The compression method (0 stored, 8 deflate; APPNOTE.TXT 4.4.5).
        let method: UInt16
        /// Whether the local file header this record points at names the same entry, byte for byte.
        ///
        /// Readers that stream the local headers (`unzip -` and many libraries) and readers of the central
        /// directory (ZIPFoundation, Python's zipfile) would otherwise see different names for one entry.
        let localNameMatches: Bool
    }

    /// Checks every entry of an archive before anything is extracted, and returns the entries in archive order.
    ///
    /// Refused (the entry named): a duplicate name (also one differing only in letter case, which collides when
    /// unzipped on macOS or Windows); an empty, absolute (`/x`), parent (`..`), backslash (`a\b`) or drive-letter
    /// (`C:x`) name, or one with a control character; a symlink, directory or any other entry that is not a regular
    /// file; an entry stating more than ``Limits/maxEntryBytes`` uncompressed, or all together more than
    /// ``Limits/maxTotalBytes``; more than ``Limits/maxEntries`` entries; a central directory whose records
    /// ZIPFoundation does not all read. Names, types and sizes come from ZIPFoundation; the Unix file type of an
    /// entry (a FIFO or a device, which ZIPFoundation reports as a file) from the central directory itself.
    /// - Throws: ``DataError`` `malformed` (a refused entry) or `unreadable` (a damaged central directory).
    static func checkedEntries(of archive: Archive, path: String, limits: Limits) throws(DataError) -> [Entry] {
        func refuse(_ reason: String) -> DataError {
            DataError(.malformed, file: path, reason: reason + " — refusing the archive")
        }
        var entries = [Entry]()
        for entry in archive {
            entries.append(entry)
            guard entries.count <= limits.maxEntries else {
                throw refuse("more than \(limits.maxEntries) entries; a model package has 6")
            }
        }
        let raw = try rawEntries(path: path, limits: limits)
        // Before comparing counts: ZIPFoundation stops at an encrypted entry, which would read as "damaged".
        for rawEntry in raw {
            let shown = DataError.quoted(Substring(rawEntry.name))
            // The bytes as stored: ZIPFoundation decodes a name without the UTF-8 flag as CP437, where ESC is '←'.
            if let problem = nameProblem(rawEntry.name) { throw refuse("entry \(shown): \(problem)") }
            guard rawEntry.flags & 1 == 0 else { throw refuse("entry \(shown) is encrypted; a model package never is") }
            guard rawEntry.method == 0 || rawEntry.method == 8 else {
                throw refuse(
                    "entry \(shown) uses compression method \(rawEntry.method); a model package uses stored (0) or "
                        + "deflate (8) only")
            }
        }
        guard raw.count == entries.count else {
            throw DataError(
                .unreadable, file: path,
                reason: "the central directory lists \(raw.count) entries but \(entries.count) could be read; "
                    + "the archive is damaged")
        }
        var seen = [String: String]()
        var total: UInt64 = 0
        for (entry, rawEntry) in zip(entries, raw) {
            let name = entry.path
            let shown = DataError.quoted(Substring(name))
            if let problem = nameProblem(name) { throw refuse("entry \(shown): \(problem)") }
            if let first = seen[name.lowercased()] {
                throw refuse(
                    first == name
                        ? "entry \(shown) appears twice (readers disagree on which one counts)"
                        : "entry \(shown) differs from \(DataError.quoted(Substring(first))) only in letter case")
            }
            seen[name.lowercased()] = name
            guard rawEntry.localNameMatches else {
                throw refuse(
                    "entry \(shown) has another name in its local header than in the central directory "
                        + "(readers disagree on what it is)")
            }
            if let kind = nonRegularKind(entry, rawEntry) {
                throw refuse("entry \(shown) is a \(kind), not a regular file")
            }
            guard entry.uncompressedSize <= limits.maxEntryBytes else {
                throw refuse(
                    "entry \(shown) states \(entry.uncompressedSize) bytes uncompressed, over the cap of "
                        + "\(limits.maxEntryBytes) bytes per entry (a zip bomb?)")
            }
            total += entry.uncompressedSize
            guard total <= limits.maxTotalBytes else {
                throw refuse(
                    "the entries state more than \(limits.maxTotalBytes) bytes uncompressed in all, over the cap "
                        + "(a zip bomb?)")
            }
        }
        return entries
    }

    /// Why an entry name is unsafe, or `nil` when it is a plain relative path.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "an empty name" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "a control character in the name"
        }
        if name.hasPrefix("/") { return "an absolute path" }
        if name.contains("\\") { return "a backslash in the name (a Windows path separator)" }
        let scalars = Array(name.unicodeScalars.prefix(2))
        if scalars.count == 2, scalars[1] == ":", scalars[0].isASCII, scalars[0].properties.isAlphabetic {
            return "a drive letter"
        }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") { return "a '..' component (a path outside the archive)" }
        // A trailing '/' marks a directory entry, refused as such; elsewhere an empty or '.' component is an
        // alias of another name ('a//b', './model.json', '.').
        if components.dropLast(name.hasSuffix("/") ? 1 : 0).contains(where: { $0.isEmpty || $0 == "." }) {
            return "an empty or '.' path component (another spelling of a name)"
        }
        return nil
    }

    /// What kind of non-regular entry this is, or `nil` for a regular file.
    static func nonRegularKind(_ entry: Entry, _ raw: RawEntry) -> String? {
        switch entry.type {
        case .symlink: return "symbolic link"
        case .directory: return "directory"
        case .file: break
        }
        guard raw.host == 3 || raw.host == 19 else { return nil }
        switch raw.mode & 0xF000 {
        case 0, 0x8000: return nil
        case 0x1000: return "FIFO (named pipe)"
        case 0x2000: return "character device"
        case 0x6000: return "block device"
        case 0xC000: return "socket"
        default: return "special file (mode \(String(raw.mode, radix: 8)))"
        }
    }

    /// Reads the central directory's records (host, Unix mode, flags, method and local-header name check of each
    /// entry, in order).
    ///
    /// ZIPFoundation keeps these attributes internal and stops iterating silently at a record it cannot read; this
    /// reads the end-of-central-directory record and walks the records (APPNOTE.TXT 4.3.12 and 4.3.16).
    /// - Throws: ``DataError`` `unreadable` (a damaged directory, ZIP64, or a file larger than the caps allow).
    static func rawEntries(path: String, limits: Limits) throws(DataError) -> [RawEntry] {
        func damaged(_ what: String) -> DataError {
            DataError(.unreadable, file: path, reason: "\(what); the archive is damaged or not a model package")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
        guard size <= limits.maxTotalBytes + (1 << 20) else {
            throw DataError(
                .malformed, file: path,
                reason: "the archive is \(size) bytes, more than a model package can be — refusing the archive")
        }
        guard let bytes = try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) else {
            throw DataError(.unreadable, file: path, reason: "cannot read the file")
        }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        guard bytes.count >= 22,
            let end = stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 0xFFFF), by: -1).first(where: {
                u32($0) == 0x0605_4B50
            })
        else { throw damaged("no end-of-central-directory record") }
        let count = u16(end + 10)
        let start = u32(end + 16)
        guard count != 0xFFFF, start != 0xFFFF_FFFF else {
            throw damaged("the archive uses ZIP64, which a model package never needs")
        }
        var records = [RawEntry]()
        var offset = start
        for _ in 0..<count {
            guard offset + 46 <= end, u32(offset) == 0x0201_4B50 else {
                throw damaged("central directory record \(records.count + 1) is missing or malformed")
            }
            let nameLength = u16(offset + 28)
            guard offset + 46 + nameLength <= end else {
                throw damaged("central directory record \(records.count + 1) is malformed")
            }
            let name = bytes[(offset + 46)..<(offset + 46 + nameLength)]
            let local = u32(offset + 42)
            let localNameMatches =
                local + 30 <= start && u32(local) == 0x0403_4B50 && u16(local + 26) == nameLength
                && local + 30 + nameLength <= start && bytes[(local + 30)..<(local + 30 + nameLength)] == name
            records.append(
                RawEntry(
                    host: bytes[offset + 5], mode: UInt16(u32(offset + 38) >> 16),
                    name: String(decoding: name, as: UTF8.self), flags: UInt16(u16(offset + 8)),
                    method: UInt16(u16(offset + 10)), localNameMatches: localNameMatches))
            offset += 46 + nameLength + u16(offset + 30) + u16(offset + 32)
        }
        return records
    }
}
