import CoreMetrics
public import Prometheus
import Synchronization

/// The service's Prometheus metrics (`GET /metrics`), made through the swift-metrics API on a registry of the
/// service's own (so two services in one test process never share counts).
///
/// Names (the dashboard's Service screen parses them):
/// - `sonarlab_serve_requests_total{route,status}` counter; `route` is the route template (`/v2/models/{name}/infer`)
///   or `unmatched`;
/// - `sonarlab_serve_request_duration_seconds{route}` histogram, sub-millisecond buckets;
/// - `sonarlab_serve_stage_duration_seconds{stage}` histogram, `stage` = `decode` | `infer` | `record`;
/// - `sonarlab_serve_rows_predicted_total` counter;
/// - `sonarlab_serve_outbox_depth` gauge (HBase writes queued in the outbox);
/// - `sonarlab_serve_hbase_delivery_errors_total{reason}` counter, `reason` = `unreachable` | `unauthorized` |
///   `forbidden` | `refused` | `recorder`;
/// - `sonarlab_serve_inflight_requests` gauge;
/// - `sonarlab_serve_model_info{model,version}` gauge = 1 for the model being served.
public final class ServingMetrics: Sendable {
    /// The registry `GET /metrics` renders.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[String: CoreMetrics.Counter]>([:])
    private let durations = Mutex<[String: CoreMetrics.Timer]>([:])
    private let errors = Mutex<[String: CoreMetrics.Counter]>([:])
    private let stages: [String: CoreMetrics.Timer]
    private let rows: CoreMetrics.Counter
    private let outboxDepth: CoreMetrics.Gauge
    private let inflight: CoreMetrics.Meter
    private let modelInfo = Mutex<(labels: [String], gauge: CoreMetrics.Gauge)?>(nil)

    /// The histogram buckets: 50 µs … 10 s, finer below a millisecond (a one-row answer takes well under one).
    public static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10),
    ]

    /// Creates the metrics on a new registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.buckets
        self.factory = factory
        stages = Dictionary(
            uniqueKeysWithValues: ["decode", "infer", "record"].map { stage in
                (
                    stage,
                    CoreMetrics.Timer(
                        label: "sonarlab_serve_stage_duration_seconds", dimensions: [("stage", stage)],
                        factory: factory)
                )
            })
        rows = CoreMetrics.Counter(label: "sonarlab_serve_rows_predicted_total", factory: factory)
        outboxDepth = CoreMetrics.Gauge(label: "sonarlab_serve_outbox_depth", factory: factory)
        outboxDepth.record(0)
        inflight = CoreMetrics.Meter(label: "sonarlab_serve_inflight_requests", factory: factory)
        inflight.set(0)
    }

    /// Counts an answered request and its duration.
    /// - Parameters:
    ///   - route: The route template.
    ///   - status: The HTTP status code.
    ///   - duration: From the request's arrival to its answer.
    public func recordRequest(route: String, status: Int, duration: Duration) {
        let key = "\(route)\u{0}\(status)"
        let counter = requests.withLock { cache in
            if let c = cache[key] { return c }
            let c = CoreMetrics.Counter(
                label: "sonarlab_serve_requests_total", dimensions: [("route", route), ("status", String(status))],
                factory: factory)
            cache[key] = c
            return c
        }
        counter.increment()
        let timer = durations.withLock { cache in
            if let t = cache[route] { return t }
            let t = CoreMetrics.Timer(
                label: "sonarlab_serve_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            cache[route] = t
            return t
        }
        timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Records how long a stage took (`decode`, `infer`, `record`).
    public func recordStage(_ stage: String, _ duration: Duration) {
        stages[stage]?.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Counts predicted rows.
    public func addRows(_ count: Int) { rows.increment(by: count) }

    /// Sets the outbox depth (queued HBase writes).
    public func setOutboxDepth(_ depth: Int) { outboxDepth.record(depth) }

    /// Counts a failed HBase delivery (or a recorder refusal) by reason.
    public func countDeliveryError(reason: String) {
        let counter = errors.withLock { cache in
            if let c = cache[reason] { return c }
            let c = CoreMetrics.Counter(
                label: "sonarlab_serve_hbase_delivery_errors_total", dimensions: [("reason", reason)], factory: factory)
            cache[reason] = c
            return c
        }
        counter.increment()
    }

    /// One more request in flight.
    public func requestStarted() { inflight.increment() }
    /// One fewer request in flight.
    public func requestFinished() { inflight.decrement() }

    /// Names the served model: `sonarlab_serve_model_info{model,version} 1`, replacing the previous one.
    public func setModel(name: String, version: String) {
        modelInfo.withLock { current in
            guard current?.labels != [name, version] else { return }
            current?.gauge.destroy()
            let gauge = CoreMetrics.Gauge(
                label: "sonarlab_serve_model_info", dimensions: [("model", name), ("version", version)],
                factory: factory)
            gauge.record(1)
            current = ([name, version], gauge)
        }
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] { registry.emitToBuffer() }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
