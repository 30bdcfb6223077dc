public import HBase
public import Tracking

/// Where the service records each prediction as it answers (`[serve] record`).
///
/// ``record(_:)`` returns once the predictions are durable (committed to SQLite), before the answer is sent; a
/// crash after a 200 loses nothing.
public protocol PredictionRecorder: Sendable {
    /// What the recorder is, for the startup line and logs (no secret).
    var description: String { get }
    /// Keeps predictions durably.
    /// - Throws: Whatever stops the write from being kept (the request then fails with 503 and nothing is kept).
    ///   A refusal HBase gave an earlier write is not thrown: it is counted and logged, and the write is kept.
    func record(_ records: [PredictionRecord]) async throws
    /// Writes kept but not yet delivered (HBase outbox), for `/metrics`.
    func backlog() async -> PendingWrites
    /// One background delivery round; returns what is still queued.
    func deliver(retryRefused: Bool) async -> PendingWrites
}

/// Records nothing (`record = off`).
public struct NoPredictionRecorder: PredictionRecorder {
    /// Creates it.
    public init() {}
    public var description: String { "off" }
    public func record(_ records: [PredictionRecord]) async throws {}
    public func backlog() async -> PendingWrites { .none }
    public func deliver(retryRefused: Bool) async -> PendingWrites { .none }
}

/// Records in the embedded SQLite store (`record = local`).
public struct LocalPredictionRecorder: PredictionRecorder {
    /// The store.
    public let store: LocalPredictionStore
    /// Creates it.
    /// - Parameter store: The store.
    public init(store: LocalPredictionStore) { self.store = store }
    public var description: String { "local SQLite \(store.path)" }
    public func record(_ records: [PredictionRecord]) async throws { try await store.write(records) }
    public func backlog() async -> PendingWrites { .none }
    public func deliver(retryRefused: Bool) async -> PendingWrites { .none }
}

/// Records in HBase's predictions table through the durable outbox (`record = hbase`): each request's rows are one
/// outbox entry committed to SQLite before the answer, then delivered in batches in the background by the
/// ``HBaseOutboxWriter`` with the configured HBase authentication.
public struct HBasePredictionRecorder: PredictionRecorder {
    /// The store (its writer is the outbox).
    public let store: HBasePredictionStore
    /// The outbox writer.
    public let writer: HBaseOutboxWriter
    /// Called with a refusal HBase gave (401, 403, 404…): the service logs and counts it; the write is kept.
    public let onRefusal: @Sendable (HBaseError) -> Void

    /// Creates it.
    /// - Parameters:
    ///   - client: The HBase client (the caller shuts it down).
    ///   - layout: Table names.
    ///   - writer: The outbox writer for `client`.
    ///   - onRefusal: Told about each refusal once, when the next write sees it.
    public init(
        client: HBaseClient, layout: HBaseTrackingLayout, writer: HBaseOutboxWriter,
        onRefusal: @escaping @Sendable (HBaseError) -> Void = { _ in }
    ) {
        self.store = HBasePredictionStore(client: client, layout: layout, writer: writer)
        self.writer = writer
        self.onRefusal = onRefusal
    }

    public var description: String {
        "HBase \(store.layout.predictions.qualified) through the outbox \(writer.outbox.path)"
    }

    public func record(_ records: [PredictionRecord]) async throws {
        do {
            try await store.write(records, batchSize: max(1, records.count), origin: "serve")
        } catch let error as HBaseError where error != HBaseError.invalidArgument {
            // A refusal seen by an earlier delivery: this write is kept all the same (HBaseOutboxWriter.write).
            onRefusal(error)
        }
    }

    public func backlog() async -> PendingWrites { await writer.pending() }

    public func deliver(retryRefused: Bool) async -> PendingWrites {
        await writer.deliver(waitingForLockUpTo: .seconds(1), retryRefused: retryRefused).pending
    }
}
