// A raw loopback TCP connection for tests of connection handling (what an HTTP client cannot do).
public import Foundation

/// A blocking TCP connection to 127.0.0.1, for what curl cannot do: connect, wait, then send.
///
/// Reads are bounded by `SO_RCVTIMEO`; the socket is closed on deinit.
public final class RawConnection: @unchecked Sendable {
    /// The socket.
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`.
    /// - Throws: `POSIXError` when the connection is refused.
    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    /// Whether a connection to 127.0.0.1:`port` is accepted now (it is closed again at once).
    public static func accepts(port: Int) -> Bool { (try? RawConnection(port: port)) != nil }

    /// Sends `text`, then reads until the peer closes, an error, or `timeout` seconds without data.
    /// - Returns: What was read (empty when the connection was closed or reset unanswered).
    public func exchange(_ text: String, timeout: Int) -> String {
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            return ""
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// ``exchange(_:timeout:)`` of an HTTP/1.1 `POST path` with a JSON `body` (30 s without data at most).
    /// - Returns: The raw answer, head and body (empty when the connection was closed or reset unanswered).
    public func postJSON(_ path: String, _ body: String) -> String {
        exchange(
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body, timeout: 30)
    }
}
