import Foundation

/// Where an effective value came from.
public enum ValueSource: Sendable, Equatable, CustomStringConvertible {
    /// A command-line flag.
    case flag(String)
    /// An environment variable.
    case environment(String)
    /// A line of the config file.
    case file(String, line: Int)
    /// The built-in default.
    case builtIn

    public var description: String {
        switch self {
        case .flag(let name): return "flag \(name)"
        case .environment(let name): return "environment \(name)"
        case .file(let file, let line): return "\(file):\(line)"
        case .builtIn: return "default"
        }
    }
}

/// A value given on the command line for a configuration key.
public struct FlagValue: Sendable, Equatable {
    /// The flag as the user wrote it, e.g. `--lr`, for messages.
    public let flag: String
    /// The raw text.
    public let value: String

    /// Creates a flag value.
    public init(flag: String, value: String) {
        self.flag = flag
        self.value = value
    }
}

/// The resolved configuration with the source of every key.
public struct ResolvedConfiguration: Sendable {
    /// The effective configuration.
    public var configuration: SonarLabConfiguration
    /// Source per key id (`section.key`).
    public var sources: [String: ValueSource]
    /// The config file that was read (it may not exist).
    public var configFile: String

    /// Effective values as `(key id, text, source)` in registry order, for `sonarlab config`.
    public var table: [(key: String, value: String, source: ValueSource)] {
        ConfigurationResolver.keys.map { ($0.id, $0.render(configuration), sources[$0.id] ?? .builtIn) }
    }

    /// Writes every effective value into the config file, keeping its comments and order
    /// (`--save-config`). This is the only code that writes config.ini.
    /// - Throws: ``SettingsError`` `unreadable` (the file exists but cannot be parsed or written), `syntax` (a value
    ///   holds a line break; nothing is written).
    public func save() throws(SettingsError) {
        var document: INIDocument
        if FileManager.default.fileExists(atPath: configFile) {
            document = try INIDocument(contentsOf: configFile)
        } else {
            document = try INIDocument(text: "", file: configFile)
        }
        for key in ConfigurationResolver.keys {
            try document.set(section: key.section, key: key.key, value: key.render(configuration))
        }
        do {
            try document.rendered().write(toFile: configFile, atomically: true, encoding: .utf8)
        } catch {
            throw SettingsError(.unreadable, place: configFile, reason: "cannot write the file")
        }
    }
}

/// Resolves ``SonarLabConfiguration`` from flags, environment, config file and defaults, in that order.
public enum ConfigurationResolver {
    /// One configuration key: where it lives and how to read and print it.
    public struct Key: Sendable {
        /// The INI section.
        public let section: String
        /// The INI key.
        public let key: String
        /// What the key means, with its unit and range (used for `--help` and the README reference).
        public let help: String
        let apply: @Sendable (inout SonarLabConfiguration, String) -> Result<Void, Failure>
        let render: @Sendable (SonarLabConfiguration) -> String

        /// The key's value in `configuration` as config.ini would hold it.
        /// - Parameter configuration: The configuration to read.
        /// - Returns: The text, e.g. `0.01` for `[mlp] lr`.
        public func value(in configuration: SonarLabConfiguration) -> String { render(configuration) }

        /// `section.key`.
        public var id: String { "\(section).\(key)" }
        /// `SONARLAB_SECTION_KEY`.
        public var environmentName: String { "SONARLAB_\(section.uppercased())_\(key.uppercased())" }
        /// The built-in default as text.
        public var defaultValue: String { render(SonarLabConfiguration()) }
    }

    /// Why a value was refused.
    public struct Failure: Error, Sendable {
        let code: SettingsError.Code
        let reason: String
    }

