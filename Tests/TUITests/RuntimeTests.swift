import Engine
import Foundation
import Testing
import Tracking
@testable import TUI

/// An in-memory stand-in for training and the store, with controllable speed and failures.
final class FakeServices: DashboardServices, @unchecked Sendable {
    let storeDescription = "memory"
    var runs: [ExperimentSnapshot] = []
    var failList: String?
    var trainFailure: String?
    var epochDelay: Duration = .zero

    struct Failure: Error, CustomStringConvertible { let description: String }

    func experiments() async throws -> [ExperimentSnapshot] {
        if let failList { throw Failure(description: failList) }
        return runs
    }

    func experiment(id: String) async throws -> ExperimentSnapshot? { runs.first { $0.id == id } }

    func train(_ parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks) async throws
        -> ExperimentSnapshot
    {
        if let trainFailure { throw Failure(description: trainFailure) }
        callbacks.onStart("fake-1", parameters.name, parameters.epochs, storeDescription)
        var points: [EpochMetrics] = []
        for point in Fixtures.curve(epochs: parameters.epochs) {
            try await Task.sleep(for: epochDelay)
            points.append(point)
            callbacks.onEpoch(point)
            if cancellation.isCancelled { break }
        }
        let state: RunState = points.count < parameters.epochs ? .cancelled : .finished
        return ExperimentSnapshot(
            id: "fake-1", name: parameters.name, state: state, startedAt: Date(), endedAt: Date(), epochs: points,
            plannedEpochs: parameters.epochs, finalValidation: points.last?.validation)
    }

    func scenarioResults() async throws -> [ScenarioResult] { [] }

    /// The results `runScenarios` reports one by one, and a failure to throw instead.
    var scenarioScript: [ScenarioResult] = []
    var scenarioFailure: String?

    func runScenarios(
        onStart: @escaping @Sendable (String, Int) -> Void, onResult: @escaping @Sendable (ScenarioResult) -> Void
    ) async throws -> [ScenarioResult] {
        if let scenarioFailure { throw Failure(description: scenarioFailure) }
        onStart("fake/model.json", scenarioScript.count)
        for result in scenarioScript {
            try await Task.sleep(for: epochDelay)
            onResult(result)
        }
        return scenarioScript
    }
}

/// Collects inbox events until `until` is true or `timeout` passes.
///
/// The bound is generous: it only ends a test whose events never come, and under the whole suite (2 cores,
/// the pool shared with CPU-bound tests) the effects' detached tasks can wait many seconds for a thread.
func collect(_ inbox: EventInbox, timeout: Duration = .seconds(120), until: ([Event]) -> Bool) async -> [Event] {
    var events: [Event] = []
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        events += inbox.drain()
        if until(events) { break }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return events
}

func isRunEnd(_ e: Event) -> Bool {
    switch e {
    case .runEnded, .runFailed: true
    default: false
    }
}

@Suite struct RuntimeTests {
    @Test func aRunPostsStartEveryEpochAndItsEnd() async {
        let services = FakeServices()
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        runner.perform(.startRun(Hyperparameters(epochs: 5, name: "five")))
        let events = await collect(inbox) { $0.contains(where: isRunEnd) }
        var state = Fixtures.state()
        state.press(.character("t"))
        for e in events { state.send(e) }
        #expect(state.run?.id == "fake-1")
        #expect(state.run?.epochs.map(\.epoch) == [1, 2, 3, 4, 5])
        #expect(state.run?.state == .finished)
        #expect(runner.finishRun(timeout: 5))
    }

    @Test func cancelStopsTheRunBetweenEpochs() async {
        let services = FakeServices()
        services.epochDelay = .milliseconds(20)
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        runner.perform(.startRun(Hyperparameters(epochs: 500)))
        _ = await collect(inbox) { events in events.contains { if case .epoch = $0 { true } else { false } } }
        runner.perform(.cancelRun)
        let events = await collect(inbox) { $0.contains(where: isRunEnd) }
        guard case .runEnded(let record, _)? = events.last(where: isRunEnd) else {
            Issue.record("no end of run in \(events.count) events")
            return
        }
        #expect(record.state == .cancelled)
        #expect(record.epochs.count < 500)
    }

