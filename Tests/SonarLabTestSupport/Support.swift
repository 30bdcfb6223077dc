// Test helpers shared by the SonarLab test targets: paths, temporary folders, synthetic data and a runner
// for the built `sonarlab` binary.
public import Engine
public import Foundation

/// Paths of the package under test.
public enum TestPaths {
    /// The package root (two levels above this file's folder).
    public static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// The committed UCI Sonar data.
    public static var sonarData: String { packageRoot + "/data/sonar.all-data" }

    /// The committed test inputs: `bad/` (the bad-input corpus and its `cases.json`) and `good/`.
    public static var fixtures: String { packageRoot + "/Tests/Fixtures" }

    /// The `sonarlab` binary: `$SONARLAB_BIN`, or the debug build in `.build/debug`.
    public static var sonarlabBinary: String {
        ProcessInfo.processInfo.environment["SONARLAB_BIN"] ?? packageRoot + "/.build/debug/sonarlab"
    }

    /// Whether the suite runs in CI, where a missing prerequisite must fail rather than skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}

/// A fresh temporary folder, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    /// The folder's path.
    public let path: String

    /// Creates an empty folder under the system's temporary folder.
    public init(_ prefix: String = "sonarlab-test") throws {
        path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes text to a file inside the folder (creating sub-folders) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(
            atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// Writes bytes to a file inside the folder and returns its path.
    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Removes the folder and everything in it.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Files directly inside a sub-folder (empty when it does not exist).
    public func list(_ name: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: file(name))) ?? []
    }
}

/// Synthetic data for tests.
public enum SyntheticData {
    /// A separable two-class dataset: mines have high values in the first half of the features.
    /// - Parameters:
    ///   - count: rows (half rocks, half mines).
    ///   - features: features per row.
    ///   - seed: noise seed.
    public static func separable(count: Int, features: Int = 60, seed: UInt64 = 1) -> Dataset {
        var rng = SplitMix64(seed: seed)
        var values = [Float]()
        var labels = [SonarClass]()
        for i in 0..<count {
            let cls: SonarClass = i % 2 == 0 ? .rock : .mine
            for f in 0..<features {
                let base: Float = (cls == .mine) == (f < features / 2) ? 0.7 : 0.3
                values.append(min(1, max(0, base + rng.nextFloat(in: -0.2, 0.2))))
            }
            labels.append(cls)
        }
        return Dataset(features: Matrix(rows: count, columns: features, values: values), labels: labels)
    }

    /// One valid Sonar CSV line: 60 features and a label.
    public static func csvLine(value: String = "0.5", label: String = "R", features: Int = 60) -> String {
        Array(repeating: value, count: features).joined(separator: ",") + ",\(label)"
    }
}

/// The result of running a process.
public struct ProcessResult: Sendable {
    /// Exit status.
    public let status: Int32
    /// Everything written to standard output.
    public let stdout: String
    /// Everything written to standard error.
    public let stderr: String
}

/// Runs the built `sonarlab` binary.
public enum SonarLabProcess {
    /// Whether the binary exists.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: TestPaths.sonarlabBinary) }

    /// Runs `sonarlab ARGS` in `directory` with extra environment variables, standard input closed.
    /// - Throws: when the process cannot be started.
    public static func run(_ arguments: [String], in directory: String, environment: [String: String] = [:])
        async throws -> ProcessResult
    {
        try await runProcess(TestPaths.sonarlabBinary, arguments, in: directory, environment: environment)
    }

