public import Engine
public import Foundation
public import Tracking

/// Something that happened: a key, a resize, a clock tick, or the result of an `Effect`.
public enum Event: Sendable {
    /// A key press.
    case key(Key)
    /// The terminal changed size.
    case resize(Size)
    /// The clock moved on (drives elapsed time and ETA).
    case tick(Date)
    /// A run started and is recorded in `recordedIn` under `id`.
    case runStarted(id: String, name: String, plannedEpochs: Int, recordedIn: String, at: Date)
    /// A run finished an epoch.
    case epoch(EpochMetrics, at: Date)
    /// A run ended (finished, cancelled or failed) with its record.
    case runEnded(ExperimentSnapshot, at: Date)
    /// A run could not start or broke before it had a record.
    case runFailed(String, at: Date)
    /// The store's experiments were listed.
    case historyLoaded([ExperimentSnapshot], store: String)
    /// The store could not be listed (unreachable, broken).
    case historyFailed(String, store: String)
    /// One experiment was loaded in full.
    case experimentLoaded(ExperimentSnapshot)
    /// One experiment could not be loaded.
    case experimentFailed(id: String, message: String)
    /// The functional scenarios' last results (empty: none yet).
    case testResultsLoaded([ScenarioResult])
    /// A run of the functional scenarios started against `model` (its path) with `count` scenarios.
    case scenariosStarted(model: String, count: Int)
    /// One scenario of the current run finished.
    case scenarioFinished(ScenarioResult)
    /// The run of the functional scenarios ended with these results (also recorded in the store).
    case scenariosEnded([ScenarioResult])
    /// The functional scenarios could not be run (no model, no scenario, a broken file).
    case scenariosFailed(String)
    /// The store's queued writes changed: a line such as "HBase unreachable — 12 writes queued", or `nil`
    /// once everything was delivered.
    case storeQueue(String?)
    /// SIGINT, SIGTERM or SIGHUP: leave now.
    case interrupt
    /// A poll of the followed model service ended (reachable or not).
    case serviceStatus(ServiceStatus)
    /// The latest predictions of the service's model were read from the store (or could not be: `error`).
    case servicePredictions([PredictionRecord], error: String?)
}

/// Work the runtime must do; plain data, so the state machine is tested without I/O.
public enum Effect: Equatable, Sendable {
    /// Start a training run with these hyper-parameters.
    case startRun(Hyperparameters)
    /// Cancel the current run (it stops between epochs).
    case cancelRun
    /// List the store's experiments.
    case loadHistory
    /// Load one experiment in full (epochs, confusion matrix).
    case loadExperiment(id: String)
    /// Load the functional scenarios' last results.
    case loadTestResults
    /// Run the functional scenarios against the current model, reporting each result as it comes.
    case runScenarios
    /// Restore the terminal and leave.
    case quit
    /// Poll the followed model service (`GET /v2`, `/metrics`, `/v2/models/{name}`); `previous` gives the rates.
    case pollService(previous: ServiceStatus?)
    /// Read the latest predictions of model `modelID` from the store.
    case loadPredictions(modelID: String)
    /// Train the final model of sweep trial `id` with `parameters` (the form's values with the sweep's base and
    /// the trial's overlay put in, and the run's name).
    case trainTrial(id: String, parameters: Hyperparameters)
}

/// A line for the status bar.
struct StatusMessage: Equatable, Sendable {
    var text: String
    var role: ThemeRole
}

/// A run of the functional scenarios started from the Tests screen.
struct ScenarioRun: Equatable, Sendable {
    /// The model's path, once the run has started.
    var model: String?
    /// How many scenarios the run has, once it has started.
    var total: Int?
    /// The results so far, in the order the scenarios ran.
    var results: [ScenarioResult] = []
    var isRunning = true
    /// Why the run could not go, if it could not.
    var failure: String?
}

/// The run the Train screen follows.
struct LiveRun: Equatable, Sendable {
    var id: String?
    var name: String
    var plannedEpochs: Int
    var startedAt: Date
    var recordedIn: String
    var epochs: [EpochMetrics] = []
    var lastEpochAt: Date?
    var state: RunState = .running
    var endedAt: Date?
    var isCancelling = false
    var failure: String?
    var record: ExperimentSnapshot?

    /// Epochs per second so far (nil before the first epoch).
    var epochsPerSecond: Double? {
        guard let lastEpochAt, !epochs.isEmpty else { return nil }
        let t = lastEpochAt.timeIntervalSince(startedAt)
        return t > 0 ? Double(epochs.count) / t : nil
    }

    /// Seconds left at the current pace (nil when unknown, 0 when ended).
    var secondsRemaining: Double? {
        if state != .running { return 0 }
        guard let rate = epochsPerSecond, rate > 0 else { return nil }
        return Double(max(0, plannedEpochs - epochs.count)) / rate
    }
}

/// The hyper-parameter form's fields, in display order.
enum FormField: Int, CaseIterable, Sendable {
    case hiddenSize, learningRate, epochs, batchSize, weightDecay, seed, name, optimizer, dropout, inputNoise, ensemble

