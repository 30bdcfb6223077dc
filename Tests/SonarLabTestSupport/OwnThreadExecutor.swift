import Foundation

/// A `TaskExecutor` with one thread of its own, for a test whose timing must not depend on Swift's cooperative pool.
///
/// The pool has one thread per core (2 here), and every suite of the run shares it: when other tests block its
/// threads (SQLite, training, waiting on a child), a task polling a child process every 50 ms may not run for
/// seconds. The child can then finish the very thing the test meant to catch it in (CI saw a sweep end all its
/// trials while the test that was to kill it mid-trial never got a turn). Under
/// ``withOwnThread(_:_:)`` the task and everything it awaits (sleeps, the HBase client's continuations) resume on
/// this executor's thread, which the kernel schedules like any other.
public final class OwnThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var ended = false

    /// Starts the thread.
    /// - Parameter name: the thread's name (seen in a debugger and in the watchdog's dump).
    public init(name: String) {
        let thread = Thread { [self] in runJobs() }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let late = condition.withLock { () -> Bool in
            guard !ended else { return true }
            jobs.append(job)
            condition.signal()
            return false
        }
        // A job enqueued after the thread ended (an unstructured task that outlived the body) still runs.
        if late { Thread { job.runSynchronously(on: self.asUnownedTaskExecutor()) }.start() }
    }

    /// Lets the thread end once the jobs enqueued so far have run.
    public func shutdown() {
        condition.withLock {
            stopping = true
            condition.signal()
        }
    }

    private func runJobs() {
        while true {
            let next: UnownedJob? = condition.withLock {
                while jobs.isEmpty && !stopping { condition.wait() }
                if jobs.isEmpty { ended = true }
                return jobs.isEmpty ? nil : jobs.removeFirst()
            }
            guard let next else { return }
            next.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs `body` with a preference for an ``OwnThreadExecutor`` made for it, then lets that thread end.
/// - Throws: what `body` throws.
public func withOwnThread<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
    let executor = OwnThreadExecutor(name: name)
    defer { executor.shutdown() }
    return try await withTaskExecutorPreference(executor) { try await body() }
}
