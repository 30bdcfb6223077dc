public import Foundation
import ZIPFoundation

/// Writes zip archives byte by byte (APPNOTE.TXT 4.3), for the unsafe cases ZIPFoundation will not make: two entries
/// of one name, a symlink or FIFO by its external attributes, `..` or absolute names, sizes that lie.
///
/// Entries are stored (method 0), made by Unix (host 3) unless told otherwise, dated 1980-01-01, in the given order.
public enum CraftedZip {
    /// One entry as it goes into the archive.
    public struct Entry: Sendable {
        /// The name, written as UTF-8 bytes (flag bit 11 set).
        public var name: String
        /// The stored bytes.
        public var data: Data
        /// The Unix mode (type and permission bits) in the high half of the external attributes.
        public var unixMode: UInt16
        /// The uncompressed size written in both headers; `nil` = `data.count` (the truth).
        public var statedSize: UInt32?

        /// Creates an entry; a regular file (`0o100644`) stating its real size unless told otherwise.
        public init(name: String, data: Data, unixMode: UInt16 = 0o100644, statedSize: UInt32? = nil) {
            self.name = name
            self.data = data
            self.unixMode = unixMode
            self.statedSize = statedSize
        }

        /// A symbolic link to `target` (mode `0o120777`, the target as the entry's data).
        public static func symlink(_ name: String, to target: String) -> Entry {
            Entry(name: name, data: Data(target.utf8), unixMode: 0o120777)
        }
    }

    /// The archive's bytes.
    public static func bytes(_ entries: [Entry]) -> Data {
        var out = Data()
        var central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)]) }
        func u32(_ v: Int, _ d: inout Data) {
            u16(v & 0xFFFF, &d)
            u16(v >> 16 & 0xFFFF, &d)
        }
        for entry in entries {
            let name = Data(entry.name.utf8)
            let crc = Int(entry.data.crc32(checksum: 0))
            let stated = Int(entry.statedSize ?? UInt32(entry.data.count))
            let offset = out.count
            // Local file header: signature, version needed 2.0, flags (UTF-8 names), stored, time, date (1980-01-01),
            // CRC-32, compressed and uncompressed size, name length, extra length, name.
            for (v, wide) in [
                (0x0403_4B50, true), (20, false), (0x0800, false), (0, false), (0, false), (0x21, false),
                (crc, true), (entry.data.count, true), (stated, true), (name.count, false), (0, false),
            ] {
                if wide { u32(v, &out) } else { u16(v, &out) }
            }
            out.append(name)
            out.append(entry.data)
            // Central directory record: as above plus "version made by" (Unix, 3.0), comment length, disk, internal
            // attributes, external attributes (mode << 16) and the local header's offset.
            for (v, wide) in [
                (0x0201_4B50, true), (0x031E, false), (20, false), (0x0800, false), (0, false), (0, false),
                (0x21, false), (crc, true), (entry.data.count, true), (stated, true), (name.count, false), (0, false),
                (0, false), (0, false), (0, false), (Int(entry.unixMode) << 16, true), (offset, true),
            ] {
                if wide { u32(v, &central) } else { u16(v, &central) }
            }
            central.append(name)
        }
        let start = out.count
        out.append(central)
        // End of central directory: signature, disk numbers, entry counts, directory size and offset, comment length.
        for (v, wide) in [
            (0x0605_4B50, true), (0, false), (0, false), (entries.count, false), (entries.count, false),
            (central.count, true), (start, true), (0, false),
        ] {
            if wide { u32(v, &out) } else { u16(v, &out) }
        }
        return out
    }

    /// Writes the archive to `path`, replacing it.
    /// - Throws: a file-system error.
    public static func write(_ entries: [Entry], to path: String) throws {
        try bytes(entries).write(to: URL(fileURLWithPath: path))
    }

    /// Rewrites the uncompressed size an archive states for the entry `name` (central directory and local header),
    /// leaving its data alone: a deflated entry then inflates past what it states.
    /// - Returns: the patched archive, or `nil` when no entry has that name.
    public static func statingSize(_ size: UInt32, for name: String, in archive: Data) -> Data? {
        var bytes = [UInt8](archive)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { bytes[at + i] = UInt8(v >> (8 * UInt32(i)) & 0xFF) } }
        var at = 0
        while at + 46 <= bytes.count {
            if u32(at) == 0x0201_4B50 {
                let length = u16(at + 28)
                if String(decoding: bytes[(at + 46)..<(at + 46 + length)], as: UTF8.self) == name {
                    put32(size, at + 24)
                    put32(size, u32(at + 42) + 22)
                    return Data(bytes)
                }
            }
            at += 1
        }
        return nil
    }
}
