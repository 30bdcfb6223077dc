// Serving: the model service behind `sonarlab serve`.
//
// What it does: answers the Open Inference Protocol V2 REST routes (KServe V2, as Triton, MLServer and OpenVINO
// implement them: health, server and model metadata, infer) and MLflow's scoring routes (`/invocations`, `/ping`,
// `/health`, `/version`) with one loaded model (`ModelHolder`, swapped atomically on reload), records every
// prediction as it answers (`PredictionRecorder`: the durable HBase outbox, the embedded SQLite store, or off),
// enforces the limits (body bytes, rows, concurrency, time) and exposes Prometheus metrics (`ServingMetrics`).
// The router is built in route groups (`infer`, `admin`) so callers' authentication can be attached per group
// (`ServingMiddlewares`); health and metadata routes stay open. docs/openapi.yaml describes every route.
//
// May import: Engine, Tracking, HBase, Hummingbird, swift-service-lifecycle, swift-metrics, swift-prometheus,
// swift-crypto. Start at `ServingApplication.makeRouter(service:middlewares:)`.
public import HTTPTypes

/// A request the service refuses, with its HTTP status and a message naming the input, row and column.
///
/// The answer's body is `{"error": message}` (Open Inference Protocol V2, "… Response JSON Error Object").
/// Messages hold no secret and no request payload beyond the one offending value.
public struct ServingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of refusal; errors compare equal by code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        /// The HTTP status of this kind of refusal.
        public let status: HTTPResponse.Status
        public var description: String { name }
        /// The body is not what the route takes: invalid JSON, a duplicate key, a wrong shape or datatype, a value
        /// that is not a finite number in `[0, 1]` (400).
        public static let badRequest = Code(name: "badRequest", status: .badRequest)
        /// No such model or version (404).
        public static let notFound = Code(name: "notFound", status: .notFound)
        /// The body, or its number of rows, is over the configured limit (413).
        public static let tooLarge = Code(name: "tooLarge", status: .contentTooLarge)
        /// The body's `Content-Type` is not one the route reads (415).
        public static let unsupportedMediaType = Code(name: "unsupportedMediaType", status: .unsupportedMediaType)
        /// The service is at its concurrency limit, timed out, or has no model loaded (503).
        public static let unavailable = Code(name: "unavailable", status: .serviceUnavailable)
        /// The model could not be (re)loaded (500); the previous model keeps serving.
        public static let loadFailed = Code(name: "loadFailed", status: .internalServerError)
    }

    /// The kind of refusal.
    public let code: Code
    /// What is wrong, in plain words.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind.
    ///   - message: What is wrong (no secret).
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// Errors are equal when their codes are.
    public static func == (lhs: ServingError, rhs: ServingError) -> Bool { lhs.code == rhs.code }
}
