import Engine
import Foundation
import Testing
import Tracking

@testable import TUI

/// A sweep of four trials as the store lists it: hidden 8..64 log, lr 0.001..0.1 log, epochs fixed at 5.
enum SweepFixtures {
    static let sweepID = "20260921-141320-abc123"

    static func sweep(state: RunState = .running) -> ExperimentSnapshot {
        var s = ExperimentSnapshot(
            id: sweepID, name: "[sweep] sonar", state: state, startedAt: Fixtures.epoch0.addingTimeInterval(100),
            parameters: [
                ("mlp.dropout", "0.1"), ("mlp.epochs", "5"), ("mlp.hidden_size", "40"), ("mlp.lr", "0.01"),
                ("mlp.seed", "7"), ("sweep.space.00.mlp.hidden_size", "8..64:log"),
                ("sweep.space.01.mlp.lr", "0.001..0.1:log"), ("sweep.space.02.mlp.epochs", "5"),
                ("sweep.trials", "4"),
            ])
        s.kind = .sweep
        return s
    }

    /// Trial `index` with its swept values and CV mean ± sd (`nil`: still running).
    static func trial(_ index: Int, hidden: Int, lr: String, mean: Double?, sd: Double = 0.02) -> ExperimentSnapshot {
        var t = ExperimentSnapshot(
            id: sweepID + String(format: "-t%04d", index), name: "[trial] sonar-t\(index)",
            state: mean == nil ? .running : .finished,
            startedAt: Fixtures.epoch0.addingTimeInterval(200 + Double(index)),
            parameters: [
                ("mlp.epochs", "5"), ("mlp.hidden_size", "\(hidden)"), ("mlp.lr", lr),
                ("sweep.parent", sweepID), ("sweep.trial", "\(index)"),
            ],
            finalValidation: mean.map { SplitMetrics(loss: 0.5, accuracy: $0, macroF1: $0) })
        t.kind = .trial
        t.trial = TrialInfo(
            sweepID: sweepID, index: index, accuracyMean: mean, accuracySD: mean == nil ? nil : sd,
            status: mean == nil ? "running" : "finished")
        return t
    }

    static var trials: [ExperimentSnapshot] {
        [
            trial(0, hidden: 8, lr: "0.001", mean: 0.70), trial(1, hidden: 16, lr: "0.003", mean: 0.80),
            trial(2, hidden: 128, lr: "0.1", mean: 0.75), trial(3, hidden: 32, lr: "0.03", mean: nil),
        ]
    }

    /// A state whose store holds two plain runs, the sweep and its trials, on the History screen.
    static func state(sweepState: RunState = .running, width: Int = 120, height: Int = 40) -> AppState {
        var s = Fixtures.state(width: width, height: height)
        _ = s.start()
        let runs = [Fixtures.run(index: 1), Fixtures.run(index: 2), sweep(state: sweepState)] + trials
        s.send(.historyLoaded(runs, store: "SQLite .sonarlab/experiments.sqlite"))
        s.press(.character("2"))
        return s
    }

    /// The same state with the Sweep screen opened from the sweep's row in History.
    static func opened(sweepState: RunState = .running) -> AppState {
        var s = state(sweepState: sweepState)
        let i = s.history.visibleRuns.firstIndex { $0.id == sweepID } ?? 0
        s.history.viewport.move(by: i, count: s.history.visibleRuns.count, visibleRows: s.historyVisibleRows)
        s.press(.enter)
        return s
    }
}

@Suite("Sweep screen: state machine")
struct SweepScreenStateTests {
    @Test("Enter on a sweep in History opens the Sweep screen with its trials in trial order")
    func enterOnASweepOpensIt() {
        let s = SweepFixtures.opened()
        #expect(s.screen == .sweep)
        #expect(s.shownSweep?.id == SweepFixtures.sweepID)
        #expect(s.sweep.trials.visibleRuns.map { $0.trial?.index } == [0, 1, 2, 3])
        #expect(s.sweptParameters == ["mlp.hidden_size", "mlp.lr"])
        #expect(s.scatterParameter == "mlp.hidden_size")
    }

