import Foundation
import Testing
import Tracking

@testable import TUI

/// The Tests screen runs the functional scenarios itself (`r`) and shows each result as it comes.
@Suite("Tests screen: running the functional scenarios")
struct ScenarioRunTests {
    static let results = [
        ScenarioResult(name: "clean-validation", passed: true, accuracy: 0.8269, macroF1: 0.8253, detail: "passed"),
        ScenarioResult(name: "noisy-rows", passed: false, accuracy: 0.61, macroF1: 0.6, detail: "accuracy < 0.7"),
        ScenarioResult(name: "short-row", passed: true, detail: "refused as expected: expected 61 fields"),
    ]

    @Test func rOnTheTestsScreenStartsOneRunAndASecondRIsRefusedWhileItGoes() {
        var state = Fixtures.state(width: 120, height: 40)
        state.press(.character("5"))
        #expect(state.press(.character("r")) == [.runScenarios])
        #expect(state.press(.character("r")) == [])
        #expect(Fixtures.text(state).contains("the functional scenarios are already running"))
        // On History, r still reloads the store.
        state.press(.character("2"))
        #expect(state.press(.character("r")) == [.loadHistory])
    }

    @Test func eachResultShowsAsItArrivesThenTheSummary() {
        var state = Fixtures.state(width: 120, height: 40)
        state.press(.character("5"))
        state.press(.character("r"))
        state.send(.scenariosStarted(model: "experiments/exp_sonar_1/model.json", count: 3))
        state.send(.scenarioFinished(Self.results[0]))
        var text = Fixtures.text(state)
        #expect(text.contains("Running the functional scenarios against experiments/exp_sonar_1/model.json: 1 of 3"))
        #expect(text.contains("clean-validation"))
        #expect(!text.contains("noisy-rows"))
        state.send(.scenarioFinished(Self.results[1]), .scenarioFinished(Self.results[2]))
        state.send(.scenariosEnded(Self.results))
        text = Fixtures.text(state)
        #expect(text.contains("Functional scenarios: 2 of 3 passed"))
        #expect(text.contains("functional scenarios: 2 of 3 passed"))  // the status line
        #expect(text.contains("FAIL"))
        #expect(!text.contains("Running the functional scenarios"))
        // Another run may start once this one ended.
        #expect(state.press(.character("r")) == [.runScenarios])
    }

    @Test func aRunThatCannotStartSaysWhyAndKeepsTheLastResults() {
        var state = Fixtures.state(width: 120, height: 40)
        state.send(.testResultsLoaded([Self.results[0]]))
        state.press(.character("5"))
        state.press(.character("r"))
        state.send(.scenariosFailed("no finished run with a model in the store; train one first"))
        let text = Fixtures.text(state)
        #expect(text.contains("could not run the functional scenarios: no finished run with a model"))
        #expect(text.contains("Functional scenarios: 1 of 1 passed"))
        #expect(state.press(.character("r")) == [.runScenarios])
    }

    @Test func theEmptyScreenTellsWhichKeyRunsTheScenarios() {
        var state = Fixtures.state(width: 120, height: 40)
        state.send(.testResultsLoaded([]))
        state.press(.character("5"))
        #expect(Fixtures.text(state).contains("Press r to run the functional scenarios against the latest model"))
        #expect(Fixtures.text(state).contains("r run scenarios"))
    }

    @Test func theRuntimePostsEveryResultThenTheEnd() async {
        let services = FakeServices()
        services.scenarioScript = Self.results
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        runner.perform(.runScenarios)
        let events = await collect(inbox) { events in
            events.contains { if case .scenariosEnded = $0 { true } else { false } }
        }
        var finished: [String] = []
        var started: (String, Int)?
        var ended: [ScenarioResult]?
        for event in events {
            switch event {
            case .scenariosStarted(let model, let count): started = (model, count)
            case .scenarioFinished(let result): finished.append(result.name)
            case .scenariosEnded(let results): ended = results
            default: break
            }
        }
        #expect(started?.0 == "fake/model.json")
        #expect(started?.1 == 3)
        #expect(finished == Self.results.map(\.name))
        #expect(ended == Self.results)
    }

    @Test func theRuntimeReportsAFailedRun() async {
        let services = FakeServices()
        services.scenarioFailure = "no scenario files"
        let inbox = EventInbox()
        let runner = EffectRunner(services: services, inbox: inbox)
        runner.perform(.runScenarios)
        let events = await collect(inbox) { events in
            events.contains { if case .scenariosFailed = $0 { true } else { false } }
        }
        #expect(
            events.contains {
                if case .scenariosFailed(let reason) = $0 { reason.contains("no scenario files") } else { false }
            })
    }

    @Test func trackingServicesWithoutARunnerSayWhatToRunInstead() async throws {
        let store = try LocalStore(directory: NSTemporaryDirectory() + "scenario-run-\(UUID().uuidString)")
        let services = TrackingDashboardServices(store: store) { _ in throw CancellationError() }
        await #expect(throws: TUIError.scenariosUnavailable("")) {
            try await services.runScenarios(onStart: { _, _ in }, onResult: { _ in })
        }
    }

    @Test func trackingServicesMapEachRecordedScenarioToARow() async throws {
        let store = try LocalStore(directory: NSTemporaryDirectory() + "scenario-run-\(UUID().uuidString)")
        let scenario = FunctionalTestResults.Scenario(
            name: "noisy-rows", file: "tests/functional/noisy.json", description: "noise", status: .failed, rows: 52,
            accuracy: 0.61, f1: 0.6, loss: 0.9, confusionMatrix: [[10, 14], [6, 22]], minAccuracy: 0.7, minF1: nil,
            expectError: nil, messages: ["accuracy 0.6100 < 0.7"], experimentID: "x", runDirectory: "/tmp/x",
            seconds: 0.01)
        let runner: TrackingDashboardServices.ScenarioRunner = { onStart, onResult in
            onStart("m.json", 1)
            onResult(scenario)
            return FunctionalTestResults(
                startedAt: Date(), modelPath: "m.json", modelExperimentID: "e", scenariosSource: "tests/functional",
                scenarios: [scenario])
        }
        let services = TrackingDashboardServices(store: store, scenarioRunner: runner) { _ in
            throw CancellationError()
        }
        let seen = Locked<[ScenarioResult]>([])
        let results = try await services.runScenarios(
            onStart: { _, _ in }, onResult: { r in seen.mutate { $0.append(r) } })
        let expected = ScenarioResult(
            name: "noisy-rows", passed: false, accuracy: 0.61, macroF1: 0.6, detail: "accuracy 0.6100 < 0.7")
        #expect(results == [expected])
        #expect(seen.value == [expected])
    }
}

/// A value behind a lock, for callbacks from other tasks.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
