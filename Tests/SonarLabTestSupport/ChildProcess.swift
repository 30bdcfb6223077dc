// A child process for the tests, started with posix_spawn and waited for with waitpid.
//
// Foundation's `Process` on Linux learns that a child ended when the other end of a socket pair it gave the
// child closes. That socket is created without close-on-exec, so a process started at the same moment by
// another test thread (a daemon such as the test KDC, a gateway double, a tmux server) can inherit it; the
// first child's exit is then seen only when that other process ends, and `waitUntilExit` waits for it —
// for ever when it is the KDC. Here the exit comes from waitpid, the child inherits nothing but 0, 1 and 2,
// and the pipes are close-on-exec, so no other child can hold them open.
import CProcessSpawn
public import Foundation

/// Where a child's standard output or standard error goes.
public enum ChildOutput: Sendable {
    /// Into a pipe that the test reads (``ChildProcess/stdout``, ``ChildProcess/stderr``).
    case capture
    /// Appended to a file (created when missing), so a full pipe can never block a long-lived child.
    case file(String)
    /// To `/dev/null`.
    case discard
}

/// Why a child could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    /// What failed, with the program and the system's reason.
    public let description: String
}

/// A started child process: its status from waitpid, its output read in the background.
public final class ChildProcess: @unchecked Sendable {
    /// The process id (also its process group id).
    public let processIdentifier: Int32
    /// The program and its arguments, for messages.
    public let commandLine: [String]
    private let lock = NSLock()
    private var waitStatus: Int32?
    private let out: OutputBuffer?
    private let err: OutputBuffer?

    /// Starts `executable` (an absolute path, or a name looked up in `PATH`) with `arguments`.
    /// - Parameters:
    ///   - directory: the working folder; the test process's when `nil`.
    ///   - environment: the whole environment of the child.
    ///   - stdout: where standard output goes.
    ///   - stderr: where standard error goes; `nil` sends it where standard output goes.
    /// - Throws: ``ChildProcessError`` when the program is not found or cannot be started.
    public init(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        stdout: ChildOutput = .capture, stderr: ChildOutput? = .capture
    ) throws {
        guard let path = ChildProcess.resolve(executable, path: environment["PATH"]) else {
            throw ChildProcessError(description: "\(executable): not found in PATH")
        }
        commandLine = [executable] + arguments
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        func open(_ output: ChildOutput) throws -> (child: Int32, buffer: OutputBuffer?) {
            switch output {
            case .capture:
                var fds: [Int32] = [0, 0]
                guard sonarlab_pipe_cloexec(&fds) == 0 else {
                    throw ChildProcessError(description: "pipe: \(String(cString: strerror(errno)))")
                }
                opened.append(fds[1])
                return (fds[1], OutputBuffer(reading: fds[0]))
            case .file(let file):
                let fd = Glibc.open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    throw ChildProcessError(description: "\(file): \(String(cString: strerror(errno)))")
                }
                opened.append(fd)
                return (fd, nil)
            case .discard:
                let fd = Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC)
                opened.append(fd)
                return (fd, nil)
            }
        }
        let input = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        opened.append(input)
        let output = try open(stdout)
        let error = try stderr.map(open) ?? (child: output.child, buffer: nil)
        out = output.buffer
        err = error.buffer

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: Int32 = 0
        let rc = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                sonarlab_spawn(
                    &pid, path, argvBuffer.baseAddress, envpBuffer.baseAddress, directory, input, output.child,
                    error.child)
            }
        }
        guard rc == 0 else {
            out?.close()
            err?.close()
            throw ChildProcessError(description: "\(path): \(String(cString: strerror(rc)))")
        }
        processIdentifier = pid
        out?.startReading()
        err?.startReading()
    }

    /// An absolute path as it is, a name through `PATH`.
    static func resolve(_ executable: String, path: String?) -> String? {
        if executable.contains("/") { return executable }
        for dir in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Reaps the child if it has ended (waitpid WNOHANG); the status is kept.
    private func poll() -> Int32? {
        lock.withLock {
            if let waitStatus { return waitStatus }
            var status: Int32 = 0
            let result = waitpid(processIdentifier, &status, WNOHANG)
            if result == processIdentifier { waitStatus = status }
            return waitStatus
        }
    }

    /// Whether the child has not ended yet.
    public var isRunning: Bool { poll() == nil }

    /// Sends `signal` to the child while it runs.
    public func signal(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Waits at most `timeout` seconds for the child to end.
    /// - Returns: whether it ended.
    @discardableResult
    public func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while poll() == nil {
            guard Date() < deadline else { return false }
            usleep(2_000)
        }
        return true
    }

    /// SIGKILL to the child's process group (no clean-up, like a crash), then waits for it.
    public func kill9() {
        guard isRunning else { return }
        killpg(processIdentifier, SIGKILL)
        kill(processIdentifier, SIGKILL)
        waitForExit(timeout: .infinity)
    }

    /// The exit status, or the number of the signal that ended it (as Foundation's `terminationStatus`);
    /// `-1` while it runs.
    public var terminationStatus: Int32 {
        guard let status = poll() else { return -1 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Whether a signal ended it.
    public var wasSignalled: Bool {
        guard let status = poll() else { return false }
        return status & 0x7f != 0
    }

    /// Waits until the captured output has reached its end, at most `grace` seconds once the child ended (a
    /// daemon the child left behind may hold the pipe open).
    public func finishOutput(grace: TimeInterval = 5) {
        let deadline = Date().addingTimeInterval(grace)
        while !(out?.isFinished ?? true) || !(err?.isFinished ?? true) {
            guard Date() < deadline else { return }
            usleep(1_000)
        }
    }

    /// The first line of standard output (without its line break), once written; `nil` when the child ends
    /// or `timeout` seconds pass first — for servers that announce their port (`listening HOST:PORT`).
    public func firstLine(timeout: TimeInterval = 30) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let data = out?.data ?? Data()
            if let end = data.firstIndex(of: UInt8(ascii: "\n")) {
                return String(decoding: data[..<end], as: UTF8.self)
            }
            if out?.isFinished ?? true { return nil }
            usleep(1_000)
        }
        return nil
    }

    /// Standard output read so far (all of it after ``finishOutput(grace:)``).
    public var stdout: String { String(decoding: out?.data ?? Data(), as: UTF8.self) }
    /// Standard error read so far.
    public var stderr: String { String(decoding: err?.data ?? Data(), as: UTF8.self) }
}

/// The read end of a pipe, read to its end on a thread of its own.
final class OutputBuffer: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var bytes = Data()
    private var finished = false

    init(reading fd: Int32) { self.fd = fd }

    func startReading() {
        Thread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    lock.withLock { bytes.append(contentsOf: chunk[0..<n]) }
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            Glibc.close(fd)
            lock.withLock { finished = true }
        }.start()
    }

    func close() { Glibc.close(fd) }

    var data: Data { lock.withLock { bytes } }
    var isFinished: Bool { lock.withLock { finished } }
}
