import ArgumentParser
import Engine
import Settings
import Foundation
import HBase
import SonarLabTestSupport
import Testing
import Tracking

@testable import SonarLabCLI

/// A scratch project folder: a config.ini pointing at the real data, with its store and run folders inside.
struct Workspace {
    let dir: TemporaryDirectory
    var config: String { dir.file("config.ini") }

    init(extra: String = "") throws {
        dir = try TemporaryDirectory("sonarlab-cli")
        try dir.write(
            "config.ini",
            """
            # test workspace
            [data]
            path = \(TestPaths.sonarData)
            prepared_dir = \(dir.file("prepared"))
            [tracking]
            dir = \(dir.file("store"))
            experiments_dir = \(dir.file("experiments"))
            \(extra)
            """)
    }

    /// Runs the built binary in the workspace.
    func run(_ args: [String], env: [String: String] = [:]) async throws -> ProcessResult {
        try await SonarLabProcess.run(args, in: dir.path, environment: env)
    }

    /// Runs a command in-process (for coverage); throws what the command throws.
    func runInProcess(_ args: [String]) async throws {
        var command = try SonarLabCommand.parseAsRoot(args + ["--config", config])
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    }

    func store() throws -> LocalStore { try LocalStore(directory: dir.file("store")) }
}

/// Fails (in CI) or skips (locally) when the binary has not been built.
func requireBinary() throws -> Bool {
    if SonarLabProcess.isAvailable { return true }
    if TestPaths.isCI { Issue.record("sonarlab binary missing at \(TestPaths.sonarlabBinary): build before testing") }
    return false
}

