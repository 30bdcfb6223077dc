import Dispatch
import Engine
import Foundation

/// Turns SIGINT and SIGTERM into a raised ``StopSignal`` while a run is active, so the run ends between
/// epochs and is recorded as cancelled. A second signal exits at once with 130.
final class SignalTrap: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    init(stop: StopSignal) {
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
                printError("\nstopping after this epoch (signal again to quit at once)…")
                stop.raise()
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
