import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import HBase
import HBaseRESTDouble
import NIOCore
import NIOHTTP1
import Testing

/// Where the contract suite runs: the double in-process on 127.0.0.1 with a free port (default), or a
/// real HBase REST gateway when `SONARLAB_HBASE_CONTRACT_URL` is set (then
/// `SONARLAB_HBASE_CONTRACT_ALLOW_HTTP=1` allows plain http to a non-loopback container).
enum ContractTarget {
    static let environment = ProcessInfo.processInfo.environment
    static var realURL: URL? { environment["SONARLAB_HBASE_CONTRACT_URL"].flatMap(URL.init(string:)) }

    /// The authenticator for a real gateway, from the same variables as `sonarlab`: `SONARLAB_HBASE_AUTH`
    /// (`none` | `kerberos` | `basic`), `SONARLAB_HBASE_PRINCIPAL`, `KRB5_CLIENT_KTNAME` (or the ticket cache),
    /// `SONARLAB_HBASE_USER` / `SONARLAB_HBASE_PASSWORD`; `SONARLAB_HBASE_CA_FILE` for a private CA.
    static func realAuthenticator() throws -> any HBaseAuthenticator {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        switch value("SONARLAB_HBASE_AUTH")?.lowercased() ?? "none" {
        case "none":
            return HBaseNoAuthenticator()
        case "kerberos":
            return HBaseKerberosAuthenticator(
                principal: value("SONARLAB_HBASE_PRINCIPAL"), keytab: value("KRB5_CLIENT_KTNAME"))
        case "basic":
            guard let user = value("SONARLAB_HBASE_USER"), let password = value("SONARLAB_HBASE_PASSWORD") else {
                throw HBaseError.invalidConfiguration.with(
                    message: "basic auth needs SONARLAB_HBASE_USER and _PASSWORD")
            }
            return HBaseBasicAuthenticator(user: user, password: password)
        case let other:
            throw HBaseError.invalidConfiguration.with(
                message: "SONARLAB_HBASE_AUTH '\(other)' is not none, kerberos or basic")
        }
    }

    /// A prefix unique to this test process, so runs never collide and leftovers are recognisable.
    static let runID = "sl" + String(UInt32.random(in: 0...UInt32.max), radix: 36)

    /// A table name unique to this run: `sl<run>_<purpose>_<n>`.
    static func uniqueName(_ purpose: String) -> String {
        "\(runID)_\(purpose)_\(Counter.next())"
    }

    /// Runs `body` with a client pointed at the contract target; starts and stops the double when needed.
    static func withClient<R: Sendable>(
        retryPolicy: HBaseRetryPolicy = HBaseRetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(50)),
        _ body: (HBaseClient, URL) async throws -> R
    ) async throws -> R {
        if let realURL {
            let configuration = HBaseClientConfiguration(
                baseURL: realURL,
                retryPolicy: retryPolicy,
                authenticator: try realAuthenticator(),
                tls: .init(caFile: environment["SONARLAB_HBASE_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }),
                allowsInsecureTransport: environment["SONARLAB_HBASE_CONTRACT_ALLOW_HTTP"] == "1"
            )
            return try await HBaseClient.withClient(configuration: configuration) { try await body($0, realURL) }
        }
        return try await withDouble { (url: URL) async throws in
            let configuration = HBaseClientConfiguration(baseURL: url, retryPolicy: retryPolicy)
            return try await HBaseClient.withClient(configuration: configuration) { try await body($0, url) }
        }
    }

    /// Starts the double in-process on 127.0.0.1, port 0, and stops it after `body`.
    static func withDouble<R: Sendable>(
        dataDirectory: String? = nil,
        security: any HBaseDoubleSecurity = HBaseDoubleOpenSecurity(),
        _ body: (URL) async throws -> R
    ) async throws -> R {
        let configuration = HBaseRESTDoubleConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: dataDirectory, security: security)
        return try await HBaseRESTDouble.withRunning(configuration: configuration) { port in
            try await body(URL(string: "http://127.0.0.1:\(port)")!)
        }
    }

    /// Creates a table with the given families for one test and always drops it.
    static func withTable<R: Sendable>(
        _ client: HBaseClient,
        _ purpose: String,
        families: [HBaseColumnFamily] = [HBaseColumnFamily("cf", maxVersions: 3), HBaseColumnFamily("meta")],
        namespace: String? = nil,
        _ body: (HBaseTableName) async throws -> R
    ) async throws -> R {
        let table = HBaseTableName(uniqueName(purpose), namespace: namespace)
        try await client.createOrReplaceTable(HBaseTableSchema(table: table, families: families))
        do {
            let result = try await body(table)
            try await client.dropTable(table)
            return result
        } catch {
            try? await client.dropTable(table)
            throw error
        }
    }
}

enum Counter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var value = 0
    static func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// Plain AsyncHTTPClient requests for wire-level assertions (not through the HBase module).
enum RawHTTP {
    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)] = [("Accept", "application/json")],
        body: String? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: Data(bytes.readableBytesView)
        )
    }

    /// GET with a request target sent byte for byte over a plain socket (AsyncHTTPClient's URL parsing
    /// drops a path with a percent escape that is not UTF-8, such as `%FF`); `Connection: close`.
    ///
    /// The blocking socket calls run on a thread of their own: on a Swift concurrency thread they could starve the
    /// in-process double that has to answer them (the cooperative pool has one thread per core).
    static func getRawTarget(_ base: String, _ target: String) async throws -> Reply {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reply, any Error>) in
            Thread { continuation.resume(with: Result { try blockingGetRawTarget(base, target) }) }.start()
        }
    }

    private static func blockingGetRawTarget(_ base: String, _ target: String) throws -> Reply {
        guard let url = URL(string: base), let host = url.host, let port = url.port else {
            throw HBaseError.invalidArgument.with(message: "not a base URL: \(base)")
        }
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HBaseError.transport.with(message: "socket() failed") }
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw HBaseError.transport.with(message: "connect() failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request =
            "GET \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        _ = Array(request.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else {
            throw HBaseError.invalidResponse.with(message: "no HTTP head")
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Reply(status: status, headers: headers, body: Data(response[split.upperBound...]))
    }

    static func json(_ method: HTTPMethod, _ url: String, _ body: String) async throws -> Reply {
        try await send(
            method, url, headers: [("Accept", "application/json"), ("Content-Type", "application/json")], body: body)
    }
}

func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
func col(_ family: String, _ qualifier: String) -> HBaseColumn { HBaseColumn(family, qualifier) }
