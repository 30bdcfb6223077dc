import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// `sonarlab cv`: repeated stratified k-fold cross-validation, recorded as an experiment.
struct CrossValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cv",
        abstract: "Repeated stratified k-fold cross-validation of the training configuration.",
        discussion: """
            Each fit trains for the configured epochs on k−1 folds and scores the held-out fold with the last \
            epoch's model (choosing an epoch on the held-out fold would leak it). Example:
              sonarlab cv --folds 10 --repeats 5 --json
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Folds k. [cv] folds, default 10", valueName: "k"))
    var folds: String?
    @Option(help: ArgumentHelp("Repeats. [cv] repeats, default 5", valueName: "r"))
    var repeats: String?
    @Option(help: ArgumentHelp("Run name.", valueName: "name"))
    var name: String = "sonar-cv"
    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func run() async throws {
        try validateRunName(name)
        var flags = training.flags.merging(store.flags) { $1 }
        if let folds { flags["cv.folds"] = .init(flag: "--folds", value: folds) }
        if let repeats { flags["cv.repeats"] = .init(flag: "--repeats", value: repeats) }
        let context = try CommandContext(global: global, flags: flags)
        let config = context.configuration
        let data = try context.loadData()
        let smallest = data.dataset.classCounts.values.min() ?? 0
        guard config.crossValidation.folds <= smallest else {
            throw CommandFailure.badInput(
                "--folds \(config.crossValidation.folds) exceeds the smallest class (\(smallest) rows)")
        }
        let store = try context.openStore()
        let startedAt = Date()
        let folder = try RunFolder(root: config.tracking.experimentsDirectory, name: name, startedAt: startedAt)
        var parameters = context.runParameters
        parameters["cv.folds"] = String(config.crossValidation.folds)
        parameters["cv.repeats"] = String(config.crossValidation.repeats)
        var experiment = Experiment(
            id: Experiment.makeID(startingAt: startedAt), name: name, kind: .crossValidation, startedAt: startedAt,
            parameters: parameters, dataFingerprint: data.fingerprint)
        experiment.dataFileSHA256 = data.fileSHA256
        experiment.runDirectory = folder.path
        experiment.heartbeat = RunHeartbeat.current(at: startedAt)
        try await store.create(experiment)
        let heartbeats = RunHeartbeatTicker(
            store: store, experimentID: experiment.id, every: context.staleness.heartbeatInterval)
        let total = config.crossValidation.folds * config.crossValidation.repeats
        let stop = StopSignal()
        let trap = SignalTrap(stop: stop)
        defer { trap.release() }
        let result = CrossValidation.run(
            dataset: data.dataset, folds: config.crossValidation.folds, repeats: config.crossValidation.repeats,
            seed: config.split.seed, configuration: context.trainingConfiguration
        ) { fit, done in
            if !json || isatty(STDERR_FILENO) == 1 {
                printError(
                    "fit \(done)/\(total) (repeat \(fit.repeatIndex + 1), fold \(fit.fold + 1)): "
                        + "accuracy \(f4(fit.validation.accuracy)) macro-F1 \(f4(fit.validation.macroF1))")
            }
            return stop.isRaised ? .stop : .proceed
        }
        let summary = CrossValidationSummary(
            folds: config.crossValidation.folds, repeats: config.crossValidation.repeats, fits: result.fits.count,
            accuracyMean: result.accuracy.mean, accuracySD: result.accuracy.sd, f1Mean: result.f1.mean,
            f1SD: result.f1.sd)
        await heartbeats.stop()
        experiment.heartbeat = RunHeartbeat.current()
        experiment.endedAt = Date()
        experiment.status = result.fits.count == total ? .finished : .cancelled
        experiment.result = ExperimentResult(
            validation: SplitMetrics(loss: result.loss.mean, accuracy: result.accuracy.mean, macroF1: result.f1.mean),
            crossValidation: summary)
        try folder.writeSummary(experiment)
        try await store.finish(experiment)
        try CommandContext.reportPending(await store.deliverPendingWrites(within: .seconds(10)), command: "cv")
        if json {
            print(
                try jsonText(
                    [
                        "experiment_id": experiment.id, "status": experiment.status.rawValue, "fits": result.fits.count,
                        "folds": summary.folds, "repeats": summary.repeats, "seconds": result.elapsedSeconds,
                        "accuracy": ["mean": result.accuracy.mean, "sd": result.accuracy.sd],
                        "f1": ["mean": result.f1.mean, "sd": result.f1.sd],
                        "loss": ["mean": result.loss.mean, "sd": result.loss.sd],
                    ] as [String: Any]))
        } else {
            printText(
                "experiment \(experiment.id) \"\(name)\" \(experiment.status.rawValue): \(result.fits.count) fits in \(ProgressLine.duration(result.elapsedSeconds))"
            )
            printText("  accuracy  \(f4(result.accuracy.mean)) ± \(f4(result.accuracy.sd))")
            printText("  macro-F1  \(f4(result.f1.mean)) ± \(f4(result.f1.sd))")
            printText("  loss      \(f4(result.loss.mean)) ± \(f4(result.loss.sd))")
        }
        if experiment.status == .cancelled { throw ExitCode(ExitCodes.cancelled) }
    }
}
