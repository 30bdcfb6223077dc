import Engine
import Foundation
import Testing
@testable import TUI

@Suite struct StateMachineTests {
    @Test func openingLoadsHistoryAndTestResults() {
        var state = Fixtures.state()
        #expect(state.start() == [.loadHistory, .loadTestResults])
        #expect(state.history.isLoading)
    }

    @Test func tabShiftTabAndNumberKeysMoveBetweenScreens() {
        var state = Fixtures.state()
        state.press(.tab)
        #expect(state.screen == .history)
        state.press(.backTab, .backTab)
        #expect(state.screen == .sweep)  // wraps around
        state.press(.tab)
        #expect(state.screen == .train)
        state.press(.character("5"))
        #expect(state.screen == .tests)
        state.press(.character("2"))
        #expect(state.screen == .history)
    }

    @Test func questionMarkOpensHelpAndEscapeGoesBack() {
        var state = Fixtures.state()
        state.press(.character("2"), .character("?"))
        #expect(state.screen == .help)
        state.press(.escape)
        #expect(state.screen == .history)
        state.press(.escape)
        #expect(state.screen == .train)
        #expect(state.press(.escape).isEmpty)
        #expect(state.screen == .train)
    }

    @Test func quitAsksToQuitAndCancelsARunningRunFirst() {
        var idle = Fixtures.state()
        #expect(idle.press(.character("q")) == [.quit])
        #expect(idle.shouldQuit)
        var busy = Fixtures.state()
        busy.press(.character("t"))
        #expect(busy.press(.character("q")) == [.cancelRun, .quit])
        var interrupted = Fixtures.state()
        #expect(interrupted.send(.interrupt) == [.quit])
        var ctrlC = Fixtures.state()
        ctrlC.press(.character("2"), .character("/"))
        #expect(ctrlC.press(.interrupt) == [.quit])  // even while typing a filter
        // q is a normal quit (exit 0); Ctrl-C and signals are interruptions (the command exits 130).
        #expect(idle.exitReason == .quit)
        #expect(interrupted.exitReason == .interrupted)
        #expect(ctrlC.exitReason == .interrupted)
    }

    @Test func trainStartsARunWithTheFormsParametersFromAnyScreen() {
        var state = Fixtures.state()
        state.parameters = Hyperparameters(hiddenSize: 16, learningRate: 0.005, epochs: 20, seed: 7, name: "small")
        state.press(.character("2"))
        let effects = state.press(.character("t"))
        #expect(effects == [.startRun(state.parameters)])
        #expect(state.screen == .train)
        #expect(state.run?.plannedEpochs == 20)
        #expect(state.isRunning)
        // A second t while running starts nothing.
        #expect(state.press(.character("t")).isEmpty)
        #expect(state.message?.text.contains("in progress") == true)
    }

    @Test func aRunFollowsItsEpochsAndEndsWithAHistoryReload() {
        var state = Fixtures.state()
        state.press(.character("t"))
        let t0 = Fixtures.epoch0
        state.send(.runStarted(id: "exp-1", name: "first", plannedEpochs: 4, recordedIn: "SQLite test.sqlite", at: t0))
        for p in Fixtures.curve(epochs: 2) { state.send(.epoch(p, at: t0.addingTimeInterval(Double(p.epoch)))) }
        #expect(state.run?.epochs.count == 2)
        #expect(state.run?.epochsPerSecond == 1)
        #expect(state.run?.secondsRemaining == 2)
        var record = Fixtures.run(index: 1, epochs: 4)
        record.id = "exp-1"
        let effects = state.send(.runEnded(record, at: t0.addingTimeInterval(4)))
        #expect(effects == [.loadHistory])
        #expect(state.run?.state == .finished)
        #expect(state.run?.secondsRemaining == 0)
        #expect(state.message?.role == .good)
        // Epochs arriving after the end are ignored.
        state.send(.epoch(Fixtures.curve(epochs: 3)[2], at: t0.addingTimeInterval(5)))
        #expect(state.run?.epochs.count == 2)
    }

    @Test func cancelAsksTheRuntimeAndSaysSo() {
        var state = Fixtures.state()
        #expect(state.press(.character("x")).isEmpty)
        state.press(.character("t"))
        #expect(state.press(.character("x")) == [.cancelRun])
        #expect(state.run?.isCancelling == true)
        var record = Fixtures.run(index: 2, state: .cancelled)
        record.failure = nil
        state.send(.runEnded(record, at: Fixtures.epoch0))
        #expect(state.run?.state == .cancelled)
        #expect(state.message?.text.contains("cancelled") == true)
    }

