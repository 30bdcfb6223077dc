import Dispatch
public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the dashboard looks and behaves; the CLI fills it from flags and `[tui]` in config.ini.
public struct DashboardOptions: Sendable {
    /// The theme's name: `themes/NAME.ini`, default `default`.
    public var themeName: String
    /// The directory of theme files; nil uses the built-in default and mono themes only.
    public var themesDirectory: String?
    /// Most redraws per second: config `[tui] refresh_hz`, clamped to 1…60, default 10.
    public var refreshRate: Int
    /// Whether the user asked for no colours: `NO_COLOR` set and not empty; default false.
    public var isColorDisabled: Bool
    /// The hyper-parameters the Train form starts with (config `[mlp]`).
    public var parameters: Hyperparameters
    /// The model service the Service screen follows (`SONARLAB_SERVE_URL`, `--service URL`); `nil` (the default):
    /// none.
    public var serviceURL: URL?

    /// Creates options.
    /// - Parameters:
    ///   - themeName: the theme's name.
    ///   - themesDirectory: where theme files are; nil for built-ins only.
    ///   - refreshRate: redraws per second at most.
    ///   - isColorDisabled: true to draw without colours (mono).
    ///   - parameters: the Train form's starting values.
    public init(
        themeName: String = "default", themesDirectory: String? = nil, refreshRate: Int = 10,
        isColorDisabled: Bool = false,
        parameters: Hyperparameters = Hyperparameters()
    ) {
        self.themeName = themeName
        self.themesDirectory = themesDirectory
        self.refreshRate = refreshRate
        self.isColorDisabled = isColorDisabled
        self.parameters = parameters
    }
}

/// A thread-safe queue of events posted by background work and signal handlers for the UI loop.
final class EventInbox: @unchecked Sendable {
    private let lock = PthreadLock()
    private var events: [Event] = []

    func post(_ event: Event) { lock.withLock { events.append(event) } }

    func drain() -> [Event] {
        lock.withLock {
            let all = events
            events.removeAll(keepingCapacity: true)
            return all
        }
    }
}

/// Carries out `Effect`s with `DashboardServices` and posts their results back as `Event`s.
///
/// The runtime never touches the terminal, so it is tested with an in-memory service and no tty.
final class EffectRunner: @unchecked Sendable {
    let services: any DashboardServices
    let inbox: EventInbox
    private let lock = PthreadLock()
    private var cancellation: RunCancellation?
    private var tasks: [Task<Void, Never>] = []
    private let runDone = DispatchGroup()

    /// Polls the followed model service; `nil` when none is followed.
    let probe: ServiceProbe?

    init(services: any DashboardServices, inbox: EventInbox, probe: ServiceProbe? = nil) {
        self.services = services
        self.inbox = inbox
        self.probe = probe
    }

    /// Starts the work an effect asks for and returns at once.
    ///
    /// `.quit` is the UI loop's business.
    func perform(_ effect: Effect) {
        let services = self.services
        let inbox = self.inbox
        switch effect {
        case .startRun(let parameters):
            startRun { try await services.train(parameters, cancellation: $0, callbacks: $1) }
        case .trainTrial(let id, let parameters):
            startRun { try await services.trainTrial(id, parameters: parameters, cancellation: $0, callbacks: $1) }
        case .cancelRun:
            lock.withLock { cancellation }?.cancel()
        case .loadHistory:
            track(
                Task.detached {
                    do {
                        inbox.post(.historyLoaded(try await services.experiments(), store: services.storeDescription))
                    } catch {
                        inbox.post(.historyFailed(String(describing: error), store: services.storeDescription))
                    }
                })
        case .loadExperiment(let id):
            track(
                Task.detached {
                    do {
                        if let run = try await services.experiment(id: id) {
                            inbox.post(.experimentLoaded(run))
                        } else {
                            inbox.post(
                                .experimentFailed(id: id, message: "no such experiment in \(services.storeDescription)")
                            )
                        }
                    } catch {
                        inbox.post(.experimentFailed(id: id, message: String(describing: error)))
                    }
                })
        case .loadTestResults:
            track(
                Task.detached {
                    let results = (try? await services.scenarioResults()) ?? []
                    inbox.post(.testResultsLoaded(results))
                })
        case .runScenarios:
            track(
                Task.detached {
                    do {
                        let results = try await services.runScenarios(
                            onStart: { inbox.post(.scenariosStarted(model: $0, count: $1)) },
                            onResult: { inbox.post(.scenarioFinished($0)) })
                        inbox.post(.scenariosEnded(results))
                    } catch {
                        inbox.post(.scenariosFailed(String(describing: error)))
                    }
                })
        case .pollService(let previous):
            guard let probe else { return }
            track(Task.detached { inbox.post(.serviceStatus(await probe.poll(previous: previous))) })
        case .loadPredictions(let modelID):
            track(
                Task.detached {
                    do {
                        let records = try await services.latestPredictions(modelID: modelID, limit: 10)
                        inbox.post(.servicePredictions(records, error: nil))
                    } catch {
                        inbox.post(.servicePredictions([], error: String(describing: error)))
                    }
                })
        case .quit:
            break
        }
    }

