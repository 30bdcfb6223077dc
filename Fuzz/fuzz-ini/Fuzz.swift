// fuzz-ini: the libFuzzer target for `FuzzCheck.ini` (docs/fuzzing.md).
//
// With `swift build --sanitize=fuzzer` libFuzzer supplies `main` and calls `LLVMFuzzerTestOneInput`. In an
// ordinary build SwiftPM points `main` at `fuzz_ini_main` (its renamed entry point, see Package.swift), which
// replays the files given as arguments instead.
import SonarLabFuzzChecks

/// libFuzzer's entry point: one input, checked by `FuzzCheck.ini`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    FuzzDriver.testOneInput(.ini, start, count)
}

/// The entry point of an ordinary build: replays files or directories of inputs.
@_cdecl("fuzz_ini_main")
public func replayMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.replay(.ini, arguments: CommandLine.arguments)
}