    var label: String {
        switch self {
        case .hiddenSize: "hidden size"
        case .learningRate: "learning rate"
        case .epochs: "epochs"
        case .batchSize: "batch size"
        case .weightDecay: "weight decay"
        case .seed: "seed"
        case .name: "name"
        case .optimizer: "optimizer"
        case .dropout: "dropout"
        case .inputNoise: "input noise"
        case .ensemble: "ensemble"
        }
    }

    func text(of p: Hyperparameters) -> String {
        switch self {
        case .hiddenSize: "\(p.hiddenSize)"
        case .learningRate: "\(p.learningRate)"
        case .epochs: "\(p.epochs)"
        case .batchSize: p.batchSize.map { "\($0)" } ?? "full"
        case .weightDecay: "\(p.weightDecay)"
        case .seed: "\(p.seed)"
        case .name: p.name.isEmpty ? "(automatic)" : p.name
        case .optimizer: p.optimizer.rawValue
        case .dropout: PlainNumber.shortest(p.dropout)
        case .inputNoise: PlainNumber.shortest(p.inputNoise)
        case .ensemble: "\(p.ensemble)"
        }
    }

    /// Applies `text` to `p`, or returns why it is not valid.
    func apply(_ text: String, to p: inout Hyperparameters) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch self {
        case .hiddenSize:
            guard let v = Int(t), (1...4096).contains(v) else { return "hidden size: a whole number 1–4096" }
            p.hiddenSize = v
        case .learningRate:
            guard let v = Double(t), v > 0, v <= 10 else { return "learning rate: a number in (0, 10]" }
            p.learningRate = v
        case .epochs:
            guard let v = Int(t), (1...100_000).contains(v) else { return "epochs: a whole number 1–100000" }
            p.epochs = v
        case .batchSize:
            if t.isEmpty || t.lowercased() == "full" { p.batchSize = nil; return nil }
            guard let v = Int(t), v >= 1 else { return "batch size: a whole number ≥ 1, or 'full'" }
            p.batchSize = v
        case .weightDecay:
            guard let v = Double(t), v >= 0, v.isFinite else { return "weight decay: a number ≥ 0" }
            p.weightDecay = v
        case .seed:
            guard let v = UInt64(t) else { return "seed: a whole number ≥ 0" }
            p.seed = v
        case .name:
            let allowed = t.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            guard t.count <= 64, allowed || t == "(automatic)" else { return "name: up to 64 of A-Z a-z 0-9 . _ -" }
            p.name = t == "(automatic)" ? "" : t
        case .optimizer:
            guard let v = Optimizer(rawValue: t.lowercased()) else { return "optimizer: adam or adamw" }
            p.optimizer = v
        case .dropout:
            guard let v = Double(t), v >= 0, v < 1 else { return "dropout: a number 0 ≤ p < 1" }
            p.dropout = v
        case .inputNoise:
            guard let v = Double(t), v >= 0, v <= 10 else { return "input noise: a number 0–10" }
            p.inputNoise = v
        case .ensemble:
            guard let v = Int(t), (1...100).contains(v) else { return "ensemble: a whole number 1–100" }
            p.ensemble = v
        }
        return nil
    }
}

/// The History table's columns.
enum HistoryColumn: Int, CaseIterable, Sendable {
    case id, name, status, started, epochs, accuracy, macroF1, loss, hidden, learningRate

    var title: String {
        switch self {
        case .id: "ID"
        case .name: "Name"
        case .status: "Status"
        case .started: "Started (UTC)"
        case .epochs: "Epochs"
        case .accuracy: "Val acc"
        case .macroF1: "Val F1"
        case .loss: "Val loss"
        case .hidden: "Hidden"
        case .learningRate: "LR"
        }
    }

    var width: Int {
        switch self {
        case .id: 22
        case .name: 18
        case .status: 9
        case .started: 16
        case .epochs: 6
        case .accuracy, .macroF1, .loss: 8
        case .hidden: 6
        case .learningRate: 7
        }
    }

    var alignment: ColumnAlignment {
        switch self {
        case .id, .name, .status, .started: .left
        default: .right
        }
    }

    /// Columns dropped first when the terminal is narrow come last here.
    static let priority: [HistoryColumn] = [
        .id, .name, .status, .accuracy, .macroF1, .started, .loss, .epochs, .hidden, .learningRate,
    ]

    /// The columns that fit in `width`, in table order.
    static func fitting(_ width: Int) -> [HistoryColumn] {
        var chosen: Set<Int> = []
        var used = 0
        for c in priority where used + c.width + 1 <= width {
            chosen.insert(c.rawValue)
            used += c.width + 1
        }
        return allCases.filter { chosen.contains($0.rawValue) }
    }

