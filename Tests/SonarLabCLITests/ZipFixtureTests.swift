import Foundation
import SonarLabTestSupport
import Testing

@Suite("the corpus model zips are what CraftedZip makes")
struct ZipFixtureTests {
    @Test("every file in Tests/Fixtures/bad/zip is byte for byte CorpusZips' archive, and none is missing")
    func committedZipsMatchTheirRecipe() throws {
        let folder = TestPaths.fixtures + "/bad/zip"
        let archives = CorpusZips.archives
        if ProcessInfo.processInfo.environment["WRITE_ZIP_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (name, bytes) in archives { try bytes.write(to: URL(fileURLWithPath: folder + "/" + name)) }
        }
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(onDisk == Set(archives.keys), "run with WRITE_ZIP_FIXTURES=1 to rewrite \(folder)")
        for (name, bytes) in archives {
            let committed = try? Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
            #expect(committed == bytes, "\(name) differs from its recipe; WRITE_ZIP_FIXTURES=1 rewrites it")
        }
    }
}
