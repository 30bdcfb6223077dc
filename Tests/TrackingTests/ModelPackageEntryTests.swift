import Engine
import Foundation
import SonarLabTestSupport
import Testing
import Tracking

/// The entries of a real package, as crafted-zip entries (regular files, true sizes).
func packageEntries() -> [CraftedZip.Entry] {
    let artefact = makeArtefact()
    let contents = ModelPackage.Contents(
        modelBytes: artefact.encoded(), artefact: artefact, parameters: ["data.path": "d.csv"], dataPath: "d.csv")
    return ModelPackage.entries(contents).map { CraftedZip.Entry(name: $0.name, data: $0.data) }
}

@Suite("model zip entries: unsafe names, types and sizes are refused before anything is extracted")
struct ModelPackageEntryTests {
    /// Writes `entries` as `name`.zip and opens it; returns the refusal's text, or `nil` when it opened.
    func refusal(
        _ dir: TemporaryDirectory, _ name: String, _ entries: [CraftedZip.Entry],
        limits: ModelPackage.Limits = .standard
    ) throws -> String? {
        let path = dir.file("\(name).zip")
        try CraftedZip.write(entries, to: path)
        do {
            _ = try ModelPackage.open(path: path, limits: limits)
            return nil
        } catch {
            #expect(error.file == path)
            return error.description
        }
    }

    @Test("a folder or a FIFO named like a zip is refused at once, not read (ZIPFoundation spun on a folder)")
    func aFolderOrFIFONamedZipIsRefused() throws {
        let dir = try TemporaryDirectory()
        let folder = dir.file("folder.zip")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(throws: DataError.self) { _ = try ModelPackage.open(path: folder) }
        do { _ = try ModelPackage.open(path: folder) } catch { #expect(error.description.contains("is a folder")) }
        let fifo = dir.file("pipe.zip")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: DataError.self) { _ = try ModelPackage.open(path: fifo) }
        do { _ = try ModelPackage.open(path: fifo) } catch {
            #expect(error.description.contains("not a regular file"))
        }
    }