    /// Runs any executable and collects its output.
    ///
    /// The waiting (pipes, exit) happens on a thread of its own: Swift's cooperative pool has one thread per
    /// core (2 here), and a test blocking one of them starves every in-process server and task of the run.
    /// - Throws: when the process cannot be started.
    public static func runProcess(
        _ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]
    ) async throws -> ProcessResult {
        try await offPool { try runBlocking(executable, arguments, in: directory, environment: environment) }
    }

    /// Runs `body` on a thread of its own and resumes with its result, so that blocking work never holds a
    /// thread of the cooperative pool.
    public static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// Runs a quick tool (kinit, kadmin.local, localedef, openssl) and blocks the calling thread until it exits.
    ///
    /// Only for tools that answer on their own, in static initializers and set-up helpers; a process that talks
    /// to a server in this test process must go through ``runProcess(_:_:in:environment:)``, which waits off the
    /// cooperative pool.
    /// - Throws: when the process cannot be started, ``ProcessTimeout`` when it runs past `timeout` seconds.
    public static func runBlocking(
        _ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:],
        timeout: TimeInterval = defaultTimeout
    ) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let child = try ChildProcess(executable, arguments, in: directory, environment: env)
        guard child.waitForExit(timeout: timeout) else {
            child.kill9()
            child.finishOutput(grace: 1)
            throw ProcessTimeout(commandLine: child.commandLine, seconds: timeout, stderr: child.stderr)
        }
        child.finishOutput()
        return ProcessResult(status: child.terminationStatus, stdout: child.stdout, stderr: child.stderr)
    }

    /// How long a process run by ``run(_:in:environment:)`` may take before it is killed and its test fails
    /// (`SONARLAB_TEST_PROCESS_TIMEOUT` seconds, 300 by default); no command of the suites takes a tenth of it.
    public static var defaultTimeout: TimeInterval {
        ProcessInfo.processInfo.environment["SONARLAB_TEST_PROCESS_TIMEOUT"].flatMap(TimeInterval.init) ?? 300
    }
}

/// A process that ran past its deadline and was killed, so that a hang fails one test instead of the run.
public struct ProcessTimeout: Error, CustomStringConvertible {
    /// The program and its arguments.
    public let commandLine: [String]
    /// The deadline in seconds.
    public let seconds: TimeInterval
    /// What it had written to standard error.
    public let stderr: String

    public var description: String {
        "\(commandLine.joined(separator: " ")) did not end within \(Int(seconds)) s and was killed; stderr: "
            + String(stderr.suffix(2_000))
    }
}

/// A started `sonarlab` process with a deadline: its output is read in the background, and ``wait(timeout:)``
/// kills it when the deadline passes, so a hung process fails its test instead of hanging the suite.
public final class RunningProcess: @unchecked Sendable {
    private let child: ChildProcess

    /// Starts `sonarlab ARGS` in `directory`, standard input closed.
    /// - Parameters:
    ///   - arguments: the arguments after the program name.
    ///   - directory: the working directory.
    ///   - environment: variables to set on top of the inherited environment.
    ///   - removingInherited: inherited variables whose name starts with one of these prefixes are dropped first
    ///     (e.g. `SONARLAB_`, `KRB5`), so the machine's settings cannot change what a test sees.
    ///   - executable: the program; the built `sonarlab` by default.
    /// - Throws: when the process cannot be started.
    public init(
        _ arguments: [String], in directory: String, environment: [String: String] = [:],
        removingInherited: [String] = [], executable: String = TestPaths.sonarlabBinary
    ) throws {
        var env = ProcessInfo.processInfo.environment.filter { name, _ in
            !removingInherited.contains { name.hasPrefix($0) }
        }
        for (k, v) in environment { env[k] = v }
        child = try ChildProcess(executable, arguments, in: directory, environment: env)
    }

    /// The process id.
    public var processIdentifier: Int32 { child.processIdentifier }

    /// Waits for the process to exit and returns its status and output.
    /// - Parameter timeout: seconds to wait; then the process is killed (SIGKILL) and `nil` is returned.
    /// - Returns: the result, or `nil` when the process had to be killed.
    public func wait(timeout: TimeInterval) async -> ProcessResult? {
        (try? await SonarLabProcess.offPool { self.waitBlocking(timeout: timeout) }) ?? nil
    }

    /// ``wait(timeout:)`` on the calling thread, for static initializers (a process that needs no server of the
    /// test process).
    public func waitBlocking(timeout: TimeInterval) -> ProcessResult? {
        guard child.waitForExit(timeout: timeout) else {
            child.kill9()
            return nil
        }
        child.finishOutput()
        return ProcessResult(status: child.terminationStatus, stdout: child.stdout, stderr: child.stderr)
    }
}