func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("sonarlab command line (in-process)", .serialized)
struct InProcessCommandTests {
    @Test("train, cv, history, show, predict, prepare and config run and record")
    func mainFlow() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        try await ws.runInProcess([
            "train", "--epochs", "6", "--name", "inproc", "--json", "--headless", "--model-out",
            ws.dir.file("out/model.json"),
            "--metrics-out", ws.dir.file("out/metrics.json"), "--epochs-out", ws.dir.file("out/epochs.csv"),
        ])
        let copied = try ModelArtefact.load(path: ws.dir.file("out/model.json"))
        #expect(copied.name == "inproc")
        #expect(try json(String(contentsOfFile: ws.dir.file("out/metrics.json"), encoding: .utf8))["best_epoch"] != nil)
        #expect(
            try String(contentsOfFile: ws.dir.file("out/epochs.csv"), encoding: .utf8).split(separator: "\n").count == 7
        )
        try await ws.runInProcess(["train", "--epochs", "4", "--name", "inproc2"])
        try await ws.runInProcess(["cv", "--folds", "3", "--repeats", "1", "--epochs", "3", "--json"])
        try await ws.runInProcess(["cv", "--folds", "3", "--repeats", "1", "--epochs", "3"])
        let runs = try await ws.store().experiments(limit: nil)
        #expect(runs.map(\.name) == ["sonar-cv", "sonar-cv", "inproc2", "inproc"])
        #expect(runs[0].result?.crossValidation?.fits == 3)
        try await ws.runInProcess(["history"])
        try await ws.runInProcess(["history", "--json", "--limit", "0"])
        try await ws.runInProcess(["show", "latest"])
        try await ws.runInProcess(["show", runs[3].id, "--json"])
        try await ws.runInProcess(["show", runs[2].id])
        try await ws.runInProcess(["predict", "--input", TestPaths.sonarData])
        try await ws.runInProcess(["predict", "--input", TestPaths.sonarData, "--json"])
        try await ws.runInProcess(["prepare"])
        try await ws.runInProcess(["prepare", "--json"])
        try await ws.runInProcess(["config"])
        try await ws.runInProcess(["run", "--epochs", "2"])
        #expect(try await ws.store().experiments(limit: nil).count == 5)
    }

    @Test("bad input throws the errors that map to exit code 2")
    func badInput() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        await #expect(throws: SettingsError.self) { try await ws.runInProcess(["train", "--lr", "-1"]) }
        await #expect(throws: DataError.self) { try await ws.runInProcess(["train", "--data", "/nonexistent.csv"]) }
        await #expect(throws: CommandFailure.self) { try await ws.runInProcess(["train", "--name", "bad name!"]) }
        await #expect(throws: CommandFailure.self) { try await ws.runInProcess(["show", "nope"]) }
        await #expect(throws: CommandFailure.self) {
            try await ws.runInProcess(["predict", "--input", TestPaths.sonarData])
        }
        await #expect(throws: SettingsError.self) { try await ws.runInProcess(["cv", "--folds", "200"]) }
        // An unknown theme is a configuration error found before the terminal is needed.
        let theme = await #expect(throws: CommandFailure.self) {
            try await ws.runInProcess(["dashboard", "--theme", "no-such-theme"])
        }
        #expect(theme.map { "\($0)" }?.contains("flag --theme ([tui] theme): theme 'no-such-theme'") == true, "\(String(describing: theme))")
        let tiny = (0..<6).map { SyntheticData.csvLine(label: $0 % 2 == 0 ? "R" : "M") }.joined(separator: "\n")
        let tinyPath = try ws.dir.write("tiny.csv", tiny)
        await #expect(throws: CommandFailure.self) {
            try await ws.runInProcess(["cv", "--folds", "4", "--data", tinyPath])
        }
        #expect(SonarLabCommand.report(DataError(.empty, file: "f", reason: "r")) == 2)
        #expect(SonarLabCommand.report(CommandFailure.failed("x")) == 1)
        #expect(SonarLabCommand.report(ExitCode(130)) == 130)
        #expect(SonarLabCommand.report(HBaseError.transport.with(message: "open scanner: connection refused")) == 1)
        #expect(SonarLabCommand.hint(for: HBaseError.transport).contains("sonarlab hbase status"))
        #expect(SonarLabCommand.hint(for: HBaseError.forbidden).contains("read access"))
        #expect(SonarLabCommand.hint(for: HBaseError.tableNotFound).contains("sonarlab hbase init"))
        #expect(try await ws.store().experiments(limit: nil).isEmpty)
    }

    @Test("the progress line shows epochs, rate, times and metrics")
    func progressLine() {
        let m = EpochMetrics(
            epoch: 40, train: SplitMetrics(loss: 0.3123, accuracy: 0.885, macroF1: 0.8841),
            validation: SplitMetrics(loss: 0.401, accuracy: 0.8269, macroF1: 0.825), elapsedSeconds: 0.5)
        let line = ProgressLine(total: 80).render(m)
        #expect(line.hasPrefix("40/80 [██████████          ]  50% 80.0 ep/s elapsed 0.50s eta 0.50s"))
        #expect(line.contains("train loss 0.312 acc 0.885 f1 0.884"))
        #expect(line.contains("val loss 0.401 acc 0.827 f1 0.825"))
        #expect(ProgressLine.duration(3725) == "1:02:05")
        #expect(ProgressLine.duration(75) == "1:15")
        #expect(ProgressLine.rate(12_345) == "12k")
    }
}