    func text(_ run: ExperimentSnapshot) -> String {
        switch self {
        case .id: run.id
        case .name: run.name
        case .status: run.state.rawValue
        case .started: formatDate(run.startedAt)
        case .epochs:
            run.epochs.isEmpty ? (run.plannedEpochs > 0 ? "\(run.plannedEpochs)" : "–") : "\(run.epochs.count)"
        case .accuracy: formatMetric(run.validation?.accuracy)
        case .macroF1: formatMetric(run.validation?.macroF1)
        case .loss: formatMetric(run.validation?.loss)
        case .hidden: run.parameter("mlp.hidden_size") ?? "–"
        case .learningRate: run.parameter("mlp.lr") ?? "–"
        }
    }

    /// Whether `a` sorts before `b` in ascending order (ties broken by start time, then id).
    func ascending(_ a: ExperimentSnapshot, _ b: ExperimentSnapshot) -> Bool {
        func numeric(_ x: ExperimentSnapshot) -> Double {
            switch self {
            case .epochs: Double(x.epochs.isEmpty ? x.plannedEpochs : x.epochs.count)
            case .accuracy: x.validation?.accuracy ?? -.infinity
            case .macroF1: x.validation?.macroF1 ?? -.infinity
            case .loss: x.validation?.loss ?? -.infinity
            case .hidden: Double(x.parameter("mlp.hidden_size") ?? "") ?? -.infinity
            case .learningRate: Double(x.parameter("mlp.lr") ?? "") ?? -.infinity
            default: 0
            }
        }
        switch self {
        case .id: if a.id != b.id { return a.id < b.id }
        case .name: if a.name != b.name { return a.name.localizedStandardCompare(b.name) == .orderedAscending }
        case .status: if a.state != b.state { return a.state.rawValue < b.state.rawValue }
        case .started: break
        default:
            let (x, y) = (numeric(a), numeric(b))
            if x != y { return x < y }
        }
        if a.startedAt != b.startedAt { return a.startedAt < b.startedAt }
        return a.id < b.id
    }
}

/// The History screen's state.
struct HistoryState: Equatable, Sendable {
    var runs: [ExperimentSnapshot] = [] { didSet { refreshVisibleRuns() } }
    var hasLoaded = false
    var isLoading = false
    var loadError: String?
    var sortColumn: HistoryColumn = .started { didSet { refreshVisibleRuns() } }
    var isAscending = false { didSet { refreshVisibleRuns() } }
    var filter = "" { didSet { refreshVisibleRuns() } }
    /// The filter being typed, while `/` input is open.
    var filterDraft: String? { didSet { refreshVisibleRuns() } }
    var viewport = ListViewport()
    /// Ids marked for compare, oldest first (at most two).
    var marked: [String] = []
    /// The runs shown: filtered by the filter (id, name, status; case-insensitive), then sorted.
    ///
    /// Kept up to date when the runs, the sort or the filter change, so a frame never re-sorts.
    private(set) var visibleRuns: [ExperimentSnapshot] = []

    private mutating func refreshVisibleRuns() {
        let needle = (filterDraft ?? filter).lowercased()
        let filtered =
            needle.isEmpty
            ? runs
            : runs.filter {
                $0.id.lowercased().contains(needle) || $0.name.lowercased().contains(needle)
                    || $0.state.rawValue.contains(needle)
            }
        let column = sortColumn
        let ascending = isAscending
        visibleRuns = filtered.sorted { ascending ? column.ascending($0, $1) : column.ascending($1, $0) }
    }
}

/// The Sweep screen's state: which sweep, its trials (listed as History lists runs), the scatter's parameter.
struct SweepScreenState: Equatable, Sendable {
    /// The sweep shown; `nil`: the newest sweep in the store.
    var sweepID: String?
    /// The sweep's trials, filtered and sorted by History's code (trial number first).
    var trials: HistoryState = {
        var list = HistoryState()
        list.sortColumn = .id
        list.isAscending = true
        return list
    }()
    /// The swept parameter the scatter shows, an index into ``AppState/sweptParameters``.
    var parameterIndex = 0
    /// When the store was last read for a running sweep.
    var lastPollAt: Date?
    /// Why the trials cannot be shown (store unreadable), if they cannot.
    var error: String?

    /// How often a running sweep's trials are read again, in seconds.
    static let pollInterval: Double = 1

    /// The columns `s` steps through on the Sweep screen.
    static let sortColumns: [HistoryColumn] = [.id, .accuracy, .status, .started]
}

/// A run loaded for Detail or Compare.
struct LoadedRun: Equatable, Sendable {
    var id: String
    var snapshot: ExperimentSnapshot?
    var error: String?
}