    /// Starts a training run on a task of its own (`train` is the services' call), posting its events.
    private func startRun(
        _ train: @escaping @Sendable (RunCancellation, RunCallbacks) async throws -> ExperimentSnapshot
    ) {
        let inbox = self.inbox
        let flag = RunCancellation()
        lock.withLock { cancellation = flag }
        runDone.enter()
        let done = runDone
        let callbacks = RunCallbacks(
            onStart: { id, name, planned, recordedIn in
                inbox.post(
                    .runStarted(id: id, name: name, plannedEpochs: planned, recordedIn: recordedIn, at: Date()))
            },
            onEpoch: { point in inbox.post(.epoch(point, at: Date())) },
            onStoreQueue: { note in inbox.post(.storeQueue(note)) })
        track(
            Task.detached {
                defer { done.leave() }
                do {
                    let record = try await train(flag, callbacks)
                    inbox.post(.runEnded(record, at: Date()))
                } catch {
                    inbox.post(.runFailed(String(describing: error), at: Date()))
                }
            })
    }

    /// Cancels a running run and waits up to `timeout` seconds for it to be recorded.
    /// - Returns: whether no run was left going.
    @discardableResult
    func finishRun(timeout: Double) -> Bool {
        lock.withLock { cancellation }?.cancel()
        return runDone.wait(timeout: .now() + timeout) == .success
    }

    private func track(_ task: Task<Void, Never>) {
        lock.withLock {
            tasks.removeAll { $0.isCancelled }
            tasks.append(task)
        }
    }
}

/// How the dashboard ended, so the command can give the conventional exit status.
public enum DashboardExit: Sendable, Equatable {
    /// The user pressed `q` (exit status 0).
    case quit
    /// Ctrl-C, SIGINT, SIGTERM or SIGHUP (exit status 130, as for a cancelled headless run).
    case interrupted
}

/// The dashboard's entry point.
public enum Dashboard {
    /// Opens the dashboard on the terminal and runs it until the user quits (q, Ctrl-C, SIGTERM, SIGHUP).
    ///
    /// The terminal is restored on every way out: quit, a signal, a thrown error, a failed run, and
    /// (best effort, from the signal handler) a crash. A run still training when the user quits is
    /// cancelled between epochs and recorded as cancelled before this returns. Blocks the calling
    /// thread; call it from the main thread of the `sonarlab` process or use the async variant.
    /// - Parameters:
    ///   - options: theme, refresh rate, colours, starting hyper-parameters.
    ///   - services: training and the experiment store.
    /// - Returns: whether the user quit with `q` or interrupted (Ctrl-C or a signal).
    /// - Throws: `TUIError.terminalUnavailable` when stdin/stdout is not a terminal or curses cannot start.
    @discardableResult
    public static func run(options: DashboardOptions, services: any DashboardServices) throws -> DashboardExit {
        let backend = NCursesBackend()
        let inbox = EventInbox()
        let runner = EffectRunner(
            services: services, inbox: inbox, probe: options.serviceURL.map { ServiceProbe(baseURL: $0) })
        let signals = SignalForwarder(inbox: inbox)
        signals.install()
        defer { signals.uninstall() }
        try backend.start()
        defer { backend.stop() }

        let (theme, warning) = ThemeLoader(directory: options.themesDirectory)
            .resolve(name: options.themeName, capability: backend.capability, noColor: options.isColorDisabled)
        var state = AppState(
            size: backend.size, theme: theme, parameters: options.parameters, store: services.storeDescription,
            now: Date(),
            message: warning, serviceURL: options.serviceURL?.absoluteString)
        let loop = UILoop(refreshRate: options.refreshRate)
        for effect in state.start() { runner.perform(effect) }
        loop.run(state: &state, backend: backend, inbox: inbox, runner: runner)
        backend.stop()
        if !runner.finishRun(timeout: 10) {
            FileHandle.standardError.write(
                Data("sonarlab: the run did not stop within 10 s; it may stay recorded as running\n".utf8))
        }
        return state.exitReason
    }