    @Test func aRunThatCannotStartIsReportedAsFailed() async {
        let services = FakeServices()
        services.trainFailure = "data/sonar.all-data:7: 59 fields, expected 61"
        let inbox = EventInbox()
        EffectRunner(services: services, inbox: inbox).perform(.startRun(Hyperparameters()))
        let events = await collect(inbox) { $0.contains(where: isRunEnd) }
        guard case .runFailed(let message, _)? = events.last else {
            Issue.record("expected runFailed, got \(events)")
            return
        }
        #expect(message == "data/sonar.all-data:7: 59 fields, expected 61")
    }

    @Test func historyLoadsOrReportsTheStoreUnreachable() async {
        let services = FakeServices()
        services.runs = [Fixtures.run(index: 1)]
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        runner.perform(.loadHistory)
        var events = await collect(inbox) { !$0.isEmpty }
        guard case .historyLoaded(let runs, let store)? = events.first else {
            Issue.record("expected historyLoaded, got \(events)")
            return
        }
        #expect(runs.map(\.id) == [Fixtures.run(index: 1).id] && store == "memory")
        services.failList = "connection refused"
        runner.perform(.loadHistory)
        events = await collect(inbox) { !$0.isEmpty }
        guard case .historyFailed(let reason, _)? = events.first else {
            Issue.record("expected historyFailed, got \(events)")
            return
        }
        #expect(reason == "connection refused")
    }

    @Test func anUnknownExperimentIsReportedNotLoaded() async {
        let inbox = EventInbox()
        EffectRunner(services: FakeServices(), inbox: inbox).perform(.loadExperiment(id: "nope"))
        let events = await collect(inbox) { !$0.isEmpty }
        guard case .experimentFailed(let id, let message)? = events.first else {
            Issue.record("expected experimentFailed, got \(events)")
            return
        }
        #expect(id == "nope" && message.contains("no such experiment"))
    }
}

