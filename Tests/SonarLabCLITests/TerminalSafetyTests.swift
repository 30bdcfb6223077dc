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

        let history = try ws.run(["history", "--config", ws.config])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(!Self.hasRawControl(history.stdout), "raw control in: \(history.stdout.debugDescription)")
        #expect(history.stdout.contains("evil\\x1B[2J\\x9B31m"))

        let show = try ws.run(["show", "latest", "--config", ws.config])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(!Self.hasRawControl(show.stdout), "raw control in: \(show.stdout.debugDescription)")
        #expect(show.stdout.contains("note    line one\\nline two\\x1B[31m"))
        #expect(show.stdout.contains("note\\x1B]0;title\\x07 = x"))
        #expect(show.stdout.contains("mlp.lr = 0.01\\x7F"))

        // JSON stays exact: decoding it gives the stored name back byte for byte.
        let json = try ws.run(["show", "latest", "--json", "--config", ws.config])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["name"] as? String == experiment.name)
        let list = try ws.run(["history", "--json", "--config", ws.config])
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
    func errorMessagesEscapeOutsideText(arguments: [String], environment: [String: String]) throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        let result = try ws.run(arguments + ["--config", ws.config], env: environment)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(!Self.hasRawControl(result.stderr), "raw control in: \(result.stderr.debugDescription)")
        #expect(result.stderr.contains("\\x1B[2J"), "the value is not shown escaped: \(result.stderr)")
    }

    @Test("printError and printText keep line breaks and make every other control character visible")
    func sinksEscape() {
        #expect(TerminalText.escape("a\nb\u{1B}c", keepingNewlines: true) == "a\nb\\x1Bc")
        #expect(TerminalText.escape("a\nb", keepingNewlines: false) == "a\\nb")
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
