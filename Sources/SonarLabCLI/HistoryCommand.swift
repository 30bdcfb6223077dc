import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// `sonarlab history`: recorded runs, newest first.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List recorded experiments, newest first.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Show at most this many runs (0 = all).", valueName: "n"))
    var limit: Int = 20

    @Flag(help: "Print a JSON list on standard output.")
    var json = false

    @Option(help: ArgumentHelp("Only runs of this kind: train, cv, test, sweep or trial.", valueName: "kind"))
    var kind: String?

    func run() async throws {
        guard limit >= 0 else { throw CommandFailure.badInput("--limit must be 0 or more") }
        let wanted = try kind.map { name in
            guard let kind = ExperimentKind(rawValue: name) else {
                throw CommandFailure.badInput(
                    "--kind '\(name.terminalSafe)': use one of "
                        + ExperimentKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return kind
        }
        let context = try CommandContext(global: global, flags: store.flags)
        let store = try context.openStore()
        var runs = try await store.experiments(limit: limit == 0 || wanted != nil ? nil : limit)
        if let wanted {
            runs = Array(runs.filter { $0.kind == wanted }.prefix(limit == 0 ? Int.max : limit))
        }
        let staleness = context.staleness
        if json {
            print(try jsonText(runs.map { Self.jsonObject($0, staleness: staleness) }))
        } else if runs.isEmpty {
            printText("no experiments yet in \(store.location) — run `sonarlab train`")
        } else {
            printText(block: Self.table(runs, staleness: staleness))
        }
    }

    /// One run as `history --json` prints it; `status` is the display status (`stale` for a dead `running` run).
    static func jsonObject(_ e: Experiment, staleness: RunStaleness) -> [String: Any] {
        let iso = ISO8601DateFormatter()
        let v = e.result?.validation
        return [
            "id": e.id, "name": e.name, "kind": e.kind.rawValue, "status": staleness.status(of: e).rawValue,
            "stale_reason": staleness.staleReason(of: e) ?? NSNull(),
            "started": iso.string(from: e.startedAt), "ended": e.endedAt.map { iso.string(from: $0) } ?? NSNull(),
            "validation_accuracy": v?.accuracy ?? NSNull(), "validation_f1": v?.macroF1 ?? NSNull(),
            "validation_loss": v?.loss ?? NSNull(), "best_epoch": e.result?.bestEpoch ?? NSNull(),
            "model_path": e.modelPath ?? NSNull(), "data_fingerprint": e.dataFingerprint,
            "data_file_sha256": e.dataFileSHA256 ?? NSNull(),
        ]
    }

    /// The runs as a text table; STATUS is the display status (`stale` for a dead `running` run).
    static func table(_ runs: [Experiment], staleness: RunStaleness) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var rows = [["ID", "NAME", "KIND", "STATUS", "STARTED", "VAL ACC", "VAL F1", "EPOCH"]]
        for e in runs {
            let v = e.result?.validation
            // Ids and names come from the store, which other clients write too: never raw to the terminal.
            rows.append([
                e.id.terminalSafe, e.name.terminalSafe, e.kind.rawValue, staleness.status(of: e).rawValue,
                formatter.string(from: e.startedAt),
                v.map { f4($0.accuracy) } ?? "-", v.map { f4($0.macroF1) } ?? "-",
                e.result?.bestEpoch.map(String.init) ?? "-",
            ])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                separator: "  "
            )
            .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

/// `sonarlab show ID`: one experiment in full.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one experiment: parameters, metrics, curves as a table.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Argument(help: "Experiment id (from `sonarlab history`), or 'latest'.")
    var id: String

    @Flag(help: "Print the experiment as JSON (snake_case keys, dates in ISO 8601, every epoch).")
    var json = false

    func run() async throws {
        let context = try CommandContext(global: global, flags: store.flags)
        let store = try context.openStore()
        let resolvedID = id == "latest" ? try await store.experiments(limit: 1).first?.id : id
        guard let resolvedID, let e = try await store.experiment(id: resolvedID) else {
            throw CommandFailure.badInput("no experiment '\(id.terminalSafe)' in \(store.location)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            // snake_case like every other --json output (`started_at`, `val…`, `macro_f1`, `elapsed_seconds`).
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let staleness = context.staleness
            let shown = ShownExperiment(
                experiment: e, displayStatus: staleness.status(of: e), staleReason: staleness.staleReason(of: e))
            print(String(decoding: try encoder.encode(shown), as: UTF8.self))
            return
        }
        let staleness = context.staleness
        var lines = ["experiment \(e.id) \"\(e.name)\" (\(e.kind.rawValue), \(staleness.status(of: e).rawValue))"]
        lines.append("started \(ISO8601DateFormatter().string(from: e.startedAt))")
        if let reason = staleness.staleReason(of: e) { lines.append("stale   \(reason)") }
        if let m = e.message { lines.append("note    \(m)") }
        lines.append("data    sha256 \(e.dataFingerprint)\(fileHash(e))")
        lines.append("model   \(e.modelPath ?? "-")")
        lines.append("folder  \(e.runDirectory ?? "-")")
        lines.append("parameters:")
        for key in e.parameters.keys.sorted() { lines.append("  \(key) = \(e.parameters[key]!)") }
        if let v = e.result?.validation {
            lines.append("validation: accuracy \(f4(v.accuracy))  macro-F1 \(f4(v.macroF1))  loss \(f4(v.loss))")
        }
        if let cv = e.result?.crossValidation {
            lines.append(
                "cross-validation \(cv.folds)×\(cv.repeats): accuracy \(f4(cv.accuracyMean)) ± \(f4(cv.accuracySD)), "
                    + "macro-F1 \(f4(cv.f1Mean)) ± \(f4(cv.f1SD))")
        }
        if e.kind == .sweep {
            lines.append("trials (best first):")
            lines += SweepRecords.table(try await SweepRecords.trials(of: e.id, in: store)).map { "  " + $0 }
        }
        if !e.epochs.isEmpty {
            lines.append("epoch  train_loss  train_acc  val_loss  val_acc  val_f1")
            for m in e.epochs {
                lines.append(
                    "\(pad(m.epoch, 5))  \(f4(m.train.loss))      \(f4(m.train.accuracy))     "
                        + "\(f4(m.validation.loss))    \(f4(m.validation.accuracy))   \(f4(m.validation.macroF1))")
            }
        }
        // Every line quotes the store's values (name, note, paths, parameters): control characters made visible.
        printText(block: lines.map { TerminalText.escape($0) }.joined(separator: "\n"))
    }
}

/// `show --json`: the experiment as stored (`status` stays `running` for a dead run) plus `display_status`
/// (`stale` for a `running` run whose process is gone) and `stale_reason`.
struct ShownExperiment: Encodable {
    let experiment: Experiment
    let displayStatus: RunDisplayStatus
    let staleReason: String?

    enum Keys: String, CodingKey { case displayStatus, staleReason }

    func encode(to encoder: any Encoder) throws {
        try experiment.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(displayStatus.rawValue, forKey: .displayStatus)
        try container.encodeIfPresent(staleReason, forKey: .staleReason)
    }
}
