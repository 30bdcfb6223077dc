import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Sweep
import Tracking

/// `sonarlab sweep`: the sweep commands; `sweep` alone (or `sweep run`) starts one (``SweepCommand``), `sweep join`
/// adds a worker to one (``SweepJoinCommand``).
struct SweepGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: SweepCommand.configuration.abstract,
        discussion: SweepCommand.configuration.discussion
            + "\n\nOptions of a new sweep: `sonarlab sweep run --help` (`sonarlab sweep …` with no subcommand is "
            + "`sweep run …`).",
        subcommands: [SweepCommand.self, SweepJoinCommand.self],
        defaultSubcommand: SweepCommand.self
    )
}

/// `sonarlab sweep [run]`: a hyper-parameter search over `[mlp]` keys, every trial scored on the same CV folds.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Search [mlp] hyper-parameters with repeated stratified k-fold CV (grid, random or TPE).",
        discussion: """
            A trial is an overlay of [mlp] values on the effective configuration (config.ini, environment), \
            checked by the same rules as config.ini, so every [mlp] key can be swept. Each trial is scored by \
            [cv] repeats × folds stratified cross-validation, standardised inside each fold, on the same folds \
            for every trial: trials are paired, and their differences are the parameters' alone.

            The search space (flags win over --space, which wins over config.ini's [sweep] section):
              a list or choice   --hidden 16,32,64    --batch-size full,32   (one item: a fixed value)
              a real range       --lr 0.001..0.03:log --weight-decay 0..0.001:linear
              a whole-number range  --epochs 40..200  (when both ends are whole numbers)
              any [mlp] key      --param dropout=0..0.5   (repeatable; KEY is the [mlp] key)
            In config.ini or a --space file:
              [sweep]
              hidden_size = 16,32,64
              lr = 0.001..0.03:log
            With no space at all the default is hidden_size = 8..128:log, lr = 0.001..0.1:log, \
            epochs = 40..300, batch_size = full,16,32, weight_decay = 0.0001..0.3:log, input_noise = 0..0.6, \
            dropout = 0..0.5, optimizer = adam,adamw.

            Strategies: tpe (default; Tree-structured Parzen Estimator, Bergstra et al. 2011, as Optuna's \
            default sampler: 10 random trials, then γ = 10 % best vs the rest, 24 candidates), random, grid \
            (every combination of lists; --trials caps it). Trials are proposed in fixed batches of 4 from the \
            trials of earlier batches, so the results are identical for any --jobs. --prune stops a trial whose \
            mean after the first repeat is below the median of earlier trials (the median rule).

            Records: the sweep is an experiment of kind `sweep`, each trial one of kind `trial` (its parent, \
            parameters, per-fold scores, mean ± sd, status, duration), in the configured store. `sonarlab show \
            SWEEP-ID` lists the trials best first; `sonarlab train --from-trial TRIAL-ID` trains the final model; \
            `sonarlab sweep --resume SWEEP-ID` runs only the trials not yet finished.

            Examples:
              sonarlab sweep --trials 100 --lr 0.001..0.1:log --hidden 8..128:log
              sonarlab sweep --strategy grid --hidden 16,32,64 --batch-size full,32 --repeats 1 --folds 5
              sonarlab sweep --resume 20261202-013000-a1b2c3 --json

            Many machines, one sweep: every trial is claimed under a lease in the store (a compare-and-set: \
            HBase checkAndPut on the trial's row, or one SQLite statement), so `sonarlab sweep join SWEEP-ID` \
            on any machine that reaches the same store runs trials of the same sweep, and this command is one \
            such worker. See `sonarlab sweep join --help`.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Labelled Sonar CSV. [data] path", valueName: "path"))
    var data: String?
    @Option(help: ArgumentHelp("Search strategy: tpe, random or grid. Default tpe", valueName: "name"))
    var strategy: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Trials to run. Default 50 (a grid: all its points, at most this many)", valueName: "n"))
    var trials: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the proposals. Default 1", valueName: "n"))
    var seed: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Trials run at once. Default the number of cores; results do not depend on it", valueName: "n"))
    var jobs: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Start no trial after this many seconds; running trials finish", valueName: "s"))
    var timeout: String?
    @Option(help: ArgumentHelp("Folds k of each trial's CV. [cv] folds, default 10", valueName: "k"))
    var folds: String?
    @Option(help: ArgumentHelp("Repeats of each trial's CV. [cv] repeats, default 5", valueName: "r"))
    var repeats: String?
    @Option(help: ArgumentHelp("An INI file whose [sweep] section holds the space", valueName: "path"))
    var space: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("hidden_size values or range", valueName: "spec"))
    var hidden: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("lr values or range", valueName: "spec"))
    var lr: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("epochs values or range", valueName: "spec"))
    var epochs: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("batch_size values (full = 0) or range", valueName: "spec"))
    var batchSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("weight_decay values or range", valueName: "spec"))
    var weightDecay: String?
    @Option(
        name: .customLong("param"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Any [mlp] key's values or range as KEY=SPEC (repeatable)", valueName: "key=spec"))
    var params: [String] = []
    @Flag(help: "Stop trials below the earlier trials' median after the first repeat (median rule).")
    var prune = false
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Also run the whole search inside K outer folds and report the nested (honest) estimate", valueName: "K"))
    var nested: String?
    @Option(help: ArgumentHelp("Continue this sweep: finished trials are not run again", valueName: "id"))
    var resume: String?
    @Option(help: ArgumentHelp("Sweep name.", valueName: "name"))
    var name: String = "sonar-sweep"
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a trial's claim lasts unless renewed (renewed every third of it while the trial runs); a "
                + "worker that dies loses its trials after this. Default 60", valueName: "s"))
    var lease: String?
    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    /// The default space when none is given (see the discussion).
    static let defaultSpace = [
        ("mlp.hidden_size", "8..128:log"), ("mlp.lr", "0.001..0.1:log"), ("mlp.epochs", "40..300"),
        ("mlp.batch_size", "full,16,32"), ("mlp.weight_decay", "0.0001..0.3:log"), ("mlp.input_noise", "0..0.6"),
        ("mlp.dropout", "0..0.5"), ("mlp.optimizer", "adam,adamw"),
    ]

    func run() async throws {
        try validateRunName(name)
        let storeForResume: (any ExperimentStore)?
        var previousSweep: Experiment? = nil
        var flags = store.flags
        if let data { flags["data.path"] = .init(flag: "--data", value: data) }
        if let folds { flags["cv.folds"] = .init(flag: "--folds", value: folds) }
        if let repeats { flags["cv.repeats"] = .init(flag: "--repeats", value: repeats) }
        let context = try CommandContext(global: global, flags: flags)
        if let resume {
            let opened = try context.openStore()
            guard let sweep = try await opened.experiment(id: resume), sweep.kind == .sweep else {
                throw CommandFailure.badInput("--resume: no sweep '\(resume.terminalSafe)' in \(opened.location)")
            }
            previousSweep = sweep
            storeForResume = opened
        } else {
            storeForResume = nil
        }
        let settings = try previousSweep.map(SweepSettings.init(recorded:)) ?? makeSettings(context: context)
        let jobCount = try settings.jobs(jobs)
        let outerFolds = try nested.map { try positiveInteger($0, flag: "--nested", default: 5, maximum: 20) }
        if let outerFolds, outerFolds < 2 {
            throw CommandFailure.badInput("--nested \(outerFolds): give at least 2 outer folds")
        }
        let timeoutSeconds = try timeout.map { text -> Double in
            guard let s = Double(text), s > 0, s.isFinite else {
                throw CommandFailure.badInput("--timeout '\(text.terminalSafe)': give seconds above 0")
            }
            return s
        }
        let (plan, evaluator, loaded) = try settings.planAndEvaluator(context: context)
        let store = try storeForResume ?? context.openStore()
        let startedAt = Date()
        var sweep =
            previousSweep
            ?? Experiment(
                id: Experiment.makeID(startingAt: startedAt), name: name, kind: .sweep, startedAt: startedAt,
                parameters: settings.recordedParameters(base: context.runParameters),
                dataFingerprint: loaded.fingerprint)
        if sweep.dataFingerprint != loaded.fingerprint {
            throw CommandFailure.badInput(
                "--resume: the data differs from the sweep's (fingerprint \(sweep.dataFingerprint.prefix(12))…)")
        }
        sweep.status = .running
        sweep.endedAt = nil
        sweep.dataFileSHA256 = loaded.fileSHA256
        sweep.heartbeat = RunHeartbeat.current()
        try await store.create(sweep)
        let previous = try await SweepRecords.trials(of: sweep.id, in: store).compactMap(SweepRecords.result(from:))
        let deadline = timeoutSeconds.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let heartbeats = RunHeartbeatTicker(
            store: store, experimentID: sweep.id, every: context.staleness.heartbeatInterval)
        let stop = StopSignal()
        let trap = SignalTrap(notice: "\nstopping after the running trials' current fit (signal again to quit)…") {
            stop.raise()
        }
        defer { trap.release() }
        let progress = SweepProgress(
            total: plan.trials, alreadyDone: previous.filter { $0.status != .cancelled && $0.status != .failed }.count,
            showsProgress: !json || isatty(STDERR_FILENO) == 1)
        let leases = TrialLeases(
            register: try SweepClaims.register(for: store), duration: try SweepClaims.leaseSeconds(lease))
        let (results, recordFailure) = try await SweepClaims.runTrials(
            plan: plan, evaluator: evaluator, store: store, sweep: sweep, settings: settings, leases: leases,
            previous: previous, redo: SweepClaims.unfinished(previous), jobs: jobCount, deadline: deadline, stop: stop,
            progress: progress)
        progress.finish()
        await heartbeats.stop()
        let ranked = SweepRecords.ranked(results)
        let complete = results.count == plan.trials && !results.contains { $0.status == .cancelled }
        sweep.status = stop.isRaised ? .cancelled : .finished
        sweep.endedAt = Date()
        sweep.heartbeat = RunHeartbeat.current()
        SweepClaims.recordBest(ranked.first, in: &sweep, settings: settings)
        var nestedResult: NestedSweep.Result? = nil
        if let outerFolds, !stop.isRaised {
            let progressNote = !json || isatty(STDERR_FILENO) == 1
            nestedResult = await withCheckedContinuation { continuation in
                Thread {
                    continuation.resume(
                        returning: NestedSweep.run(
                            plan: plan, evaluator: evaluator, outerFolds: outerFolds, outerSeed: settings.foldSeed,
                            jobs: jobCount, stop: stop
                        ) { fold in
                            if progressNote {
                                printError(
                                    "nested: outer fold \(fold.fold + 1)/\(outerFolds): held-out accuracy "
                                        + "\(f4(fold.accuracy)) (inner best \(f4(fold.selected.accuracy.mean)), "
                                        + SweepRecords.parameterText(fold.selected.parameters) + ")")
                            }
                        })
                }.start()
            }
        }
        if let nestedResult {
            sweep.parameters["sweep.nested.folds"] = String(nestedResult.folds.count)
            sweep.parameters["sweep.nested.accuracy_mean"] = PlainNumber.format("%.6f", nestedResult.accuracy.mean)
            sweep.parameters["sweep.nested.accuracy_sd"] = PlainNumber.format("%.6f", nestedResult.accuracy.sd)
            sweep.parameters["sweep.nested.outer_accuracies"] = nestedResult.folds.map {
                PlainNumber.format("%.6f", $0.accuracy)
            }.joined(separator: ",")
        }
        let finishedCount = results.filter { $0.status == .finished }.count
        sweep.message =
            "\(finishedCount) of \(plan.trials) trials finished"
            + (complete ? "" : "; resume with --resume \(sweep.id)")
        try await store.finish(sweep)
        try CommandContext.reportPending(await store.deliverPendingWrites(within: .seconds(10)), command: "sweep")
        if let recordFailure { throw CommandFailure.failed("sweep: a trial was not recorded: \(recordFailure)") }
        let seconds = progress.elapsedSeconds
        if json {
            var object: [String: Any] = [
                "sweep_id": sweep.id, "status": sweep.status.rawValue, "strategy": settings.strategy.rawValue,
                "trials": plan.trials, "finished": finishedCount, "seconds": seconds,
                "trials_per_second": seconds > 0 ? Double(progress.ranHere) / seconds : 0,
                "folds": settings.folds, "repeats": settings.repeats,
            ]
            if let best = ranked.first { object["best"] = SweepRecords.json(best: best, sweep: sweep.id) }
            print(try jsonText(object))
        } else {
            printText(
                "sweep \(sweep.id) \"\(name)\" \(sweep.status.rawValue): \(finishedCount)/\(plan.trials) trials in "
                    + ProgressLine.duration(seconds))
            if let best = ranked.first {
                printText(
                    "  best trial \(SweepRecords.trialID(sweep: sweep.id, index: best.index)): accuracy "
                        + "\(f4(best.accuracy.mean)) ± \(f4(best.accuracy.sd)) (\(settings.repeats)×\(settings.folds) CV)"
                )
                printText("  " + SweepRecords.parameterText(best.parameters))
                if let nestedResult {
                    printText(
                        "  nested estimate (\(nestedResult.folds.count) outer folds): accuracy "
                            + "\(f4(nestedResult.accuracy.mean)) ± \(f4(nestedResult.accuracy.sd)) — the honest figure; "
                            + "the best trial's \(f4(best.accuracy.mean)) is optimistic (picked on its own folds)")
                }
                printText(
                    "  train it: sonarlab train --from-trial \(SweepRecords.trialID(sweep: sweep.id, index: best.index))"
                )
            }
        }
        if stop.isRaised { throw ExitCode(ExitCodes.cancelled) }
    }

    /// The sweep's settings from the flags, the `--space` file and config.ini.
    func makeSettings(context: CommandContext) throws -> SweepSettings {
        var byID = [String: SearchSpace.Dimension]()
        var order = [String]()
        func add(_ dimension: SearchSpace.Dimension) {
            if byID[dimension.id] == nil { order.append(dimension.id) }
            byID[dimension.id] = dimension
        }
        if FileManager.default.fileExists(atPath: context.resolved.configFile) {
            let document = try INIDocument(contentsOf: context.resolved.configFile)
            try SearchSpace.dimensions(inSweepSectionOf: document).forEach(add)
        }
        if let space {
            let document = try INIDocument(contentsOf: space)
            let found = try SearchSpace.dimensions(inSweepSectionOf: document)
            guard !found.isEmpty else {
                throw CommandFailure.badInput("--space \(space.terminalSafe): no [sweep] section with a key")
            }
            found.forEach(add)
        }
        let named: [(String, String, String?)] = [
            ("mlp.hidden_size", "--hidden", hidden), ("mlp.lr", "--lr", lr), ("mlp.epochs", "--epochs", epochs),
            ("mlp.batch_size", "--batch-size", batchSize), ("mlp.weight_decay", "--weight-decay", weightDecay),
        ]
        for (id, flag, text) in named {
            if let text { add(try SearchSpace.parse(id: id, text: text, place: "flag \(flag)")) }
        }
        for param in params {
            guard let equals = param.firstIndex(of: "="), equals != param.startIndex else {
                throw SweepError(
                    .syntax, place: "flag --param", reason: "'\(param)' is not KEY=SPEC (e.g. --param dropout=0..0.5)")
            }
            let key = param[..<equals].trimmingCharacters(in: .whitespaces)
            let id = key.hasPrefix("mlp.") ? key : "mlp.\(key)"
            add(
                try SearchSpace.parse(id: id, text: String(param[param.index(after: equals)...]), place: "flag --param")
            )
        }
        if order.isEmpty {
            for (id, text) in Self.defaultSpace {
                add(try SearchSpace.parse(id: id, text: text, place: "default space"))
            }
        }
        let strategyName = strategy ?? "tpe"
        guard let chosen = SweepStrategy(rawValue: strategyName) else {
            throw CommandFailure.badInput("--strategy '\(strategyName.terminalSafe)': use tpe, random or grid")
        }
        let trialCount = try positiveInteger(trials, flag: "--trials", default: 50, maximum: 100_000)
        let seedValue: UInt64
        if let seed {
            guard let parsed = UInt64(seed) else {
                throw CommandFailure.badInput("--seed '\(seed.terminalSafe)': give a non-negative whole number")
            }
            seedValue = parsed
        } else {
            seedValue = 1
        }
        let config = context.configuration
        return SweepSettings(
            dimensions: order.map { byID[$0]! }, strategy: chosen, trials: trialCount, seed: seedValue,
            folds: config.crossValidation.folds, repeats: config.crossValidation.repeats, foldSeed: config.split.seed,
            prune: prune, baseOverlay: [:])
    }
}

/// A whole number from a flag, or its default.
func positiveInteger(_ text: String?, flag: String, default value: Int, maximum: Int) throws -> Int {
    guard let text else { return value }
    guard let n = Int(text), (1...maximum).contains(n) else {
        throw CommandFailure.badInput("\(flag) '\(text.terminalSafe)': give a whole number in 1…\(maximum)")
    }
    return n
}

/// What a sweep runs, as given on its first run and recorded with it for `--resume`.
struct SweepSettings: Sendable {
    var dimensions: [SearchSpace.Dimension]
    var strategy: SweepStrategy
    var trials: Int
    var seed: UInt64
    var folds: Int
    var repeats: Int
    var foldSeed: UInt64
    var prune: Bool
    /// `[mlp]` values the sweep started from (its base, as recorded), re-applied on resume.
    var baseOverlay: [String: String]

    /// The number of trials to run at once.
    func jobs(_ text: String?) throws -> Int {
        try positiveInteger(text, flag: "--jobs", default: ProcessInfo.processInfo.activeProcessorCount, maximum: 256)
    }

    /// The configuration trials overlay: the resolved one, with a resumed sweep's recorded `[mlp]` values.
    func base(over configuration: SonarLabConfiguration) throws -> SonarLabConfiguration {
        try ConfigurationResolver.applying(
            baseOverlay.keys.sorted().map { (id: $0, value: baseOverlay[$0]!, place: "the resumed sweep's \($0)") },
            to: configuration)
    }

    /// The plan, the trial evaluator and the data of a sweep with these settings.
    /// - Throws: ``CommandFailure`` (bad input: a space the strategy refuses, folds above the smallest class, data).
    func planAndEvaluator(context: CommandContext) throws -> (SweepPlan, TrialEvaluator, SonarData.LoadedFile) {
        let base = try base(over: context.configuration)
        let spaceModel = try SearchSpace(dimensions, base: base)
        let plan = try SweepPlan(
            space: spaceModel, strategy: strategy, trials: trials, seed: seed,
            pruning: prune ? MedianPruning(warmupFits: folds) : nil)
        let loaded = try context.loadData()
        let smallest = loaded.dataset.classCounts.values.min() ?? 0
        guard folds <= smallest else {
            throw CommandFailure.badInput("--folds \(folds) exceeds the smallest class (\(smallest) rows)")
        }
        let evaluator = TrialEvaluator(
            dataset: loaded.dataset, folds: folds, repeats: repeats, foldSeed: foldSeed, base: base,
            makeTraining: CommandContext.trainingConfiguration(for:))
        return (plan, evaluator, loaded)
    }

    /// The sweep experiment's parameters: the run's effective values plus the sweep's own settings.
    func recordedParameters(base: [String: String]) -> [String: String] {
        var p = base
        p["sweep.strategy"] = strategy.rawValue
        p["sweep.trials"] = String(trials)
        p["sweep.seed"] = String(seed)
        p["sweep.batch"] = String(SweepPlan.defaultBatchSize)
        p["sweep.prune"] = prune ? "median" : "off"
        p["cv.folds"] = String(folds)
        p["cv.repeats"] = String(repeats)
        p["cv.fold_seed"] = String(foldSeed)
        for (n, d) in dimensions.enumerated() { p[PlainNumber.format("sweep.space.%02d.", n) + d.id] = d.text }
        return p
    }

    /// The settings a sweep was recorded with.
    init(recorded sweep: Experiment) throws {
        let p = sweep.parameters
        func value(_ key: String) throws -> String {
            guard let v = p[key] else {
                throw CommandFailure.badInput("--resume: sweep \(sweep.id) has no \(key) recorded")
            }
            return v
        }
        let spaceKeys = p.keys.filter { $0.hasPrefix("sweep.space.") }.sorted()
        dimensions = try spaceKeys.map { key in
            let id = String(key.dropFirst("sweep.space.00.".count))
            return try SearchSpace.parse(id: id, text: p[key]!, place: "sweep \(sweep.id) \(key)")
        }
        guard let strategy = SweepStrategy(rawValue: try value("sweep.strategy")),
            let trials = Int(try value("sweep.trials")), let seed = UInt64(try value("sweep.seed")),
            let folds = Int(try value("cv.folds")), let repeats = Int(try value("cv.repeats")),
            let foldSeed = UInt64(try value("cv.fold_seed"))
        else { throw CommandFailure.badInput("--resume: sweep \(sweep.id) has unreadable settings") }
        self.strategy = strategy
        self.trials = trials
        self.seed = seed
        self.folds = folds
        self.repeats = repeats
        self.foldSeed = foldSeed
        prune = p["sweep.prune"] == "median"
        baseOverlay = p.filter { $0.key.hasPrefix("mlp.") }
    }

    init(
        dimensions: [SearchSpace.Dimension], strategy: SweepStrategy, trials: Int, seed: UInt64, folds: Int,
        repeats: Int, foldSeed: UInt64, prune: Bool, baseOverlay: [String: String]
    ) {
        self.dimensions = dimensions
        self.strategy = strategy
        self.trials = trials
        self.seed = seed
        self.folds = folds
        self.repeats = repeats
        self.foldSeed = foldSeed
        self.prune = prune
        self.baseOverlay = baseOverlay
    }
}

/// How sweeps and their trials are written to and read from an experiment store.
enum SweepRecords {
    /// A trial's experiment id: the sweep's id and the trial number, `<sweep id>-t0007` (stable, so a replay or
    /// a resumed sweep writes the same row).
    static func trialID(sweep: String, index: Int) -> String { sweep + PlainNumber.format("-t%04d", index) }

    /// `lr=0.003 hidden_size=32`, keys without `mlp.`, sorted.
    static func parameterText(_ parameters: [String: String]) -> String {
        parameters.keys.sorted().map { "\($0.hasPrefix("mlp.") ? String($0.dropFirst(4)) : $0)=\(parameters[$0]!)" }
            .joined(separator: " ")
    }

    /// The `best` object of `--json`: trial id, index, parameters, accuracy mean and sd.
    static func json(best: TrialResult, sweep: String) -> [String: Any] {
        [
            "trial_id": trialID(sweep: sweep, index: best.index), "index": best.index, "parameters": best.parameters,
            "accuracy": ["mean": best.accuracy.mean, "sd": best.accuracy.sd],
        ]
    }

    /// Finished trials best first (``TrialResult/ranked(_:)``).
    static func ranked(_ results: [TrialResult]) -> [TrialResult] { TrialResult.ranked(results) }

    /// A trial that has started.
    static func runningTrial(index: Int, parameters: [String: String], sweep: Experiment) -> Experiment {
        var parametersWithParent = parameters
        parametersWithParent["sweep.parent"] = sweep.id
        parametersWithParent["sweep.trial"] = String(index)
        parametersWithParent["sweep.status"] = "running"
        var e = Experiment(
            id: trialID(sweep: sweep.id, index: index), name: sweep.name + PlainNumber.format("-t%04d", index),
            kind: .trial, startedAt: Date(), parameters: parametersWithParent, dataFingerprint: sweep.dataFingerprint)
        e.heartbeat = RunHeartbeat.current()
        return e
    }

    /// A trial that has ended.
    static func experiment(for result: TrialResult, sweep: Experiment, settings: SweepSettings) -> Experiment {
        var e = runningTrial(index: result.index, parameters: result.parameters, sweep: sweep)
        e.startedAt = Date(timeIntervalSinceNow: -result.seconds)
        e.endedAt = Date()
        e.parameters["sweep.status"] = result.status.rawValue
        e.parameters["sweep.seconds"] = PlainNumber.format("%.3f", result.seconds)
        switch result.status {
        case .finished: e.status = .finished
        case .pruned:
            e.status = .cancelled
            e.message = "pruned by the median rule after \(result.foldAccuracies.count) fits"
        case .failed:
            e.status = .failed
            e.message = result.message
        case .cancelled: e.status = .cancelled
        }
        e.result = experimentResult(of: result, settings: settings)
        return e
    }

    /// A trial's scores as an experiment result: mean metrics, the CV summary and the per-fit accuracies.
    static func experimentResult(of result: TrialResult, settings: SweepSettings) -> ExperimentResult {
        var r = ExperimentResult(
            validation: SplitMetrics(loss: result.lossMean, accuracy: result.accuracy.mean, macroF1: result.f1Mean),
            crossValidation: CrossValidationSummary(
                folds: settings.folds, repeats: settings.repeats, fits: result.foldAccuracies.count,
                accuracyMean: result.accuracy.mean, accuracySD: result.accuracy.sd, f1Mean: result.f1Mean, f1SD: 0))
        r.foldAccuracies = result.foldAccuracies
        return r
    }

    /// The trial result a trial experiment records, or `nil` for one that never ended.
    static func result(from e: Experiment) -> TrialResult? {
        guard let indexText = e.parameters["sweep.trial"], let index = Int(indexText),
            let status = e.parameters["sweep.status"].flatMap(TrialResult.Status.init(rawValue:))
        else { return nil }
        return TrialResult(
            index: index, parameters: e.parameters.filter { $0.key.hasPrefix("mlp.") },
            foldAccuracies: e.result?.foldAccuracies ?? [], f1Mean: e.result?.validation?.macroF1 ?? 0,
            lossMean: e.result?.validation?.loss ?? 0, status: status,
            seconds: Double(e.parameters["sweep.seconds"] ?? "") ?? 0, message: e.message)
    }

    /// The trials of a sweep, in trial order.
    static func trials(of sweepID: String, in store: any ExperimentStore) async throws -> [Experiment] {
        try await store.experiments(limit: nil).filter { $0.kind == .trial && $0.parameters["sweep.parent"] == sweepID }
            .sorted { $0.id < $1.id }
    }

    /// `show SWEEP-ID`'s trials table, best first (finished by mean accuracy, then the others by number).
    static func table(_ trials: [Experiment]) -> [String] {
        let byIndex = Dictionary(
            trials.compactMap { e in result(from: e).map { ($0.index, e) } }, uniquingKeysWith: { a, _ in a })
        let results = trials.compactMap(result(from:))
        let finished = TrialResult.ranked(results)
        let others = results.filter { $0.status != .finished }.sorted { $0.index < $1.index }
        var rows = [["TRIAL", "STATUS", "ACCURACY", "SD", "FITS", "SECONDS", "PARAMETERS"]]
        for r in finished + others {
            guard let e = byIndex[r.index] else { continue }
            rows.append([
                e.id.terminalSafe, r.status.rawValue, f4(r.accuracy.mean), f4(r.accuracy.sd),
                String(r.foldAccuracies.count), PlainNumber.format("%.2f", r.seconds),
                parameterText(r.parameters).terminalSafe,
            ])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}

/// The sweep's live progress on standard error: trials done, best so far, trials/s and ETA, fitted to the
/// terminal's width (redrawn in place on a terminal, one line per trial in a log).
final class SweepProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private var done: Int
    private(set) var ranHere = 0
    private var best: (index: Int, accuracy: Double)? = nil
    private let start = ContinuousClock.now
    private let showsProgress: Bool
    private let isTerminal = isatty(STDERR_FILENO) == 1

    init(total: Int, alreadyDone: Int, showsProgress: Bool) {
        self.total = total
        self.done = alreadyDone
        self.showsProgress = showsProgress
    }

    var elapsedSeconds: Double {
        let (s, atto) = (ContinuousClock.now - start).components
        return Double(s) + Double(atto) / 1e18
    }

    func record(_ event: SweepEvent) {
        guard case .ended(let result) = event else { return }
        let line: String = lock.withLock {
            if result.status != .cancelled {
                done += 1
                ranHere += 1
            }
            if result.status == .finished, best.map({ result.accuracy.mean > $0.accuracy }) ?? true {
                best = (result.index, result.accuracy.mean)
            }
            return Self.render(
                done: done, total: total, best: best, ranHere: ranHere, seconds: elapsedSeconds,
                columns: isTerminal ? terminalColumns(fallback: nil) : nil,
                last: isTerminal ? nil : result)
        }
        guard showsProgress else { return }
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            printError(line)
        }
    }

    func finish() {
        if showsProgress && isTerminal && ranHere > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// One progress line in the longest form that fits `columns - 1` (`nil`: the full form, with the last trial).
    static func render(
        done: Int, total: Int, best: (index: Int, accuracy: Double)?, ranHere: Int, seconds: Double, columns: Int?,
        last: TrialResult?
    ) -> String {
        let rate = seconds > 0 ? Double(ranHere) / seconds : 0
        let eta = rate > 0 ? Double(max(0, total - done)) / rate : 0
        let count = "trial \(done)/\(total)"
        let bestText = best.map { "best \(f4($0.accuracy)) (#\($0.index))" } ?? "best -"
        let timing =
            "\(PlainNumber.format("%.2f", rate)) trials/s elapsed \(ProgressLine.duration(seconds)) "
            + "eta \(ProgressLine.duration(eta))"
        var full = "\(count) | \(bestText) | \(timing)"
        if let last {
            full +=
                " | #\(last.index) \(last.status.rawValue) \(f4(last.accuracy.mean)) ± \(f4(last.accuracy.sd)) "
                + SweepRecords.parameterText(last.parameters)
        }
        guard let columns else { return full }
        let limit = max(1, columns - 1)
        let medium = "\(count) | \(bestText) | eta \(ProgressLine.duration(eta))"
        let minimal = "\(done)/\(total) \(best.map { f4($0.accuracy) } ?? "-")"
        for form in [full, medium, minimal] where form.count <= limit { return form }
        return String(minimal.prefix(limit))
    }
}