    /// Every key SonarLab reads, in the order of the reference table.
    public static let keys: [Key] = [
        text("data", "path", "labelled Sonar CSV (60 features + R/M)", \.data.path),
        text("data", "prepared_dir", "folder for the prepared split", \.data.preparedDirectory),
        choice(
            "data", "header", "first line a header: auto (when no field is a number), true or false", \.data.header,
            ["auto", "true", "false"]),
        real("split", "test_size", "validation fraction, 0 < x < 1", \.split.testSize, open: 0, 1),
        seed("split", "seed", "split shuffle seed", \.split.seed),
        integer("mlp", "hidden_size", "hidden units H of 60-H-2", \.mlp.hiddenSize, 1, 4096),
        real("mlp", "lr", "Adam learning rate, 0 < lr <= 10", \.mlp.learningRate, open: 0, 10, includeHigh: true),
        integer("mlp", "epochs", "training epochs", \.mlp.epochs, 1, 100_000),
        integer("mlp", "batch_size", "rows per update, 0 = full batch", \.mlp.batchSize, 0, 1_000_000),
        real(
            "mlp", "weight_decay", "weight decay of the weights (not biases), >= 0; see optimizer", \.mlp.weightDecay,
            closed: 0, 10),
        integer("mlp", "early_stopping", "patience in epochs, 0 = off", \.mlp.earlyStoppingPatience, 0, 100_000),
        seed("mlp", "seed", "weight initialisation / batch order seed", \.mlp.seed),
        choice(
            "mlp", "select", "kept epoch: val_loss, val_accuracy, val_f1 or last", \.mlp.selection,
            ["val_loss", "val_accuracy", "val_f1", "last"]),
        choice(
            "mlp", "optimizer", "adam (weight decay as L2 on the gradients) or adamw (decoupled weight decay)",
            \.mlp.optimizer, ["adam", "adamw"]),
        real(
            "mlp", "dropout", "hidden-unit dropout probability while training, 0 <= p < 1", \.mlp.dropout, 0,
            open: 1),
        real(
            "mlp", "input_noise", "sd of Gaussian noise on standardised inputs while training, 0...10", \.mlp.inputNoise,
            closed: 0, 10),
        integer("mlp", "ensemble", "networks whose probabilities are averaged, 1 = one", \.mlp.ensemble, 1, 100),
        integer("cv", "folds", "cross-validation folds k", \.crossValidation.folds, 2, 50),
        integer("cv", "repeats", "cross-validation repeats", \.crossValidation.repeats, 1, 100),
        Key(
            section: "tracking", key: "backend", help: "experiment store: local or hbase",
            apply: { config, raw in
                guard let backend = SonarLabConfiguration.Backend(rawValue: raw) else {
                    return .failure(Failure(code: .outOfRange, reason: "'\(raw)' is not one of local, hbase"))
                }
                config.tracking.backend = backend
                return .success(())
            }, render: { $0.tracking.backend.rawValue }),
        text("tracking", "dir", "embedded store folder", \.tracking.directory),
        text("tracking", "experiments_dir", "seed-style run folders", \.tracking.experimentsDirectory),
        real(
            "tracking", "stale_after", "seconds without a heartbeat before a running run shows as stale",
            \.tracking.staleAfterSeconds, closed: 1, 604_800),
        text("tui", "theme", "dashboard theme (themes/NAME.ini)", \.tui.theme),
        integer("tui", "refresh_hz", "most dashboard redraws per second", \.tui.refreshRate, 1, 60),
        text("hbase", "namespace", "HBase namespace", \.hbase.namespace),
        text("hbase", "experiments_table", "table of experiments", \.hbase.experimentsTable),
        text("hbase", "datasets_table", "table of train/validation rows", \.hbase.datasetsTable),
        text("hbase", "predictions_table", "table of predictions", \.hbase.predictionsTable),
        real(
            "hbase", "timeout_seconds", "per-request timeout in seconds", \.hbase.timeoutSeconds, open: 0, 600,
            includeHigh: true),
        integer("hbase", "epoch_batch", "epochs per metrics write", \.hbase.epochBatch, 1, 1000),
        text("serve", "host", "address `sonarlab serve` listens on", \.serve.host),
        integer("serve", "port", "TCP port `sonarlab serve` listens on, 0 = any free port", \.serve.port, 0, 65535),
        text("serve", "model_name", "model name in the inference routes", \.serve.modelName),
        choice(
            "serve", "record", "where served predictions are recorded: hbase, local or off", \.serve.record,
            ["hbase", "local", "off"]),
        integer(
            "serve", "max_body_bytes", "largest request body in bytes (413 above)", \.serve.maxBodyBytes, 1024,
            1 << 30),
        integer("serve", "max_rows", "most rows in one request (413 above)", \.serve.maxRows, 1, 1_000_000),
        integer(
            "serve", "max_concurrency", "requests handled at once (503 + Retry-After above)",
            \.serve.maxConcurrency, 1, 10_000),
        real(
            "serve", "request_timeout", "seconds one request may take (503 after)", \.serve.requestTimeoutSeconds,
            open: 0, 600, includeHigh: true),
    ] + serveAccessKeys