/// Everything the dashboard shows; changed only by `handle(_:)`.
public struct AppState: Equatable, Sendable {
    var size: Size
    var theme: Theme
    var screen: Screen = .train
    var previousScreens: [Screen] = []
    var now: Date
    var message: StatusMessage?
    var isQuitting = false
    /// Whether the quit came from Ctrl-C or a signal (SIGINT, SIGTERM, SIGHUP) rather than `q`.
    var wasInterrupted = false
    /// The store in use, such as "local SQLite .sonarlab/experiments.sqlite".
    var store: String
    /// Whether the store answered the last listing (nil: not asked yet).
    var isStoreReachable: Bool?
    /// Writes the store queued because it is unreachable (HBase outbox), for the status line; nil: none.
    var storeQueue: String?
    var parameters: Hyperparameters
    var focusedField: FormField = .hiddenSize
    /// The text being typed into the focused field, while editing.
    var fieldDraft: String?
    /// Whether the whole draft is selected (as on entering a field): the next character replaces it, Backspace
    /// clears it; any other editing key keeps the text and drops the selection.
    var isDraftSelected = false
    var run: LiveRun?
    var history = HistoryState()
    var detail: LoadedRun?
    var testResults: [ScenarioResult]?
    /// The run of the functional scenarios started from the Tests screen (`r`), while it goes and after it.
    var scenarioRun: ScenarioRun?
    /// The model service the Service screen follows (`SONARLAB_SERVE_URL`, `--service`); `nil`: none.
    var service: ServiceState?
    /// The Sweep screen.
    var sweep = SweepScreenState()

    /// Creates the state the dashboard opens with.
    /// - Parameters:
    ///   - size: the terminal's size.
    ///   - theme: the theme to draw with.
    ///   - parameters: the hyper-parameters from the configuration, shown in the Train form.
    ///   - store: a description of the store in use.
    ///   - now: the current time.
    ///   - message: a first status line (e.g. a theme warning).
    ///   - serviceURL: the model service the Service screen follows; `nil` for none.
    public init(
        size: Size, theme: Theme, parameters: Hyperparameters, store: String, now: Date, message: String? = nil,
        serviceURL: String? = nil
    ) {
        self.service = serviceURL.map { ServiceState(url: $0) }
        self.size = size
        self.theme = theme
        self.parameters = parameters
        self.store = store
        self.now = now
        if let message { self.message = StatusMessage(text: message, role: .warning) }
    }

    /// The effects to run when the dashboard opens: list the history and the test results.
    public mutating func start() -> [Effect] {
        history.isLoading = true
        return [.loadHistory, .loadTestResults]
    }

    /// Whether the dashboard has asked to quit.
    public var shouldQuit: Bool { isQuitting }

    /// How the dashboard is leaving: `.interrupted` after Ctrl-C or a signal, `.quit` otherwise.
    public var exitReason: DashboardExit { wasInterrupted ? .interrupted : .quit }

    /// Whether the terminal is below 80×24 (only "terminal too small" is drawn).
    var isTooSmall: Bool { size.width < Size.minimum.width || size.height < Size.minimum.height }

    /// Whether a run is training now.
    var isRunning: Bool { run?.state == .running }