    @Test("a crafted archive of a real package's entries opens (the crafted writer makes valid zips)")
    func craftedPackageOpens() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(try refusal(dir, "ok", packageEntries()) == nil)
    }

    @Test("a local header naming another entry, an encrypted entry or an unknown method is refused, entry named")
    func headerMismatchEncryptionAndMethod() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let good = CraftedZip.bytes(packageEntries())
        func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        func u32(_ b: [UInt8], _ at: Int) -> Int { u16(b, at) | u16(b, at + 2) << 16 }
        /// The offsets of the first entry's local header and central record.
        func firstEntry(_ b: [UInt8]) -> (local: Int, central: Int) {
            let end = (0...(b.count - 22)).reversed().first { u32(b, $0) == 0x0605_4B50 }!
            return (0, u32(b, end + 16))
        }
        func refused(_ name: String, from base: Data? = nil, _ mutate: (inout [UInt8], Int, Int) -> Void) throws
            -> String
        {
            var bytes = [UInt8](base ?? good)
            let (local, central) = firstEntry(bytes)
            mutate(&bytes, local, central)
            let path = dir.file("\(name).zip")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try ModelPackage.open(path: path)
                return "opened"
            } catch {
                return error.description
            }
        }
        let first = try #require(packageEntries().first?.name)
        // The local header names the first entry with its first letter upper-cased: same length, other bytes.
        let mismatch = try refused("mismatch") { bytes, local, _ in bytes[local + 30] ^= 0x20 }
        #expect(mismatch.contains("entry '\(first)' has another name in its local header"), "\(mismatch)")
        let encrypted = try refused("encrypted") { bytes, local, central in
            bytes[local + 6] |= 1
            bytes[central + 8] |= 1
        }
        #expect(encrypted.contains("entry '\(first)' is encrypted"), "\(encrypted)")
        let bzip2 = try refused("bzip2") { bytes, local, central in
            bytes[local + 8] = 12
            bytes[central + 10] = 12
        }
        #expect(bzip2.contains("entry '\(first)' uses compression method 12"), "\(bzip2)")
        #expect(try refused("untouched") { _, _, _ in } == "opened")
        // A name stored without the UTF-8 flag: ZIPFoundation decodes it as CP437 (ESC reads '←'); the stored
        // bytes are what unzip would create, so they are checked (before the manifest).
        let evil = CraftedZip.Entry(name: "x\u{1B}[2Jevil", data: Data("x".utf8))
        let listed = packageEntries()
        let withEvil = CraftedZip.bytes([evil] + listed)
        let esc = try refused("cp437", from: withEvil) { bytes, local, central in
            bytes[local + 7] &= ~0x08
            bytes[central + 9] &= ~0x08
        }
        #expect(esc.contains("a control character in the name"), "\(esc)")
        #expect(!esc.contains("\u{1B}"), "the refusal echoes the raw ESC: \(esc.debugDescription)")
    }

    @Test("a duplicate entry name, also one differing only in case, is refused naming the entry")
    func duplicateNames() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let entries = packageEntries()
        let model = try #require(entries.first { $0.name == "model.json" })
        let twice = try refusal(dir, "twice", entries + [CraftedZip.Entry(name: "model.json", data: Data("{}".utf8))])
        #expect(twice?.contains("entry 'model.json' appears twice") == true, "\(twice ?? "opened")")
        // The second copy identical to the first: still two entries of one name.
        let same = try refusal(dir, "same", entries + [model])
        #expect(same?.contains("appears twice") == true, "\(same ?? "opened")")
        let cased = try refusal(dir, "cased", entries + [CraftedZip.Entry(name: "Model.JSON", data: model.data)])
        #expect(cased?.contains("'Model.JSON' differs from 'model.json' only in letter case") == true)
    }

    @Test(
        "absolute, '..', backslash, drive-letter, control-character and empty names are refused",
        arguments: [
            ("/etc/passwd", "an absolute path"), ("../model.json", "a '..' component"),
            ("docs/../../x", "a '..' component"), ("..", "a '..' component"), ("dir\\model.json", "a backslash"),
            ("C:model.json", "a drive letter"), ("c:/x", "a drive letter"), ("a\u{1B}[2J", "a control character"),
            ("", "an empty name"), ("a//b", "an empty or '.' path component"),
            ("./model.json", "an empty or '.' path component"), (".", "an empty or '.' path component"),
        ])
    func unsafeNames(name: String, reason: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text = try refusal(dir, "name", packageEntries() + [CraftedZip.Entry(name: name, data: Data("x".utf8))])
        #expect(text?.contains(reason) == true, "\(name): \(text ?? "opened")")
        #expect(text?.contains("\u{1B}") == false, "the name is escaped in the message")
    }

    @Test(
        "a symlink, a directory, a FIFO or a device entry is refused, not skipped",
        arguments: [
            (CraftedZip.Entry.symlink("MODEL_CARD.md", to: "/etc/passwd"), "is a symbolic link"),
            (CraftedZip.Entry.symlink("extra", to: "model.json"), "is a symbolic link"),
            (CraftedZip.Entry(name: "sub/", data: Data(), unixMode: 0o040755), "is a directory"),
            (CraftedZip.Entry(name: "pipe", data: Data(), unixMode: 0o010644), "is a FIFO (named pipe)"),
            (CraftedZip.Entry(name: "dev", data: Data(), unixMode: 0o020644), "is a character device"),
        ])
    func nonRegularEntries(entry: CraftedZip.Entry, reason: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let entries = packageEntries().filter { $0.name != entry.name } + [entry]
        let text = try refusal(dir, "special", entries)
        #expect(text?.contains("entry '\(entry.name)' \(reason), not a regular file") == true, "\(text ?? "opened")")
    }

    @Test("an entry stating more than the cap, or all entries together, is refused before extraction")
    func statedSizeCaps() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var entries = packageEntries()
        // 4 GiB − 1 stated for a few bytes of data: refused on the stated size, nothing is read.
        entries[1].statedSize = UInt32.max
        let text = try refusal(dir, "bomb", entries)
        #expect(text?.contains("states 4294967295 bytes uncompressed, over the cap of 16777216 bytes") == true)
        let small = ModelPackage.Limits(maxEntryBytes: 1 << 20, maxTotalBytes: 1000, maxEntries: 32)
        let total = try refusal(dir, "total", packageEntries(), limits: small)
        #expect(total?.contains("more than 1000 bytes uncompressed in all") == true, "\(total ?? "opened")")
        let few = ModelPackage.Limits(maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 24, maxEntries: 3)
        let many = try refusal(dir, "many", packageEntries(), limits: few)
        #expect(many?.contains("more than 3 entries") == true, "\(many ?? "opened")")
    }

    @Test("a deflated entry that inflates past its stated size stops at the stated size and is refused")
    func lyingSize() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var files = [String: Data]()
        for entry in packageEntries() { files[entry.name] = entry.data }
        files["MODEL_CARD.md"] = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        let honest = dir.file("honest.zip")
        try TestZip.write(files, to: honest)
        let patched = try #require(
            CraftedZip.statingSize(100, for: "MODEL_CARD.md", in: try Data(contentsOf: URL(fileURLWithPath: honest))))
        let path = dir.file("lying.zip")
        try patched.write(to: URL(fileURLWithPath: path))
        #expect {
            try ModelPackage.open(path: path)
        } throws: { error in
            "\(error)".contains("'MODEL_CARD.md' inflates past its stated 100 bytes")
        }
    }

    @Test("metrics.json and the model card carry the data file's own sha256 beside the data fingerprint")
    func fileSHA256InPackage() throws {
        var artefact = makeArtefact()
        artefact.dataFileSHA256 = String(repeating: "ef", count: 32)
        let contents = ModelPackage.Contents(
            modelBytes: artefact.encoded(), artefact: artefact, parameters: [:], dataPath: "d.csv")
        var files = [String: Data]()
        for (name, data) in ModelPackage.entries(contents) { files[name] = data }
        let metricsData = try #require(files["metrics.json"])
        let metrics = try #require(try JSONSerialization.jsonObject(with: metricsData) as? [String: Any])
        #expect(metrics["data_file_sha256"] as? String == artefact.dataFileSHA256)
        #expect(metrics["data_fingerprint"] as? String == artefact.dataFingerprint)
        let card = String(decoding: try #require(files["MODEL_CARD.md"]), as: UTF8.self)
        #expect(card.contains("file sha256 `\(String(repeating: "ef", count: 32))`"))
        #expect(try ModelArtefact.decode(artefact.encoded(), file: "m.json").dataFileSHA256 == artefact.dataFileSHA256)
    }

    @Test("a manifest listing a name twice is refused with its line")
    func manifestDuplicateLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var entries = packageEntries()
        let index = try #require(entries.firstIndex { $0.name == ModelPackage.manifestName })
        let text = String(decoding: entries[index].data, as: UTF8.self)
        let first = try #require(text.split(separator: "\n").first)
        entries[index].data = Data((text + first + "\n").utf8)
        let refused = try refusal(dir, "manifest", entries)
        #expect(refused?.contains(":6: MANIFEST.sha256: ") == true && refused?.contains("is listed twice") == true)
    }
}