    /// Resolves the configuration.
    /// - Parameters:
    ///   - configFile: the INI file; a missing file means "no values" unless `requireFile` is set.
    ///   - environment: the process environment (pass `ProcessInfo.processInfo.environment`).
    ///   - flags: values from the command line, keyed by key id (`mlp.epochs`).
    ///   - requireFile: throw when the file does not exist (the user named it explicitly).
    /// - Returns: the configuration and the source of each key.
    /// - Throws: ``SettingsError``: `unreadable`, `syntax`, `unknownSection`, `unknownKey` (config file, or an
    ///   unknown `SONARLAB_` variable, see ``checkEnvironment(_:)``), `wrongType` or `outOfRange` (any source),
    ///   each naming its place.
    public static func resolve(
        configFile: String, environment: [String: String], flags: [String: FlagValue] = [:],
        requireFile: Bool = false
    ) throws(SettingsError) -> ResolvedConfiguration {
        var document: INIDocument? = nil
        if FileManager.default.fileExists(atPath: configFile) {
            document = try INIDocument(contentsOf: configFile)
        } else if requireFile {
            throw SettingsError(.unreadable, place: configFile, reason: "no such file")
        }
        if let document { try checkKnownKeys(document) }
        try checkEnvironment(environment)
        var configuration = SonarLabConfiguration()
        var sources = [String: ValueSource]()
        for key in keys {
            let raw: String
            let source: ValueSource
            if let flag = flags[key.id] {
                (raw, source) = (flag.value, .flag(flag.flag))
            } else if let value = environment[key.environmentName] {
                (raw, source) = (value, .environment(key.environmentName))
            } else if let entry = document?.entry(section: key.section, key: key.key) {
                (raw, source) = (entry.value, .file(configFile, line: entry.line))
            } else {
                continue
            }
            if case .failure(let failure) = key.apply(&configuration, raw.trimmingCharacters(in: .whitespaces)) {
                throw SettingsError(failure.code, place: place(source, key), reason: failure.reason)
            }
            sources[key.id] = source
        }
        return ResolvedConfiguration(configuration: configuration, sources: sources, configFile: configFile)
    }

    static func place(_ source: ValueSource, _ key: Key) -> String {
        switch source {
        case .file(let file, let line): return "\(file):\(line): [\(key.section)] \(key.key)"
        default: return source.description
        }
    }

    /// Sections of config.ini whose keys another module reads and checks itself.
    ///
    /// `[sweep]` holds the search space of `sonarlab sweep`, checked by the Sweep module.
    /// ``resolve(configFile:environment:flags:requireFile:)`` accepts any key in them and reads none.
    public static let delegatedSections: Set<String> = ["sweep"]

    /// The key `section.key` (`mlp.lr`), or `nil` when SonarLab has no such key.
    /// - Parameter id: The key id.
    /// - Returns: The key.
    public static func key(id: String) -> Key? { keys.first { $0.id == id } }

    /// Applies `section.key → text` values over a configuration, each checked exactly as the same key in
    /// config.ini is (type, range, choices).
    ///
    /// `sonarlab sweep` gives each trial its parameters this way, so every `[mlp]` key is sweepable.
    /// - Parameters:
    ///   - overlay: Values by key id (`mlp.lr` → `0.003`), with the place each came from for messages
    ///     (`flag --lr`, `config.ini:12: [sweep] lr`).
    ///   - configuration: The configuration to start from.
    /// - Returns: `configuration` with the values applied.
    /// - Throws: ``SettingsError`` `unknownKey` (no such key), `wrongType` or `outOfRange`, naming the value's place.
    public static func applying(
        _ overlay: [(id: String, value: String, place: String)], to configuration: SonarLabConfiguration
    ) throws(SettingsError) -> SonarLabConfiguration {
        var result = configuration
        for entry in overlay {
            guard let key = key(id: entry.id) else {
                let known = keys.map(\.id)
                throw SettingsError(
                    .unknownKey, place: entry.place,
                    reason: "unknown key '\(entry.id)'\(suggestion(entry.id, among: known))")
            }
            if case .failure(let failure) = key.apply(&result, entry.value.trimmingCharacters(in: .whitespaces)) {
                throw SettingsError(failure.code, place: entry.place, reason: failure.reason)
            }
        }
        return result
    }

    static func checkKnownKeys(_ document: INIDocument) throws(SettingsError) {
        let sections = Set(keys.map(\.section)).union(delegatedSections)
        for section in document.sections where !sections.contains(section.name) {
            let hint = suggestion(section.name, among: sections, quote: "[", "]")
            throw SettingsError(
                .unknownSection, place: "\(document.file):\(section.line)",
                reason: "unknown section [\(section.name)]\(hint); known: \(sections.sorted().joined(separator: ", "))")
        }
        for entry in document.entries
        where !delegatedSections.contains(entry.section)
            && !keys.contains(where: { $0.section == entry.section && $0.key == entry.key })
        {
            let known = keys.filter { $0.section == entry.section }.map(\.key)
            throw SettingsError(
                .unknownKey, place: "\(document.file):\(entry.line)",
                reason: "unknown key '\(entry.key)' in [\(entry.section)]\(suggestion(entry.key, among: known)); "
                    + "known: \(known.joined(separator: ", "))")
        }
    }

