import Foundation
import SonarLabFuzzChecks
import Testing

/// Replays every fuzz seed and every saved crash input through the fuzz checks (docs/fuzzing.md).
///
/// `Tests/Fixtures/fuzz-regressions/<check>/` holds inputs that once crashed a parser or broke a promise: each
/// one fails this suite if its bug comes back. `Fuzz/corpus/<check>/` holds the seeds; they must pass too.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func inputs(under folder: String) -> [(check: String, file: String)] {
        FuzzCheck.all.flatMap { check in
            FuzzDriver.files(at: "\(root)/\(folder)/\(check.name)").filter {
                FileManager.default.fileExists(atPath: $0)
            }
            .map { (check.name, $0) }
        }
    }

    @Test func everyCheckHasSeedsAndARegressionFolder() {
        for check in FuzzCheck.all {
            #expect(
                !FuzzDriver.files(at: "\(Self.root)/Fuzz/corpus/\(check.name)").isEmpty, "no seeds for \(check.name)")
            var isDirectory: ObjCBool = false
            let folder = "\(Self.root)/Tests/Fixtures/fuzz-regressions/\(check.name)"
            #expect(FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue)
        }
    }

    @Test(arguments: inputs(under: "Tests/Fixtures/fuzz-regressions"))
    func savedCrashInputsPass(check: String, file: String) throws {
        try replay(check: check, file: file)
    }

    @Test(arguments: inputs(under: "Fuzz/corpus"))
    func seedInputsPass(check: String, file: String) throws {
        try replay(check: check, file: file)
    }

    func replay(check name: String, file: String) throws {
        let check = try #require(FuzzCheck.named(name))
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(throws: Never.self, "\((file as NSString).lastPathComponent)") { try check.run(data) }
    }
}
