import Engine
import Foundation
public import HTTPTypes
public import Hummingbird
public import ServingAuth
import Logging
import NIOCore
import Synchronization

/// The request context of the service's router: Hummingbird's core storage and the caller.
///
/// An authentication middleware (attached per route group with ``ServingMiddlewares``) sets ``caller``; the
/// predictions recorded for the request carry it (cell `p:caller`).
public struct ServingRequestContext: CallerIdentifiedContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// Who asks: the caller's principal or token name, `nil` when anonymous.
    public var caller: String?

    /// Creates the context for a request.
    /// - Parameter source: Hummingbird's source (channel, logger).
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.caller = nil
    }
}

/// Middlewares added to the service's route groups: `infer` (V2 infer, `/invocations`) and `admin`
/// (`/v2/repository/models/{name}/load`). Health, metadata, `/metrics` and the MLflow probes get none of these.
public struct ServingMiddlewares: Sendable {
    /// Run before the infer routes (for example callers' authentication and authorisation).
    public var infer: [any MiddlewareProtocol<Request, Response, ServingRequestContext>]
    /// Run before the admin routes.
    public var admin: [any MiddlewareProtocol<Request, Response, ServingRequestContext>]

    /// Creates the lists (empty by default: anonymous callers).
    /// - Parameters:
    ///   - infer: Middlewares of the infer group.
    ///   - admin: Middlewares of the admin group.
    public init(
        infer: [any MiddlewareProtocol<Request, Response, ServingRequestContext>] = [],
        admin: [any MiddlewareProtocol<Request, Response, ServingRequestContext>] = []
    ) {
        self.infer = infer
        self.admin = admin
    }
}

extension ServingError: HTTPResponseError {
    public var status: HTTPResponse.Status { code.status }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ServingRoutes.errorResponse(status: code.status, message: message)
    }
}

/// The service's routes (docs/openapi.yaml lists the same ones; a test compares them).
public enum ServingRoutes {
    /// Every route as `METHOD path`, with path parameters as `{name}`, in the order they are added.
    public static let all: [String] = [
        "GET /v2/health/live", "GET /v2/health/ready", "GET /v2", "GET /v2/models/{name}",
        "GET /v2/models/{name}/versions/{version}", "GET /v2/models/{name}/ready",
        "GET /v2/models/{name}/versions/{version}/ready", "GET /ping", "GET /health", "GET /version", "GET /metrics",
        "POST /v2/models/{name}/infer", "POST /v2/models/{name}/versions/{version}/infer", "POST /invocations",
        "POST /v2/repository/models/{name}/load",
    ]

