import Foundation
import HBase
public import Hummingbird
public import HummingbirdCore
import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization
import Tracking
import UnixSignals

/// Delivers recorded predictions to HBase in the background and keeps `sonarlab_serve_outbox_depth` current; at
/// graceful shutdown it flushes the outbox within ``flushTimeout``.
///
/// Rounds: every 250 ms while writes are queued and HBase answers; after a failure it waits 1 s, doubling to 8 s
/// (``Tracking/HBaseOutboxPolicy`` holds the same steps); after a refusal (401, 403…) it tries again every
/// ``refusalRetryInterval``, so a fixed grant or a renewed ticket is picked up without a restart. Each failed
/// attempt counts one `sonarlab_serve_hbase_delivery_errors_total{reason}`; a refusal is logged once per message.
public struct OutboxDeliveryService: Service {
    /// The service whose recorder is drained.
    public let service: ModelService
    /// How long the shutdown flush may take.
    public let flushTimeout: Duration
    /// How long after a refusal the next attempt is made.
    public let refusalRetryInterval: Duration

    /// Creates it.
    /// - Parameters:
    ///   - service: The model service.
    ///   - flushTimeout: The bound of the flush at shutdown.
    ///   - refusalRetryInterval: The wait after a refusal before trying again.
    public init(
        service: ModelService, flushTimeout: Duration = .seconds(10), refusalRetryInterval: Duration = .seconds(30)
    ) {
        self.service = service
        self.flushTimeout = flushTimeout
        self.refusalRetryInterval = refusalRetryInterval
    }

    /// The reason label of a failed delivery round, or `nil` when nothing failed.
    static func failureReason(_ pending: PendingWrites) -> String? {
        if pending.isBlocked {
            switch pending.refusal {
            case HBaseError.unauthorized?, HBaseError.credentialsExpired?, HBaseError.credentialsUnavailable?:
                return "unauthorized"
            case HBaseError.forbidden?: return "forbidden"
            default: return "refused"
            }
        }
        return pending.count > 0 && pending.reason != nil ? "unreachable" : nil
    }

    /// What a delivery round remembers for the next one.
    struct RoundState: Sendable {
        var failures = 0
        var lastRefusalRetry = ContinuousClock.now
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var state = RoundState()
            while !Task.isCancelled {
                let wait = await round(&state)
                try? await Task.sleep(for: wait)
            }
        }
        await flush()
    }

    /// One round: deliver what is queued (after a refusal only once ``refusalRetryInterval`` passed), update the
    /// outbox depth, count and log a failure.
    /// - Returns: The wait before the next round.
    func round(_ state: inout RoundState) async -> Duration {
        let backlog = await service.recorder.backlog()
        var pending = backlog
        var attempted = false
        if backlog.count > 0 {
            let retryRefused = backlog.isBlocked && ContinuousClock.now - state.lastRefusalRetry >= refusalRetryInterval
            if !backlog.isBlocked || retryRefused {
                if retryRefused { state.lastRefusalRetry = ContinuousClock.now }
                pending = await service.recorder.deliver(retryRefused: retryRefused)
                attempted = true
            }
        }
        service.metrics.setOutboxDepth(pending.count)
        guard let reason = Self.failureReason(pending) else {
            if state.failures > 0 { service.logger.notice("HBase accepts the writes again; the outbox is draining") }
            state.failures = 0
            return .milliseconds(250)
        }
        state.failures += 1
        if reason == "unreachable" {
            if attempted { service.metrics.countDeliveryError(reason: reason) }
            if state.failures == 1 { service.logger.warning("HBase unreachable: \(pending.summary ?? "")") }
            return min(.seconds(8), .seconds(1) * (1 << min(3, state.failures - 1)))
        }
        service.noteRefusal(pending.reason ?? "refused", reason: reason, isNewAttempt: attempted)
        return .seconds(1)
    }

    /// Sends what is queued until the outbox is empty or ``flushTimeout`` passed.
    public func flush() async {
        let deadline = ContinuousClock.now + flushTimeout
        var pending = await service.recorder.backlog()
        while pending.count > 0, ContinuousClock.now < deadline {
            pending = await service.recorder.deliver(retryRefused: false)
            if pending.count > 0, pending.reason != nil {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        service.metrics.setOutboxDepth(pending.count)
        if pending.count > 0 {
            let reason = pending.reason ?? "not sent in time"
            service.logger.warning(
                "\(pending.count) prediction writes stay in the outbox (\(reason)); `sonarlab sync` sends them")
        }
    }
}

/// Reloads the model on SIGHUP (atomically: requests in flight finish on the old one).
public struct HangupReloadService: Service {
    /// The model service.
    public let service: ModelService

    /// Creates it.
    /// - Parameter service: The model service.
    public init(service: ModelService) { self.service = service }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    let (previous, current) = try await service.holder.reload()
                    service.metrics.setModel(name: service.configuration.modelName, version: current.version)
                    service.logger.notice(
                        "SIGHUP: model reloaded, version \(previous.version) → \(current.version) from \(current.source)"
                    )
                } catch {
                    service.logger.error("SIGHUP: \(error)")
                }
            }
        }
    }
}

