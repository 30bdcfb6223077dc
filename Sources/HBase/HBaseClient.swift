import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A client for HBase's REST gateway, speaking the JSON wire format of HBASE_REST.md.
///
/// One client holds one connection pool; share it and call ``shutdown()`` once (or use
/// ``withClient(configuration:logger:_:)``). Every request sends `Accept: application/json` (§7.7) and
/// percent-encodes every path byte outside unreserved characters (§7.5). Idempotent requests are retried
/// per ``HBaseRetryPolicy``. The client never reads the environment: it only knows its configuration.
public final class HBaseClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: HBaseClientConfiguration
    private let http: HTTPClient
    private let base: String
    let host: String
    private let logger: Logger
    private let isShutDown = Mutex(false)
    private let nextRequestID = Mutex<UInt64>(0)

    /// Creates a client and its connection pool.
    /// - Parameters:
    ///   - configuration: Base URL, timeouts, retries, authentication and TLS.
    ///   - logger: Where to log requests at debug level; silent by default.
    /// - Throws: ``HBaseError/invalidConfiguration`` when ``HBaseClientConfiguration/validate()`` fails or
    ///   the CA file cannot be used.
    public init(configuration: HBaseClientConfiguration, logger: Logger? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger ?? Logger(label: "sonarlab.hbase", factory: { _ in SwiftLogNoOpLogHandler() })
        var absolute = configuration.baseURL.absoluteString
        while absolute.hasSuffix("/") { absolute.removeLast() }
        self.base = absolute
        self.host = configuration.baseURL.host ?? ""

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = configuration.tls.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw HBaseError.invalidConfiguration.with("the CA file is not readable")
            }
            tls.trustRoots = .file(caFile)
        }
        var pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, configuration.maxConnectionsPerHost)
        )
        // Connection failures reach the retry policy instead of being retried silently by the pool.
        pool.retryConnectionEstablishment = false
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: Self.timeAmount(configuration.timeouts.connect),
                read: Self.timeAmount(configuration.timeouts.read)
            ),
            connectionPool: pool,
            ignoreUncleanSSLShutdown: false,
            decompression: .disabled
        )
        httpConfiguration.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    /// Runs `body` with a new client and always shuts the client down afterwards.
    /// - Parameters:
    ///   - configuration: The client's configuration.
    ///   - logger: Where to log; silent by default.
    ///   - body: The work to do with the client.
    /// - Returns: What `body` returns.
    /// - Throws: ``HBaseError/invalidConfiguration``, or what `body` throws.
    public static func withClient<Result: Sendable>(
        configuration: HBaseClientConfiguration,
        logger: Logger? = nil,
        _ body: (HBaseClient) async throws -> Result
    ) async throws -> Result {
        let client = try HBaseClient(configuration: configuration, logger: logger)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A client dropped without ``shutdown()`` closes its pool in the background instead of leaking it.
    deinit {
        if !isShutDown.withLock({ $0 }) {
            _ = http.shutdown()
        }
    }

    /// Closes the connection pool.
    ///
    /// Call once; later calls do nothing.
    /// - Throws: ``HBaseError/transport`` if the pool cannot shut down.
    public func shutdown() async throws {
        let already = isShutDown.withLock { state in
            defer { state = true }
            return state
        }
        guard !already else { return }
        do {
            try await http.shutdown()
        } catch {
            throw HBaseError.transport.with("could not shut down the HTTP client")
        }
    }

    // MARK: - Transport

    /// What a request is about, for error messages (never the payload).
    struct Context {
        var operation: String
        var table: HBaseTableName?
        var row: Data?
        var namespace: String?
        /// What a 404 means for this request.
        var notFound: HBaseError = .tableNotFound

        var summary: String {
            var parts = [operation]
            if let namespace { parts.append("namespace '\(namespace)'") }
            if let table { parts.append("table '\(table.qualified)'") }
            if let row { parts.append("row '\(HBaseClient.printable(row))'") }
            return parts.joined(separator: " ")
        }
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// A row key for a message: UTF-8 with control bytes escaped, at most 64 characters.
    static func printable(_ key: Data) -> String {
        var text = ""
        for scalar in String(decoding: key, as: UTF8.self).unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                text += String(format: "\\x%02X", scalar.value)
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text.count > 64 ? String(text.prefix(64)) + "…" : text
    }

    /// Sends one logical request, with authentication, retries and timeouts; returns any status.
    func send(
        _ method: HTTPMethod,
        _ path: String,
        body: Data? = nil,
        isIdempotent: Bool,
        context: Context
    ) async throws -> Reply {
        let requestID = nextRequestID.withLock { value in
            value &+= 1
            return value
        }
        let authRequest = HBaseAuthenticationRequest(host: host, method: method.rawValue, path: path, id: requestID)
        var attempt = 0
        var challenges = 0
        while true {
            attempt += 1
            let outcome: HBaseRequestOutcome
            var transportError: HBaseError?
            do {
                var request = HTTPClientRequest(url: base + path)
                request.method = method
                request.headers.add(name: "Accept", value: "application/json")
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: body))
                }
                for header in try await configuration.authenticator.headers(for: authRequest) {
                    request.headers.replaceOrAdd(name: header.name, value: header.value)
                }
                logger.debug("HBase request", metadata: ["method": "\(method.rawValue)", "path": "\(path)"])
                let response = try await http.execute(
                    request,
                    timeout: Self.timeAmount(configuration.timeouts.request)
                )
                let bytes = try await response.body.collect(upTo: 256 * 1024 * 1024)
                let reply = Reply(
                    status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
                let headerList = response.headers.map { HBaseHeader(name: $0.name, value: $0.value) }
                try await configuration.authenticator.responseReceived(
                    status: reply.status,
                    headers: headerList,
                    for: authRequest
                )
                if reply.status == 401 {
                    challenges += 1
                    let offered = response.headers["WWW-Authenticate"]
                    if challenges <= 2,
                        await configuration.authenticator.challenged(by: offered, for: authRequest, attempt: challenges)
                            == .retry
                    {
                        attempt -= 1
                        continue
                    }
                    return reply
                }
                let action = configuration.retryPolicy.action(
                    after: .status(reply.status), attempt: attempt, isIdempotent: isIdempotent)
                guard case .retry(let wait) = action else { return reply }
                logger.debug("HBase retry after 503", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: wait)
                continue
            } catch let error as HBaseError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = Self.classify(error)
                transportError =
                    Self.isTLSFailure(error)
                    ? await certificateError(context: context) : Self.transportError(outcome, context: context)
            }
            let action = configuration.retryPolicy.action(after: outcome, attempt: attempt, isIdempotent: isIdempotent)
            guard case .retry(let wait) = action else {
                throw transportError ?? HBaseError.transport.with("\(context.summary) failed")
            }
            logger.debug("HBase retry after transport error", metadata: ["attempt": "\(attempt)"])
            try await Task.sleep(for: wait)
        }
    }

    /// Whether a transport error is a failed TLS handshake (untrusted certificate, wrong host name).
    static func isTLSFailure(_ error: any Error) -> Bool {
        switch error {
        case NIOSSLError.handshakeFailed, NIOSSLError.unableToValidateCertificate,
            NIOSSLError.noCertificateToValidate:
            return true
        case let error as NIOSSLExtraError:
            return error == .failedToValidateHostname || error == .serverHostnameImpossibleToMatch
        default:
            return false
        }
    }

    /// Sorts a transport error into the retry policy's outcomes.
    static func classify(_ error: any Error) -> HBaseRequestOutcome {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .writeTimeout, .deadlineExceeded, .connectTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                return .timeout
            case .remoteConnectionClosed:
                return .connectionReset
            default:
                return .otherTransportError
            }
        }
        if let error = error as? IOError { return classify(errno: error.errnoCode) }
        if let error = error as? NIOConnectionError {
            for failure in error.connectionErrors {
                if let io = failure.error as? IOError { return classify(errno: io.errnoCode) }
            }
            return .otherTransportError
        }
        if let error = error as? ChannelError {
            switch error {
            case .ioOnClosedChannel, .eof, .alreadyClosed, .outputClosed: return .connectionReset
            case .connectTimeout: return .timeout
            default: return .otherTransportError
            }
        }
        return .otherTransportError
    }

    private static func classify(errno: Int32) -> HBaseRequestOutcome {
        switch errno {
        case ECONNREFUSED: return .connectionRefused
        case ECONNRESET, EPIPE, ECONNABORTED: return .connectionReset
        case ETIMEDOUT: return .timeout
        default: return .otherTransportError
        }
    }

    static func transportError(_ outcome: HBaseRequestOutcome, context: Context) -> HBaseError {
        switch outcome {
        case .timeout: return HBaseError.timeout.with("\(context.summary) timed out")
        case .connectionRefused:
            return HBaseError.transport.with("\(context.summary): connection refused by the HBase REST gateway")
        case .connectionReset:
            return HBaseError.transport.with("\(context.summary): connection reset by the HBase REST gateway")
        case .otherTransportError, .status:
            return HBaseError.transport.with(
                "\(context.summary): could not reach the HBase REST gateway (network or TLS failure)")
        }
    }

    /// Maps a non-success status to an ``HBaseError`` (HBASE_REST.md §3.9, §1).
    ///
    /// The message names the operation, table and row, and keeps HBase's explanation without its
    /// Java stack trace. It never contains request headers or cell values.
    static func error(status: Int, body: Data, context: Context) -> HBaseError {
        let detail = serverMessage(body)
        let suffix = detail.isEmpty ? " (HTTP \(status))" : ": \(detail) (HTTP \(status))"
        switch status {
        case 304:
            return HBaseError.conditionNotMet.with("\(context.summary): condition not met (HTTP 304)", status: status)
        case 400:
            return HBaseError.badRequest.with(
                "\(context.summary) was rejected as a bad request\(suffix)", status: status)
        case 401:
            return HBaseError.unauthorized.with("\(context.summary): not authenticated (HTTP 401)", status: status)
        case 403: return HBaseError.forbidden.with("\(context.summary): forbidden\(suffix)", status: status)
        case 404:
            let what: String
            switch context.notFound {
            case .rowNotFound: what = "no such row"
            case .namespaceNotFound: what = "no such namespace"
            case .scannerNotFound: what = "no such scanner (expired, closed or on another gateway)"
            default: what = "no such table or column family"
            }
            return context.notFound.with("\(context.summary): \(what) (HTTP 404)", status: status)
        case 410:
            return HBaseError.scannerGone.with(
                "\(context.summary): the scanner is gone; its table was disabled (HTTP 410)", status: status)
        case 500: return HBaseError.serverError.with("\(context.summary): server error\(suffix)", status: status)
        case 501:
            return HBaseError.notImplemented.with(
                "\(context.summary): not implemented by this server\(suffix)", status: status)
        case 503: return HBaseError.unavailable.with("\(context.summary): HBase unavailable\(suffix)", status: status)
        default:
            return HBaseError.unexpectedResponse.with("\(context.summary): unexpected HTTP \(status)", status: status)
        }
    }

    /// HBase's error body is `Kind\r\n` + a Java stack trace (§3.9): keep the text before the first
    /// `at …` frame, on one line, at most 300 characters.
    static func serverMessage(_ body: Data) -> String {
        let text = String(decoding: body.prefix(8192), as: UTF8.self)
        var kept: [String] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("at ") || line.hasPrefix("... ") || line.hasPrefix("Caused by") { break }
            kept.append(line)
            if kept.count == 2 { break }
        }
        let joined = kept.joined(separator: " — ")
        return joined.count > 300 ? String(joined.prefix(300)) + "…" : joined
    }

    /// Sends and requires one of `expected`, mapping any other status to an error.
    func expect(
        _ expected: Set<Int>,
        _ method: HTTPMethod,
        _ path: String,
        body: Data? = nil,
        isIdempotent: Bool,
        context: Context
    ) async throws -> Reply {
        let reply = try await send(method, path, body: body, isIdempotent: isIdempotent, context: context)
        guard expected.contains(reply.status) else {
            throw Self.error(status: reply.status, body: reply.body, context: context)
        }
        return reply
    }
}