    /// `SONARLAB_` variables that are not configuration keys but are read by SonarLab or its tooling: the HBase
    /// connection (``HBaseConnectionSettings``), the HBase contract suite, the test runners' binary paths, the
    /// development scripts (`scripts/kdc.sh`, `scripts/dev-hbase.sh`) and docker-compose / CD.
    public static let otherEnvironmentNames: Set<String> = HBaseConnectionSettings.environmentNames.union([
        "SONARLAB_HBASE_CONTRACT_URL", "SONARLAB_HBASE_CONTRACT_ALLOW_HTTP", "SONARLAB_BIN", "SONARLAB_BINARY",
        "SONARLAB_DEV_HBASE_DIR", "SONARLAB_KDC_DIR", "SONARLAB_KDC_PORT", "SONARLAB_KDC_REALM", "SONARLAB_IMAGE",
        "SONARLAB_PULL_POLICY", "SONARLAB_UID",
        // The model service's callers' credentials and TLS files, and the dashboard's service address.
        "SONARLAB_SERVE_URL", "SONARLAB_SERVE_TOKENS_FILE", "SONARLAB_SERVE_TLS_CERT_FILE",
        "SONARLAB_SERVE_TLS_KEY_FILE",
    ]).union(ServeAccessEnvironment.environmentNames)

    /// Refuses a misspelt configuration variable, as config.ini refuses a misspelt key.
    ///
    /// A variable is refused when it is not a key's `SONARLAB_<SECTION>_<KEY>` and not one of
    /// ``otherEnvironmentNames``, and either its `<SECTION>` is a configuration section (`SONARLAB_MLP_EPOHCS`)
    /// or it is at most two edits from a known name (`SONARLAB_MPL_EPOCHS`). Other `SONARLAB_` variables
    /// belong to someone else and are left alone.
    /// - Parameter environment: the process environment.
    /// - Throws: ``SettingsError`` `unknownKey` naming the variable (never its value) and the nearest known name.
    public static func checkEnvironment(_ environment: [String: String]) throws(SettingsError) {
        let prefix = "SONARLAB_"
        let configNames = keys.map(\.environmentName)
        let known = Set(configNames).union(otherEnvironmentNames)
        let sections = Set(keys.map { $0.section.uppercased() })
        for name in environment.keys.sorted() where name.hasPrefix(prefix) && !known.contains(name) {
            let section = name.dropFirst(prefix.count).split(separator: "_", maxSplits: 1).first.map(String.init)
            let candidates = configNames + otherEnvironmentNames.sorted()
            let nearest = nearestName(to: name, among: candidates)
            let isConfigSection = section.map(sections.contains) ?? false
            guard isConfigSection || (nearest.map { $0.distance <= 2 } ?? false) else { continue }
            var reason = "unknown variable"
            if let nearest, nearest.distance <= max(2, name.count / 4) {
                reason += " (did you mean \(nearest.name)?)"
            }
            if let section, isConfigSection {
                let inSection = configNames.filter { $0.hasPrefix("\(prefix)\(section)_") }
                reason += "; known in [\(section.lowercased())]: \(inSection.joined(separator: ", "))"
            } else {
                reason += "; configuration variables are SONARLAB_<SECTION>_<KEY> (`sonarlab config` lists the keys)"
            }
            throw SettingsError(.unknownKey, place: "environment \(name)", reason: reason)
        }
    }

    /// `" (did you mean 'x'?)"` when a known name is close to `name` (a likely typo), else `""`.
    static func suggestion(
        _ name: String, among known: some Collection<String>, quote open: String = "'", _ close: String = "'"
    ) -> String {
        guard let nearest = nearestName(to: name, among: Array(known)), nearest.distance <= max(2, name.count / 3)
        else { return "" }
        return " (did you mean \(open)\(nearest.name)\(close)?)"
    }

    /// The known name with the fewest edits (insertions, deletions, substitutions, swaps of neighbours) from
    /// `name`; ties go to the first.
    static func nearestName(to name: String, among known: [String]) -> (name: String, distance: Int)? {
        known.map { ($0, editDistance(name, $0)) }.min { $0.1 < $1.1 }
    }

