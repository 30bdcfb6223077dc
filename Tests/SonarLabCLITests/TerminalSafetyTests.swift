import Engine
import Foundation
import Logging
import SonarLabTestSupport
import Testing
import Tracking

@testable import SonarLabCLI

/// Text from outside (store values, flags, environment, paths) never reaches the terminal with a raw control
/// character; JSON output stays exact.
@Suite struct TerminalSafetyTests {
    static let clearScreen = "\u{1B}[2J"

    /// Whether `text` holds a byte a terminal acts on (C0 but line breaks, DEL, C1).
    static func hasRawControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { TerminalText.isControl($0) && $0 != "\n" }
    }

    @Test("a run named ESC[2J by another client is listed by history and show with the ESC made visible")
    func hostileStoreValuesAreEscaped() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        let store = try ws.store()
        var experiment = Experiment(
            id: "20261201-000000-\u{1B}[2J", name: "evil\(Self.clearScreen)\u{9B}31m", kind: .train,
            startedAt: Date(timeIntervalSince1970: 1_790_000_000),
            parameters: ["mlp.lr": "0.01\u{7F}", "note\u{1B}]0;title\u{07}": "x"], dataFingerprint: "f00d\r")
        try await store.create(experiment)
        experiment.status = .failed
        experiment.message = "line one\nline two\u{1B}[31m"
        try await store.finish(experiment)

        let history = try await ws.run(["history", "--config", ws.config])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(!Self.hasRawControl(history.stdout), "raw control in: \(history.stdout.debugDescription)")
        #expect(history.stdout.contains("evil\\x1B[2J\\x9B31m"))

        let show = try await ws.run(["show", "latest", "--config", ws.config])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!Self.hasRawControl(show.stdout), "raw control in: \(show.stdout.debugDescription)")
        #expect(show.stdout.contains("note    line one\\nline two\\x1B[31m"))
        #expect(show.stdout.contains("note\\x1B]0;title\\x07 = x"))
        #expect(show.stdout.contains("mlp.lr = 0.01\\x7F"))

        // JSON stays exact: decoding it gives the stored name back byte for byte.
        let json = try await ws.run(["show", "latest", "--json", "--config", ws.config])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["name"] as? String == experiment.name)
        let list = try await ws.run(["history", "--json", "--config", ws.config])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["id"] as? String == experiment.id)
    }

    @Test(
        "an error message quoting a flag, an argument, an environment variable or a path shows its controls escaped",
        arguments: [
            (["train", "--name", "a\u{1B}[2J"], [String: String]()),
            (["show", "x\u{1B}[2J\u{9B}"], [:]),
            (["train", "--data", "/nonexistent/\u{1B}[2J.csv"], [:]),
            (["dashboard", "--theme", "t\u{1B}[2J"], [:]),
            (["train", "--select", "best\u{1B}[2J"], [:]),
            (["train", "--epochs", "1"], ["SONARLAB_MLP_SELECT": "x\u{1B}[2J"]),
        ])
    func errorMessagesEscapeOutsideText(arguments: [String], environment: [String: String]) async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        let result = try await ws.run(arguments + ["--config", ws.config], env: environment)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(!Self.hasRawControl(result.stderr), "raw control in: \(result.stderr.debugDescription)")
        #expect(result.stderr.contains("\\x1B[2J"), "the value is not shown escaped: \(result.stderr)")
    }

    static let forged = "\nerror: forged"

    @Test(
        "a line break in a flag, an argument or an environment value cannot forge a line of the error message",
        arguments: [
            (["train", "--name", "a\(forged)"], [String: String]()),
            (["train", "--data", "/nonexistent/x\(forged).csv"], [:]),
            (["train", "--select", "best\(forged)"], [:]),
            (["dashboard", "--theme", "t\(forged)"], [:]),
            (["train", "--epochs", "1\(forged)"], [:]),
            (["show", "x\(forged)"], [:]),
            (["history"], ["SONARLAB_TRACKING_DIR": "/dev/null/x\(forged)"]),
            (["train", "--epochs", "1"], ["SONARLAB_MLP_SELECT": "x\(forged)"]),
        ])
    func lineBreaksInValuesStayOnTheErrorLine(arguments: [String], environment: [String: String]) async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        let result = try await ws.run(arguments + ["--config", ws.config], env: environment)
        #expect(result.status != 0, "\(arguments): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(!lines.contains { $0.hasPrefix("error: forged") }, "forged line in: \(result.stderr.debugDescription)")
        #expect(result.stderr.contains("\\nerror: forged"), "the value is not shown escaped: \(result.stderr)")
        #expect(!Self.hasRawControl(result.stderr), "raw control in: \(result.stderr.debugDescription)")
    }

    @Test("a message is one line; multi-line refusals of our own are printed line by line, each escaped")
    func sinksEscape() throws {
        #expect(TerminalText.escape("a\nb\u{1B}c", keepingNewlines: true) == "a\nb\\x1Bc")
        #expect(TerminalText.escape("a\nb", keepingNewlines: false) == "a\\nb")
        // swift-argument-parser's usage stays on its lines; the quoted argument stays on the error's line.
        let quoted = "The value '1\nerror: x' is invalid for '--epochs <n>'"
        let full = "Error: \(quoted)\nUsage: sonarlab train [--epochs <n>]\n  See 'sonarlab train --help'."
        #expect(
            usageLines(full, quoting: quoted) == [
                "Error: \(quoted)", "Usage: sonarlab train [--epochs <n>]", "  See 'sonarlab train --help'.",
            ])
        #expect(usageLines("a\nb", quoting: "a") == ["a", "b"])
    }

    @Test("a line break in the store's path forges no line in train's summary, outbox list or sync")
    func pathsInSummariesStayOnTheirLines() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        let env = [
            "SONARLAB_TRACKING_DIR": ws.dir.file("d\(Self.forged)/st"), "SONARLAB_HBASE_URL": "http://localhost:1",
            "SONARLAB_HBASE_ALLOW_PLAIN_HTTP": "1", "SONARLAB_HBASE_AUTH": "none",
        ]
        for arguments in [["train", "--epochs", "1"], ["outbox", "list"], ["sync"]] {
            let result = try await ws.run(arguments + ["--config", ws.config], env: env)
            #expect(result.status == 0 || arguments == ["sync"], "\(arguments): \(result.stderr)")
            for text in [result.stdout, result.stderr] {
                let lines = text.split(separator: "\n")
                #expect(!lines.contains { $0.hasPrefix("error: forged") }, "\(arguments): \(text.debugDescription)")
                #expect(!Self.hasRawControl(text), "\(arguments): \(text.debugDescription)")
            }
            #expect((result.stdout + result.stderr).contains("d\\nerror: forged"), "\(arguments): \(result.stdout)")
        }
    }

    @Test("a multi-problem data refusal is printed line by line: a line break in the file's path forges no line")
    func multiProblemRefusalKeepsPathsOnTheirLines() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        let dir = ws.dir.file("d\(Self.forged)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let row = Array(repeating: "0.5", count: 60)
        var bad1 = row, bad2 = row
        bad1[3] = "oops"
        bad2[7] = "nan?"
        let csv = [row, bad1, bad2].map { $0.joined(separator: ",") + ",R" }.joined(separator: "\n") + "\n"
        let path = dir + "/sonar.csv"
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ws.run(["train", "--data", path, "--config", ws.config])
        #expect(result.status == 2, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("error: ") == true && lines.first?.contains("2 problems") == true, "\(lines)")
        #expect(lines.count == 3, "heading and one line per problem: \(lines)")
        #expect(!lines.contains { $0.hasPrefix("error: forged") }, "\(lines)")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  ") && $0.contains("d\\nerror: forged") }, "\(lines)")
    }

    @Test("the stderr log handler escapes messages and metadata before writing")
    func logHandlerEscapes() {
        let recorder = RecordingLogHandler()
        var logger = Logger(label: "t") { _ in TerminalSafeLogHandler(inner: recorder) }
        logger.logLevel = .info
        logger.info("path /tmp/\u{1B}[2J", metadata: ["file": "\u{9B}x"])
        #expect(recorder.lines == ["path /tmp/\\x1B[2J file=\\x9Bx"])
    }
}