    /// Why the terminal named `term` cannot draw the dashboard, or `nil` when it can.
    ///
    /// `TERM=dumb`, an unset `TERM` or one terminfo does not know would give a blank or garbled curses screen;
    /// callers fall back to headless (`sonarlab`) or refuse (`sonarlab dashboard`) instead. Reads terminfo only.
    /// - Parameter term: the `TERM` value, `nil` when unset.
    /// - Returns: a short reason, e.g. `TERM=dumb cannot address the cursor`.
    public static func unsupportedTerminalReason(term: String?) -> String? {
        NCursesBackend.unsupportedTerminalReason(term: term)
    }

    /// Runs the dashboard on a dedicated thread and waits for it without blocking a Swift concurrency thread.
    /// - Parameters:
    ///   - options: theme, refresh rate, colours, starting hyper-parameters.
    ///   - services: training and the experiment store.
    /// - Returns: whether the user quit with `q` or interrupted (Ctrl-C or a signal).
    /// - Throws: `TUIError.terminalUnavailable` when stdin/stdout is not a terminal or curses cannot start.
    @discardableResult
    public static func run(options: DashboardOptions, services: any DashboardServices) async throws -> DashboardExit {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DashboardExit, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try run(options: options, services: services))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "sonarlab-dashboard"
            thread.start()
        }
    }
}

/// What the UI loop needs from a terminal; `NCursesBackend` is the real one, tests use a scripted one.
protocol TerminalDevice: AnyObject {
    /// The terminal's size now.
    var size: Size { get }
    /// Waits up to `timeoutMilliseconds` (0: don't wait) for a key or a resize.
    func read(timeoutMilliseconds: Int) -> TerminalInput?
    /// Puts a frame on the terminal.
    func draw(_ buffer: CellBuffer)
}

extension NCursesBackend: TerminalDevice {}

/// The UI loop: read keys, apply events, draw at most `refreshRate` frames a second.
struct UILoop {
    let frameInterval: Double

    init(refreshRate: Int) {
        frameInterval = 1 / Double(min(60, max(1, refreshRate)))
    }

    func run(state: inout AppState, backend: some TerminalDevice, inbox: EventInbox, runner: EffectRunner) {
        var lastFrame = Date.distantPast
        var isDirty = true
        var lastSecond = -1
        while !state.shouldQuit {
            // Wait for a key, at most until the next frame is due.
            let wait = Int(max(1, frameInterval * 1000))
            var inputs: [TerminalInput] = []
            if let first = backend.read(timeoutMilliseconds: wait) {
                inputs.append(first)
                while inputs.count < 64, let more = backend.read(timeoutMilliseconds: 0) { inputs.append(more) }
            }
            var events: [Event] = inputs.map {
                switch $0 {
                case .key(let key): .key(key)
                case .resize(let size): .resize(size)
                }
            }
            events += inbox.drain()
            let now = Date()
            // Elapsed time and ETA change once a second while a run trains.
            let second = Int(now.timeIntervalSince1970)
            if state.isRunning && second != lastSecond { isDirty = true }
            lastSecond = second
            events.append(.tick(now))
            for event in events {
                if case .tick = event {} else { isDirty = true }
                for effect in state.handle(event) { runner.perform(effect) }
                if state.shouldQuit { break }
            }
            if state.shouldQuit { break }
            if isDirty && now.timeIntervalSince(lastFrame) >= frameInterval {
                var buffer = CellBuffer(size: state.size)
                render(state, into: &buffer)
                backend.draw(buffer)
                lastFrame = now
                isDirty = false
            }
        }
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP into an `.interrupt` event, so the loop leaves and restores the terminal.
final class SignalForwarder: @unchecked Sendable {
    private let inbox: EventInbox
    private var sources: [any DispatchSourceSignal] = []
    private static let forwarded = [SIGINT, SIGTERM, SIGHUP]

    init(inbox: EventInbox) { self.inbox = inbox }

    func install() {
        for number in Self.forwarded {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            let inbox = self.inbox
            source.setEventHandler { inbox.post(.interrupt) }
            source.resume()
            sources.append(source)
        }
    }

    func uninstall() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for number in Self.forwarded { signal(number, SIG_DFL) }
    }
}
