public import Foundation
import ZIPFoundation

/// Writes and reads zip archives in tests (to build altered model packages).
public enum TestZip {
    /// Writes a zip holding `files` (name → bytes), deflated, replacing `path`.
    /// - Throws: a ZIPFoundation or file-system error.
    public static func write(_ files: [String: Data], to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for name in files.keys.sorted() {
            let data = files[name]!
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
            ) { position, size in data.subdata(in: Int(position)..<min(data.count, Int(position) + size)) }
        }
    }

    /// Reads every file entry of a zip without any check.
    /// - Throws: a ZIPFoundation error.
    public static func read(_ path: String) throws -> [String: Data] {
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        var files = [String: Data]()
        for entry in archive {
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            files[entry.path] = data
        }
        return files
    }
}