    @Test("Enter on a trial in History opens its sweep with that trial selected")
    func enterOnATrialOpensItsSweep() {
        var s = SweepFixtures.state()
        let i = s.history.visibleRuns.firstIndex { $0.trial?.index == 2 } ?? 0
        s.history.viewport.move(by: i, count: s.history.visibleRuns.count, visibleRows: s.historyVisibleRows)
        s.press(.enter)
        #expect(s.screen == .sweep)
        #expect(s.selectedTrial?.trial?.index == 2)
    }

    @Test("8 with no sweep chosen shows the newest sweep; ←/→ step through the swept parameters and wrap")
    func numberKeyAndParameterChoice() {
        var s = SweepFixtures.state()
        s.press(.character("8"))
        #expect(s.screen == .sweep)
        #expect(s.shownSweep?.id == SweepFixtures.sweepID)
        s.press(.right)
        #expect(s.scatterParameter == "mlp.lr")
        s.press(.right)
        #expect(s.scatterParameter == "mlp.hidden_size")
        s.press(.left)
        #expect(s.scatterParameter == "mlp.lr")
    }

    @Test("s sorts by accuracy best first (History's sort), S reverses, / filters the trials by text")
    func sortAndFilter() {
        var s = SweepFixtures.opened()
        s.press(.character("s"))
        #expect(s.sweep.trials.sortColumn == .accuracy)
        #expect(s.sweep.trials.visibleRuns.map { $0.trial?.index } == [1, 2, 0, 3])
        s.press(.character("S"))
        #expect(s.sweep.trials.visibleRuns.map { $0.trial?.index } == [3, 0, 2, 1])
        s.press(.character("/"))
        s.type("running")
        s.press(.enter)
        #expect(s.sweep.trials.filter == "running")
        #expect(s.sweep.trials.visibleRuns.map { $0.trial?.index } == [3])
        // History's own filter is untouched.
        #expect(s.history.filter.isEmpty)
    }

    @Test("Enter on a trial trains it: the sweep's base values, then the trial's, over the form; named by the trial")
    func enterTrainsTheTrial() {
        var s = SweepFixtures.opened()
        s.press(.down, .down)
        let effects = s.press(.enter)
        var expected = Hyperparameters()
        expected.hiddenSize = 128
        expected.learningRate = 0.1
        expected.epochs = 5
        expected.seed = 7
        expected.dropout = 0.1
        expected.name = SweepFixtures.sweepID + "-t0002"
        #expect(effects == [.trainTrial(id: SweepFixtures.sweepID + "-t0002", parameters: expected)])
        #expect(s.screen == .train)
        #expect(s.run?.name == expected.name)
        #expect(s.run?.plannedEpochs == 5)
        // Esc goes back to the sweep.
        s.press(.escape)
        #expect(s.screen == .sweep)
    }

    @Test("the form's name, when set, names the trial's run")
    func formNameWins() {
        var s = SweepFixtures.opened()
        s.parameters.name = "final"
        guard case .trainTrial(_, let p)? = s.press(.enter).first else {
            Issue.record("no trainTrial effect")
            return
        }
        #expect(p.name == "final")
        #expect(p.hiddenSize == 8)
    }

    @Test("a running sweep is read again every second on its screen; a finished one is not")
    func pollsWhileRunning() {
        var s = SweepFixtures.opened()
        let t0 = Fixtures.epoch0.addingTimeInterval(1000)
        #expect(s.send(.tick(t0)) == [.loadHistory])
        #expect(s.send(.tick(t0.addingTimeInterval(0.5))) == [])
        s.send(.historyLoaded([SweepFixtures.sweep()] + SweepFixtures.trials, store: "memory"))
        #expect(s.send(.tick(t0.addingTimeInterval(1.2))) == [.loadHistory])
        var done = SweepFixtures.opened(sweepState: .finished)
        #expect(done.send(.tick(t0)) == [])
    }

    @Test("no sweep in the store, or a store that cannot be read, is said in the status line")
    func errors() {
        var s = Fixtures.withHistory(3)
        s.press(.character("8"))
        #expect(s.message?.text == TUIError.noSweep(in: s.store).message)
        #expect(Fixtures.text(s).contains("no sweep in"))
        var t = SweepFixtures.opened()
        t.send(.historyFailed("connection refused", store: "HBase"))
        #expect(t.message?.text == TUIError.sweepUnreadable("connection refused").message)
        #expect(t.message?.role == .bad)
    }
}