/// Runs the service until SIGTERM or SIGINT: the HTTP server, the outbox delivery, the SIGHUP reload.
public enum ServingServer {
    /// Serves until a graceful shutdown; then stops accepting, finishes requests in flight, flushes the outbox
    /// within `flushTimeout`, and returns.
    /// - Parameters:
    ///   - service: The model service.
    ///   - host: The address to listen on.
    ///   - port: The port (0: any free one).
    ///   - middlewares: Middlewares of the infer and admin groups.
    ///   - server: The HTTP server: ``http1(firstRequestGrace:)``, or it wrapped in TLS (`ServingTLS`).
    ///   - flushTimeout: The bound of the outbox flush at shutdown.
    ///   - onRunning: Called with the bound port once the server listens.
    /// - Throws: The server's error when it cannot listen (for example the port is taken).
    public static func run(
        service: ModelService, host: String, port: Int, middlewares: ServingMiddlewares = ServingMiddlewares(),
        server: HTTPServerBuilder = ServingServer.http1(), flushTimeout: Duration = .seconds(10),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let app = makeApplication(
            service: service, host: host, port: port, middlewares: middlewares, server: server
        ) { port in
            await onRunning(port)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: OutboxDeliveryService(service: service, flushTimeout: flushTimeout)),
                    .init(service: HangupReloadService(service: service)),
                    .init(service: app),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: service.logger))
        try await group.run()
    }

    /// The Hummingbird application (tests run it with `app.test(.router)` / `.live`).
    /// - Parameters:
    ///   - service: The model service.
    ///   - host: The address.
    ///   - port: The port.
    ///   - middlewares: Group middlewares.
    ///   - server: The HTTP server (``http1(firstRequestGrace:)`` by default).
    ///   - onRunning: Called with the bound port.
    /// - Returns: The application.
    public static func makeApplication(
        service: ModelService, host: String, port: Int,
        middlewares: ServingMiddlewares = ServingMiddlewares(), server: HTTPServerBuilder = ServingServer.http1(),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: ServingRoutes.makeRouter(service: service, middlewares: middlewares), server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "sonarlab"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: service.logger)
    }
}

extension ServingServer {
    /// How long a connection without a request may take to send its first one once a graceful shutdown began.
    ///
    /// Two seconds (``FirstRequestGraceHandler``).
    public static let firstRequestGrace: Duration = .seconds(2)

    /// The service's HTTP/1.1 server: Hummingbird's, with ``FirstRequestGraceHandler`` in each connection's pipeline.
    ///
    /// A connection accepted just before SIGTERM gets its first request answered instead of being closed unread.
    /// `sonarlab serve` wraps it in TLS when configured.
    /// - Parameter firstRequestGrace: The grace of a connection that has sent nothing yet.
    /// - Returns: The server builder for `Application(server:)`.
    public static func http1(firstRequestGrace: Duration = firstRequestGrace) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ClaimedHTTP1Channel(
                base: HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        additionalChannelHandlers: [FirstRequestGraceHandler(grace: firstRequestGrace)])),
                grace: firstRequestGrace)
        }
    }
}