/// The real adapter: trains on the repository's data with Engine and records in a LocalStore.
@Suite struct TrackingDashboardServicesTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func trainsRecordsAndReadsBackARunFromTheLocalStore() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sonarlab-tui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataPath = Self.repositoryRoot.appendingPathComponent("data/sonar.all-data").path
        let store = try LocalStore(directory: directory.appendingPathComponent("store").path)
        let experimentsRoot = directory.appendingPathComponent("experiments").path
        let services = TrackingDashboardServices(store: store) { form in
            let data = try SonarData.load(path: dataPath)
            return TrainingRequest(
                name: form.name.isEmpty ? "sonar" : form.name, data: data, dataPath: dataPath, testSize: 0.25,
                splitSeed: 42,
                configuration: form.applied(to: TrainingConfiguration()),
                parameters: form.applied(to: ["data.path": dataPath]), experimentsRoot: experimentsRoot)
        }
        let started = Box<String>()
        let epochs = Box<Int>()
        let record = try await services.train(
            Hyperparameters(hiddenSize: 8, epochs: 6, name: "tui-adapter"), cancellation: RunCancellation(),
            callbacks: RunCallbacks(
                onStart: { id, _, planned, recordedIn in started.set("\(id) \(planned) \(recordedIn)") },
                onEpoch: { _ in epochs.update { ($0 ?? 0) + 1 } }))
        #expect(record.state == .finished)
        #expect(record.epochs.count == 6)
        #expect(epochs.value == 6)
        #expect(started.value == "\(record.id) 6 \(store.location)")
        #expect(record.parameter("mlp.hidden_size") == "8")
        #expect(record.dataFingerprint.count == 64)
        #expect(record.confusion?.labels == ["R", "M"])
        #expect(record.confusion.map { $0.counts.joined().reduce(0, +) } == 52)
        #expect(record.modelPath.map { FileManager.default.fileExists(atPath: $0) } == true)

        let listed = try await services.experiments()
        #expect(listed.map(\.id) == [record.id])
        let loaded = try await services.experiment(id: record.id)
        #expect(loaded?.epochs.count == 6)
        #expect(loaded?.finalValidation == record.finalValidation)
    }

    @Test func scenarioResultsAreTheLatestTestExperimentPerScenario() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sonarlab-tui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try LocalStore(directory: directory.path)
        let services = TrackingDashboardServices(store: store) { _ in throw CancellationError() }
        #expect(try await services.scenarioResults().isEmpty)
        func record(
            _ name: String, _ status: RunStatus, accuracy: Double, at seconds: Double, kind: ExperimentKind = .test
        )
            async throws
        {
            let start = Date(timeIntervalSince1970: 1_790_000_000 + seconds)
            var e = Experiment(
                id: Experiment.makeID(startingAt: start), name: name, kind: kind, startedAt: start, parameters: [:],
                dataFingerprint: "f")
            try await store.create(e)
            e.status = status
            e.endedAt = start.addingTimeInterval(1)
            e.result = ExperimentResult(
                validation: SplitMetrics(loss: 0.4, accuracy: accuracy, macroF1: accuracy - 0.01))
            e.message = status == .failed ? "accuracy below 0.70" : nil
            try await store.finish(e)
        }
        try await record("noisy", .failed, accuracy: 0.61, at: 10)
        try await record("noisy", .finished, accuracy: 0.74, at: 20)  // the newer one counts
        try await record("rocks-only", .failed, accuracy: 0.55, at: 30)
        try await record("a-train-run", .finished, accuracy: 0.9, at: 40, kind: .train)  // not a scenario
        let results = try await services.scenarioResults()
        #expect(results.map(\.name) == ["noisy", "rocks-only"])
        #expect(results.map(\.passed) == [true, false])
        #expect(results.first?.accuracy == 0.74)
        #expect(results.last?.detail == "accuracy below 0.70")
    }

    @Test func theFormMapsOntoTheTrainingConfigurationAndRecordedParameters() {
        var base = TrainingConfiguration()
        base.selection = .validationF1
        var form = Hyperparameters(
            hiddenSize: 12, learningRate: 0.003, epochs: 9, batchSize: 16, weightDecay: 0.001, seed: 5)
        form.optimizer = .adamW
        form.dropout = 0.25
        form.inputNoise = 0.05
        form.ensemble = 3
        let c = form.applied(to: base)
        #expect(c.hiddenSize == 12 && c.learningRate == 0.003 && c.epochs == 9 && c.batchSize == 16)
        #expect(c.weightDecay == 0.001 && c.seed == 5 && c.selection == .validationF1)
        #expect(c.optimizer == .adamW && c.dropout == 0.25 && c.inputNoise == 0.05 && c.ensemble == 3)
        #expect(Hyperparameters(c) == form)
        let p = form.applied(to: ["mlp.select": "val_f1", "mlp.lr": "0.01"])
        #expect(
            p == [
                "mlp.select": "val_f1", "mlp.lr": "0.003", "mlp.hidden_size": "12", "mlp.epochs": "9",
                "mlp.batch_size": "16",
                "mlp.weight_decay": "0.001", "mlp.seed": "5", "mlp.optimizer": "adamw", "mlp.dropout": "0.25",
                "mlp.input_noise": "0.05", "mlp.ensemble": "3",
            ])
        // The defaults are written as the command line writes them ("0", not "0.0"): Compare must not see a
        // difference between a dashboard run and a headless one of the same settings.
        let defaults = Hyperparameters(TrainingConfiguration()).applied(to: [:])
        #expect(defaults["mlp.weight_decay"] == "0" && defaults["mlp.lr"] == "0.01", "\(defaults)")
    }
}

/// A tiny thread-safe box for values set from callbacks.
final class Box<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? { lock.withLock { stored } }
    func set(_ v: T) { lock.withLock { stored = v } }
    func update(_ f: (T?) -> T) { lock.withLock { stored = f(stored) } }
}

@Suite struct RunCancellationTests {
    @Test func handlersRunOnceOnCancelOrAtOnceWhenAlreadyCancelled() {
        let flag = RunCancellation()
        let count = Box<Int>()
        flag.onCancel { count.update { ($0 ?? 0) + 1 } }
        #expect(count.value == nil && !flag.isCancelled)
        flag.cancel()
        flag.cancel()
        #expect(count.value == 1 && flag.isCancelled)
        flag.onCancel { count.update { ($0 ?? 0) + 10 } }
        #expect(count.value == 11)
    }
}

/// A terminal that replays keys at given times and records every frame.
final class ScriptedTerminal: TerminalDevice {
    let size = Size(width: 100, height: 30)
    private var script: [(at: Duration, input: TerminalInput)]
    private let start = ContinuousClock.now
    private(set) var frames: [(at: Duration, buffer: CellBuffer)] = []

    /// The text whose drawing makes the terminal type `q` (or 300 s, whichever comes first).
    ///
    /// Quitting on what was drawn, not at a fixed time, keeps the test independent of how fast a loaded machine
    /// runs. The bound is roomy on purpose: the fake
    /// run's epochs resume on Swift's cooperative pool (one thread per core), which the process-spawning suites
    /// running in parallel under `make test` can hold for a minute or more on a 2-core machine.
    private let quitAfterDrawing: String?
    private var sawQuitText = false

