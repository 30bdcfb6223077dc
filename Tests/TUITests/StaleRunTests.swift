import Engine
import Foundation
import Testing
import Tracking
@testable import TUI

/// The dashboard shows a recorded `running` run whose process died as `stale`, with the reason.
@Suite("Dashboard: stale runs")
struct StaleRunTests {
    static func deadRun() -> Experiment {
        var e = Experiment(
            id: "20260921-141320-0000aa", name: "killed", kind: .train, startedAt: Fixtures.epoch0,
            parameters: ["mlp.epochs": "80"], dataFingerprint: "f")
        e.heartbeat = RunHeartbeat(at: Fixtures.epoch0, pid: 31337, host: "here")
        return e
    }

    static let rule = RunStaleness(staleAfter: 120, host: "here", isProcessAlive: { _ in false })

    @Test func aRecordedRunWhoseProcessDiedIsStaleWithTheReason() throws {
        let snapshot = ExperimentSnapshot(Self.deadRun(), staleness: Self.rule, at: Fixtures.epoch0)
        #expect(snapshot.state == .stale)
        #expect(snapshot.failure?.contains("process 31337 on host here has ended") == true)
        let alive = RunStaleness(staleAfter: 120, host: "here", isProcessAlive: { _ in true })
        #expect(ExperimentSnapshot(Self.deadRun(), staleness: alive, at: Fixtures.epoch0).state == .running)
    }

    @Test func historyAndDetailShowStaleNotRunning() {
        var state = Fixtures.state()
        _ = state.start()
        let snapshot = ExperimentSnapshot(Self.deadRun(), staleness: Self.rule, at: Fixtures.epoch0)
        state.send(.historyLoaded([snapshot], store: "SQLite x"))
        state.press(.character("2"))
        let history = Fixtures.text(state)
        #expect(history.contains("killed") && history.contains("stale"), "\(history)")
        #expect(!history.contains("running"), "\(history)")
        state.press(.enter)
        state.send(.experimentLoaded(snapshot))
        let detail = Fixtures.text(state)
        #expect(detail.contains("status   stale"), "\(detail)")
        #expect(detail.contains("stale · 0/80 epochs: process 31337"), "\(detail)")
    }
}
