import Engine
import Foundation
import Testing

@testable import TUI

@Suite struct FormEditingTests {
    @Test("Enter selects the value: typing replaces it (80, Enter, 300 gives 300, not 80300)")
    func typingReplacesTheSelectedValue() {
        var state = Fixtures.state()
        state.press(.down, .down)  // epochs
        state.press(.enter)
        #expect(state.fieldDraft == "80")
        #expect(state.isDraftSelected)
        #expect(Fixtures.text(state).contains("typing replaces it, Ctrl-U clears"))
        state.type("300")
        #expect(state.fieldDraft == "300")
        #expect(!state.isDraftSelected)
        state.press(.enter)
        #expect(state.parameters.epochs == 300)
    }

    @Test("Ctrl-U clears the draft, selected or not; typing then starts from empty")
    func controlUClears() {
        var state = Fixtures.state()
        state.press(.enter)  // hidden size 40
        state.press(.clearLine)
        #expect(state.fieldDraft == "")
        state.type("64")
        state.press(.clearLine)
        #expect(state.fieldDraft == "")
        state.type("16")
        state.press(.enter)
        #expect(state.parameters.hiddenSize == 16)
    }

    @Test("a key that is not typing (an arrow) drops the selection and keeps the text, so typing appends")
    func anArrowKeepsTheTextForAppending() {
        var state = Fixtures.state()
        state.press(.enter)
        state.press(.right)
        #expect(!state.isDraftSelected)
        state.type("0")
        #expect(state.fieldDraft == "400")
    }

    @Test("Backspace on a selected value clears it; a refused value is no longer selected")
    func backspaceAndRefusal() {
        var state = Fixtures.state()
        state.press(.down, .down, .enter, .backspace)
        #expect(state.fieldDraft == "")
        state.type("x")
        state.press(.enter)
        #expect(state.fieldDraft == "x")
        #expect(!state.isDraftSelected)
        state.type("1")
        #expect(state.fieldDraft == "x1")
    }

    @Test("the name field starts selected too, and an empty name is not selected")
    func nameField() {
        var state = Fixtures.state()
        state.press(.end, .enter)
        #expect(state.focusedField == .name)
        #expect(state.fieldDraft == "")
        #expect(!state.isDraftSelected)
        state.type("base")
        state.press(.enter, .enter)
        #expect(state.isDraftSelected)
        state.type("next")
        state.press(.enter)
        #expect(state.parameters.name == "next")
    }

    @Test("Ctrl-U clears the History filter being typed")
    func controlUClearsTheFilter() {
        var state = Fixtures.withHistory(5)
        state.press(.character("2"), .character("/"))
        state.type("run-")
        state.press(.clearLine)
        #expect(state.history.filterDraft == "")
    }
}

@Suite struct RunPanelRecordingTests {
    static func endedRun(_ recording: RecordingState) -> AppState {
        var state = Fixtures.state()
        state.press(.character("t"))
        state.send(
            .runStarted(id: "r1", name: "sonar", plannedEpochs: 80, recordedIn: "HBase sonarlab", at: Fixtures.epoch0))
        var record = Fixtures.run(index: 1)
        record.recording = recording
        state.send(.runEnded(record, at: Fixtures.epoch0.addingTimeInterval(3)))
        return state
    }

    @Test("a run whose every write was refused is not shown as recorded")
    func refusedWritesAreNotRecorded() {
        let state = Self.endedRun(.refused("HBase refused the writes (403 forbidden)"))
        let text = Fixtures.text(state)
        #expect(!text.contains(" · recorded in HBase"), "\(text)")
        #expect(text.contains("NOT recorded in HBase sonarlab"))
        #expect(state.message?.text.contains("was not recorded in HBase sonarlab") == true)
        #expect(state.message?.role == .warning)
    }

    @Test("a run still training is being recorded; a delivered one is recorded; a queued one says queued")
    func recordingStates() {
        var running = Fixtures.state()
        running.press(.character("t"))
        running.send(
            .runStarted(id: "r1", name: "sonar", plannedEpochs: 80, recordedIn: "HBase sonarlab", at: Fixtures.epoch0))
        #expect(Fixtures.text(running).contains("recording in HBase sonarlab as r1"))
        #expect(Fixtures.text(Self.endedRun(.recorded)).contains("recorded in HBase sonarlab as r"))
        let queued = Fixtures.text(Self.endedRun(.queued("HBase unreachable — 3 writes queued")))
        #expect(queued.contains("queued for HBase sonarlab"))
        #expect(!queued.contains("recorded in"))
    }
}