/// A log handler that keeps each record as `message key=value…` (test support for ``TerminalSafeLogHandler``).
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var lines: [String] { lock.withLock { recorded } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        lock.withLock { recorded.append("\(event.message)\(meta)") }
    }
}

@Suite struct ProgressLineWidthTests {
    static let metrics = EpochMetrics(
        epoch: 1234, train: SplitMetrics(loss: 0.3123, accuracy: 0.885, macroF1: 0.8841),
        validation: SplitMetrics(loss: 0.401, accuracy: 0.8269, macroF1: 0.825), elapsedSeconds: 12.5)

    @Test(
        "on a terminal the line is shorter than its width, keeping the validation metrics as long as they fit",
        arguments: [40, 60, 80, 100, 120, 160, 200])
    func fitsTheTerminal(columns: Int) {
        let line = ProgressLine(total: 20_000).render(Self.metrics, columns: columns)
        #expect(line.count < columns, "\(line.count) ≥ \(columns): \(line)")
        #expect(line.contains("acc 0.827"))
        if columns >= 100 { #expect(line.contains("val loss 0.401 acc 0.827 f1 0.825")) }
    }

    @Test("without a width (a log) and on a wide terminal the line is the full one")
    func fullForm() {
        let full = ProgressLine(total: 20_000).render(Self.metrics)
        #expect(full.contains("train loss 0.312 acc 0.885 f1 0.884 | val loss 0.401"))
        #expect(ProgressLine(total: 20_000).render(Self.metrics, columns: full.count + 1) == full)
        #expect(ProgressLine(total: 20_000).render(Self.metrics, columns: full.count) != full)
        // A very narrow terminal still gets one line that fits.
        #expect(ProgressLine(total: 20_000).render(Self.metrics, columns: 12).count == 11)
    }
}
