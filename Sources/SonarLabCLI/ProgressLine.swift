import Engine
import Foundation
import Tracking

/// The tqdm-like progress line of headless training.
///
/// `  42/80 [██████████▌         ]  52% 3.1k ep/s elapsed 0.01s eta 0.01s | train loss 0.312 acc 0.885 f1 0.884 | val loss 0.401 acc 0.827 f1 0.825`
struct ProgressLine {
    /// Total epochs planned.
    let total: Int
    /// Width of the bar in characters.
    var barWidth = 20

    /// The line for one epoch (no line end).
    func render(_ m: EpochMetrics) -> String {
        let fraction = total == 0 ? 1 : Double(m.epoch) / Double(total)
        let rate = m.elapsedSeconds > 0 ? Double(m.epoch) / m.elapsedSeconds : 0
        let eta = rate > 0 ? Double(total - m.epoch) / rate : 0
        let width = String(total).count
        let count = String(repeating: " ", count: max(0, width - String(m.epoch).count)) + "\(m.epoch)/\(total)"
        return "\(count) [\(bar(fraction))] \(String(format: "%3d", Int((fraction * 100).rounded(.down))))% "
            + "\(Self.rate(rate)) ep/s elapsed \(Self.duration(m.elapsedSeconds)) eta \(Self.duration(eta)) | "
            + "train loss \(f3(m.train.loss)) acc \(f3(m.train.accuracy)) f1 \(f3(m.train.macroF1)) | "
            + "val loss \(f3(m.validation.loss)) acc \(f3(m.validation.accuracy)) f1 \(f3(m.validation.macroF1))"
    }

    private func bar(_ fraction: Double) -> String {
        let eighths = Int((fraction * Double(barWidth * 8)).rounded(.down))
        let full = min(eighths / 8, barWidth)
        let partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var s = String(repeating: "█", count: full)
        if full < barWidth {
            s += partials[eighths % 8]
            s += String(repeating: " ", count: barWidth - full - (eighths % 8 == 0 ? 0 : 1))
        }
        return s
    }

    private func f3(_ x: Double) -> String { String(format: "%.3f", x) }

    static func rate(_ r: Double) -> String {
        r >= 10_000
            ? String(format: "%.0fk", r / 1000)
            : r >= 1000 ? String(format: "%.1fk", r / 1000) : String(format: "%.1f", r)
    }

    static func duration(_ s: Double) -> String {
        if s < 60 { return String(format: "%.2fs", s) }
        let total = Int(s.rounded())
        return total >= 3600
            ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }
}

/// Prints progress lines to standard error: redrawn in place on a terminal, otherwise one line per 10 % of
/// the epochs (and the last), so CI logs stay short.
final class ProgressPrinter: @unchecked Sendable {
    private let line: ProgressLine
    private let isTerminal: Bool
    private let lock = NSLock()
    private var lastPrintedStep = -1
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var pendingState = 0

    init(totalEpochs: Int, isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        line = ProgressLine(total: totalEpochs)
        self.isTerminal = isTerminal
    }

    func update(_ m: EpochMetrics) {
        lock.withLock {
            if isTerminal {
                let now = ContinuousClock.now
                guard m.epoch == line.total || now - lastDraw >= .milliseconds(50) else { return }
                lastDraw = now
                FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line.render(m)).utf8))
            } else {
                let step = line.total == 0 ? 10 : m.epoch * 10 / line.total
                guard step != lastPrintedStep || m.epoch == line.total else { return }
                lastPrintedStep = step
                printError(line.render(m))
            }
        }
    }

    /// Prints a line of its own between progress updates (on a terminal: over the progress line, which the
    /// next update redraws).
    /// - Parameter text: The line.
    func note(_ text: String) {
        lock.withLock {
            if isTerminal {
                FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text + "\n").utf8))
                lastDraw = ContinuousClock.now - .seconds(1)
            } else {
                printError(text)
            }
        }
    }

    /// Tells about queued HBase writes when that changes: once when writes start queuing (or are refused),
    /// once when the queue has drained.
    /// - Parameter pending: The store's pending writes.
    func pendingChanged(_ pending: PendingWrites) {
        let state = pending.isBlocked ? 2 : (pending.summary != nil ? 1 : 0)
        let previous = lock.withLock { () -> Int in
            defer { pendingState = state }
            return pendingState
        }
        guard state != previous else { return }
        switch state {
        case 1:
            note(
                "\(pending.summary ?? "") — training goes on; they are sent when HBase is back "
                    + "(or run `sonarlab sync`)")
        case 2: note("\(pending.summary ?? ""): \(pending.reason ?? "")")
        default: note("HBase is back — the queued writes were delivered")
        }
    }

    /// Ends the progress line (a newline on a terminal).
    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