    /// Optimal-string-alignment distance (Levenshtein plus transposition of two neighbours), case-insensitive.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }

    // MARK: Key builders

    static func text(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, String> & Sendable
    ) -> Key {
        Key(
            section: section, key: key, help: help,
            apply: { config, raw in
                guard !raw.isEmpty else { return .failure(Failure(code: .outOfRange, reason: "must not be empty")) }
                config[keyPath: path] = raw
                return .success(())
            }, render: { $0[keyPath: path] })
    }

    static func choice(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, String> & Sendable, _ allowed: [String]
    ) -> Key {
        Key(
            section: section, key: key, help: help,
            apply: { config, raw in
                guard allowed.contains(raw) else {
                    return .failure(
                        Failure(code: .outOfRange, reason: "'\(raw)' is not one of \(allowed.joined(separator: ", "))"))
                }
                config[keyPath: path] = raw
                return .success(())
            }, render: { $0[keyPath: path] })
    }

    static func integer(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, Int> & Sendable, _ low: Int, _ high: Int
    ) -> Key {
        Key(
            section: section, key: key, help: help,
            apply: { config, raw in
                guard let value = Int(raw) else {
                    // Digits too many for Int are a whole number out of range, not a wrong type.
                    let digits = raw.hasPrefix("-") || raw.hasPrefix("+") ? raw.dropFirst() : Substring(raw)
                    if !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) {
                        return .failure(Failure(code: .outOfRange, reason: "\(raw) is outside \(low)…\(high)"))
                    }
                    return .failure(Failure(code: .wrongType, reason: "'\(raw)' is not a whole number"))
                }
                guard (low...high).contains(value) else {
                    return .failure(Failure(code: .outOfRange, reason: "\(value) is outside \(low)…\(high)"))
                }
                config[keyPath: path] = value
                return .success(())
            }, render: { String($0[keyPath: path]) })
    }

    static func seed(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, UInt64> & Sendable
    ) -> Key {
        Key(
            section: section, key: key, help: help,
            apply: { config, raw in
                guard let value = UInt64(raw) else {
                    return .failure(Failure(code: .wrongType, reason: "'\(raw)' is not a non-negative whole number"))
                }
                config[keyPath: path] = value
                return .success(())
            }, render: { String($0[keyPath: path]) })
    }

    /// A real number in `(low, high)` (`open`) or `[low, high]` (`closed`); `includeHigh` makes `(low, high]`.
    static func real(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, Double> & Sendable, open low: Double, _ high: Double,
        includeHigh: Bool = false
    ) -> Key {
        bounded(section, key, help, path, low: low, high: high, lowInclusive: false, highInclusive: includeHigh)
    }

    /// A real number in `[low, high)`.
    static func real(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, Double> & Sendable, _ low: Double, open high: Double
    ) -> Key {
        bounded(section, key, help, path, low: low, high: high, lowInclusive: true, highInclusive: false)
    }

    static func real(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, Double> & Sendable, closed low: Double, _ high: Double
    ) -> Key {
        bounded(section, key, help, path, low: low, high: high, lowInclusive: true, highInclusive: true)
    }

    static func bounded(
        _ section: String, _ key: String, _ help: String,
        _ path: any WritableKeyPath<SonarLabConfiguration, Double> & Sendable, low: Double, high: Double,
        lowInclusive: Bool, highInclusive: Bool
    ) -> Key {
        Key(
            section: section, key: key, help: help,
            apply: { config, raw in
                // Decimal notation only: Double("0x1p-7") and Double("1_0")-like spellings are not numbers a config
                // file should hold, and "inf"/"nan" are not finite.
                guard raw.wholeMatch(of: /[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/) != nil, let value = Double(raw),
                    value.isFinite
                else {
                    return .failure(Failure(code: .wrongType, reason: "'\(raw)' is not a finite decimal number"))
                }
                let aboveLow = lowInclusive ? value >= low : value > low
                let belowHigh = highInclusive ? value <= high : value < high
                guard aboveLow, belowHigh else {
                    let range = "\(lowInclusive ? "[" : "(")\(format(low)), \(format(high))\(highInclusive ? "]" : ")")"
                    return .failure(Failure(code: .outOfRange, reason: "\(format(value)) is outside \(range)"))
                }
                config[keyPath: path] = value
                return .success(())
            }, render: { format($0[keyPath: path]) })
    }

    /// Shortest text of a double that reads back as the same value (`0.25`, `10`).
    /// (Settings depends on nothing; Engine's `PlainNumber.shortest` writes the same text for the dashboard.)
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}
