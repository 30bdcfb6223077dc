// SonarLabFuzzChecks: the bodies of SonarLab's libFuzzer targets, shared by the fuzz executables (Fuzz/fuzz-*)
// and the regression tests that replay crashing inputs (Tests/FuzzRegressionTests).
//
// What it does: feeds arbitrary bytes to a parser the way the product does, and checks the parser's promises
// (it throws its own error type, never traps; what it accepts is well formed; fast paths agree with reference
// paths). May import: Engine, Settings, HBase (its `Fuzzing` SPI), Foundation. Start at `FuzzCheck`.
// docs/fuzzing.md says how to run the targets and how a crash becomes a regression test.
public import Foundation

/// A broken promise found by a fuzz check: the parser accepted or produced something it must not.
///
/// The fuzz executables turn it into a trap (so libFuzzer saves the input); the regression tests report it.
public struct FuzzFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The check that failed (`csv`, `ini`, `scenario`, `cellset`).
    public let check: String
    /// What went wrong, in words.
    public let reason: String

    /// Creates a failure.
    /// - Parameters:
    ///   - check: The check's name.
    ///   - reason: What went wrong.
    public init(_ check: String, _ reason: String) {
        self.check = check
        self.reason = reason
    }

    public var description: String { "fuzz check \(check): \(reason)" }
}

/// One fuzz check: a name (also the corpus folder and the regression folder) and a function of the input bytes.
public struct FuzzCheck: Sendable {
    /// The check's name: `Fuzz/corpus/<name>/` holds its seeds, `Tests/Fixtures/fuzz-regressions/<name>/` its
    /// regression inputs.
    public let name: String
    /// Runs the check on one input.
    /// - Throws: ``FuzzFailure`` when a promise is broken. Errors the parser is allowed to throw are not rethrown.
    public let run: @Sendable (Data) throws(FuzzFailure) -> Void

    /// Creates a check.
    /// - Parameters:
    ///   - name: The check's name.
    ///   - run: The check's body.
    public init(name: String, run: @escaping @Sendable (Data) throws(FuzzFailure) -> Void) {
        self.name = name
        self.run = run
    }

    /// Every check, in the order `make fuzz` runs them.
    public static let all: [FuzzCheck] = [.csv, .ini, .scenario, .cellSet]

    /// The check called `name`, if any.
    /// - Parameter name: A check's name.
    /// - Returns: The check, or `nil`.
    public static func named(_ name: String) -> FuzzCheck? { all.first { $0.name == name } }
}

/// The glue between libFuzzer (or a replay from the command line) and a ``FuzzCheck``.
public enum FuzzDriver {
    /// Runs `check` on libFuzzer's input; a ``FuzzFailure`` traps, so libFuzzer records the input as a crash.
    /// - Parameters:
    ///   - check: The check.
    ///   - start: The first byte (`nil` or dangling when `count` is 0).
    ///   - count: The number of bytes.
    /// - Returns: 0, as libFuzzer requires.
    public static func testOneInput(_ check: FuzzCheck, _ start: UnsafeRawPointer?, _ count: Int) -> CInt {
        let data = count > 0 ? start.map { Data(bytes: $0, count: count) } ?? Data() : Data()
        do {
            try check.run(data)
        } catch {
            fatalError(error.description)
        }
        return 0
    }

    /// The fuzz executables' `main` outside a `--sanitize=fuzzer` build: replays each file named on the command
    /// line (a crash input, or every file of a directory) through `check`.
    /// - Parameters:
    ///   - check: The check.
    ///   - arguments: The command line, program name first.
    /// - Returns: 0 when every input passed, 1 when one broke a promise, 2 on a usage error.
    public static func replay(_ check: FuzzCheck, arguments: [String]) -> CInt {
        let paths = arguments.dropFirst().filter { !$0.hasPrefix("-") }
        guard !paths.isEmpty else {
            let name = arguments.first.map { ($0 as NSString).lastPathComponent } ?? "fuzz-\(check.name)"
            print("usage: \(name) FILE|DIR… (this build has no libFuzzer: build with `swift build --sanitize=fuzzer`)")
            return 2
        }
        var failed = 0
        var count = 0
        for path in paths {
            for file in files(at: path) {
                count += 1
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("\(file): cannot read")
                    failed += 1
                    continue
                }
                do {
                    try check.run(data)
                } catch {
                    print("\(file): \(error)")
                    failed += 1
                }
            }
        }
        print("\(check.name): \(count) input(s) replayed, \(failed) failed")
        return failed == 0 ? 0 : 1
    }

    /// The regular files at `path`: the file itself, or a directory's files in name order (hidden ones skipped).
    /// - Parameter path: A file or a directory.
    /// - Returns: The file paths.
    public static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }
}