@Suite("sonarlab binary: exit codes, output and what is recorded")
struct BinaryTests {
    @Test("train --json prints the summary fields; history and show --json list the run in snake_case; config.ini is not rewritten")
    func trainJSON() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let before = try String(contentsOfFile: ws.config, encoding: .utf8)
        let r = try await ws.run(["train", "--epochs", "12", "--name", "j", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try json(r.stdout)
        for key in ["experiment_id", "model_path", "best_epoch", "validation", "data_fingerprint", "data_file_sha256"] {
            #expect(summary[key] != nil, "missing \(key)")
        }
        let validation = try #require(summary["validation"] as? [String: Double])
        #expect(validation.keys.sorted() == ["accuracy", "f1", "loss"])
        #expect(FileManager.default.fileExists(atPath: try #require(summary["model_path"] as? String)))
        #expect(r.stderr.contains("12/12"), "progress is shown on stderr")
        #expect(try String(contentsOfFile: ws.config, encoding: .utf8) == before)

        let h = try await ws.run(["history", "--json"])
        #expect(h.status == 0)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(h.stdout.utf8)) as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list[0]["id"] as? String == summary["experiment_id"] as? String)
        for key in ["id", "name", "status", "started", "validation_accuracy", "data_file_sha256"] {
            #expect(list[0][key] != nil)
        }

        // `show --json` uses the same snake_case convention as the other --json outputs, nested keys included.
        let shown = try await ws.run(["show", "latest", "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let run = try json(shown.stdout)
        let keys = ["id", "started_at", "ended_at", "data_fingerprint", "data_file_sha256", "model_path"]
        for key in keys + ["run_directory", "epochs"] {
            #expect(run[key] != nil, "show --json lacks \(key)")
        }
        let epochs = try #require(run["epochs"] as? [[String: Any]])
        #expect(epochs.count == 12)
        #expect(Set(epochs[0].keys) == ["epoch", "train", "validation", "elapsed_seconds"])
        #expect((epochs[0]["validation"] as? [String: Any])?["macro_f1"] != nil)
        #expect(!shown.stdout.contains("startedAt") && !shown.stdout.contains("macroF1"))
    }

    @Test("the default command trains headless and lists the history when not on a terminal")
    func defaultCommand() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let r = try await ws.run(["--config", ws.config, "--epochs", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("validation  accuracy"))
        #expect(r.stdout.contains("latest runs in local SQLite"))
    }

    @Test("predict reads CSV with labels and scenario JSON; accuracy is reported for labelled rows")
    func predict() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        #expect(try await ws.run(["train", "--epochs", "20"]).status == 0)
        let csv = try await ws.run(["predict", "--input", TestPaths.sonarData, "--json"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let out = try json(csv.stdout)
        #expect((out["predictions"] as? [Any])?.count == 208)
        #expect((out["accuracy"] as? Double ?? 0) > 0.8)
        let row = "[" + Array(repeating: "0.03", count: 60).joined(separator: ",") + "]"
        try ws.dir.write("s.json", "{\"X\": [\(row)], \"y\": [\"R\"]}")
        let scenario = try await ws.run(["predict", "--input", "s.json"])
        #expect(scenario.status == 0)
        #expect(scenario.stdout.contains("accuracy"))
    }

    @Test(
        "bad data, config, flags and input exit 2 with the place named, and record nothing",
        arguments: [
            (["train", "--data", "bad.csv"], "bad.csv:2: field 7"),
            (["train", "--lr", "0"], "flag --lr: 0 is outside (0, 10]"),
            (["train", "--epochs", "ten"], "flag --epochs"),
            (["train", "--no-such-flag"], "Unknown option"),
            (["train", "--config", "bad.ini"], "bad.ini:2: [split] test_size: 1.5 is outside (0, 1)"),
            (["predict", "--model", "nothing.json", "--input", "bad.csv"], "nothing.json"),
            (["cv", "--data", "bad.csv"], "bad.csv:2"),
        ])
    func refusals(args: [String], message: String) async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        try ws.dir.write(
            "bad.csv",
            SyntheticData.csvLine() + "\n"
                + SyntheticData.csvLine().replacingOccurrences(
                    of: "0.5,0.5,0.5,0.5,0.5,0.5,0.5,", with: "0.5,0.5,0.5,0.5,0.5,0.5,oops,") + "\n")
        try ws.dir.write("bad.ini", "[split]\ntest_size = 1.5\n")
        let explicitConfig = args.contains("--config")
        let r = try await ws.run(explicitConfig ? args : args + ["--config", ws.config])
        #expect(r.status == 2, "\(args): \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(ws.dir.list("experiments").isEmpty, "no run folder")
        let h = try await ws.run(["history", "--json", "--config", ws.config])
        #expect(
            h.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]" || h.stdout.contains("[]"),
            "\(h.stdout)")
    }

    @Test("the environment overrides config.ini, and --save-config writes the effective values")
    func environmentAndSave() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace(extra: "[mlp]\nepochs = 9\n")
        defer { ws.dir.remove() }
        let r = try await ws.run(["train", "--json", "--config", ws.config], env: ["SONARLAB_MLP_EPOCHS": "3"])
        #expect(try json(r.stdout)["epochs_trained"] as? Int == 3)
        let c = try await ws.run(["config", "--config", ws.config, "--hidden", "7", "--save-config"])
        #expect(c.status == 0)
        #expect(c.stdout.contains("mlp.hidden_size"))
        let saved = try String(contentsOfFile: ws.config, encoding: .utf8)
        #expect(saved.contains("hidden_size = 7"))
        #expect(saved.contains("epochs = 9"))
        #expect(saved.hasPrefix("# test workspace"))
    }

