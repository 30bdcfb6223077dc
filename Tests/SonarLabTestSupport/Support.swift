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

    /// Writes text to a file inside the folder and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
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
    public static func run(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws
        -> ProcessResult
    {
        try runProcess(TestPaths.sonarlabBinary, arguments, in: directory, environment: environment)
    }

    /// Runs any executable and collects its output.
    public static func runProcess(
        _ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]
    ) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so a full pipe never blocks the child.
        let errData = LockedData()
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { Thread.sleep(forTimeInterval: 0.001) }
        return ProcessResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.withLock { data = d } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}