    init(_ script: [(at: Duration, input: TerminalInput)], quitAfterDrawing: String? = nil) {
        self.script = script
        self.quitAfterDrawing = quitAfterDrawing
    }

    func read(timeoutMilliseconds: Int) -> TerminalInput? {
        let now = ContinuousClock.now - start
        if quitAfterDrawing != nil, sawQuitText || now > .seconds(300) {
            sawQuitText = false
            return .key(.character("q"))
        }
        if let next = script.first, next.at <= now {
            script.removeFirst()
            return next.input
        }
        let wait = min(Duration.milliseconds(timeoutMilliseconds), (script.first?.at ?? .seconds(3600)) - now)
        if wait > .zero {
            Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) * 1e-18 + Double(wait.components.seconds))
        }
        return nil
    }

    func draw(_ buffer: CellBuffer) {
        frames.append((ContinuousClock.now - start, buffer))
        if let text = quitAfterDrawing, buffer.lines.joined(separator: "\n").contains(text) { sawQuitText = true }
    }
}

/// Runs the UI loop on its own thread, as `Dashboard.run` does, so it never blocks a Swift concurrency
/// thread that the run's tasks need.
func runLoop(_ loop: UILoop, state: AppState, terminal: ScriptedTerminal, runner: EffectRunner, inbox: EventInbox) async
    -> (state: AppState, seconds: Double)
{
    await withCheckedContinuation { (continuation: CheckedContinuation<(AppState, Double), Never>) in
        let box = UncheckedBox(state)
        let thread = Thread {
            let start = Date()
            loop.run(state: &box.value, backend: terminal, inbox: inbox, runner: runner)
            continuation.resume(returning: (box.value, Date().timeIntervalSince(start)))
        }
        thread.start()
    }
}

final class UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

extension ScriptedTerminal: @unchecked Sendable {}

@Suite(.serialized) struct UILoopTests {
    @Test func framesAreThrottledToTheRefreshRateWhileARunStreamsEpochs() async {
        // 300 epochs streamed in about a second: far more events than frames at 10 Hz.
        let services = FakeServices()
        services.epochDelay = .milliseconds(3)
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        let terminal = ScriptedTerminal([(.milliseconds(50), .key(.character("t")))], quitAfterDrawing: "final: validation accuracy")
        let initial = AppState(
            size: terminal.size, theme: .mono, parameters: Hyperparameters(epochs: 300), store: "memory", now: Date())
        let (state, seconds) = await runLoop(
            UILoop(refreshRate: 10), state: initial, terminal: terminal, runner: runner, inbox: inbox)
        #expect(state.shouldQuit)
        #expect(state.run?.epochs.count == 300)
        #expect(state.run?.state == .finished)
        // At most one frame per 100 ms (plus the first), and the screen did follow the run.
        #expect(terminal.frames.count <= Int(seconds * 10) + 2, "\(terminal.frames.count) frames in \(seconds) s")
        #expect(terminal.frames.count >= 3)
        for (a, b) in zip(terminal.frames, terminal.frames.dropFirst()) {
            #expect(b.at - a.at >= .milliseconds(95))
        }
        #expect(terminal.frames.last?.buffer.lines.joined(separator: "\n").contains("epoch 300/300") == true)
    }

    @Test func aResizeRedrawsAtTheNewSize() async {
        let inbox = EventInbox()
        let runner = EffectRunner(services: FakeServices(), inbox: inbox)
        let terminal = ScriptedTerminal([
            (.milliseconds(150), .resize(Size(width: 60, height: 20))),
            (.milliseconds(300), .resize(Size(width: 120, height: 40))),
            (.milliseconds(450), .key(.character("q"))),
        ])
        let initial = AppState(
            size: terminal.size, theme: .mono, parameters: Hyperparameters(), store: "memory", now: Date())
        _ = await runLoop(UILoop(refreshRate: 20), state: initial, terminal: terminal, runner: runner, inbox: inbox)
        let sizes = terminal.frames.map(\.buffer.size)
        #expect(sizes.first == Size(width: 100, height: 30))
        #expect(sizes.contains(Size(width: 60, height: 20)))
        #expect(sizes.last == Size(width: 120, height: 40))
        let small = terminal.frames.first { $0.buffer.size == Size(width: 60, height: 20) }
        #expect(small?.buffer.lines.joined().contains("Terminal too small") == true)
    }
}