/// Hummingbird's HTTP/1.1 child channel, with a guard for connections accepted as the listener closes.
///
/// A connection accepted while the server shuts down can be set up but never handed to the server's accept loop
/// (swift-nio issue 2813, open): its `NIOAsyncChannel` was then released unfinished when the connection became
/// active, and the process stopped with "Deinited NIOAsyncWriter without calling finish()" instead of exiting 0.
/// Here each connection's `NIOAsyncChannel` is held (``ConnectionClaim``) until the accept loop takes it; one never
/// taken has its writer finished when it closes, and is closed by ``OrphanConnectionCloser`` once the shutdown's
/// grace has passed.
struct ClaimedHTTP1Channel: ServerChildChannel {
    /// A connection and its claim.
    struct Value: ServerChildChannelValue {
        let inner: HTTP1Channel.Value
        let claim: ConnectionClaim
        var channel: any Channel { inner.channel }
    }

    let base: HTTP1Channel
    let grace: Duration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { inner in
            let claim = ConnectionClaim(inner)
            try channel.pipeline.syncOperations.addHandler(
                OrphanConnectionCloser(claim: claim, after: grace + .seconds(1)), position: .first)
            channel.closeFuture.whenComplete { _ in claim.finishIfUnclaimed() }
            return Value(inner: inner, claim: claim)
        }
    }

    func handle(value: Value, logger: Logger) async {
        value.claim.take()
        await base.handle(value: value.inner, logger: logger)
    }
}

/// Holds a connection's `NIOAsyncChannel` until the server's accept loop takes it (then the loop finishes it).
final class ConnectionClaim: Sendable {
    private let held: Mutex<HTTP1Channel.Value?>

    init(_ channel: HTTP1Channel.Value) { held = Mutex(channel) }

    /// Whether the accept loop has not taken the connection.
    var isUnclaimed: Bool { held.withLock { $0 != nil } }

    /// The accept loop takes the connection.
    func take() { held.withLock { $0 = nil } }

    /// On close: finishes the writer of a connection the accept loop never took.
    func finishIfUnclaimed() {
        let orphan = held.withLock { channel in
            defer { channel = nil }
            return channel
        }
        orphan?.outbound.finish()
    }
}

/// Closes a connection the accept loop never took, some time after the shutdown's quiesce event.
///
/// Such a connection would otherwise hold the shutdown open for ever: nothing answers its requests. It is first in
/// the pipeline; everything passes through.
final class OrphanConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    /// Bytes, passed on untouched.
    typealias InboundIn = Any

    let claim: ConnectionClaim
    let delay: Duration

    init(claim: ConnectionClaim, after delay: Duration) {
        self.claim = claim
        self.delay = delay
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                if self.claim.isUnclaimed { context.close(promise: nil) }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Holds a graceful shutdown's ``NIOCore/ChannelShouldQuiesceEvent`` back from a connection that has not yet sent a
/// request, until its first request head arrives or ``grace`` passes.
///
/// Hummingbird's `HTTPConnectionStateHandler` closes a connection with no request in progress as soon as the server
/// quiesces. A client whose connection was accepted a moment before SIGTERM, and whose request was still in the
/// socket, then saw the connection reset: a request sent to a listening server, never answered. With this handler
/// such a request is read and answered (and the connection closed after it); a connection that sends nothing within
/// the grace, or one that already served requests (idle keep-alive), is closed as before. This is how Go's
/// `net/http` `Server.Shutdown` treats connections in `StateNew`.
///
/// It sits after the HTTP/1.1 decoder (`HTTP1Channel.Configuration.additionalChannelHandlers`), so a read is a
/// request part; the parts pass through untouched.
final class FirstRequestGraceHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Request parts, passed on as they are (never unwrapped here).
    typealias InboundIn = Any

    /// The longest wait for a first request once the server quiesces.
    let grace: Duration
    private var hasReadRequest = false
    private var heldQuiesce: Scheduled<Void>?

    /// Creates the handler of one connection.
    /// - Parameter grace: The longest wait for the first request after the quiesce event.
    init(grace: Duration) { self.grace = grace }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        hasReadRequest = true
        context.fireChannelRead(data)
        if let held = heldQuiesce {
            // The request head is past: the connection state handler now closes after this request's answer.
            held.cancel()
            heldQuiesce = nil
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent, !hasReadRequest, heldQuiesce == nil else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        heldQuiesce = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(grace)) {
            self.heldQuiesce = nil
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        heldQuiesce?.cancel()
        heldQuiesce = nil
        context.fireChannelInactive()
    }
}
