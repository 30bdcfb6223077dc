import Engine
import Foundation
import Testing
@testable import TUI

/// Screens rendered into the grid at 80×24 and 120×40, asserted as rows of text.
@Suite struct ScreenTests {
    static let sizes = [Size(width: 80, height: 24), Size(width: 120, height: 40)]

    /// A run 30 epochs into 80, one epoch every 0.1 s.
    static func trainingState(_ size: Size) -> AppState {
        var s = Fixtures.withHistory(3, width: size.width, height: size.height)
        s.press(.character("t"))
        s.send(
            .runStarted(
                id: "exp-42", name: "baseline", plannedEpochs: 80, recordedIn: "SQLite .sonarlab/experiments.sqlite",
                at: Fixtures.epoch0))
        for p in Fixtures.curve(epochs: 30) {
            s.send(.epoch(p, at: Fixtures.epoch0.addingTimeInterval(Double(p.epoch) * 0.1)))
        }
        return s
    }

    /// The start of run `i`'s History row: mark column, the id padded to its column, the name.
    static func historyRow(_ i: Int) -> String {
        "│  " + padded(Fixtures.run(index: i).id, to: 22) + " run-\(i) "
    }

    private func expectFrame(_ lines: [String], _ size: Size, screen: Screen) {
        #expect(lines.count == size.height)
        #expect(lines[0].hasPrefix(" SonarLab  1 Train  2 History  3 Detail  4 Compare  5 Tests  6 Help"))
        #expect(lines.allSatisfy { displayWidth(of: $0) <= size.width })
        #expect(
            lines[size.height - 1].hasSuffix("● reachable") || lines[size.height - 1].hasSuffix("…")
                || lines[size.height - 1].hasSuffix("unreachable"))
    }

    @Test(arguments: sizes)
    func trainBeforeAnyRunInvitesToTrainAndShowsTheParameters(size: Size) {
        var state = Fixtures.state(width: size.width, height: size.height)
        state.send(.historyLoaded([], store: "SQLite .sonarlab/experiments.sqlite"))
        let lines = Fixtures.screen(state)
        expectFrame(lines, size, screen: .train)
        #expect(lines[1].hasPrefix("┌ Run ─"))
        #expect(lines[2] == "│No run yet." + String(repeating: " ", count: size.width - 13) + "│")
        #expect(lines[3].hasPrefix("│Press t to train"))
        let form = lines.filter {
            $0.contains("│hidden size   40") || $0.contains("│learning rate 0.01") || $0.contains("│epochs        80")
        }
        #expect(form.count == 3)
        #expect(lines.contains { $0.contains("│name          (automatic)") })
        #expect(
            lines.contains { $0.contains("┌ Loss ─") } && lines.contains { $0.contains("┌ Accuracy ─") }
                && lines.contains { $0.contains("┌ Macro-F1 ─") })
        #expect(lines[size.height - 1].hasPrefix(" t train  x cancel"))
    }

    @Test(arguments: sizes)
    func trainDuringARunShowsProgressRateEtaChartsAndTheEpochLog(size: Size) {
        let lines = Fixtures.screen(Self.trainingState(size))
        expectFrame(lines, size, screen: .train)
        #expect(lines[2].hasPrefix("│baseline · running · recording in SQLite .sonarlab/experiments.sqlite as exp-4"))
        // 30 of 80 epochs in 3 s: 10 epochs/s, 5 s to go.
        #expect(lines[3].hasPrefix("│epoch 30/80 ███"))
        #expect(lines[3].hasSuffix(" 38%  10.0 epochs/s  elapsed 0:03  ETA 0:05│"))
        let last = Fixtures.curve(epochs: 30)[29]
        #expect(
            lines[4].contains(
                "validation accuracy \(formatMetric(last.validation.accuracy)) · macro-F1 \(formatMetric(last.validation.macroF1))"
            ))
        // Chart titles carry the latest train / validation values; the legend names both series.
        #expect(lines[6].contains("Loss \(formatMetric(last.train.loss)) / \(formatMetric(last.validation.loss))"))
        #expect(lines.contains { $0.contains("▬ train ▬ val") })
        #expect(lines.contains { $0.contains("│       1") && $0.contains("80│") })
        // The epoch log ends with the newest epoch.
        let logRows = lines.filter { $0.hasPrefix("│  ") && $0.contains(" │  0.") }
        #expect(logRows.last?.hasPrefix("│  30 │  \(String(format: "%.4f", last.train.loss))") == true)
        #expect(lines.contains { $0.contains("  ep │  t.loss t.acc  t.F1 │  v.loss v.acc  v.F1") })
        // Braille dots were drawn.
        #expect(lines.joined().unicodeScalars.contains { $0.value > 0x2800 && $0.value <= 0x28FF })
        if size.width >= 100 { #expect(lines[0].hasSuffix("● training 30/80")) }
    }

    @Test(arguments: sizes)
    func trainAfterTheRunShowsFinalMetricsAndTheModel(size: Size) {
        var state = Self.trainingState(size)
        var record = Fixtures.run(index: 42)
        record.id = "exp-42"
        state.send(.runEnded(record, at: Fixtures.epoch0.addingTimeInterval(8)))
        let lines = Fixtures.screen(state)
        #expect(lines[2].contains("baseline · finished"))
        #expect(
            lines[4].hasPrefix(
                "│final: validation accuracy \(formatMetric(record.validation?.accuracy)) · macro-F1 \(formatMetric(record.validation?.macroF1))"
            ))
        #expect(lines[size.height - 1].contains("run run-42 finished: validation accuracy"))
        if size.width >= 120 { #expect(lines[4].contains("model models/run-42.sonarmodel.json")) }
    }

    @Test(arguments: sizes)
    func historyWithNoRunsSaysSo(size: Size) {
        var state = Fixtures.state(width: size.width, height: size.height)
        state.send(.historyLoaded([], store: "SQLite .sonarlab/experiments.sqlite"))
        state.press(.character("2"))
        let lines = Fixtures.screen(state)
        expectFrame(lines, size, screen: .history)
        #expect(lines[1] == " 0 runs · sorted by Started (UTC) ▼")
        #expect(lines[2].hasPrefix("┌ Experiments in SQLite .sonarlab/experiments.sqlite ─"))
        #expect(lines[3].hasPrefix("│No experiments yet."))
        #expect(lines[4].hasPrefix("│Press t to train one"))
    }

    @Test(arguments: sizes)
    func historyOfAThousandRunsShowsTheNewestScreenfulAndScrollsToTheOldest(size: Size) {
        var state = Fixtures.withHistory(1000, width: size.width, height: size.height)
        state.press(.character("2"))
        var lines = Fixtures.screen(state)
        expectFrame(lines, size, screen: .history)
        #expect(lines[1] == " 1000 runs · sorted by Started (UTC) ▼")
        #expect(lines[3].hasPrefix("│  ID                     Name               Status    "))
        #expect(lines[3].contains("Started (UTC)▼") == (size.width >= 120))
        let rows = state.historyVisibleRows
        #expect(rows == size.height - 6)
        let dataRows = lines[4..<(4 + rows)]
        #expect(dataRows.first?.hasPrefix(Self.historyRow(999)) == true)
        #expect(dataRows.last?.hasPrefix(Self.historyRow(999 - rows + 1)) == true)
        #expect(lines[4 + rows].hasPrefix("└"))
        // The wider terminal shows more columns.
        #expect(lines[3].contains("Val acc") && lines[3].contains("Val F1"))
        #expect(lines[3].contains("Hidden") == (size.width >= 120))
        state.press(.end)
        lines = Fixtures.screen(state)
        #expect(lines[4 + rows - 1].hasPrefix(Self.historyRow(0)))
        #expect(lines[4].hasPrefix(Self.historyRow(rows - 1)))
    }

    @Test func historyMovesThroughAThousandRuns() {
        // The speed budget of this (a frame within 100 ms) is in `make bench` (dashboard-bench), not here.
        var state = Fixtures.withHistory(1000)
        state.press(.character("2"))
        for _ in 0..<10 { state.press(.down) }
        let lines = Fixtures.screen(state)
        #expect(lines.contains { $0.contains("1000 runs") }, "\(lines.joined(separator: "\n"))")
        #expect(state.history.viewport.selected == 10)
    }

    @Test func historyShowsFilterMarksAndFailedRuns() {
        var state = Fixtures.withHistory(40)
        state.press(.character("2"), .character("c"), .character("/"))
        state.type("run-3")
        let lines = Fixtures.screen(state)
        #expect(lines[1] == " 40 runs (11 shown) · filter \"run-3\" · sorted by Started (UTC) ▼ · 1/2 marked")
        #expect(lines[39].hasPrefix(" filter: run-3▏"))
        #expect(lines[4].hasPrefix("│● " + padded("r0000039-abcdef", to: 22) + " run-39 "))  // marked before filtering
        #expect(lines[5].hasPrefix("│  " + padded("r0000038-abcdef", to: 22) + " run-38 "))
        state.press(.escape)
        #expect(Fixtures.screen(state)[1] == " 40 runs · sorted by Started (UTC) ▼ · 1/2 marked")
    }

    @Test(arguments: sizes)
    func detailShowsParametersMetricsConfusionFingerprintAndModel(size: Size) {
        var state = Fixtures.withHistory(3, width: size.width, height: size.height)
        state.press(.character("2"), .enter)
        #expect(Fixtures.text(state).contains("Loading run r0000002-abcdef…"))
        let run = Fixtures.run(index: 2)
        state.send(.experimentLoaded(run))
        let lines = Fixtures.screen(state)
        let text = lines.joined(separator: "\n")
        expectFrame(lines, size, screen: .detail)
        #expect(lines[1].hasPrefix("┌ Run run-2 ─"))
        #expect(lines[2].hasPrefix("│id       r0000002-abcdef "))
        #expect(lines[3].hasPrefix("│status   finished · 80/80 epochs"))
        #expect(lines[4].hasPrefix("│started  2026-09-21 16:13 UTC"))
        // The whole fingerprint and model path are in the Run panel, wrapped if needed.
        let runPanel = lines[2..<13].compactMap { $0.split(separator: "│").first }
            .map { String($0.dropFirst(9)).trimmingCharacters(in: .whitespaces) }.joined()
        #expect(runPanel.contains("sha256:" + run.dataFingerprint))
        #expect(runPanel.contains("models/run-2.sonarmodel.json"))
        #expect(text.contains("│mlp.hidden_size  40 "))
        #expect(text.contains("│mlp.lr           0.01 "))
        #expect(text.contains("│mlp.weight_decay 0.0 "))
        #expect(
            text.contains("validation \(formatMetric(run.validation?.loss)) \(formatMetric(run.validation?.accuracy))"))
        #expect(text.contains("actual \\ pred       R      M"))
        #expect(text.contains("R                  20      4"))
        #expect(text.contains("M                   3     25"))
        #expect(text.contains("┌ Loss ") && text.contains("┌ Accuracy "))
        #expect(text.contains("┌ Macro-F1 ") == (size.height >= 40))
    }

    @Test(arguments: sizes)
    func detailWithoutASelectionExplainsHowToOpenOne(size: Size) {
        var state = Fixtures.state(width: size.width, height: size.height)
        state.press(.character("3"))
        let lines = Fixtures.screen(state)
        #expect(lines[2].hasPrefix("│No run selected."))
        #expect(lines[3].hasPrefix("│Open one from History"))
    }

    @Test(arguments: sizes)
    func compareShowsParameterDifferencesAndOverlaidCurves(size: Size) {
        var state = Fixtures.state(width: size.width, height: size.height)
        let a = Fixtures.run(index: 1, hidden: 40, learningRate: 0.01)
        let b = Fixtures.run(index: 2, hidden: 16, learningRate: 0.001)
        state.send(.historyLoaded([a, b], store: "SQLite x"))
        state.press(.character("2"), .character("c"), .down, .character("c"), .character("4"))
        state.send(.experimentLoaded(a), .experimentLoaded(b))
        let lines = Fixtures.screen(state)
        let text = lines.joined(separator: "\n")
        expectFrame(lines, size, screen: .compare)
        #expect(lines[2].hasPrefix("│A r0000002-abcdef run-2 · finished · val acc"))
        #expect(lines[3].hasPrefix("│B r0000001-abcdef run-1 · finished · val acc"))
        #expect(lines[5].hasPrefix("┌ Parameters (differences first) ─"))
        #expect(lines[6].hasPrefix("│parameter        A"))
        #expect(lines[7].contains("mlp.hidden_size  16") && lines[7].contains("40"))
        #expect(lines[8].contains("mlp.lr           0.001") && lines[8].contains("0.01"))
        #expect(lines[9].hasPrefix("│2 differ, 5 equal:"))
        #expect(text.contains("Validation loss · A vs B") && text.contains("Validation accuracy · A vs B"))
        #expect(text.contains("▬ A ▬ B"))
    }

    @Test func compareWithFewerThanTwoMarkedRunsExplains() {
        var state = Fixtures.withHistory(3, width: 80, height: 24)
        state.press(.character("2"), .character("c"), .character("4"))
        let lines = Fixtures.screen(state)
        #expect(lines[2].hasPrefix("│Mark two runs to compare them (1/2 marked)."))
    }

    @Test(arguments: sizes)
    func testsScreenSaysNoResultsYetUntilThereAreSome(size: Size) {
        var state = Fixtures.state(width: size.width, height: size.height)
        state.send(.testResultsLoaded([]))
        state.press(.character("5"))
        var lines = Fixtures.screen(state)
        expectFrame(lines, size, screen: .tests)
        #expect(lines[2].hasPrefix("│No results yet."))
        state.send(
            .testResultsLoaded([
                ScenarioResult(
                    name: "validation split", passed: true, accuracy: 0.865, macroF1: 0.861, detail: "min accuracy 0.80"
                ),
                ScenarioResult(
                    name: "noisy rows σ=0.02", passed: false, accuracy: 0.612, macroF1: 0.600,
                    detail: "min accuracy 0.70"),
            ]))
        lines = Fixtures.screen(state)
        #expect(lines[1].hasPrefix("┌ Functional scenarios: 1 of 2 passed ─"))
        #expect(lines[2].hasPrefix("│Scenario                     Result  Accuracy  Macro-F1 Detail"))
        #expect(lines[3].hasPrefix("│validation split             PASS       0.865     0.861 min accuracy 0.80"))
        #expect(lines[4].hasPrefix("│noisy rows σ=0.02            FAIL       0.612     0.600 min accuracy 0.70"))
    }

    @Test(arguments: sizes)
    func helpListsEveryBoundKey(size: Size) {
        var state = Fixtures.state(width: size.width, height: size.height)
        state.press(.character("?"))
        let text = Fixtures.text(state)
        for binding in KeyMap.bindings where !binding.label.isEmpty {
            #expect(text.contains(binding.label), "help lacks \(binding.label)")
            #expect(text.contains(binding.summary), "help lacks \(binding.summary)")
        }
        for heading in ["Everywhere", "Train", "History", "Detail", "Tests"] {
            #expect(text.contains("│\(heading)") || text.contains(" \(heading)"))
        }
    }

    @Test(arguments: [
        Size(width: 79, height: 24), Size(width: 80, height: 23), Size(width: 20, height: 5), Size(width: 1, height: 1),
        Size(width: 0, height: 0),
    ])
    func belowEightyByTwentyFourOnlyTooSmallIsShown(size: Size) {
        var state = Fixtures.withHistory(5, width: size.width, height: size.height)
        for screen in Screen.allCases {
            state.screen = screen
            let lines = Fixtures.screen(state)
            #expect(lines.count == max(0, size.height))
            if size.width >= 40 && size.height >= 3 {
                let text = lines.joined(separator: "\n")
                #expect(text.contains("Terminal too small"))
                #expect(text.contains("need 80×24, have \(size.width)×\(size.height)"))
            }
        }
    }

    @Test func everyScreenRendersAtEverySizeFromTinyToLargeWithoutTrapping() {
        var state = Self.trainingState(Size(width: 80, height: 24))
        state.send(.experimentLoaded(Fixtures.run(index: 1)))
        for width in stride(from: 0, through: 200, by: 17) {
            for height in stride(from: 0, through: 60, by: 7) {
                state.send(.resize(Size(width: width, height: height)))
                for screen in Screen.allCases {
                    state.screen = screen
                    #expect(Fixtures.screen(state).count == height)
                }
            }
        }
    }

    @Test func themesChangeStylesNotText() {
        var mono = Self.trainingState(Size(width: 120, height: 40))
        var colour = mono
        colour.theme = Theme.builtInDefault
        mono.theme = Theme.mono
        var a = CellBuffer(size: mono.size)
        var b = CellBuffer(size: mono.size)
        render(mono, into: &a)
        render(colour, into: &b)
        #expect(a.lines == b.lines)
        #expect(a != b)
        #expect(b[1, 0].style == Theme.builtInDefault.style(.title))
    }
}
