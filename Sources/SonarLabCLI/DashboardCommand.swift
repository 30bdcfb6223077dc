import ArgumentParser
import Engine
import Foundation
import HBase
import Settings
import TUI
import Tracking

/// `sonarlab dashboard`: the ncurses dashboard — train and watch every epoch, browse, open and compare runs.
///
/// Registration (in `SonarLabCommand.configuration.subcommands`): add `DashboardCommand.self`. For
/// `sonarlab` with no subcommand, `RunCommand.run()` calls `DashboardCommand.open(context:global:)` when
/// `DashboardCommand.isInteractive` and goes on headless otherwise.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Open the dashboard: train with live curves, browse, open and compare experiments.",
        discussion: """
            Needs a terminal of at least 80×24 on stdin and stdout. Keys: t train, x cancel, 1-8 or Tab \
            screens, ↑↓/jk move, Enter open, / filter, s sort, c mark two runs for Compare, ? help, q quit.
            Themes are themes/NAME.ini next to the config file (default, dark, light, high-contrast, mono); \
            NO_COLOR or a terminal without colours gives mono.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var store: StoreOptions

    @Option(
        help: ArgumentHelp(
            "Theme: a file name in themes/ without .ini. [tui] theme, default default", valueName: "name"))
    var theme: String?

    @Option(
        help: ArgumentHelp(
            "A running `sonarlab serve` to follow on the Service screen (7). SONARLAB_SERVE_URL, default none",
            valueName: "url"))
    var service: String?

    /// Whether stdin and stdout are both terminals (the dashboard can open).
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    func run() async throws {
        var flags = training.flags.merging(store.flags) { $1 }
        if let theme { flags["tui.theme"] = FlagValue(flag: "--theme", value: theme) }
        let context = try CommandContext(global: global, flags: flags)
        try Self.checkTheme(context: context, global: global)
        guard Self.isInteractive else {
            throw CommandFailure.badInput(
                "the dashboard needs a terminal on stdin and stdout; use `sonarlab train` headless")
        }
        if let reason = Dashboard.unsupportedTerminalReason(term: context.environment["TERM"]) {
            throw CommandFailure.badInput(
                "\(reason): the dashboard cannot draw here; set TERM (e.g. xterm-256color) or use `sonarlab train`")
        }
        try await Self.open(context: context, global: global, service: service)
    }

    /// The model service to follow: `--service`, else `SONARLAB_SERVE_URL`, else none.
    /// - Throws: ``CommandFailure/badInput(_:)`` naming the flag or variable for a value that is not an http(s) URL.
    static func serviceURL(flag: String?, environment: [String: String]) throws -> URL? {
        let fromEnvironment = environment["SONARLAB_SERVE_URL"].map { ($0, "environment SONARLAB_SERVE_URL") }
        let (raw, place) = flag.map { ($0, "--service") } ?? fromEnvironment ?? ("", "")
        guard !raw.isEmpty else { return nil }
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw CommandFailure.badInput(
                "\(place) '\(TerminalText.escape(raw))': not a service URL; expected http(s)://host:port")
        }
        return url
    }

    /// Opens the dashboard with the resolved configuration until the user quits.
    /// - Parameters:
    ///   - context: the resolved configuration, environment and logger.
    ///   - global: the global options (the config file locates `themes/`).
    ///   - runName: the name the Train form starts with; empty records runs as `sonar`.
    ///   - service: `--service URL`, the model service for the Service screen (else `SONARLAB_SERVE_URL`).
    /// - Throws: ``CommandFailure`` (exit 2) when the store cannot be opened or the theme cannot be loaded;
    ///   `TUIError` when the terminal cannot be used; `ExitCode` 130 when the user left with Ctrl-C or a signal
    ///   (SIGINT, SIGTERM, SIGHUP) rather than `q`.
    static func open(
        context: CommandContext, global: GlobalOptions, runName: String = "", service: String? = nil
    ) async throws {
        let serviceURL = try serviceURL(flag: service, environment: context.environment)
        let store = try context.openStore()
        let config = context.configuration
        let base = context.trainingConfiguration
        let baseParameters = context.runParameters
        let header = context.headerPolicy
        // The Tests screen's `r`: what `sonarlab test` does with its defaults (the latest model, tests/functional).
        let runScenarios: TrackingDashboardServices.ScenarioRunner = { onStart, onResult in
            try await TestCommand.runScenarios(
                context: context, store: store, model: nil, scenarios: TestCommand.defaultScenarios,
                onStart: { onStart($0.path, $1) }, onScenario: onResult)
        }
        var services = TrackingDashboardServices(
            store: store, staleness: context.staleness, scenarioRunner: runScenarios
        ) { form in
            let name = form.name.isEmpty ? "sonar" : form.name
            try validateRunName(name)
            let data = try SonarData.load(path: config.data.path, header: header)
            return TrainingRequest(
                name: name, data: data, dataPath: config.data.path, testSize: config.split.testSize,
                splitSeed: config.split.seed, configuration: form.applied(to: base),
                parameters: form.applied(to: baseParameters), experimentsRoot: config.tracking.experimentsDirectory,
                epochBatch: config.hbase.epochBatch, heartbeatInterval: context.staleness.heartbeatInterval)
        }
        let themes = try checkTheme(context: context, global: global)
        var options = DashboardOptions(
            themeName: config.tui.theme, themesDirectory: themes,
            refreshRate: config.tui.refreshRate, isColorDisabled: !(context.environment["NO_COLOR"] ?? "").isEmpty,
            parameters: Hyperparameters(base, name: runName))
        options.serviceURL = serviceURL
        // The Service screen's latest predictions: Tracking's prediction reads, from HBase with the HBase backend.
        var predictionClient: HBaseClient? = nil
        if serviceURL != nil, config.tracking.backend == .hbase {
            let client = try context.makeHBaseClient()
            predictionClient = client
            let layout = context.hbaseLayout
            services.predictionReader = { modelID in
                try await HBasePredictionStore(client: client, layout: layout).predictions(modelID: modelID)
            }
        }
        let exit: DashboardExit
        do {
            exit = try await Dashboard.run(options: options, services: services)
        } catch {
            try? await predictionClient?.shutdown()
            throw error
        }
        try? await predictionClient?.shutdown()
        if exit == .interrupted {
            throw ExitCode(ExitCodes.cancelled)
        }
    }

    /// Loads the configured theme once, so a missing or broken theme is a configuration error (exit 2) found
    /// before the screen opens, rather than a fallback the user may not notice.
    /// - Parameters:
    ///   - context: the resolved configuration (`[tui] theme`, `--theme`).
    ///   - global: the global options (the config file locates `themes/`).
    /// - Returns: the themes directory in use, if any.
    /// - Throws: ``CommandFailure/badInput(_:)`` naming the theme and, for a broken file, its file and line.
    @discardableResult
    static func checkTheme(context: CommandContext, global: GlobalOptions) throws -> String? {
        let themes = themesDirectory(configFile: global.configFile)
        let name = context.configuration.tui.theme
        do {
            _ = try ThemeLoader(directory: themes).load(name: name)
        } catch let error as TUIError {
            // Named like other configuration errors: `config.ini:7: [tui] theme`, `flag --theme`, `environment …`.
            let place: String
            switch context.resolved.sources["tui.theme"] ?? .builtIn {
            case .file(let file, let line): place = "\(file):\(line): [tui] theme"
            case let source: place = "\(source) ([tui] theme)"
            }
            throw CommandFailure.badInput("\(place): theme '\(name)' cannot be used: \(error.message)")
        }
        return themes
    }

    /// `themes/` next to the config file, else in the working directory, else none (built-in themes only).
    static func themesDirectory(configFile: String) -> String? {
        let nextToConfig = ((configFile as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
            "themes")
        for candidate in [nextToConfig, "themes"] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
        }
        return nil
    }
}
