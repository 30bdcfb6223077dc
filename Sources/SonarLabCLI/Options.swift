import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// Options every command shares: the config file and logging.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The INI configuration file.", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Write the effective values back to the config file (nothing else ever rewrites it).")
    var saveConfig = false

    @Flag(name: [.short, .long], help: "Log debug details to standard error.")
    var verbose = false

    var configFile: String { config ?? "config.ini" }
}

/// Options that override configuration keys. No parser defaults: an absent flag lets the environment,
/// config.ini or the built-in default decide.
struct TrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Labelled Sonar CSV. [data] path", valueName: "path"))
    var data: String?
    @Option(
        help: ArgumentHelp(
            "Whether the data's first line is a header: auto, true or false. [data] header, default auto",
            valueName: "mode"))
    var header: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Training epochs. [mlp] epochs, default 80", valueName: "n"))
    var epochs: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Hidden units H of 60-H-2. [mlp] hidden_size, default 40", valueName: "n"))
    var hidden: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Adam learning rate. [mlp] lr, default 0.01", valueName: "x"))
    var lr: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Initialisation and batch-order seed. [mlp] seed, default 42", valueName: "n"))
    var seed: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Rows per update, 0 = full batch. [mlp] batch_size, default 0", valueName: "n"))
    var batchSize: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Weight decay (see --optimizer). [mlp] weight_decay, default 0", valueName: "x"))
    var weightDecay: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Early-stopping patience in epochs, 0 = off. [mlp] early_stopping", valueName: "n"))
    var earlyStopping: String?
    @Option(help: ArgumentHelp("Kept epoch: val_loss, val_accuracy, val_f1 or last. [mlp] select", valueName: "rule"))
    var select: String?
    @Option(
        help: ArgumentHelp(
            "adam, or adamw (decoupled weight decay). [mlp] optimizer, default adam", valueName: "name"))
    var optimizer: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Hidden-unit dropout probability while training. [mlp] dropout, default 0", valueName: "p"))
    var dropout: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Sd of Gaussian noise on the standardised inputs while training. [mlp] input_noise, default 0",
            valueName: "x"))
    var inputNoise: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Networks whose probabilities are averaged. [mlp] ensemble, default 1", valueName: "k"))
    var ensemble: String?
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Validation fraction. [split] test_size, default 0.25", valueName: "x"))
    var testSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Split shuffle seed. [split] seed, default 42", valueName: "n"))
    var splitSeed: String?

    var flags: [String: FlagValue] {
        var f = [String: FlagValue]()
        func add(_ key: String, _ flag: String, _ value: String?) {
            if let value { f[key] = FlagValue(flag: flag, value: value) }
        }
        add("data.path", "--data", data)
        add("data.header", "--header", header)
        add("mlp.epochs", "--epochs", epochs)
        add("mlp.hidden_size", "--hidden", hidden)
        add("mlp.lr", "--lr", lr)
        add("mlp.seed", "--seed", seed)
        add("mlp.batch_size", "--batch-size", batchSize)
        add("mlp.weight_decay", "--weight-decay", weightDecay)
        add("mlp.early_stopping", "--early-stopping", earlyStopping)
        add("mlp.select", "--select", select)
        add("mlp.optimizer", "--optimizer", optimizer)
        add("mlp.dropout", "--dropout", dropout)
        add("mlp.input_noise", "--input-noise", inputNoise)
        add("mlp.ensemble", "--ensemble", ensemble)
        add("split.test_size", "--test-size", testSize)
        add("split.seed", "--split-seed", splitSeed)
        return f
    }
}

/// Chooses the experiment store.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Experiment store: local or hbase. [tracking] backend", valueName: "name"))
    var backend: String?

    var flags: [String: FlagValue] {
        backend.map { ["tracking.backend": FlagValue(flag: "--backend", value: $0)] } ?? [:]
    }
}

/// The resolved settings and services of one command invocation.
struct CommandContext {
    let resolved: ResolvedConfiguration
    let environment: [String: String]
    let logger: Logger

    var configuration: SonarLabConfiguration { resolved.configuration }

