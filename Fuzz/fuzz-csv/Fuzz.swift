// fuzz-csv: the libFuzzer target for `FuzzCheck.csv` (docs/fuzzing.md).
//
// With `swift build --sanitize=fuzzer` libFuzzer supplies `main` and calls `LLVMFuzzerTestOneInput`. In an
// ordinary build SwiftPM points `main` at `fuzz_csv_main` (its renamed entry point, see Package.swift), which
// replays the files given as arguments instead.
import SonarLabFuzzChecks

/// libFuzzer's entry point: one input, checked by `FuzzCheck.csv`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    FuzzDriver.testOneInput(.csv, start, count)
}

/// The entry point of an ordinary build: replays files or directories of inputs.
@_cdecl("fuzz_csv_main")
public func replayMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.replay(.csv, arguments: CommandLine.arguments)
}
