import ArgumentParser
import Engine
import Foundation
import HBase
import Logging
import Settings
import TUI
import Tracking

/// `sonarlab train`: trains the MLP on the configured split and records the run.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the 60-H-2 MLP and record the run as an experiment.",
        discussion: """
            Splits the data (stratified, seeded), standardises on the training split, trains with Adam and \
            softmax cross-entropy, and keeps the epoch with the best validation loss (see --select). \
            Progress goes to standard error; the summary (or --json) to standard output.

            Examples:
              sonarlab train
              sonarlab train --epochs 200 --hidden 16 --weight-decay 0.001 --name small
              sonarlab train --json | jq .validation.accuracy
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Run name for the record and the run folder.", valueName: "name"))
    var name: String = "sonar"

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    @Flag(help: "Plain progress lines even on a terminal (headless is automatic when stdout is not a terminal).")
    var headless = false

    @Option(
        help: ArgumentHelp("Also copy the model artefact to this path (for pipelines such as DVC).", valueName: "path"))
    var modelOut: String?

    @Option(help: ArgumentHelp("Also write the JSON summary to this path.", valueName: "path"))
    var metricsOut: String?

    @Option(help: ArgumentHelp("Also write the per-epoch metrics CSV to this path.", valueName: "path"))
    var epochsOut: String?

    @Option(
        help: ArgumentHelp(
            "Train with a sweep trial's [mlp] values (its sweep's base plus its overlay); other flags still win.",
            valueName: "trial-id"))
    var fromTrial: String?

    func run() async throws {
        try validateRunName(name)
        var flags = training.flags.merging(store.flags) { $1 }
        var provenance: [String: String] = [:]
        if let fromTrial {
            let lookup = try CommandContext(global: global, flags: store.flags)
            let trial = try await Self.trialFlags(fromTrial, store: try lookup.openStore())
            flags = trial.flags.merging(flags) { $1 }
            provenance["sweep.from_trial"] = fromTrial
            provenance["sweep.from_sweep"] = trial.sweepID
        }
        let context = try CommandContext(global: global, flags: flags)
        let outcome = try await Self.train(
            context: context, name: name, quiet: json, headless: headless, extraParameters: provenance)
        try copyOutputs(outcome)
        if json {
            print(try Self.summaryJSON(outcome.outcome, store: outcome.storeLocation))
        } else {
            printText(block: Self.summaryText(outcome))
        }
        if outcome.outcome.experiment.status == .cancelled { throw ExitCode(ExitCodes.cancelled) }
        try Self.requireRecorded(outcome)
    }

    /// The `[mlp]` values of a sweep trial as flags: its sweep's recorded base, then the trial's overlay; and the
    /// sweep's id (recorded with the run as `sweep.from_sweep`, beside `sweep.from_trial`, for the model card).
    /// - Throws: ``CommandFailure`` (exit 2) when the id is not a trial in the store.
    static func trialFlags(_ id: String, store: any ExperimentStore) async throws -> (
        flags: [String: FlagValue], sweepID: String?
    ) {
        guard let trial = try await store.experiment(id: id), trial.kind == .trial else {
            throw CommandFailure.badInput("--from-trial: no sweep trial '\(id.terminalSafe)' in \(store.location)")
        }
        var values = [String: String]()
        if let parent = trial.parameters["sweep.parent"], let sweep = try await store.experiment(id: parent) {
            values = sweep.parameters.filter { $0.key.hasPrefix("mlp.") }
        }
        values.merge(trial.parameters.filter { $0.key.hasPrefix("mlp.") }) { $1 }
        return (values.mapValues { FlagValue(flag: "--from-trial \(id)", value: $0) }, trial.parameters["sweep.parent"])
    }

    /// Fails (exit 1) when the store did not record the run, so scripts can tell: the run folder still holds
    /// the model, log and metrics.
    ///
    /// Writes queued in the HBase outbox because HBase was unreachable are not a failure (nothing is lost; the
    /// warning says so and `sonarlab sync` delivers them); writes HBase refused (401, 403, 404) are.
    static func requireRecorded(_ recorded: Recorded) throws {
        guard recorded.outcome.storeError != nil else { return }
        if recorded.outcome.pendingWrites.refusal == HBaseError.credentialsExpired {
            // Nothing is lost: the writes wait in the outbox until a new ticket lets `sonarlab sync` send them.
            throw CommandFailure(
                message: "the run is kept in the outbox because the Kerberos ticket expired: run kinit, then "
                    + "`sonarlab sync`; its folder \(recorded.outcome.folder.path) holds the model, log and metrics",
                exitCode: ExitCodes.ticketExpired)
        }
        throw CommandFailure.failed(
            "the run was not fully recorded in \(recorded.storeLocation) (see the warnings above); "
                + "its folder \(recorded.outcome.folder.path) holds the model, log and metrics")
    }

    /// Copies the model, summary and per-epoch CSV where `--model-out`, `--metrics-out`, `--epochs-out` ask.
    private func copyOutputs(_ recorded: Recorded) throws {
        let o = recorded.outcome
        for (source, target) in [(o.experiment.modelPath, modelOut), (o.folder.metricsPath, epochsOut)] {
            guard let target, let source else { continue }
            try Self.replaceFile(at: target, with: try Data(contentsOf: URL(fileURLWithPath: source)))
        }
        if let metricsOut {
            try Self.replaceFile(
                at: metricsOut, with: Data((try Self.summaryJSON(o, store: recorded.storeLocation) + "\n").utf8))
        }
    }

    static func replaceFile(at path: String, with data: Data) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }

    struct Recorded {
        let outcome: TrainingOutcome
        let storeLocation: String
    }

    /// Loads data, trains with progress on standard error, records the run.
    static func train(
        context: CommandContext, name: String, quiet: Bool = false, headless: Bool = false,
        extraParameters: [String: String] = [:]
    ) async throws -> Recorded {
        let data = try context.loadData()
        let store = try context.openStore()
        let config = context.configuration
        let request = TrainingRequest(
            name: name, data: data, dataPath: config.data.path, testSize: config.split.testSize,
            splitSeed: config.split.seed, configuration: context.trainingConfiguration,
            parameters: context.runParameters.merging(extraParameters) { $1 },
            experimentsRoot: config.tracking.experimentsDirectory,
            epochBatch: config.hbase.epochBatch, heartbeatInterval: context.staleness.heartbeatInterval)
        let columnsVariable = context.environment["COLUMNS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        let printer = ProgressPrinter(
            totalEpochs: request.configuration.epochs, isTerminal: !headless && isatty(STDERR_FILENO) == 1,
            columns: { terminalColumns(fallback: columnsVariable) },
            canEraseLine: Dashboard.unsupportedTerminalReason(term: context.environment["TERM"]) == nil)
        let stop = StopSignal()
        let trap = SignalTrap(stop: stop)
        defer { trap.release() }
        let outcome = try await TrainingSession(store: store, logger: context.logger).run(
            request, stop: stop,
            onStart: { experiment in
                if !quiet { printError("experiment \(experiment.id) → \(experiment.runDirectory ?? "")") }
            },
            onEpoch: { metrics in printer.update(metrics) },
            onPendingWrites: { pending in printer.pendingChanged(pending) })
        printer.finish()
        if let storeError = outcome.storeError {
            printError("warning: \(store.location): some writes failed: \(storeError)")
        }
        let pending = outcome.pendingWrites
        if pending.count > 0, !pending.isBlocked {
            // Nothing is lost: the run is in the outbox and the run folder; exit 0 with this warning.
            if let summary = pending.summary {
                printError(
                    "warning: \(summary) for \(store.location) (\(pending.reason ?? "no answer")); the run is kept "
                        + "in the outbox and sent when HBase is back: run `sonarlab sync` to send it now")
            } else {
                printError(
                    "note: \(pending.count) HBase writes are queued behind another sonarlab process that is sending "
                        + "the outbox now")
            }
        }
        return Recorded(outcome: outcome, storeLocation: store.location)
    }

    static func summaryText(_ recorded: Recorded) -> String {
        let o = recorded.outcome
        let e = o.experiment
        let best = o.result.bestValidation
        let train = o.result.history[o.result.bestEpoch - 1].train
        let c = o.result.validationConfusion.counts
        let elapsed = e.endedAt.map { $0.timeIntervalSince(e.startedAt) } ?? 0
        return """
            experiment \(e.id.terminalSafe) "\(e.name.terminalSafe)" \(e.status.rawValue) in \(ProgressLine.duration(elapsed)) \
            (\(o.result.history.count) epochs\(o.result.stoppedEarly ? ", stopped early" : ""))
            kept epoch \(o.result.bestEpoch) by \((e.parameters["mlp.select"] ?? "val_loss").terminalSafe)
              validation  accuracy \(f4(best.accuracy))  macro-F1 \(f4(best.macroF1))  loss \(f4(best.loss))
              train       accuracy \(f4(train.accuracy))  macro-F1 \(f4(train.macroF1))  loss \(f4(train.loss))
            validation confusion matrix (rows actual, columns predicted):
                   R    M
              R \(pad(c[0][0])) \(pad(c[0][1]))
              M \(pad(c[1][0])) \(pad(c[1][1]))
            model   \((e.modelPath ?? "-").terminalSafe)
            folder  \((e.runDirectory ?? "-").terminalSafe)
            store   \(recorded.storeLocation.terminalSafe)
            data    sha256 \(e.dataFingerprint.terminalSafe)\(fileHash(e).terminalSafe)
            """
    }

    static func summaryJSON(_ o: TrainingOutcome, store: String) throws -> String {
        let e = o.experiment
        let best = o.result.bestValidation
        let train = o.result.history[o.result.bestEpoch - 1].train
        let object: [String: Any] = [
            "experiment_id": e.id, "name": e.name, "status": e.status.rawValue,
            "model_path": e.modelPath ?? NSNull(), "run_directory": e.runDirectory ?? NSNull(),
            "best_epoch": o.result.bestEpoch, "epochs_trained": o.result.history.count,
            "stopped_early": o.result.stoppedEarly, "data_fingerprint": e.dataFingerprint,
            "data_file_sha256": e.dataFileSHA256 ?? NSNull(), "store": store,
            "queued_writes": o.pendingWrites.count,
            "validation": ["accuracy": best.accuracy, "f1": best.macroF1, "loss": best.loss],
            "train": ["accuracy": train.accuracy, "f1": train.macroF1, "loss": train.loss],
            "confusion_matrix": o.result.validationConfusion.counts,
            "parameters": e.parameters,
        ]
        return try jsonText(object)
    }
}

func f4(_ x: Double) -> String { PlainNumber.format("%.4f", x) }
func pad(_ n: Int, _ width: Int = 4) -> String {
    String(repeating: " ", count: max(0, width - String(n).count)) + String(n)
}

/// Pretty, key-sorted JSON text of a property-list-like value.
func jsonText(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// ` (file sha256 X)` when the data file's raw SHA-256 differs from the data fingerprint (a CRLF, byte-order-mark
/// or blank-line copy of the data), else empty.
func fileHash(_ e: Experiment) -> String {
    guard let raw = e.dataFileSHA256, raw != e.dataFingerprint else { return "" }
    return " (file sha256 \(raw))"
}