@Suite("Sweep screen: rendering")
struct SweepScreenRenderTests {
    @Test("the trials table shows number, mean ± sd, status and the swept values; the best trial's score leads")
    func table() {
        let text = Fixtures.text(SweepFixtures.opened())
        #expect(text.contains("Trials of [sweep] sonar"))
        #expect(text.contains("    1 0.800 ± 0.020  finished"))
        #expect(text.contains("    3 –              running"))
        #expect(text.contains("hidden_size"))
        #expect(text.contains("3/4 trials finished · best #1 0.800 ± 0.020"))
        #expect(text.contains("8 Sweep"))
    }

    @Test("the best-so-far curve and the scatter are drawn, the scatter's parameter follows ←/→")
    func curveAndScatter() {
        var s = SweepFixtures.opened()
        let lines = Fixtures.screen(s)
        #expect(lines.joined().contains("Best so far 0.800 (trial 1)"))
        #expect(lines.joined().contains("CV accuracy vs hidden_size (log) · ←→ 1/2"))
        // Both charts have braille dots in the right half of the screen.
        let right = lines.map { String($0.dropFirst(70)) }
        let braille = right.joined().unicodeScalars.filter { (0x2801...0x28FF).contains($0.value) }
        #expect(braille.count >= 4)
        s.press(.right)
        #expect(Fixtures.text(s).contains("CV accuracy vs lr (log) · ←→ 2/2"))
    }

    @Test("names and values from the store are escaped")
    func escapes() {
        var s = Fixtures.state()
        var sweep = SweepFixtures.sweep()
        sweep.name = "[sweep] bad\u{1B}[2Jname"
        var trial = SweepFixtures.trial(0, hidden: 8, lr: "0.01\u{1B}[31m", mean: 0.7)
        trial.parameters.append(("mlp.x", "y"))
        s.send(.historyLoaded([sweep, trial], store: "memory"))
        s.press(.character("8"))
        let text = Fixtures.text(s)
        #expect(!text.contains("\u{1B}"))
        #expect(text.contains("Trials of [sweep] bad\\x1B[2Jname"))
    }
}

@Suite("ScatterPlot widget")
struct ScatterPlotTests {
    @Test("x is on a log axis only when its positive values span more than 10×")
    func logAxis() {
        #expect(ScatterPlot(points: [.init(x: 8, y: 0.7), .init(x: 128, y: 0.8)]).isLogX)
        #expect(!ScatterPlot(points: [.init(x: 8, y: 0.7), .init(x: 64, y: 0.8)]).isLogX)
        #expect(!ScatterPlot(points: [.init(x: 0, y: 0.7), .init(x: 64, y: 0.8)]).isLogX)
    }

    @Test("the lowest point is drawn bottom left, the highest top right, on a log axis the middle decade centred")
    func dots() {
        var buffer = CellBuffer(size: Size(width: 27, height: 7))
        let rect = Rect(x: 0, y: 0, width: 27, height: 7)
        ScatterPlot(points: [.init(x: 1, y: 0.5), .init(x: 10, y: 0.6), .init(x: 100, y: 0.7)])
            .draw(&buffer, rect, theme: .mono)
        let lines = buffer.lines
        // Plot: 20 columns × 5 rows from x = 7.
        #expect(lines[4].dropFirst(7).first == "⡀")  // bottom-left dot
        #expect(lines[0].dropFirst(26).first == "⠈")  // top-right dot
        #expect(lines[2].dropFirst(17).first.map { $0 != " " } == true)  // x = 10 in the middle column
        #expect(lines[6].hasPrefix("       1.000"))
        #expect(lines[6].hasSuffix("100"))
    }
}

/// Services that record the trial they were asked to train.
final class TrialRecordingServices: DashboardServices, @unchecked Sendable {
    let storeDescription = "memory"
    let asked = Box<String>()

