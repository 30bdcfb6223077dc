// fuzz-scenario: the libFuzzer target for `FuzzCheck.scenario` (docs/fuzzing.md).
//
// With `swift build --sanitize=fuzzer` libFuzzer supplies `main` and calls `LLVMFuzzerTestOneInput`. In an
// ordinary build SwiftPM points `main` at `fuzz_scenario_main` (its renamed entry point, see Package.swift), which
// replays the files given as arguments instead.
import SonarLabFuzzChecks

/// libFuzzer's entry point: one input, checked by `FuzzCheck.scenario`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    FuzzDriver.testOneInput(.scenario, start, count)
}

/// The entry point of an ordinary build: replays files or directories of inputs.
@_cdecl("fuzz_scenario_main")
public func replayMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.replay(.scenario, arguments: CommandLine.arguments)
}
