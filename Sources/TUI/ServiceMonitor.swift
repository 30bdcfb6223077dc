public import Foundation
public import Tracking
import Engine

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One sample of the Prometheus text exposition format (`name{label="value",…} value [timestamp]`).
public struct PrometheusSample: Equatable, Sendable {
    /// The metric name, e.g. `sonarlab_serve_requests_total` or `…_bucket`.
    public var name: String
    /// The labels, e.g. `["route": "infer", "status": "200"]`.
    public var labels: [String: String]
    /// The value (`+Inf`, `-Inf` and `NaN` included).
    public var value: Double
}

/// A reader of Prometheus' text format 0.0.4 (the `/metrics` body): comments, `# HELP` and `# TYPE` lines and
/// lines it cannot read are skipped, label values are unescaped (`\\`, `\"`, `\n`), numbers are read without the
/// locale.
public enum PrometheusText {
    /// The samples of a `/metrics` body, in order.
    /// - Parameter text: the body.
    /// - Returns: every sample that could be read.
    public static func parse(_ text: String) -> [PrometheusSample] {
        text.split(whereSeparator: \.isNewline).compactMap { sample(Substring($0)) }
    }

    static func sample(_ line: Substring) -> PrometheusSample? {
        let line = line.drop { $0 == " " || $0 == "\t" }
        guard let first = line.first, first != "#" else { return nil }
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " || $0 == "\t" } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard !name.isEmpty else { return nil }
        var labels: [String: String] = [:]
        var rest = line[nameEnd...]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while true {
                rest = rest.drop { $0 == " " || $0 == "," }
                if rest.first == "}" {
                    rest = rest.dropFirst()
                    break
                }
                guard let equals = rest.firstIndex(of: "=") else { return nil }
                let key = rest[..<equals].trimmingCharacters(in: .whitespaces)
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                var value = ""
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\\", let next = rest.first {
                        rest = rest.dropFirst()
                        value.append(next == "n" ? "\n" : next)
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { return nil }
                labels[key] = value
            }
        }
        guard let token = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
            let value = number(String(token))
        else { return nil }
        return PrometheusSample(name: name, labels: labels, value: value)
    }

    static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}

/// The model service's figures from one `/metrics` scrape (the metric names `sonarlab serve` exports).
public struct ServiceFigures: Equatable, Sendable {
    /// `sonarlab_serve_requests_total`, all routes and statuses.
    public var requests: Double = 0
    /// `sonarlab_serve_requests_total` with `status` ≥ 400.
    public var errors: Double = 0
    /// `sonarlab_serve_request_duration_seconds_bucket` summed over routes: (upper bound `le` in seconds, count).
    public var latencyBuckets: [(le: Double, count: Double)] = []
    /// `sonarlab_serve_outbox_depth`: predictions committed to the outbox, not yet in HBase.
    public var outboxDepth: Double?
    /// `sonarlab_serve_inflight_requests`.
    public var inflight: Double?
    /// `sonarlab_serve_rows_predicted_total`.
    public var rowsPredicted: Double?
    /// `sonarlab_serve_hbase_delivery_errors_total`, all reasons.
    public var deliveryErrors: Double = 0
    /// The `model` and `version` labels of `sonarlab_serve_model_info` (the sample with value 1).
    public var model: (name: String, version: String)?

