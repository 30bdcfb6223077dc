import Dispatch
import Engine
import Foundation

/// Turns SIGINT and SIGTERM into a request to stop.
///
/// For a run, a raised ``StopSignal``, so the run ends between epochs and is recorded as cancelled; for `sync`,
/// a cancelled delivery. A second signal exits at once with 130.
final class SignalTrap: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    convenience init(stop: StopSignal) {
        self.init(notice: "\nstopping after this epoch (signal again to quit at once)…") { stop.raise() }
    }

    /// Traps SIGINT and SIGTERM: the first prints `notice` and calls `onFirst`; a second exits at once with 130.
    /// - Parameters:
    ///   - notice: what the user is told on standard error at the first signal.
    ///   - onFirst: how the work is asked to stop (raise a ``StopSignal``, cancel a task).
    init(notice: String, onFirst: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let n = self.lock.withLock { () -> Int in
                    self.count += 1
                    return self.count
                }
                if n > 1 { exit(ExitCodes.cancelled) }
                printError(lines: notice.components(separatedBy: "\n"))  // our own text
                onFirst()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Restores the default signal handling.
    func release() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