    @Test func aFailedRunIsShownAndTheDashboardStaysUp() {
        var state = Fixtures.state()
        state.press(.character("t"))
        #expect(
            state.send(.runFailed("data/sonar.all-data:3: 60 fields, expected 61", at: Fixtures.epoch0)) == [
                .loadHistory
            ])
        #expect(state.run?.state == .failed)
        #expect(!state.shouldQuit)
        #expect(Fixtures.text(state).contains("failed: data/sonar.all-data:3: 60 fields, expected 61"))
    }

    @Test func theFormEditsAFieldAndRejectsBadValues() {
        var state = Fixtures.state()
        state.press(.down, .down)  // epochs
        #expect(state.focusedField == .epochs)
        state.press(.enter)
        #expect(state.fieldDraft == "80")
        state.press(.backspace, .backspace)
        state.type("12")
        state.press(.enter)
        #expect(state.parameters.epochs == 12)
        #expect(state.fieldDraft == nil)
        // A bad value keeps the draft open and says why; q is typed, not quit.
        state.press(.enter, .backspace, .backspace)
        state.type("q")
        #expect(!state.shouldQuit)
        state.press(.enter)
        #expect(state.fieldDraft == "q")
        #expect(state.message?.text.hasPrefix("epochs:") == true)
        // The status bar shows the refused draft and the reason, not just the draft.
        #expect(Fixtures.text(state).contains("✕ epochs: a whole number 1–100000"))
        state.press(.backspace)
        #expect(!Fixtures.text(state).contains("✕ epochs:"), "the reason clears once the draft changes")
        state.type("q")
        state.press(.escape)
        #expect(state.fieldDraft == nil)
        #expect(state.parameters.epochs == 12)
        // Batch size accepts "full".
        state.press(.down, .enter, .backspace, .backspace, .backspace, .backspace)
        state.type("32")
        state.press(.enter)
        #expect(state.parameters.batchSize == 32)
    }

    @Test(arguments: [
        (FormField.hiddenSize, "0", false), (.hiddenSize, "64", true), (.learningRate, "-1", false),
        (.learningRate, "0.001", true),
        (.epochs, "1.5", false), (.batchSize, "full", true), (.batchSize, "0", false), (.weightDecay, "1e-4", true),
        (.weightDecay, "-0.1", false), (.seed, "-3", false), (.seed, "123", true), (.name, "baseline-2.b_c", true),
        (.name, "two words", false), (.name, "ünï", false), (.optimizer, "AdamW", true), (.optimizer, "sgd", false),
        (.dropout, "0.3", true), (.dropout, "1", false), (.dropout, "-0.1", false), (.inputNoise, "0.05", true),
        (.inputNoise, "11", false), (.inputNoise, "nan", false), (.ensemble, "5", true), (.ensemble, "0", false),
        (.ensemble, "101", false),
    ])
    func formFieldsValidate(field: FormField, text: String, isValid: Bool) {
        var p = Hyperparameters()
        #expect((field.apply(text, to: &p) == nil) == isValid)
        if isValid { #expect(field.apply(field.text(of: p), to: &p) == nil, "what the form shows reads back") }
    }

    @Test("the form scrolls so that the focused field is in view when the panel is shorter than the fields")
    func theFocusedFieldStaysInView() {
        var state = Fixtures.state()
        state.size = Size(width: 80, height: 24)
        state.press(.character("t"))
        let top = Fixtures.text(state)
        #expect(top.contains("│hidden size") && !top.contains("│ensemble"), "\(top)")
        for _ in 0..<(FormField.allCases.count - 1) { state.press(.down) }
        #expect(state.focusedField == .ensemble)
        let bottom = Fixtures.text(state)
        #expect(bottom.contains("│ensemble") && bottom.contains("│input noise"), "\(bottom)")
        #expect(!bottom.contains("│hidden size"), "the window scrolled: \(bottom)")
    }

    @Test func theParametersCannotBeEditedWhileARunIsInProgress() {
        var state = Fixtures.state()
        state.press(.character("t"), .enter)
        #expect(state.fieldDraft == nil)
    }

    @Test func historySortsByAnyColumnAndReverses() {
        var state = Fixtures.withHistory(10)
        state.press(.character("2"))
        #expect(state.history.visibleRuns.first?.id == Fixtures.run(index: 9).id)  // newest first
        state.press(.character("s"))
        #expect(state.history.sortColumn != .started)
        var seen: Set<Int> = []
        for _ in HistoryColumn.allCases {
            seen.insert(state.history.sortColumn.rawValue)
            state.press(.character("s"))
        }
        #expect(seen.count == HistoryColumn.fitting(116).count)
        while state.history.sortColumn != .accuracy { state.press(.character("s")) }
        let descending = state.history.visibleRuns.compactMap { $0.validation?.accuracy }
        #expect(descending == descending.sorted(by: >))
        state.press(.character("S"))
        let ascending = state.history.visibleRuns.compactMap { $0.validation?.accuracy }
        #expect(ascending == ascending.sorted())
    }

    @Test func historyFiltersByTextAndEscapeClearsTheDraft() {
        var state = Fixtures.withHistory(30)
        state.press(.character("2"), .character("/"))
        state.type("failed")
        #expect(state.history.visibleRuns.allSatisfy { $0.state == .failed })
        #expect(!state.history.visibleRuns.isEmpty)
        state.press(.enter)
        #expect(state.history.filter == "failed")
        state.press(.character("/"), .backspace, .backspace, .backspace, .backspace, .backspace, .backspace)
        state.type("run-2")
        state.press(.escape)
        #expect(state.history.filter == "failed")  // Esc drops the draft, keeps the filter
        #expect(!state.shouldQuit)
    }

    @Test func enterOpensTheSelectedRunInDetail() {
        var state = Fixtures.withHistory(5)
        state.press(.character("2"), .down)
        let effects = state.press(.enter)
        let expected = Fixtures.run(index: 3).id
        #expect(effects == [.loadExperiment(id: expected)])
        #expect(state.screen == .detail)
        state.send(.experimentLoaded(Fixtures.run(index: 3)))
        #expect(state.detail?.snapshot?.id == expected)
        #expect(state.press(.right) == [.loadExperiment(id: Fixtures.run(index: 2).id)])
    }

    @Test func markingTwoRunsPreparesCompare() {
        var state = Fixtures.withHistory(5)
        state.press(.character("2"))
        #expect(state.press(.character("c")) == [.loadExperiment(id: Fixtures.run(index: 4).id)])
        state.press(.down)
        state.press(.character("c"))
        #expect(state.history.marked == [Fixtures.run(index: 4).id, Fixtures.run(index: 3).id])
        #expect(state.message?.text.contains("press 4") == true)
        state.press(.down, .character("c"))  // a third mark replaces the oldest
        #expect(state.history.marked == [Fixtures.run(index: 3).id, Fixtures.run(index: 2).id])
        state.press(.character("c"))  // c again unmarks
        #expect(state.history.marked == [Fixtures.run(index: 3).id])
    }

    @Test func resizeKeepsTheSelectionVisible() {
        var state = Fixtures.withHistory(200, height: 60)
        state.press(.character("2"))
        for _ in 0..<50 { state.press(.down) }
        state.send(.resize(Size(width: 80, height: 24)))
        let rows = state.historyVisibleRows
        #expect(state.history.viewport.selected == 50)
        #expect(state.history.viewport.offset <= 50 && 50 < state.history.viewport.offset + rows)
    }

    @Test func aTooSmallTerminalIgnoresKeysButQuit() {
        var state = Fixtures.state(width: 60, height: 20)
        #expect(state.press(.character("t")).isEmpty)
        #expect(state.press(.character("q")) == [.quit])
    }

    @Test func aRefreshKeepsTheSelectedRunSelected() {
        var state = Fixtures.withHistory(10)
        state.press(.character("2"), .down, .down)
        let selected = state.selectedRun?.id
        let runs = (0..<11).map { Fixtures.run(index: $0) }  // one newer run arrived
        state.send(.historyLoaded(runs, store: "SQLite x"))
        #expect(state.selectedRun?.id == selected)
        #expect(state.history.viewport.selected == 3)
    }

    @Test func anUnreachableStoreIsReported() {
        var state = Fixtures.state()
        state.send(.historyFailed("connection refused", store: "HBase sonarlab:experiments"))
        #expect(state.isStoreReachable == false)
        state.press(.character("2"))
        let text = Fixtures.text(state)
        #expect(text.contains("Store unreachable: connection refused"))
        #expect(text.contains("✕ unreachable"))
    }
}

@Suite struct StateMachineLongRunTests {
    @Test func twentyThousandEpochEventsAreAllKeptInOrder() {
        // The speed budget (linear time: 100 µs an event) is in `make bench` (dashboard-bench), not here.
        var state = Fixtures.state()
        state.press(.character("t"))
        var point = Fixtures.curve(epochs: 1)[0]
        for i in 1...20_000 {
            point.epoch = i
            state.send(.epoch(point, at: Fixtures.epoch0.addingTimeInterval(Double(i) * 0.001)))
        }
        #expect(state.run?.epochs.count == 20_000)
        #expect(state.run?.epochs.map(\.epoch) == Array(1...20_000))
    }
}
