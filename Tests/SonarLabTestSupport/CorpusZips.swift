import Engine
public import Foundation

/// The model zips of the bad-input corpus (`Tests/Fixtures/bad/zip/`), made with ``CraftedZip``.
///
/// Each is a small package (placeholder entries and a correct `MANIFEST.sha256` over them) broken in one way.
/// `ZipFixtureTests` checks that the committed files are byte for byte what ``archives`` makes; with
/// `WRITE_ZIP_FIXTURES=1` it writes them instead.
public enum CorpusZips {
    /// The placeholder entries of a package, in the order `sonarlab export` writes them (manifest excluded).
    static let files: [(String, String)] = [
        ("model.json", "{\"format\": \"sonarlab-model\"}\n"), ("config.ini", "[mlp]\nepochs = 80\n"),
        ("metrics.json", "{}\n"), ("DATA_FINGERPRINT", String(repeating: "0", count: 64) + "  data.csv\n"),
        ("MODEL_CARD.md", "# Model card\n"),
    ]

    /// A package of ``files`` with `extra` entries added and a manifest over `listed` names (default: every name
    /// of ``files``), each listed with the SHA-256 of the first entry of that name (an empty hash when none).
    static func package(
        replacing replaced: [String: CraftedZip.Entry] = [:], extra: [CraftedZip.Entry] = [], listed: [String]? = nil
    ) -> [CraftedZip.Entry] {
        var entries = files.map { replaced[$0.0] ?? CraftedZip.Entry(name: $0.0, data: Data($0.1.utf8)) }
        entries += extra
        let manifest = (listed ?? files.map(\.0)).sorted().map { name in
            let data = entries.first { $0.name == name }?.data ?? Data()
            return "\(SonarData.sha256Hex(of: data))  \(name)\n"
        }.joined()
        return entries + [CraftedZip.Entry(name: "MANIFEST.sha256", data: Data(manifest.utf8))]
    }

    /// File name (in `bad/zip/`) → the archive's bytes.
    public static var archives: [String: Data] {
        let cases: [String: [CraftedZip.Entry]] = [
            "duplicate_entry.zip": package(extra: [CraftedZip.Entry(name: "model.json", data: Data("{}\n".utf8))]),
            "parent_path.zip": package(extra: [CraftedZip.Entry(name: "../evil.sh", data: Data("rm -rf ~\n".utf8))]),
            "absolute_path.zip": package(extra: [CraftedZip.Entry(name: "/tmp/evil.sh", data: Data("x\n".utf8))]),
            "backslash_path.zip": package(extra: [CraftedZip.Entry(name: "..\\evil.bat", data: Data("x\n".utf8))]),
            "drive_letter.zip": package(extra: [CraftedZip.Entry(name: "C:evil.bat", data: Data("x\n".utf8))]),
            "symlink_entry.zip": package(replacing: ["MODEL_CARD.md": .symlink("MODEL_CARD.md", to: "/etc/passwd")]),
            "fifo_entry.zip": package(extra: [CraftedZip.Entry(name: "pipe", data: Data(), unixMode: 0o010644)]),
            "unlisted_entry.zip": package(extra: [CraftedZip.Entry(name: "evil.sh", data: Data("x\n".utf8))]),
            "listed_missing.zip": package(listed: files.map(\.0) + ["LICENSE"]),
            "stated_size_bomb.zip": package(replacing: [
                "metrics.json": CraftedZip.Entry(name: "metrics.json", data: Data("{}\n".utf8), statedSize: 0xFFFF_0000)
            ]),
        ]
        return cases.mapValues(CraftedZip.bytes)
    }
}
