// dashboard-bench: the dashboard's speed budgets, for `make bench` (speed targets are benchmarks, not tests).
//
// Usage: dashboard-bench [--json]
// Measures, on the pure state machine and renderer (no terminal):
//   - History: moving the selection and drawing a 120×40 frame over 1,000 runs, 10 times; budget 100 ms a
//     frame (the dashboard draws at most 10 frames a second).
//   - Train: handling 20,000 epoch events of one run; budget 100 µs an event (a copy per event would be
//     quadratic: ~200 million epoch copies).
// Exits 1 when a budget is missed, so `make bench` fails loudly.
import Engine
import Foundation
import TUI

let json = CommandLine.arguments.dropFirst().contains("--json")
let start = Date(timeIntervalSince1970: 1_790_000_000)
let clock = ContinuousClock()

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

func freshState() -> AppState {
    var state = AppState(
        size: Size(width: 120, height: 40), theme: .mono, parameters: Hyperparameters(), store: "bench", now: start)
    _ = state.start()
    return state
}

let metrics = SplitMetrics(loss: 0.4, accuracy: 0.8, macroF1: 0.79)
let point = EpochMetrics(epoch: 1, train: metrics, validation: metrics, elapsedSeconds: 0.001)

// History: 1,000 runs with 80 epochs each.
var history = freshState()
let runs = (0..<1000).map { i in
    ExperimentSnapshot(
        id: PlainNumber.format("r%07d-abcdef", i), name: "run-\(i)", state: .finished,
        startedAt: start.addingTimeInterval(Double(i) * 60), endedAt: start.addingTimeInterval(Double(i) * 60 + 2),
        parameters: [(key: "mlp.hidden_size", value: "\(8 + i % 6 * 8)")], dataFingerprint: "bench",
        epochs: Array(repeating: point, count: 80), plannedEpochs: 80, finalTrain: metrics, finalValidation: metrics)
}
_ = history.handle(.historyLoaded(runs, store: "bench"))
_ = history.handle(.key(.character("2")))
var buffer = CellBuffer(size: Size(width: 120, height: 40))
let frames = 10
let historyElapsed = clock.measure {
    for _ in 0..<frames {
        _ = history.handle(.key(.down))
        render(history, into: &buffer)
    }
}
let frameSeconds = seconds(historyElapsed) / Double(frames)

// Train: 20,000 epoch events.
var training = freshState()
_ = training.handle(.key(.character("t")))
let events = 20_000
let trainElapsed = clock.measure {
    for i in 1...events {
        var p = point
        p.epoch = i
        _ = training.handle(.epoch(p, at: start.addingTimeInterval(Double(i) * 0.001)))
    }
}
let eventSeconds = seconds(trainElapsed) / Double(events)

let frameBudget = 0.100
let eventBudget = 0.000_100
if json {
    print(
        "{\"history_frame_ms\": \(frameSeconds * 1000), \"epoch_event_us\": \(eventSeconds * 1e6), "
            + "\"history_frame_budget_ms\": \(frameBudget * 1000), \"epoch_event_budget_us\": \(eventBudget * 1e6)}")
} else {
    print(
        PlainNumber.format(
            "dashboard: History frame over 1,000 runs %.2f ms (budget %.0f ms)", frameSeconds * 1000,
            frameBudget * 1000))
    print(
        PlainNumber.format(
            "dashboard: one epoch event of 20,000 %.2f µs (budget %.0f µs)", eventSeconds * 1e6,
            eventBudget * 1e6))
}
if frameSeconds > frameBudget || eventSeconds > eventBudget {
    FileHandle.standardError.write(Data("dashboard-bench: a budget was missed\n".utf8))
    exit(1)
}
