import Engine
import Foundation
@testable import TUI

/// Builders for deterministic dashboard states (no clock, no store, no terminal).
enum Fixtures {
    static let epoch0 = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21 14:13:20 UTC

    /// A plausible learning curve: loss falls, accuracy and F1 rise, validation a little worse.
    static func curve(epochs: Int, seed: Int = 0) -> [EpochMetrics] {
        (1...max(1, epochs)).map { e in
            let t = Double(e) / Double(max(1, epochs))
            let wiggle = Double((e * 7 + seed * 13) % 5) * 0.002
            let trainLoss = 0.70 * exp(-3 * t) + 0.05 + wiggle
            let valLoss = 0.70 * exp(-2.2 * t) + 0.18 + wiggle
            let trainAcc = min(1, 0.5 + 0.48 * (1 - exp(-4 * t)))
            let valAcc = min(1, 0.5 + 0.36 * (1 - exp(-3 * t)) - wiggle)
            return EpochMetrics(
                epoch: e, train: SplitMetrics(loss: trainLoss, accuracy: trainAcc, macroF1: trainAcc - 0.01),
                validation: SplitMetrics(loss: valLoss, accuracy: valAcc, macroF1: valAcc - 0.012),
                elapsedSeconds: Double(e) * 0.01)
        }
    }

    static func run(
        index: Int, state: RunState = .finished, epochs: Int = 80, hidden: Int = 40, learningRate: Double = 0.01,
        name: String? = nil
    ) -> ExperimentSnapshot {
        let points = state == .running ? curve(epochs: epochs / 2, seed: index) : curve(epochs: epochs, seed: index)
        let start = epoch0.addingTimeInterval(Double(index) * 3600)
        return ExperimentSnapshot(
            id: String(format: "r%07d-abcdef", index), name: name ?? "run-\(index)", state: state, startedAt: start,
            endedAt: state == .running ? nil : start.addingTimeInterval(2.5),
            parameters: [
                ("mlp.batch_size", "0"), ("mlp.epochs", "\(epochs)"), ("mlp.hidden_size", "\(hidden)"),
                ("mlp.lr", "\(learningRate)"), ("mlp.seed", "42"), ("mlp.weight_decay", "0.0"),
            ],
            dataFingerprint: "9f2c6b1e4a7d3c8b5e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",  // pragma: allowlist secret (a fake data fingerprint)
            epochs: points, plannedEpochs: epochs,
            finalTrain: state == .finished ? points.last?.train : nil,
            finalValidation: state == .finished ? points.last?.validation : nil,
            confusion: state == .finished ? ConfusionGrid(labels: ["R", "M"], counts: [[20, 4], [3, 25]]) : nil,
            modelPath: state == .finished ? "models/run-\(index).sonarmodel.json" : nil,
            failure: state == .failed ? "validation loss became NaN" : nil)
    }

    static func state(width: Int = 120, height: Int = 40, theme: Theme = .mono) -> AppState {
        AppState(
            size: Size(width: width, height: height), theme: theme, parameters: Hyperparameters(),
            store: "SQLite .sonarlab/experiments.sqlite", now: epoch0)
    }

    /// A state whose history holds `count` runs (newest has the highest index).
    static func withHistory(_ count: Int, width: Int = 120, height: Int = 40) -> AppState {
        var s = state(width: width, height: height)
        _ = s.start()
        let runs = (0..<count).map { i in
            run(index: i, state: i % 17 == 5 ? .failed : i % 13 == 4 ? .cancelled : .finished, hidden: 8 + (i % 6) * 8)
        }
        _ = s.handle(.historyLoaded(runs, store: "SQLite .sonarlab/experiments.sqlite"))
        return s
    }

    static func screen(_ state: AppState) -> [String] {
        var buffer = CellBuffer(size: state.size)
        render(state, into: &buffer)
        return buffer.lines
    }

    static func text(_ state: AppState) -> String { screen(state).joined(separator: "\n") }
}

extension AppState {
    /// Applies events in order, collecting every effect.
    @discardableResult
    mutating func send(_ events: Event...) -> [Effect] {
        events.flatMap { handle($0) }
    }

    /// Types keys in order.
    @discardableResult
    mutating func press(_ keys: Key...) -> [Effect] {
        keys.flatMap { handle(.key($0)) }
    }

    @discardableResult
    mutating func type(_ text: String) -> [Effect] {
        text.flatMap { handle(.key(.character($0))) }
    }
}