    @Test("--save-config refuses a value with a line break: exit 2 and config.ini unchanged (found by fuzz-ini)")
    func saveRefusesLineBreaks() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let before = try String(contentsOfFile: ws.config, encoding: .utf8)
        let c = try await ws.run(
            ["config", "--config", ws.config, "--save-config"],
            env: ["SONARLAB_DATA_PATH": "data/x.csv\n[tracking]\nbackend = hbase"])
        #expect(c.status == 2, "\(c.stderr)")
        #expect(c.stderr.contains("line break"), "\(c.stderr)")
        #expect(try String(contentsOfFile: ws.config, encoding: .utf8) == before)
    }

    @Test("a refused run with --save-config leaves config.ini as it was; a successful one saves it")
    func saveConfigOnlyOnSuccess() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let before = try String(contentsOfFile: ws.config, encoding: .utf8)
        let refused = try await ws.run(
            ["train", "--epochs", "3", "--data", ws.dir.file("missing.csv"), "--save-config", "--config", ws.config])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(!refused.stderr.contains("saved the effective configuration"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: ws.config, encoding: .utf8) == before)
        let hbase = try await ws.run(
            ["train", "--epochs", "3", "--backend", "hbase", "--save-config", "--config", ws.config],
            env: ["SONARLAB_HBASE_URL": ""])
        #expect(hbase.status == 2, "\(hbase.stderr)")
        #expect(try String(contentsOfFile: ws.config, encoding: .utf8) == before)
        let saved = try await ws.run(["train", "--epochs", "3", "--save-config", "--config", ws.config])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stderr.contains("saved the effective configuration"), "\(saved.stderr)")
        #expect(try String(contentsOfFile: ws.config, encoding: .utf8).contains("epochs = 3"))
    }

    @Test("export and report refuse an output that is a file, or under one, naming the flag (exit 2)")
    func outputThatIsAFile() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        #expect(try await ws.run(["train", "--epochs", "3", "--config", ws.config]).status == 0)
        _ = try ws.dir.write("afile", "x")
        let export = try await ws.run(["export", "--output", ws.dir.file("afile"), "--config", ws.config])
        #expect(export.status == 2, "\(export.stderr)")
        #expect(export.stderr.contains("--output \(ws.dir.file("afile")): is a file"), "\(export.stderr)")
        let report = try await ws.run(["report", "--output", ws.dir.file("afile/R.md"), "--config", ws.config])
        #expect(report.status == 2, "\(report.stderr)")
        #expect(report.stderr.contains("--output \(ws.dir.file("afile")): is a file"), "\(report.stderr)")
        let under = try await ws.run(["export", "--output", ws.dir.file("afile/dist"), "--config", ws.config])
        #expect(under.status == 2 && under.stderr.contains("is under a file"), "\(under.stderr)")
    }

    @Test("prepare writes a deterministic 156/52 stratified split")
    func prepare() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        #expect(try await ws.run(["prepare", "--config", ws.config]).status == 0)
        let train1 = try Data(contentsOf: URL(fileURLWithPath: ws.dir.file("prepared/train.csv")))
        let split = try json(try String(contentsOfFile: ws.dir.file("prepared/split.json"), encoding: .utf8))
        #expect((split["train"] as? [String: Int])?["rows"] == 156)
        #expect((split["validation"] as? [String: Int]) == ["rows": 52, "R": 24, "M": 28])
        #expect(split["data_fingerprint"] as? String == split["data_file_sha256"] as? String, "the data is canonical")
        #expect(try await ws.run(["prepare", "--config", ws.config]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: ws.dir.file("prepared/train.csv"))) == train1)
        // The written rows are valid Sonar data with the original values.
        let reread = try SonarData.load(path: ws.dir.file("prepared/validation.csv"))
        #expect(reread.dataset.count == 52)
    }

    @Test("--help teaches: subcommands, precedence and exit codes")
    func help() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let r = try await ws.run(["--help"])
        #expect(r.status == 0)
        for word in ["train", "cv", "history", "predict", "prepare", "Exit codes", "SONARLAB_"] {
            #expect(r.stdout.contains(word), "missing \(word)")
        }
        #expect(try await ws.run(["train", "--help"]).stdout.contains("Examples"))
    }
}
