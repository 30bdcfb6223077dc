// HBaseRESTDouble: an HBase REST gateway test double, faithful to ../shared/design/HBASE_REST.md.
//
// What it does: the endpoints and statuses SonarLab's client uses, in JSON, XML and text (as HBase's
// resources declare them; protobuf answers 501), in memory with an optional
// fsync'd journal. Every behaviour cites its HBASE_REST.md section; where the spec is silent it answers 501.
// May import: Hummingbird, swift-service-lifecycle, SwiftNIO, swift-log. Test support only, never in the product.
// Start at `HBaseRESTDouble.withRunning` (tests) or `HBaseRESTDouble.makeService` (the executable).
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
public import ServiceLifecycle

/// How to run the double.
///
/// Nothing has a default address: the caller names host and port.
public struct HBaseRESTDoubleConfiguration: Sendable {
    /// The address to bind, for example a loopback address.
    public var host: String
    /// The port to bind; 0 picks a free port (learn it from `onListening`).
    public var port: Int
    /// A directory for the journal; `nil` keeps everything in memory only.
    public var dataDirectory: String?
    /// Authentication and authorization; `--auth none` is ``HBaseDoubleOpenSecurity``.
    public var security: any HBaseDoubleSecurity
    /// PEM certificate chain and private key files to serve https; `nil` serves plain http.
    public var tls: (certificateFile: String, keyFile: String)?

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: The address to bind.
    ///   - port: The port, 0 for a free one.
    ///   - dataDirectory: Journal directory, or `nil` for memory only.
    ///   - security: The security seam; default open.
    ///   - tls: PEM certificate chain and key files to serve https; `nil` for plain http.
    public init(
        host: String, port: Int, dataDirectory: String? = nil,
        security: any HBaseDoubleSecurity = HBaseDoubleOpenSecurity(),
        tls: (certificateFile: String, keyFile: String)? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.security = security
    }
}

/// Builds and runs the double.
public enum HBaseRESTDouble {
    /// Creates the double as a ServiceLifecycle service (a Hummingbird application).
    /// - Parameters:
    ///   - configuration: Address, data directory and security.
    ///   - logger: The server's logger.
    ///   - onListening: Called once with the bound port.
    /// - Returns: The service to run in a `ServiceGroup`.
    /// - Throws: When the data directory's journal cannot be opened or replayed.
    public static func makeService(
        configuration: HBaseRESTDoubleConfiguration,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) throws -> any Service {
        let store = try DoubleStore(dataDirectory: configuration.dataDirectory)
        let responder = DoubleResponder(
            store: store, scanners: DoubleScanners(), security: configuration.security,
            scheme: configuration.tls == nil ? "http" : "https")
        var server: HTTPServerBuilder = .http1()
        if let tls = configuration.tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile)
                let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
                let settings = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
                server = try .tls(.http1(), tlsConfiguration: settings)
            } catch {
                throw HBaseDoubleConfigurationError(message: "cannot load the TLS certificate or key")
            }
        }
        return Application(
            responder: responder,
            server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    /// Runs the double for the duration of `body` and always stops it.
    /// - Parameters:
    ///   - configuration: Address (port 0 for a free port), data directory and security.
    ///   - logger: The server's logger; silent by default.
    ///   - body: Work to do while the double runs; receives the bound port.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or a start failure.
    public static func withRunning<Result: Sendable>(
        configuration: HBaseRESTDoubleConfiguration,
        logger: Logger = Logger(label: "hbase-rest-double", factory: { _ in SwiftLogNoOpLogHandler() }),
        _ body: (Int) async throws -> Result
    ) async throws -> Result {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let service = try makeService(configuration: configuration, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            await group.triggerGracefulShutdown()
            try await task.value
            throw CancellationError()
        }
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            try await task.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await task.value
            throw error
        }
    }
}
