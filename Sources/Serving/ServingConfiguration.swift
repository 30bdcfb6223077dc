/// The service's limits and names (the `[serve]` keys of config.ini, resolved by Settings).
public struct ServingConfiguration: Sendable, Equatable {
    /// The model's name in the V2 routes. Default `sonar`.
    public var modelName: String
    /// The largest request body in bytes; larger answers 413. Default 1 MiB.
    public var maxBodyBytes: Int
    /// The most rows in one request; more answers 413 (the body is well-formed but too large a batch to take,
    /// which is what 413 Content Too Large means). Default 1000.
    public var maxRows: Int
    /// Requests handled at once on the infer and admin routes; one more answers 503 with `Retry-After`.
    /// Default 64.
    public var maxConcurrency: Int
    /// How long reading and scoring one request may take; past it the answer is 503 and nothing is recorded.
    /// Default 10 s.
    public var requestTimeout: Duration
    /// The server's version in `GET /v2` and `GET /version`. Default `1`.
    public var serverVersion: String

    /// Creates a configuration; every argument has the documented default.
    /// - Parameters:
    ///   - modelName: The model name.
    ///   - maxBodyBytes: The body limit (at least 1).
    ///   - maxRows: The rows limit (at least 1).
    ///   - maxConcurrency: The concurrency limit (at least 1).
    ///   - requestTimeout: The time limit.
    ///   - serverVersion: The server version text.
    public init(
        modelName: String = "sonar", maxBodyBytes: Int = 1 << 20, maxRows: Int = 1000, maxConcurrency: Int = 64,
        requestTimeout: Duration = .seconds(10), serverVersion: String = "1"
    ) {
        self.modelName = modelName
        self.maxBodyBytes = max(1, maxBodyBytes)
        self.maxRows = max(1, maxRows)
        self.maxConcurrency = max(1, maxConcurrency)
        self.requestTimeout = requestTimeout
        self.serverVersion = serverVersion
    }
}
