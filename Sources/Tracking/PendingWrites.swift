public import HBase

/// Writes a store accepted but has not delivered yet, and why (see ``ExperimentStore/pendingWrites()``).
///
/// Only the HBase stores with an ``HBaseOutboxWriter`` ever have any: their writes wait in the durable
/// ``HBaseOutbox`` while HBase is unreachable or refuses them.
public struct PendingWrites: Sendable, Equatable {
    /// Queued writes (outbox entries) for the store's cluster; one store write is one entry.
    public var count: Int
    /// Why they wait: the last delivery failure (an ``HBase/HBaseError`` message, no secrets), or `nil` while
    /// they are simply in flight to a reachable HBase.
    public var reason: String?
    /// Whether delivery stopped on a refusal that waiting will not fix (401, 403, 404, 400): someone must fix
    /// the configuration, grants or tables, then run `sonarlab sync`.
    public var isBlocked: Bool
    /// The refusal that stopped delivery, when ``isBlocked``, so callers can tell its kind (for example
    /// ``HBase/HBaseError/credentialsExpired``: run `kinit`, then `sonarlab sync`); `nil` otherwise.
    public var refusal: HBaseError?

    /// Creates a value.
    /// - Parameters:
    ///   - count: Queued writes.
    ///   - reason: The last failure.
    ///   - isBlocked: Whether a refusal stopped delivery.
    ///   - refusal: The refusal that stopped delivery.
    public init(count: Int, reason: String? = nil, isBlocked: Bool = false, refusal: HBaseError? = nil) {
        self.count = count
        self.reason = reason
        self.isBlocked = isBlocked
        self.refusal = refusal
    }

    /// Nothing pending.
    public static let none = PendingWrites(count: 0)

    /// One line for people, for example `HBase unreachable — 12 writes queued`; `nil` when nothing waits
    /// because of a failure (writes in flight to a healthy HBase have no ``reason`` and no summary).
    public var summary: String? {
        if isBlocked {
            let kept = "\(count) \(count == 1 ? "write" : "writes") kept in the outbox"
            // Credentials that could not be made here are not the gateway's answer: nothing was sent.
            if refusal == .credentialsUnavailable || refusal == .credentialsExpired {
                return "no usable Kerberos credentials on this host, nothing was sent — \(kept)"
            }
            return "HBase refused the writes — \(kept)"
        }
        guard count > 0, reason != nil else { return nil }
        return "HBase unreachable — \(count) \(count == 1 ? "write" : "writes") queued"
    }
}