/// A private MIT KDC for the test process (`scripts/kdc.sh`), started on first use and stopped at exit.
///
/// Starting it sets `KRB5_CONFIG` for the whole process, so every GSSAPI call in the tests uses it.
public final class TestKDC: Sendable {
    /// The folder with `krb5.conf`, the keytabs (`http`, `trainer`, `viewer`, `intruder`, `ghost`).
    public let directory: String
    /// The realm.
    public let realm = "SONARLAB.TEST"

    /// The shared KDC, or `nil` when the MIT KDC tools are not installed.
    public static let shared: TestKDC? = {
        let dir = NSTemporaryDirectory() + "sonarlab-kdc-\(getpid())"
        guard let result = try? SonarLabProcess.runBlocking(
            "/bin/bash", [TestPaths.packageRoot + "/scripts/kdc.sh", "up", dir], in: TestPaths.packageRoot),
            result.status == 0
        else { return nil }
        setenv("KRB5_CONFIG", dir + "/krb5.conf", 1)
        atexit {
            let dir = NSTemporaryDirectory() + "sonarlab-kdc-\(getpid())"
            _ = try? SonarLabProcess.runBlocking("/bin/bash", [TestPaths.packageRoot + "/scripts/kdc.sh", "down", dir], in: "/")
            try? FileManager.default.removeItem(atPath: dir)
        }
        return TestKDC(directory: dir)
    }()

    private init(directory: String) { self.directory = directory }

    /// The keytab of `name` (`http`, `trainer`, `viewer`, `intruder`, `ghost`).
    public func keytab(_ name: String) -> String { directory + "/\(name).keytab" }

    /// The variables that point MIT tools and libraries at this KDC (`KRB5_CONFIG`, `KRB5_KDC_PROFILE`).
    public var environment: [String: String] {
        ["KRB5_CONFIG": directory + "/krb5.conf", "KRB5_KDC_PROFILE": directory + "/kdc.conf"]
    }

    /// `kinit -k` from `name`'s keytab into `cache` (`FILE:/path`), with a lifetime such as `1s` or `10h`, and
    /// with `service` a ticket for that service instead of a ticket-granting ticket (`kinit -S`).
    /// - Returns: kinit's result (status 0 on success).
    /// - Throws: when kinit cannot be started.
    @discardableResult
    public func kinit(
        _ name: String, keytab: String? = nil, cache: String, lifetime: String = "10h", service: String? = nil
    ) throws -> ProcessResult {
        var arguments = ["-l", lifetime, "-c", cache, "-kt", keytab ?? self.keytab(name)]
        if let service { arguments += ["-S", service] }
        return try SonarLabProcess.runBlocking(
            "/usr/bin/kinit", arguments + [name], in: directory, environment: environment)
    }

    /// Adds a principal with its own keytab (`<name>.keytab` here) and a maximum ticket life such as
    /// `"20 seconds"` (kadmin.local `addprinc -maxlife`); an existing one is given a new key.
    /// - Returns: The keytab's path.
    /// - Throws: when kadmin.local cannot be started or fails (its standard error in the message).
    @discardableResult
    public func addPrincipal(_ name: String, maxlife: String = "10 hours") throws -> String {
        let kadmin =
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/kadmin.local")
            ? "/usr/sbin/kadmin.local" : "/usr/bin/kadmin.local"
        let queries = [
            "addprinc -randkey -maxlife \"\(maxlife)\" \(name)", "modprinc -maxlife \"\(maxlife)\" \(name)",
            "ktadd -k \(keytab(name)) \(name)",
        ]
        for query in queries {
            let result = try SonarLabProcess.runBlocking(kadmin, ["-q", query], in: directory, environment: environment)
            // kadmin.local exits 0 even when a query fails; it says so on standard error.
            if result.status != 0 || (!query.hasPrefix("addprinc") && result.stderr.contains("kadmin.local:")) {
                throw CocoaError(
                    .fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "kadmin.local \(query): \(result.stderr)"])
            }
        }
        return keytab(name)
    }
}