    /// Reads the figures from the samples.
    /// - Parameter samples: a scrape.
    public init(_ samples: [PrometheusSample]) {
        var buckets: [Double: Double] = [:]
        for sample in samples {
            switch sample.name {
            case "sonarlab_serve_requests_total":
                requests += sample.value
                if let status = sample.labels["status"].flatMap({ Int($0) }), status >= 400 { errors += sample.value }
            case "sonarlab_serve_request_duration_seconds_bucket":
                if let le = sample.labels["le"].flatMap(PrometheusText.number) {
                    buckets[le, default: 0] += sample.value
                }
            case "sonarlab_serve_outbox_depth": outboxDepth = sample.value
            case "sonarlab_serve_inflight_requests": inflight = sample.value
            case "sonarlab_serve_rows_predicted_total": rowsPredicted = sample.value
            case "sonarlab_serve_hbase_delivery_errors_total": deliveryErrors += sample.value
            case "sonarlab_serve_model_info":
                if sample.value == 1, let name = sample.labels["model"] {
                    model = (name, sample.labels["version"] ?? "")
                }
            default: break
            }
        }
        latencyBuckets = buckets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public static func == (a: ServiceFigures, b: ServiceFigures) -> Bool {
        a.requests == b.requests && a.errors == b.errors && a.outboxDepth == b.outboxDepth && a.inflight == b.inflight
            && a.rowsPredicted == b.rowsPredicted && a.deliveryErrors == b.deliveryErrors
            && a.model?.name == b.model?.name && a.model?.version == b.model?.version
            && a.latencyBuckets.map(\.le) == b.latencyBuckets.map(\.le)
            && a.latencyBuckets.map(\.count) == b.latencyBuckets.map(\.count)
    }

    /// The `q` quantile (0…1) of cumulative buckets, interpolated linearly inside a bucket as PromQL's
    /// `histogram_quantile` does; `nil` without observations. A quantile in the `+Inf` bucket is the highest finite
    /// bound.
    /// - Parameters:
    ///   - q: the quantile, such as 0.99.
    ///   - buckets: cumulative `(le, count)` in ascending `le`.
    /// - Returns: seconds.
    public static func quantile(_ q: Double, of buckets: [(le: Double, count: Double)]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lower = 0.0, below = 0.0
        for bucket in buckets {
            if bucket.count >= rank {
                guard bucket.le.isFinite else { return lower }
                let inBucket = bucket.count - below
                return inBucket > 0 ? lower + (bucket.le - lower) * (rank - below) / inBucket : bucket.le
            }
            if bucket.le.isFinite { lower = bucket.le }
            below = bucket.count
        }
        return lower
    }
}

/// What the Service screen shows of a running `sonarlab serve`: reachability, server and model metadata (V2
/// `GET /v2`, `GET /v2/models/{name}`) and figures from `/metrics`, rates and quantiles over the last poll.
public struct ServiceStatus: Equatable, Sendable {
    /// When this poll ended.
    public var polledAt: Date
    /// Why the service could not be read, or `nil` when it answered.
    public var failure: String?
    /// `name` and `version` of `GET /v2` (server metadata).
    public var server: String?
    /// The model's name (`GET /v2/models/{name}` `name`, or the `model` label of the model info metric).
    public var model: String?
    /// The model's version (the training experiment id).
    public var modelVersion: String?
    /// The scrape this status was computed from (kept for the next poll's rates).
    public var figures: ServiceFigures?
    /// Requests per second since the previous poll (`nil` on the first one).
    public var requestsPerSecond: Double?
    /// Median request latency in seconds: over the requests since the previous poll, else since the start.
    public var p50: Double?
    /// 99th-percentile request latency in seconds, as ``p50``.
    public var p99: Double?

    /// Whether the service answered.
    public var isReachable: Bool { failure == nil }

