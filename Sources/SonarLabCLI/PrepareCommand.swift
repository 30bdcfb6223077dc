import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// `sonarlab prepare`: validates the data and writes the stratified split.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Validate the data and write the stratified train/validation split.",
        discussion: """
            Writes train.csv, validation.csv (the rows in the UCI layout) and split.json (indices, counts, \
            data fingerprint) to [data] prepared_dir. Deterministic: the same data, test_size and seed give the \
            same bytes, and `train` uses the same split.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp("Output folder. [data] prepared_dir, default prepared", valueName: "dir"))
    var output: String?

    @Flag(help: "Print the split summary as JSON.")
    var json = false

    func run() async throws {
        var flags = training.flags
        if let output { flags["data.prepared_dir"] = .init(flag: "--output", value: output) }
        let context = try CommandContext(global: global, flags: flags)
        let config = context.configuration
        let loaded = try context.loadData()
        let split = StratifiedSplit.split(
            labels: loaded.dataset.labels, testSize: config.split.testSize, seed: config.split.seed)
        let directory = config.data.preparedDirectory
        let summary = try Self.write(
            loaded: loaded, split: split, dataPath: config.data.path,
            testSize: config.split.testSize, seed: config.split.seed, to: directory)
        if json {
            print(try jsonText(summary))
        } else {
            let t = summary["train"] as! [String: Int], v = summary["validation"] as! [String: Int]
            printText("split \(config.data.path) (sha256 \(loaded.fingerprint.prefix(12))…) into \(directory)/")
            printText("  train       \(t["rows"]!) rows (R \(t["R"]!), M \(t["M"]!))")
            printText("  validation  \(v["rows"]!) rows (R \(v["R"]!), M \(v["M"]!))")
        }
    }

    /// Writes the split files; returns the split.json object.
    static func write(
        loaded: SonarData.LoadedFile, split: StratifiedSplit.Indices, dataPath: String, testSize: Double, seed: UInt64,
        to directory: String
    ) throws -> [String: Any] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func csv(_ indices: [Int]) -> String {
            indices.map { r in
                loaded.dataset.features.row(r).map { formatFeature($0) }.joined(separator: ",") + ","
                    + loaded.dataset.labels[r].label
            }.joined(separator: "\n") + "\n"
        }
        func counts(_ indices: [Int]) -> [String: Int] {
            let rocks = indices.filter { loaded.dataset.labels[$0] == .rock }.count
            return ["rows": indices.count, "R": rocks, "M": indices.count - rocks]
        }
        let summary: [String: Any] = [
            "data_path": dataPath, "data_fingerprint": loaded.fingerprint, "data_file_sha256": loaded.fileSHA256,
            "test_size": testSize, "seed": seed,
            "train": counts(split.train), "validation": counts(split.validation),
            // 1-based lines of the data file, so a row can be found by eye.
            "train_lines": split.train.map { loaded.lineNumbers[$0] },
            "validation_lines": split.validation.map { loaded.lineNumbers[$0] },
        ]
        try csv(split.train).write(toFile: "\(directory)/train.csv", atomically: true, encoding: .utf8)
        try csv(split.validation).write(toFile: "\(directory)/validation.csv", atomically: true, encoding: .utf8)
        try (try jsonText(summary) + "\n").write(toFile: "\(directory)/split.json", atomically: true, encoding: .utf8)
        return summary
    }

    /// A feature as the shortest decimal that reads back as the same `Float` (the UCI file's 4 decimals).
    static func formatFeature(_ x: Float) -> String {
        "\(x)"
    }
}
