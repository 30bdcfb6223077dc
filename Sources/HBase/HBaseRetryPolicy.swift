/// What happened to one attempt of a request, as the retry policy sees it.
public enum HBaseRequestOutcome: Hashable, Sendable {
    /// The gateway answered with this HTTP status.
    case status(Int)
    /// The TCP connection was refused (nothing was sent).
    case connectionRefused
    /// The connection was reset or closed before a complete response.
    case connectionReset
    /// The attempt timed out.
    case timeout
    /// Any other transport failure (TLS, DNS, …).
    case otherTransportError
}

/// What to do after an attempt.
public enum HBaseRetryAction: Hashable, Sendable {
    /// Send the request again after waiting this long.
    case retry(after: Duration)
    /// Return the outcome to the caller.
    case giveUp
}

/// When to retry a request and how long to wait: a pure value, tested without I/O.
///
/// Only idempotent requests are retried, and only after a 503 (HBASE_REST.md §3.9: the cluster is
/// unavailable), a refused connection or a reset connection. Timeouts are not retried: the request
/// may have been applied and the caller's deadline is spent. The wait grows exponentially:
/// `initialBackoff * multiplier^(attempt-1)`, capped at `maxBackoff`.
public struct HBaseRetryPolicy: Hashable, Sendable {
    /// Total attempts including the first; 1 disables retries.
    ///
    /// Default 4.
    public var maxAttempts: Int
    /// The wait before the second attempt.
    ///
    /// Default 100 ms.
    public var initialBackoff: Duration
    /// The longest wait between attempts.
    ///
    /// Default 2 s.
    public var maxBackoff: Duration
    /// The factor applied to the wait after each attempt.
    ///
    /// Default 2.
    public var multiplier: Int

    /// Creates a retry policy; every argument has the documented default.
    /// - Parameters:
    ///   - maxAttempts: Total attempts including the first (at least 1).
    ///   - initialBackoff: The wait before the second attempt.
    ///   - maxBackoff: The cap on any wait.
    ///   - multiplier: The growth factor of the wait (at least 1).
    public init(
        maxAttempts: Int = 4,
        initialBackoff: Duration = .milliseconds(100),
        maxBackoff: Duration = .seconds(2),
        multiplier: Int = 2
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = max(1, multiplier)
    }

    /// A policy that never retries.
    public static let never = HBaseRetryPolicy(maxAttempts: 1)

    /// Decides what to do after an attempt.
    /// - Parameters:
    ///   - outcome: What happened on this attempt.
    ///   - attempt: The 1-based number of the attempt that just finished.
    ///   - isIdempotent: Whether sending the request twice has the same effect as once.
    /// - Returns: `.retry(after:)` with the wait, or `.giveUp`.
    public func action(after outcome: HBaseRequestOutcome, attempt: Int, isIdempotent: Bool) -> HBaseRetryAction {
        guard isIdempotent, attempt < maxAttempts else { return .giveUp }
        switch outcome {
        case .status(503), .connectionRefused, .connectionReset:
            return .retry(after: backoff(beforeAttempt: attempt + 1))
        case .status, .timeout, .otherTransportError:
            return .giveUp
        }
    }

    /// The wait before a given attempt (2 is the first retry).
    /// - Parameter attempt: The 1-based number of the attempt about to be sent.
    /// - Returns: The wait, capped at ``maxBackoff``.
    public func backoff(beforeAttempt attempt: Int) -> Duration {
        var wait = initialBackoff
        var step = 2
        while step < attempt {
            wait = wait * multiplier
            if wait >= maxBackoff { return maxBackoff }
            step += 1
        }
        return min(wait, maxBackoff)
    }
}