    /// Creates a status.
    public init(
        polledAt: Date, failure: String? = nil, server: String? = nil, model: String? = nil,
        modelVersion: String? = nil, figures: ServiceFigures? = nil, previous: ServiceStatus? = nil
    ) {
        self.polledAt = polledAt
        self.failure = failure
        self.server = server
        self.model = model ?? figures?.model?.name
        self.modelVersion = modelVersion ?? figures?.model?.version
        self.figures = figures
        guard let figures else { return }
        var buckets = figures.latencyBuckets
        if let before = previous?.figures, let at = previous?.polledAt, polledAt > at,
            figures.requests >= before.requests
        {
            requestsPerSecond = (figures.requests - before.requests) / polledAt.timeIntervalSince(at)
            let old = Dictionary(before.latencyBuckets.map { ($0.le, $0.count) }, uniquingKeysWith: { $1 })
            let delta = buckets.map { (le: $0.le, count: $0.count - (old[$0.le] ?? 0)) }
            if (delta.last?.count ?? 0) > 0, delta.allSatisfy({ $0.count >= 0 }) { buckets = delta }
        }
        p50 = ServiceFigures.quantile(0.5, of: buckets)
        p99 = ServiceFigures.quantile(0.99, of: buckets)
    }
}

/// Polls a running `sonarlab serve` over HTTP: `GET /v2`, `GET /metrics`, `GET /v2/models/{name}`.
///
/// Each request has a timeout; any failure becomes a ``ServiceStatus`` with ``ServiceStatus/failure`` set (the
/// dashboard shows it as a state line), never a thrown error. Health and metadata routes are open, so no credential
/// is sent.
public struct ServiceProbe: Sendable {
    /// The service's base URL, such as `http://host:port`.
    public let baseURL: URL
    /// Seconds each request may take. Default 2.
    public let timeout: TimeInterval

    /// Creates a probe.
    /// - Parameters:
    ///   - baseURL: the service (`SONARLAB_SERVE_URL` or `--service`).
    ///   - timeout: seconds per request.
    public init(baseURL: URL, timeout: TimeInterval = 2) {
        self.baseURL = baseURL
        self.timeout = timeout
    }

    /// One poll.
    /// - Parameters:
    ///   - previous: the last status, for rates.
    ///   - now: the clock.
    /// - Returns: the status; unreachable, refusing or malformed answers give a status with a failure.
    public func poll(previous: ServiceStatus?, now: @Sendable () -> Date = Date.init) async -> ServiceStatus {
        do {
            let serverObject = try await json("v2")
            let server = [serverObject["name"] as? String, serverObject["version"] as? String].compactMap { $0 }
                .joined(separator: " ")
            let metrics = String(decoding: try await get("metrics"), as: UTF8.self)
            let figures = ServiceFigures(PrometheusText.parse(metrics))
            let name = figures.model?.name ?? "sonar"
            let modelObject = try await json(
                "v2/models/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name))
            let versions = modelObject["versions"] as? [String]
            return ServiceStatus(
                polledAt: now(), server: server.isEmpty ? nil : server, model: modelObject["name"] as? String,
                modelVersion: figures.model?.version ?? versions?.last, figures: figures, previous: previous)
        } catch let error as ProbeFailure {
            return ServiceStatus(polledAt: now(), failure: error.message)
        } catch {
            return ServiceStatus(polledAt: now(), failure: "unreachable: \(error.localizedDescription)")
        }
    }

    struct ProbeFailure: Error {
        let message: String
    }

    private func json(_ path: String) async throws -> [String: Any] {
        let data = try await get(path)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ProbeFailure(message: "GET /\(path) did not answer a JSON object")
        }
        return object
    }

    private func get(_ path: String) async throws -> Data {
        var request = URLRequest(url: baseURL.appendingPathComponent(path), timeoutInterval: timeout)
        request.httpMethod = "GET"
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw ProbeFailure(message: "unreachable (GET /\(path): \(error.localizedDescription))")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw ProbeFailure(message: "GET /\(path) answered HTTP \(status)")
        }
        return data
    }
}

/// The Service screen's state: the service followed and what the last polls said.
struct ServiceState: Equatable, Sendable {
    /// The service's URL, as given.
    var url: String
    /// The last poll's result; `nil` before the first answer.
    var status: ServiceStatus?
    /// Whether a poll is under way.
    var isPolling = false
    /// When the last poll started.
    var lastPollAt: Date?
    /// The latest predictions of the service's model in the store, newest first.
    var predictions: [PredictionRecord] = []
    /// Why the predictions could not be read, if they could not.
    var predictionsError: String?

    /// Seconds between polls.
    static let pollInterval: TimeInterval = 1
}