    /// Builds the router.
    /// - Parameters:
    ///   - service: The service state.
    ///   - middlewares: Middlewares of the infer and admin groups.
    /// - Returns: The router; `Application(router:)` serves it.
    public static func makeRouter(
        service: ModelService, middlewares: ServingMiddlewares = ServingMiddlewares()
    ) -> Router<ServingRequestContext> {
        let router = Router(context: ServingRequestContext.self)
        router.add(middleware: ObservingMiddleware(service: service))
        let h = Handlers(service: service)
        router.get("/v2/health/live") { _, _ in json(#"{"live":true}"#) }
        router.get("/v2/health/ready") { _, _ in json(#"{"ready":true}"#) }
        router.get("/v2") { _, _ in h.serverMetadata() }
        router.get("/v2/models/{name}") { _, c in try h.modelMetadata(c) }
        router.get("/v2/models/{name}/versions/{version}") { _, c in try h.modelMetadata(c) }
        router.get("/v2/models/{name}/ready") { _, c in try h.modelReady(c) }
        router.get("/v2/models/{name}/versions/{version}/ready") { _, c in try h.modelReady(c) }
        router.get("/ping") { _, _ in json(#"{"status":"ok"}"#) }
        router.get("/health") { _, _ in json(#"{"status":"ok"}"#) }
        router.get("/version") { _, _ in h.version() }
        router.get("/metrics") { _, _ in h.metrics() }

        let limiter = ConcurrencyLimitMiddleware(service: service)
        let infer = router.group()
        infer.add(middleware: limiter)
        for m in middlewares.infer { infer.add(middleware: m) }
        infer.post("/v2/models/{name}/infer") { r, c in try await h.infer(r, c) }
        infer.post("/v2/models/{name}/versions/{version}/infer") { r, c in try await h.infer(r, c) }
        infer.post("/invocations") { r, c in try await h.invocations(r, c) }

        let admin = router.group()
        admin.add(middleware: limiter)
        for m in middlewares.admin { admin.add(middleware: m) }
        admin.post("/v2/repository/models/{name}/load") { _, c in try await h.load(c) }
        return router
    }

    /// A JSON answer.
    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// `{"error": message}` with `status`.
    static func errorResponse(status: HTTPResponse.Status, message: String) -> Response {
        var text = #"{"error":"#
        JSONValue.writeString(message, into: &text)
        text += "}"
        var headers: HTTPFields = [:]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return json(text, status: status, headers: headers)
    }
}

/// Counts every request (route, status, duration, in flight) and turns every error into `{"error": …}`.
struct ObservingMiddleware: RouterMiddleware {
    typealias Context = ServingRequestContext
    let service: ModelService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        service.metrics.requestStarted()
        defer { service.metrics.requestFinished() }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServingError {
            response = ServingRoutes.errorResponse(status: error.code.status, message: error.message)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route \(request.method) \(ServingRoutes.clipPath(request.uri.path))"
            case .contentTooLarge: message = "the body is over the limit of \(service.configuration.maxBodyBytes) bytes"
            default: message = error.body ?? error.status.reasonPhrase
            }
            response = ServingRoutes.errorResponse(status: error.status, message: message)
        } catch {
            service.logger.error("request failed: \(error)")
            response = ServingRoutes.errorResponse(status: .internalServerError, message: "internal error")
        }
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        service.metrics.recordRequest(route: route, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}

/// Answers 503 with `Retry-After` when ``ServingConfiguration/maxConcurrency`` requests are already being handled.
struct ConcurrencyLimitMiddleware: RouterMiddleware {
    typealias Context = ServingRequestContext
    let service: ModelService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let limit = service.configuration.maxConcurrency
        let now = service.inflight.add(1, ordering: .relaxed).newValue
        defer { service.inflight.subtract(1, ordering: .relaxed) }
        guard now <= limit else {
            throw ServingError(.unavailable, "the service is at its limit of \(limit) requests at once; retry shortly")
        }
        return try await next(request, context)
    }
}

extension ServingRoutes {
    /// A request path in a message: at most 100 characters, control characters replaced.
    static func clipPath(_ path: String) -> String { InferenceDecoding.clip(String(path.prefix(100))) }
}

/// The route handlers.
struct Handlers: Sendable {
    let service: ModelService
    var configuration: ServingConfiguration { service.configuration }

    func serverMetadata() -> Response {
        ServingRoutes.json(
            #"{"name":"sonarlab","version":"# + quoted(configuration.serverVersion) + #","extensions":[]}"#)
    }

    func version() -> Response {
        let model = service.holder.model
        return ServingRoutes.json(
            #"{"version":"# + quoted(configuration.serverVersion) + #","model_name":"#
                + quoted(configuration.modelName) + #","model_version":"# + quoted(model.version) + "}")
    }

    func metrics() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: service.metrics.render())))
    }

    /// The model named by the path, or 404.
    func model(_ context: ServingRequestContext) throws(ServingError) -> ServedModel {
        let name = context.parameters.get("name") ?? ""
        guard name == configuration.modelName else {
            throw ServingError(
                .notFound,
                "unknown model '\(InferenceDecoding.clip(name))'; this server serves '\(configuration.modelName)'")
        }
        let model = service.holder.model
        if let version = context.parameters.get("version"), version != model.version {
            throw ServingError(
                .notFound,
                "unknown version '\(InferenceDecoding.clip(version))' of model '\(name)'; the served version is "
                    + model.version)
        }
        return model
    }

    func modelMetadata(_ context: ServingRequestContext) throws(ServingError) -> Response {
        let model = try model(context)
        var text = #"{"name":"# + quoted(configuration.modelName) + #","versions":["# + quoted(model.version)
        text += #"],"platform":"sonarlab-mlp","inputs":[{"name":"features","datatype":"FP32","shape":[-1,60]}],"#
        text += #""outputs":[{"name":"label","datatype":"BYTES","shape":[-1]},"#
        text += #"{"name":"p_mine","datatype":"FP32","shape":[-1]}]}"#
        return ServingRoutes.json(text)
    }

    func modelReady(_ context: ServingRequestContext) throws(ServingError) -> Response {
        _ = try model(context)
        return ServingRoutes.json(#"{"name":"# + quoted(configuration.modelName) + #","ready":true}"#)
    }

    /// The request id: the body's `id`, else `X-Request-Id`, else a new UUID.
    func requestID(_ bodyID: String?, _ request: Request) throws(ServingError) -> String {
        let id = bodyID ?? request.headers[.requestID] ?? UUID().uuidString.lowercased()
        guard !id.isEmpty, id.utf8.count <= 128 else {
            throw ServingError(.badRequest, "the request id must be 1–128 bytes (\"id\" or X-Request-Id)")
        }
        return id
    }

    /// The body, within the size limit and the deadline.
    func body(_ request: Request, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ServingError(.tooLarge, "the body (\(length) bytes) is over the limit of \(limit) bytes")
        }
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                do {
                    var buffer = try await request.body.collect(upTo: limit)
                    return buffer.readBytes(length: buffer.readableBytes) ?? []
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw ServingError(.tooLarge, "the body is over the limit of \(limit) bytes")
                }
            }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let bytes = first else {
                throw ServingError(.unavailable, "the body did not arrive within the request timeout")
            }
            return bytes
        }
    }

    /// The body's media type (`application/json` …) without parameters, lower-cased; `nil` when absent.
    func mediaType(_ request: Request) -> String? {
        request.headers[.contentType].map {
            String($0.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        }
    }

    func infer(_ request: Request, _ context: ServingRequestContext) async throws -> Response {
        let deadline = ContinuousClock.now + configuration.requestTimeout
        let model = try model(context)
        if let type = mediaType(request), type != "application/json" {
            throw ServingError(
                .unsupportedMediaType, "Content-Type '\(InferenceDecoding.clip(type))' is not application/json")
        }
        let bytes = try await body(request, deadline: deadline)
        let decodeStart = ContinuousClock.now
        let decoded = try InferenceDecoding.v2(try JSONValue.parse(bytes), maxRows: configuration.maxRows)
        service.metrics.recordStage("decode", ContinuousClock.now - decodeStart)
        let id = try requestID(decoded.id, request)
        let scored = try await service.score(
            decoded.rows, model: model, requestID: id, caller: context.caller, deadline: deadline)
        let names = decoded.outputs ?? InferenceDecoding.outputNames
        let n = decoded.rows.count
        var text = #"{"model_name":"# + quoted(configuration.modelName) + #","model_version":"# + quoted(model.version)
        text += #","id":"# + quoted(id) + #","outputs":["#
        for (i, name) in names.enumerated() {
            if i > 0 { text += "," }
            if name == "label" {
                text += #"{"name":"label","datatype":"BYTES","shape":["# + String(n) + #"],"data":["#
                text += scored.labels.map { "\"\($0.label)\"" }.joined(separator: ",") + "]}"
            } else {
                text += #"{"name":"p_mine","datatype":"FP32","shape":["# + String(n) + #"],"data":["#
                text += scored.mineProbabilities.map { "\($0)" }.joined(separator: ",") + "]}"
            }
        }
        text += "]}"
        return ServingRoutes.json(text, headers: [.requestID: id])
    }

    func invocations(_ request: Request, _ context: ServingRequestContext) async throws -> Response {
        let deadline = ContinuousClock.now + configuration.requestTimeout
        let type = mediaType(request)
        guard type == "application/json" || type == "text/csv" else {
            throw ServingError(
                .unsupportedMediaType,
                "Content-Type '\(InferenceDecoding.clip(type ?? "(none)"))' is not application/json or text/csv")
        }
        let model = service.holder.model
        let bytes = try await body(request, deadline: deadline)
        let decodeStart = ContinuousClock.now
        let rows =
            type == "text/csv"
            ? try InferenceDecoding.csv(bytes, maxRows: configuration.maxRows)
            : try InferenceDecoding.mlflow(try JSONValue.parse(bytes), maxRows: configuration.maxRows)
        service.metrics.recordStage("decode", ContinuousClock.now - decodeStart)
        let id = try requestID(nil, request)
        let scored = try await service.score(
            rows, model: model, requestID: id, caller: context.caller, deadline: deadline)
        var text = #"{"predictions":["#
        for i in 0..<rows.count {
            if i > 0 { text += "," }
            text += #"{"label":""# + scored.labels[i].label + #"","p_mine":"# + "\(scored.mineProbabilities[i])}"
        }
        text += "]}"
        return ServingRoutes.json(text, headers: [.requestID: id])
    }

    func load(_ context: ServingRequestContext) async throws -> Response {
        let name = context.parameters.get("name") ?? ""
        guard name == configuration.modelName else {
            throw ServingError(
                .notFound,
                "unknown model '\(InferenceDecoding.clip(name))'; this server serves '\(configuration.modelName)'")
        }
        let (previous, current) = try await service.holder.reload()
        service.metrics.setModel(name: configuration.modelName, version: current.version)
        service.logger.notice("model reloaded: version \(previous.version) → \(current.version) from \(current.source)")
        return ServingRoutes.json(
            #"{"name":"# + quoted(name) + #","version":"# + quoted(current.version) + #","previous_version":"#
                + quoted(previous.version) + "}")
    }

    /// A string as a JSON string literal, with the quotes.
    func quoted(_ s: String) -> String {
        var out = ""
        JSONValue.writeString(s, into: &out)
        return out
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`.
    static let requestID = HTTPField.Name("X-Request-Id")!
}
