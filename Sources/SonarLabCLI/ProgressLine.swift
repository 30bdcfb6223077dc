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

    /// The line for one epoch (no line end), in the longest form that fits `columns`.
    ///
    /// A line as wide as the terminal or wider wraps, and `\r` then redraws only its last row, so the progress
    /// scrolls instead of updating in place. With `columns` the line has at most `columns - 1` characters
    /// (the last column is left free: some terminals wrap on writing it): the full form, else without the train
    /// metrics, else a compact one (smaller bar, no rate), else epochs, percent and validation accuracy, cut to fit.
    /// - Parameters:
    ///   - m: the epoch's metrics.
    ///   - columns: the terminal's width; `nil` (not a terminal, e.g. a CI log) gives the full form.
    /// - Returns: one line, every character one column wide.
    func render(_ m: EpochMetrics, columns: Int? = nil) -> String {
        let fraction = total == 0 ? 1 : Double(m.epoch) / Double(total)
        let rate = m.elapsedSeconds > 0 ? Double(m.epoch) / m.elapsedSeconds : 0
        let eta = rate > 0 ? Double(total - m.epoch) / rate : 0
        let width = String(total).count
        let count = String(repeating: " ", count: max(0, width - String(m.epoch).count)) + "\(m.epoch)/\(total)"
        let percent = "\(PlainNumber.format("%3d", Int((fraction * 100).rounded(.down))))%"
        let validation =
            "val loss \(f3(m.validation.loss)) acc \(f3(m.validation.accuracy)) f1 \(f3(m.validation.macroF1))"
        let full =
            "\(count) [\(bar(fraction, width: barWidth))] \(percent) "
            + "\(Self.rate(rate)) ep/s elapsed \(Self.duration(m.elapsedSeconds)) eta \(Self.duration(eta)) | "
            + "train loss \(f3(m.train.loss)) acc \(f3(m.train.accuracy)) f1 \(f3(m.train.macroF1)) | " + validation
        guard let columns else { return full }
        let limit = max(1, columns - 1)
        let medium =
            "\(count) [\(bar(fraction, width: barWidth))] \(percent) "
            + "\(Self.rate(rate)) ep/s elapsed \(Self.duration(m.elapsedSeconds)) eta \(Self.duration(eta)) | "
            + validation
        let compact =
            "\(count) [\(bar(fraction, width: 10))] \(percent) eta \(Self.duration(eta)) | " + validation
        let minimal = "\(count) \(percent) val acc \(f3(m.validation.accuracy))"
        for form in [full, medium, compact, minimal] where form.count <= limit { return form }
        return String(minimal.prefix(limit))
    }

    private func bar(_ fraction: Double, width barWidth: Int) -> String {
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

    private func f3(_ x: Double) -> String { PlainNumber.format("%.3f", x) }

    static func rate(_ r: Double) -> String {
        r >= 10_000
            ? PlainNumber.format("%.0fk", r / 1000)
            : r >= 1000 ? PlainNumber.format("%.1fk", r / 1000) : PlainNumber.format("%.1f", r)
    }

    static func duration(_ s: Double) -> String {
        if s < 60 { return PlainNumber.format("%.2fs", s) }
        let total = Int(s.rounded())
        return total >= 3600
            ? PlainNumber.format("%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : PlainNumber.format("%d:%02d", total / 60, total % 60)
    }
}

/// Prints progress lines to standard error: redrawn in place on a terminal, otherwise one line per 10 % of
/// the epochs (and the last), so CI logs stay short.
final class ProgressPrinter: @unchecked Sendable {
    private let line: ProgressLine
    private let isTerminal: Bool
    private let columns: @Sendable () -> Int?
    private let canEraseLine: Bool
    private var lastLength = 0
    private let lock = NSLock()
    private var lastPrintedStep = -1
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var pendingState = 0

    /// Creates a printer.
    /// - Parameters:
    ///   - totalEpochs: the epochs planned.
    ///   - isTerminal: whether standard error is a terminal (redraw in place) or a log (a line per 10 %).
    ///   - columns: the terminal's width now, asked before every redraw (it may be resized); `nil` when unknown.
    ///   - canEraseLine: whether the terminal understands `ESC[2K` (erase line); a `dumb` one gets the line
    ///     overwritten with spaces instead.
    init(
        totalEpochs: Int, isTerminal: Bool = isatty(STDERR_FILENO) == 1,
        columns: @escaping @Sendable () -> Int? = { terminalColumns(fallback: nil) }, canEraseLine: Bool = true
    ) {
        line = ProgressLine(total: totalEpochs)
        self.isTerminal = isTerminal
        self.columns = columns
        self.canEraseLine = canEraseLine
    }

    /// What puts `text` over the current line: `\r ESC[2K text`, or on a terminal that cannot erase a line,
    /// `\r text` padded with spaces over the rest of the previous text.
    private func overwrite(with text: String) -> String {
        defer { lastLength = text.count }
        guard !canEraseLine else { return "\r\u{1B}[2K" + text }
        return "\r" + text + String(repeating: " ", count: max(0, lastLength - text.count))
    }

    func update(_ m: EpochMetrics) {
        lock.withLock {
            if isTerminal {
                let now = ContinuousClock.now
                guard m.epoch == line.total || now - lastDraw >= .milliseconds(50) else { return }
                lastDraw = now
                FileHandle.standardError.write(Data(overwrite(with: line.render(m, columns: columns())).utf8))
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
                FileHandle.standardError.write(Data((overwrite(with: TerminalText.escape(text)) + "\n").utf8))
                lastLength = 0
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

/// The width of the terminal on standard error (`TIOCGWINSZ`), else `fallback` (the `COLUMNS` variable).
/// - Parameter fallback: the width to use when standard error is not a terminal or reports no size.
/// - Returns: columns, or `nil` when unknown.
func terminalColumns(fallback: Int?) -> Int? {
    var size = winsize()
    let status = withUnsafeMutablePointer(to: &size) { ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), $0) }
    if status == 0, size.ws_col > 0 { return Int(size.ws_col) }
    return fallback
}