    func experiments() async throws -> [ExperimentSnapshot] { [] }
    func experiment(id: String) async throws -> ExperimentSnapshot? { nil }
    func train(_ parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks) async throws
        -> ExperimentSnapshot
    {
        throw FakeServices.Failure(description: "train called instead of trainTrial")
    }
    func trainTrial(
        _ trialID: String, parameters: Hyperparameters, cancellation: RunCancellation, callbacks: RunCallbacks
    ) async throws -> ExperimentSnapshot {
        asked.set("\(trialID) \(parameters.hiddenSize) \(parameters.learningRate) \(parameters.name)")
        callbacks.onStart("trial-run", parameters.name, parameters.epochs, storeDescription)
        return ExperimentSnapshot(id: "trial-run", name: parameters.name, state: .finished, startedAt: Date())
    }
    func scenarioResults() async throws -> [ScenarioResult] { [] }
    func runScenarios(
        onStart: @escaping @Sendable (String, Int) -> Void, onResult: @escaping @Sendable (ScenarioResult) -> Void
    ) async throws -> [ScenarioResult] { [] }
}

@Suite("Sweep screen: training a trial")
struct TrainTrialTests {
    @Test("the runtime hands .trainTrial to the services' trainTrial with the trial's id and values")
    func runtimeCallsTrainTrial() async {
        let services = TrialRecordingServices()
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        var s = SweepFixtures.opened()
        s.press(.down)
        for effect in s.press(.enter) { runner.perform(effect) }
        let events = await collect(inbox) { $0.contains(where: isRunEnd) }
        for e in events { s.send(e) }
        #expect(services.asked.value == "\(SweepFixtures.sweepID)-t0001 16 0.003 \(SweepFixtures.sweepID)-t0001")
        #expect(s.run?.state == .finished)
        #expect(s.run?.id == "trial-run")
    }

    @Test("TrackingDashboardServices trains a trial with its sweep's base and its overlay read from the store")
    func trackingTrainsFromTheStore() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sonarlab-tui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataPath = TrackingDashboardServicesTests.repositoryRoot.appendingPathComponent("data/sonar.all-data").path
        let store = try LocalStore(directory: directory.appendingPathComponent("store").path)
        var sweep = Experiment(
            id: "sw-1", name: "sonar", kind: .sweep, startedAt: Date(),
            parameters: [
                "mlp.hidden_size": "40", "mlp.epochs": "4", "mlp.seed": "9",
                "sweep.space.00.mlp.hidden_size": "8..64:log",
            ],
            dataFingerprint: "f")
        sweep.status = .finished
        try await store.create(sweep)
        var trial = Experiment(
            id: "sw-1-t0000", name: "sonar-t0000", kind: .trial, startedAt: Date(),
            parameters: [
                "mlp.hidden_size": "12", "sweep.parent": "sw-1", "sweep.trial": "0", "sweep.status": "finished",
            ],
            dataFingerprint: "f")
        trial.status = .finished
        try await store.create(trial)
        let services = TrackingDashboardServices(store: store) { form in
            let data = try SonarData.load(path: dataPath)
            return TrainingRequest(
                name: form.name, data: data, dataPath: dataPath, testSize: 0.25, splitSeed: 42,
                configuration: form.applied(to: TrainingConfiguration()),
                parameters: form.applied(to: ["data.path": dataPath]),
                experimentsRoot: directory.appendingPathComponent("experiments").path)
        }
        let listed = try await services.experiments()
        #expect(listed.first { $0.id == "sw-1-t0000" }?.trial?.sweepID == "sw-1")
        #expect(listed.first { $0.id == "sw-1" }?.kind == .sweep)
        // The form says 80 epochs and 40 units: the store's values win.
        let record = try await services.trainTrial(
            "sw-1-t0000", parameters: Hyperparameters(name: "sw-1-t0000"), cancellation: RunCancellation(),
            callbacks: RunCallbacks(onStart: { _, _, _, _ in }, onEpoch: { _ in }))
        #expect(record.state == .finished)
        #expect(record.parameter("mlp.hidden_size") == "12")
        #expect(record.parameter("mlp.epochs") == "4")
        #expect(record.parameter("mlp.seed") == "9")
        #expect(record.parameter("sweep.from_trial") == "sw-1-t0000")
        #expect(record.parameter("sweep.from_sweep") == "sw-1")
        await #expect(throws: TUIError.sweepUnreadable("")) {
            try await services.trainTrial(
                "nope", parameters: Hyperparameters(), cancellation: RunCancellation(),
                callbacks: RunCallbacks(onStart: { _, _, _, _ in }, onEpoch: { _ in }))
        }
    }
}