    /// Resolves configuration from flags, environment and file; saves it when `--save-config` is given.
    /// - Throws: ``SettingsError`` for bad values.
    init(global: GlobalOptions, flags: [String: FlagValue]) throws {
        environment = ProcessInfo.processInfo.environment
        resolved = try ConfigurationResolver.resolve(
            configFile: global.configFile, environment: environment, flags: flags, requireFile: global.config != nil)
        var logger = Logger(label: "sonarlab") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return TerminalSafeLogHandler(inner: handler)
        }
        logger.logLevel = global.verbose ? .debug : .warning
        self.logger = logger
        if global.saveConfig {
            // Saved when the command has succeeded: a refused run (bad data, a missing HBase URL) must leave
            // config.ini as it was, or every later command would inherit the bad values.
            let resolved = self.resolved
            let file = global.configFile
            ConfigurationSaveOnSuccess.shared.schedule {
                try resolved.save()
                printError("saved the effective configuration to \(file)")
            }
        }
    }

    /// The training hyper-parameters from `[mlp]`.
    var trainingConfiguration: TrainingConfiguration { Self.trainingConfiguration(for: configuration) }

    /// The training hyper-parameters of a configuration's `[mlp]` keys (also each sweep trial's).
    /// - Parameter configuration: A resolved configuration (or one with a trial's overlay applied).
    /// - Returns: The Engine's hyper-parameters.
    static func trainingConfiguration(for configuration: SonarLabConfiguration) -> TrainingConfiguration {
        let mlp = configuration.mlp
        var t = TrainingConfiguration()
        t.hiddenSize = mlp.hiddenSize
        t.learningRate = mlp.learningRate
        t.epochs = mlp.epochs
        t.batchSize = mlp.batchSize == 0 ? nil : mlp.batchSize
        t.weightDecay = mlp.weightDecay
        t.earlyStoppingPatience = mlp.earlyStoppingPatience == 0 ? nil : mlp.earlyStoppingPatience
        t.seed = mlp.seed
        t.selection = ModelSelection(rawValue: mlp.selection) ?? .validationLoss
        t.optimizer = Optimizer(rawValue: mlp.optimizer) ?? .adam
        t.dropout = mlp.dropout
        t.inputNoise = mlp.inputNoise
        t.ensemble = mlp.ensemble
        return t
    }

    /// Effective `[data]`, `[split]` and `[mlp]` values as text, recorded with each run.
    var runParameters: [String: String] {
        var p = [String: String]()
        for row in resolved.table
        where ["data.path", "data.header", "split.test_size", "split.seed"].contains(row.key)
            || row.key.hasPrefix("mlp.")
        {
            p[row.key] = row.value
        }
        return p
    }

    /// `[data] header` as the loader's policy.
    var headerPolicy: SonarData.HeaderPolicy {
        SonarData.HeaderPolicy(rawValue: configuration.data.header) ?? .auto
    }

    /// The rule that shows a dead `running` run as `stale` (`[tracking] stale_after`).
    var staleness: RunStaleness { RunStaleness(staleAfter: configuration.tracking.staleAfterSeconds) }

    /// Loads and validates the configured data file.
    /// - Throws: ``DataError`` naming file, line and field.
    func loadData() throws -> SonarData.LoadedFile {
        let loaded = try SonarData.load(path: configuration.data.path, header: headerPolicy)
        let split = StratifiedSplit.split(
            labels: loaded.dataset.labels, testSize: configuration.split.testSize, seed: configuration.split.seed)
        let trainClasses = Set(split.train.map { loaded.dataset.labels[$0] })
        let validationClasses = Set(split.validation.map { loaded.dataset.labels[$0] })
        guard trainClasses.count == 2, !split.validation.isEmpty, validationClasses.count == 2 else {
            throw CommandFailure.badInput(
                "\(configuration.data.path): with test_size \(configuration.split.testSize) the split leaves a part "
                    + "without both classes (\(split.train.count) train / \(split.validation.count) validation rows)")
        }
        return loaded
    }

    /// Opens the configured experiment store.
    /// - Throws: ``CommandFailure`` when the store cannot be opened.
    func openStore() throws -> any ExperimentStore {
        switch configuration.tracking.backend {
        case .local:
            do {
                return try LocalStore(directory: configuration.tracking.directory)
            } catch {
                throw CommandFailure.failed(
                    "cannot open the local store in \(configuration.tracking.directory): \(systemReason(error))")
            }
        case .hbase:
            let client = try makeHBaseClient()
            let writer = try makeHBaseWriter(client: client)
            return HBaseExperimentStore(client: client, layout: hbaseLayout, writer: writer)
        }
    }
}

/// Checks a run name: 1–64 characters of `A-Z a-z 0-9 . _ -`.
func validateRunName(_ name: String) throws {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-"))
    guard (1...64).contains(name.count), name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) else {
        throw CommandFailure.badInput(
            "--name '\(name.prefix(64))': use 1–64 characters of A–Z, a–z, 0–9, '.', '_', '-'")
    }
}

/// The reason of a file-system error in a few words (`Not a directory`, `Permission denied`): the POSIX error
/// under a Foundation error when there is one, else the error's own description.
func systemReason(_ error: any Error) -> String {
    var current = error as NSError
    while let underlying = current.userInfo[NSUnderlyingErrorKey] as? NSError { current = underlying }
    if current.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(current.code))) }
    return "\(error)"
}

/// The `--save-config` of this process, done once the command has succeeded (``SonarLabCommand``'s main).
final class ConfigurationSaveOnSuccess: @unchecked Sendable {
    /// The process's one slot.
    static let shared = ConfigurationSaveOnSuccess()
    private let lock = NSLock()
    private var pending: (@Sendable () throws -> Void)?

    /// Remembers the save to do (the last one wins).
    func schedule(_ save: @escaping @Sendable () throws -> Void) { lock.withLock { pending = save } }

    /// Does the remembered save, if any.
    /// - Throws: the save's error (``SettingsError`` when config.ini cannot be written).
    func commit() throws {
        let save = lock.withLock { () -> (@Sendable () throws -> Void)? in
            defer { pending = nil }
            return pending
        }
        try save?()
    }
}