    /// The sweep the Sweep screen shows: the chosen one, else the newest in the store.
    var shownSweep: ExperimentSnapshot? {
        if let id = sweep.sweepID { return history.runs.first { $0.id == id } }
        return history.runs.filter { $0.kind == .sweep }.max { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }

    /// The shown sweep's swept `[mlp]` keys (`mlp.hidden_size`, …) in the recorded order, fixed values left out;
    /// without the sweep's record, the keys its trials vary.
    var sweptParameters: [String] {
        if let sweep = shownSweep {
            let keys = sweep.parameters.filter { $0.key.hasPrefix("sweep.space.") }.sorted { $0.key < $1.key }
                .filter { $0.value.contains(",") || $0.value.contains("..") }
                .map { String($0.key.dropFirst("sweep.space.00.".count)) }
            if !keys.isEmpty { return keys }
        }
        let trials = sweep.trials.runs
        let keys = Set(trials.flatMap { $0.parameters.map(\.key) }).filter { $0.hasPrefix("mlp.") }
        return keys.filter { k in Set(trials.map { $0.parameter(k) }).count > 1 }.sorted()
    }

    /// The swept parameter the scatter shows.
    var scatterParameter: String? {
        let keys = sweptParameters
        return keys.isEmpty ? nil : keys[min(max(0, sweep.parameterIndex), keys.count - 1)]
    }

    /// The trial selected on the Sweep screen, if any.
    var selectedTrial: ExperimentSnapshot? {
        let visible = sweep.trials.visibleRuns
        return visible.indices.contains(sweep.trials.viewport.selected) ? visible[sweep.trials.viewport.selected] : nil
    }

    /// Lists the shown sweep's trials from the store's experiments, keeping the selected trial.
    private mutating func refreshSweepTrials() {
        let selectedID = selectedTrial?.id
        let id = shownSweep?.id ?? sweep.sweepID
        sweep.trials.runs = id.map { id in history.runs.filter { $0.trial?.sweepID == id } } ?? []
        sweep.trials.hasLoaded = history.hasLoaded
        let visible = sweep.trials.visibleRuns
        if let selectedID, let i = visible.firstIndex(where: { $0.id == selectedID }) {
            sweep.trials.viewport.selected = i
        }
        sweep.trials.viewport.scroll(count: visible.count, visibleRows: historyVisibleRows)
    }

    /// Rows of the History table that show runs at the current size.
    var historyVisibleRows: Int { max(1, size.height - 2 - 1 - 2 - 1) }

    /// Applies one event and returns the effects it asks for.
    /// - Parameter event: what happened.
    /// - Returns: work for the runtime, in order.
    public mutating func handle(_ event: Event) -> [Effect] {
        switch event {
        case .key(let key): return handleKey(key)
        case .resize(let newSize):
            size = newSize
            history.viewport.scroll(count: history.visibleRuns.count, visibleRows: historyVisibleRows)
            sweep.trials.viewport.scroll(count: sweep.trials.visibleRuns.count, visibleRows: historyVisibleRows)
            return []
        case .tick(let date):
            now = date
            var effects: [Effect] = []
            // A running sweep's trials are read again every second while its screen is open.
            if screen == .sweep, !history.isLoading, let shown = shownSweep, shown.state == .running,
                sweep.lastPollAt.map({ date.timeIntervalSince($0) >= SweepScreenState.pollInterval }) ?? true
            {
                sweep.lastPollAt = date
                history.isLoading = true
                effects.append(.loadHistory)
            }
            guard var service, !service.isPolling,
                service.lastPollAt.map({ date.timeIntervalSince($0) >= ServiceState.pollInterval }) ?? true
            else { return effects }
            service.isPolling = true
            service.lastPollAt = date
            self.service = service
            return effects + [.pollService(previous: service.status)]
        case .serviceStatus(let status):
            guard service != nil else { return [] }
            service?.status = status
            service?.isPolling = false
            if let version = status.modelVersion, !version.isEmpty { return [.loadPredictions(modelID: version)] }
            return []
        case .servicePredictions(let records, let error):
            service?.predictions = records
            service?.predictionsError = error
            return []
        case .interrupt:
            return quit(interrupted: true)
        case .storeQueue(let note):
            storeQueue = note
            return []
        case .runStarted(let id, let name, let planned, let recordedIn, let at):
            if run == nil || run?.state == .running {
                var r = run ?? LiveRun(name: name, plannedEpochs: planned, startedAt: at, recordedIn: recordedIn)
                r.id = id
                r.name = name
                r.plannedEpochs = planned
                r.recordedIn = recordedIn
                r.startedAt = at
                run = r
            }
            now = max(now, at)
            return []
        case .epoch(let point, let at):
            guard run?.state == .running else { return [] }
            // Mutate in place: a copy of the run would copy all its epochs on every epoch.
            run?.epochs.append(point)
            run?.lastEpochAt = at
            now = max(now, at)
            return []
        case .runEnded(let record, let at):
            guard var r = run else { return [] }
            r.state = record.state
            r.endedAt = at
            r.record = record
            r.failure = record.failure
            r.id = record.id
            if r.epochs.isEmpty { r.epochs = record.epochs }
            run = r
            now = max(now, at)
            switch record.state {
            case .finished:
                if case .refused = record.recording {
                    message = StatusMessage(
                        text: "run \(record.name) finished but was not recorded in \(r.recordedIn) (see the Run panel)",
                        role: .warning)
                } else {
                    message = StatusMessage(
                        text:
                            "run \(record.name) finished: validation accuracy \(formatMetric(record.validation?.accuracy)), macro-F1 \(formatMetric(record.validation?.macroF1))",
                        role: .good)
                }
            case .cancelled:
                message = StatusMessage(
                    text: "run \(record.name) cancelled after \(r.epochs.count) epochs", role: .warning)
            case .failed:
                message = StatusMessage(
                    text: "run \(record.name) failed: \(record.failure ?? "unknown error")", role: .bad)
            case .running, .stale: break
            }
            history.isLoading = true
            return [.loadHistory]
        case .runFailed(let reason, let at):
            if var r = run {
                r.state = .failed
                r.failure = reason
                r.endedAt = at
                run = r
            }
            message = StatusMessage(text: "run failed: \(reason)", role: .bad)
            history.isLoading = true
            return [.loadHistory]
        case .historyLoaded(let runs, let storeName):
            let selectedID =
                history.visibleRuns.indices.contains(history.viewport.selected)
                ? history.visibleRuns[history.viewport.selected].id : nil
            history.runs = runs
            history.hasLoaded = true
            history.isLoading = false
            history.loadError = nil
            store = storeName
            isStoreReachable = true
            let visible = history.visibleRuns
            if let selectedID, let i = visible.firstIndex(where: { $0.id == selectedID }) {
                history.viewport.selected = i
            }
            history.viewport.scroll(count: visible.count, visibleRows: historyVisibleRows)
            history.marked.removeAll { id in !runs.contains { $0.id == id } }
            sweep.error = nil
            refreshSweepTrials()
            return []
        case .historyFailed(let reason, let storeName):
            history.isLoading = false
            history.hasLoaded = true
            history.loadError = reason
            store = storeName
            isStoreReachable = false
            message = StatusMessage(text: "store unreachable: \(reason)", role: .bad)
            if screen == .sweep {
                let error = TUIError.sweepUnreadable(reason).message
                sweep.error = error
                message = StatusMessage(text: error, role: .bad)
            }
            return []
        case .experimentLoaded(let snapshot):
            if detail?.id == snapshot.id { detail = LoadedRun(id: snapshot.id, snapshot: snapshot) }
            loadedForCompare[snapshot.id] = snapshot
            if let i = history.runs.firstIndex(where: { $0.id == snapshot.id }) { history.runs[i] = snapshot }
            return []
        case .experimentFailed(let id, let reason):
            if detail?.id == id { detail = LoadedRun(id: id, error: reason) }
            message = StatusMessage(text: "could not load run \(id): \(reason)", role: .bad)
            return []
        case .testResultsLoaded(let results):
            testResults = results
            return []
        case .scenariosStarted(let model, let count):
            scenarioRun?.model = model
            scenarioRun?.total = count
            return []
        case .scenarioFinished(let result):
            scenarioRun?.results.append(result)
            return []
        case .scenariosEnded(let results):
            scenarioRun?.isRunning = false
            testResults = results.sorted { $0.name < $1.name }
            let passed = results.filter(\.passed).count
            message = StatusMessage(
                text: "functional scenarios: \(passed) of \(results.count) passed",
                role: passed == results.count ? .good : .bad)
            return []
        case .scenariosFailed(let reason):
            scenarioRun?.isRunning = false
            scenarioRun?.failure = reason
            message = StatusMessage(text: "could not run the functional scenarios: \(reason)", role: .bad)
            return []
        }
    }

    /// Full experiments loaded for Compare, by id.
    var loadedForCompare: [String: ExperimentSnapshot] = [:]

    private mutating func quit(interrupted: Bool = false) -> [Effect] {
        isQuitting = true
        wasInterrupted = wasInterrupted || interrupted
        return isRunning ? [.cancelRun, .quit] : [.quit]
    }

    private mutating func go(to target: Screen) -> [Effect] {
        guard target != screen else { return [] }
        previousScreens.append(screen)
        if previousScreens.count > 32 { previousScreens.removeFirst() }
        screen = target
        return effectsOnEntering(target)
    }

    private mutating func effectsOnEntering(_ target: Screen) -> [Effect] {
        switch target {
        case .detail:
            if detail == nil, let run = selectedRun {
                detail = LoadedRun(id: run.id, snapshot: nil)
                return [.loadExperiment(id: run.id)]
            }
        case .compare:
            return history.marked.filter { loadedForCompare[$0] == nil }.map { .loadExperiment(id: $0) }
        case .tests:
            if testResults == nil { return [.loadTestResults] }
        case .sweep:
            refreshSweepTrials()
            if history.hasLoaded, history.loadError == nil, shownSweep == nil {
                message = StatusMessage(
                    text: sweep.sweepID.map { "no sweep \($0) in \(store)" } ?? TUIError.noSweep(in: store).message,
                    role: .bad)
            }
        default: break
        }
        return []
    }

    /// The run selected in History, if any.
    var selectedRun: ExperimentSnapshot? {
        let visible = history.visibleRuns
        return visible.indices.contains(history.viewport.selected) ? visible[history.viewport.selected] : nil
    }

    private mutating func handleKey(_ key: Key) -> [Effect] {
        if key == .interrupt { return quit(interrupted: true) }
        // Text input (filter, form field) takes every key until Enter or Esc.
        if history.filterDraft != nil || sweep.trials.filterDraft != nil { return handleFilterInput(key) }
        if fieldDraft != nil { return handleFieldInput(key) }
        if isTooSmall {
            if key == .character("q") { return quit() }
            return []
        }
        guard let command = KeyMap.command(for: key, on: screen) else { return [] }
        message = nil
        switch command {
        case .quit: return quit()
        case .help: return go(to: .help)
        case .goTo(let target): return go(to: target)
        case .nextScreen, .previousScreen:
            // Tab order is the tabs shown: Service only while a service is followed.
            let tabs = Screen.allCases.filter { $0 != .service || service != nil }
            let i = tabs.firstIndex(of: screen) ?? 0
            return go(to: tabs[(i + (command == .nextScreen ? 1 : tabs.count - 1)) % tabs.count])
        case .back:
            if let previous = previousScreens.popLast() {
                screen = previous
                return effectsOnEntering(previous)
            }
            return []
        case .train:
            if isRunning {
                message = StatusMessage(text: "a run is in progress (x cancels it)", role: .warning)
                return []
            }
            screen = .train
            run = LiveRun(
                name: parameters.name.isEmpty ? "(starting)" : parameters.name, plannedEpochs: parameters.epochs,
                startedAt: now, recordedIn: store)
            return [.startRun(parameters)]
        case .cancelRun:
            guard var r = run, r.state == .running else {
                message = StatusMessage(text: "no run in progress", role: .muted)
                return []
            }
            r.isCancelling = true
            run = r
            message = StatusMessage(text: "cancelling after the current epoch…", role: .warning)
            return [.cancelRun]
        default:
            return handleScreenCommand(command)
        }
    }

    private mutating func handleScreenCommand(_ command: Command) -> [Effect] {
        switch screen {
        case .train:
            switch command {
            case .moveUp: focusedField = FormField(rawValue: max(0, focusedField.rawValue - 1)) ?? focusedField
            case .moveDown:
                focusedField =
                    FormField(rawValue: min(FormField.allCases.count - 1, focusedField.rawValue + 1)) ?? focusedField
            case .top: focusedField = .hiddenSize
            case .bottom: focusedField = .name
            case .open, .edit:
                if isRunning {
                    message = StatusMessage(text: "parameters can be edited when no run is in progress", role: .warning)
                } else {
                    fieldDraft = focusedField == .name ? parameters.name : focusedField.text(of: parameters)
                    isDraftSelected = !(fieldDraft ?? "").isEmpty
                }
            default: break
            }
            return []
        case .history:
            let count = history.visibleRuns.count
            let rows = historyVisibleRows
            switch command {
            case .moveUp: history.viewport.move(by: -1, count: count, visibleRows: rows)
            case .moveDown: history.viewport.move(by: 1, count: count, visibleRows: rows)
            case .pageUp: history.viewport.move(by: -rows, count: count, visibleRows: rows)
            case .pageDown: history.viewport.move(by: rows, count: count, visibleRows: rows)
            case .top: history.viewport.move(by: -count, count: count, visibleRows: rows)
            case .bottom: history.viewport.move(by: count, count: count, visibleRows: rows)
            case .moveLeft, .moveRight:
                let columns = HistoryColumn.fitting(size.width - 4)
                let i = columns.firstIndex(of: history.sortColumn) ?? 0
                let next = (i + (command == .moveLeft ? columns.count - 1 : 1)) % max(1, columns.count)
                history.sortColumn = columns.isEmpty ? history.sortColumn : columns[next]
                history.viewport.scroll(count: count, visibleRows: rows)
            case .sort:
                let columns = HistoryColumn.fitting(size.width - 4)
                let i = columns.firstIndex(of: history.sortColumn) ?? -1
                history.sortColumn = columns.isEmpty ? history.sortColumn : columns[(i + 1) % columns.count]
                history.viewport.scroll(count: count, visibleRows: rows)
            case .reverseSort:
                history.isAscending.toggle()
            case .filter:
                history.filterDraft = history.filter
            case .refresh:
                history.isLoading = true
                return [.loadHistory]
            case .open:
                guard let run = selectedRun else { return [] }
                if run.kind == .sweep || run.trial != nil {
                    // A sweep, or one of its trials, opens the Sweep screen.
                    sweep.sweepID = run.trial?.sweepID ?? run.id
                    sweep.parameterIndex = 0
                    sweep.trials.viewport = ListViewport()
                    refreshSweepTrials()
                    if let i = sweep.trials.visibleRuns.firstIndex(where: { $0.id == run.id }) {
                        sweep.trials.viewport.selected = i
                        sweep.trials.viewport.scroll(
                            count: sweep.trials.visibleRuns.count, visibleRows: historyVisibleRows)
                    }
                    return go(to: .sweep)
                }
                detail = LoadedRun(id: run.id, snapshot: nil)
                _ = go(to: .detail)
                return [.loadExperiment(id: run.id)]
            case .mark:
                return toggleMark(selectedRun?.id)
            default: break
            }
            return []
        case .detail:
            switch command {
            case .mark: return toggleMark(detail?.id)
            case .moveLeft, .moveRight, .moveUp, .moveDown:
                // Step to the neighbouring run in History order.
                let visible = history.visibleRuns
                guard !visible.isEmpty else { return [] }
                let delta = (command == .moveLeft || command == .moveUp) ? -1 : 1
                history.viewport.move(by: delta, count: visible.count, visibleRows: historyVisibleRows)
                let run = visible[history.viewport.selected]
                guard run.id != detail?.id else { return [] }
                detail = LoadedRun(id: run.id, snapshot: nil)
                return [.loadExperiment(id: run.id)]
            default: return []
            }
        case .tests:
            guard command == .runScenarios else { return [] }
            guard scenarioRun?.isRunning != true else {
                message = StatusMessage(text: "the functional scenarios are already running", role: .warning)
                return []
            }
            scenarioRun = ScenarioRun()
            return [.runScenarios]
        case .sweep:
            return handleSweepCommand(command)
        case .compare, .help, .service:
            return []
        }
    }

    private mutating func handleSweepCommand(_ command: Command) -> [Effect] {
        let count = sweep.trials.visibleRuns.count
        let rows = historyVisibleRows
        switch command {
        case .moveUp: sweep.trials.viewport.move(by: -1, count: count, visibleRows: rows)
        case .moveDown: sweep.trials.viewport.move(by: 1, count: count, visibleRows: rows)
        case .pageUp: sweep.trials.viewport.move(by: -rows, count: count, visibleRows: rows)
        case .pageDown: sweep.trials.viewport.move(by: rows, count: count, visibleRows: rows)
        case .top: sweep.trials.viewport.move(by: -count, count: count, visibleRows: rows)
        case .bottom: sweep.trials.viewport.move(by: count, count: count, visibleRows: rows)
        case .moveLeft, .moveRight:
            let keys = sweptParameters.count
            guard keys > 0 else { return [] }
            let current = min(max(0, sweep.parameterIndex), keys - 1)
            sweep.parameterIndex = (current + (command == .moveLeft ? keys - 1 : 1)) % keys
        case .sort:
            let columns = SweepScreenState.sortColumns
            let i = columns.firstIndex(of: sweep.trials.sortColumn) ?? -1
            sweep.trials.sortColumn = columns[(i + 1) % columns.count]
            // The best trial first when sorting by accuracy; otherwise in trial order.
            sweep.trials.isAscending = sweep.trials.sortColumn != .accuracy
            sweep.trials.viewport.scroll(count: count, visibleRows: rows)
        case .reverseSort:
            sweep.trials.isAscending.toggle()
        case .filter:
            sweep.trials.filterDraft = sweep.trials.filter
        case .refresh:
            history.isLoading = true
            return [.loadHistory]
        case .open:
            return trainSelectedTrial()
        default: break
        }
        return []
    }

    /// Enter on a trial: train its final model (the sweep's base values, then the trial's overlay, over the
    /// form's) and follow it on the Train screen, as `t` does.
    private mutating func trainSelectedTrial() -> [Effect] {
        guard let trial = selectedTrial else { return [] }
        if isRunning {
            message = StatusMessage(text: "a run is in progress (x cancels it)", role: .warning)
            return []
        }
        var values = [String: String]()
        for p in shownSweep?.parameters ?? [] where p.key.hasPrefix("mlp.") { values[p.key] = p.value }
        for p in trial.parameters where p.key.hasPrefix("mlp.") { values[p.key] = p.value }
        var chosen = parameters.overlaid(with: values)
        chosen.name = parameters.name.isEmpty ? trial.id : parameters.name
        _ = go(to: .train)
        run = LiveRun(name: chosen.name, plannedEpochs: chosen.epochs, startedAt: now, recordedIn: store)
        return [.trainTrial(id: trial.id, parameters: chosen)]
    }

    private mutating func toggleMark(_ id: String?) -> [Effect] {
        guard let id else { return [] }
        if let i = history.marked.firstIndex(of: id) {
            history.marked.remove(at: i)
            message = StatusMessage(text: "unmarked \(id) (\(history.marked.count)/2 marked)", role: .muted)
            return []
        }
        history.marked.append(id)
        if history.marked.count > 2 { history.marked.removeFirst() }
        if history.marked.count == 2 {
            message = StatusMessage(text: "2 runs marked: press 4 to compare", role: .accent)
        } else {
            message = StatusMessage(text: "marked \(id) (1/2): mark one more with c", role: .accent)
        }
        return loadedForCompare[id] == nil ? [.loadExperiment(id: id)] : []
    }

    private mutating func handleFilterInput(_ key: Key) -> [Effect] {
        // The Sweep screen filters its trials with History's code, on a list of its own.
        let list: WritableKeyPath<AppState, HistoryState> = sweep.trials.filterDraft != nil ? \.sweep.trials : \.history
        guard var draft = self[keyPath: list].filterDraft else { return [] }
        switch key {
        case .enter:
            self[keyPath: list].filter = draft
            self[keyPath: list].filterDraft = nil
        case .escape:
            self[keyPath: list].filterDraft = nil
        case .backspace:
            if !draft.isEmpty { draft.removeLast() }
            self[keyPath: list].filterDraft = draft
        case .clearLine:
            self[keyPath: list].filterDraft = ""
        case .character(let c):
            draft.append(c)
            self[keyPath: list].filterDraft = draft
        default: return []
        }
        self[keyPath: list].viewport = ListViewport()
        self[keyPath: list].viewport.scroll(
            count: self[keyPath: list].visibleRuns.count, visibleRows: historyVisibleRows)
        return []
    }

    private mutating func handleFieldInput(_ key: Key) -> [Effect] {
        guard var draft = fieldDraft else { return [] }
        let wasSelected = isDraftSelected
        isDraftSelected = false
        switch key {
        case .enter:
            if let problem = focusedField.apply(draft, to: &parameters) {
                message = StatusMessage(text: problem, role: .bad)
            } else {
                fieldDraft = nil
                message = StatusMessage(
                    text: "\(focusedField.label) = \(focusedField.text(of: parameters))", role: .muted)
            }
        case .escape:
            fieldDraft = nil
            message = nil
        case .backspace:
            if wasSelected { draft = "" } else if !draft.isEmpty { draft.removeLast() }
            fieldDraft = draft
            message = nil
        case .clearLine:
            fieldDraft = ""
            message = nil
        case .character(let c):
            // Typing over a selected value replaces it (`80`, Enter, `300` gives 300, not 80300).
            if wasSelected { draft = "" }
            draft.append(c)
            fieldDraft = draft
            message = nil
        default:
            // Arrows, Tab, …: keep the text, place the cursor at its end.
            break
        }
        return []
    }
}
