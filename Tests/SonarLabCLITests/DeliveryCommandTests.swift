import ArgumentParser
import Engine
import Foundation
import FoundationXML
import SonarLabTestSupport
import Testing
import Tracking

@testable import SonarLabCLI

let scenariosDir = TestPaths.packageRoot + "/tests/functional"

/// Test cases and failures of a JUnit file, read with an XML parser.
func parseJUnit(_ path: String) throws -> (cases: [String], failures: [String]) {
    let document = try XMLDocument(contentsOf: URL(fileURLWithPath: path), options: [])
    let cases = try document.nodes(forXPath: "//testsuite/testcase").compactMap {
        ($0 as? XMLElement)?.attribute(forName: "name")?.stringValue
    }
    let failures = try document.nodes(forXPath: "//testcase/failure").compactMap {
        ($0 as? XMLElement)?.attribute(forName: "message")?.stringValue
    }
    return (cases, failures)
}

@Suite("sonarlab test, export, report (in-process)", .serialized)
struct DeliveryInProcessTests {
    @Test("a fresh model passes every scenario: run folders, test experiments, JUnit XML, last results; export, report")
    func freshModelFlow() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        try await ws.runInProcess(["train", "--epochs", "20", "--name", "fresh", "--json"])
        try await ws.runInProcess(["cv", "--folds", "3", "--repeats", "1", "--epochs", "3", "--json"])
        let junit = ws.dir.file("out/junit.xml")
        try await ws.runInProcess(["test", "--scenarios", scenariosDir, "--junit", junit])

        let results = try #require(try FunctionalTestResults.load(directory: ws.dir.file("store")))
        #expect(results.scenarios.count >= 5 && results.allPassed)
        let validation = try #require(results.scenarios.first { $0.name == "validation" })
        #expect(validation.rows == 52 && validation.accuracy ?? 0 >= 0.75 && validation.confusionMatrix != nil)
        let (cases, failures) = try parseJUnit(junit)
        #expect(cases == results.scenarios.map(\.name))
        #expect(failures.isEmpty)
        let folders = ws.dir.list("experiments")
        for s in results.scenarios {
            let folder = try #require(folders.first { $0.hasPrefix("exp_\(s.name)_") }, "no folder for \(s.name)")
            let path = ws.dir.file("experiments/\(folder)")
            #expect(FileManager.default.fileExists(atPath: path + "/run.log"))
            let yaml = try String(contentsOfFile: path + "/exp_config.yaml", encoding: .utf8)
            #expect(yaml.contains("kind: test") && yaml.contains("status: finished"))
        }
        let tests = try await ws.store().experiments(limit: nil).filter { $0.kind == .test }
        #expect(tests.count == results.scenarios.count)
        #expect(Set(tests.map(\.id)) == Set(results.scenarios.map(\.experimentID)))
        #expect(tests.allSatisfy { $0.status == .finished })

        try await ws.runInProcess(["test", "--scenarios", scenariosDir, "--json"])
        try await ws.runInProcess(["export", "--output", ws.dir.file("dist")])
        let zip = try #require(ws.dir.list("dist").first { $0.hasPrefix("sonarlab-model-") && $0.hasSuffix(".zip") })
        let opened = try ModelPackage.open(path: ws.dir.file("dist/\(zip)"))
        let card = String(decoding: try #require(opened.files["MODEL_CARD.md"]), as: UTF8.self)
        #expect(card.contains("Repeated stratified 3-fold cross-validation"))
        #expect(zip == "sonarlab-model-\(opened.artefact.experimentID).zip")
        try await ws.runInProcess([
            "predict", "--model", ws.dir.file("dist/\(zip)"), "--input", scenariosDir + "/validation.json",
        ])
        try await ws.runInProcess(["test", "--scenarios", scenariosDir, "--model", ws.dir.file("dist/\(zip)")])

        try await ws.runInProcess(["report", "--output", ws.dir.file("docs/REPORT.md")])
        let report = try String(contentsOfFile: ws.dir.file("docs/REPORT.md"), encoding: .utf8)
        #expect(report.contains("Experiment `\(opened.artefact.experimentID)`"))
        #expect(report.contains("| validation | 52 |"))
        for chart in RunReport.chartNames {
            #expect(try String(contentsOfFile: ws.dir.file("docs/\(chart)"), encoding: .utf8).contains("<polyline"))
        }

        try await ws.runInProcess(["make-scenarios", "--output", ws.dir.file("gen")])
        try await ws.runInProcess(["make-scenarios", "--output", ws.dir.file("gen"), "--check"])
        try await ws.runInProcess(["make-scenarios", "--output", scenariosDir, "--check"])
        try ws.dir.write("gen/validation.json", "{}")
        await #expect {
            try await ws.runInProcess(["make-scenarios", "--output", ws.dir.file("gen"), "--check"])
        } throws: { ($0 as? CommandFailure)?.exitCode == 1 }
    }

    @Test("a weak model fails thresholds (exit 1); malformed or missing scenarios are bad input (exit 2), nothing run")
    func failures() async throws {
        let ws = try Workspace()
        defer { ws.dir.remove() }
        await #expect(throws: CommandFailure.self) { try await ws.runInProcess(["test", "--scenarios", scenariosDir]) }
        try await ws.runInProcess(["train", "--epochs", "1", "--name", "weak"])
        await #expect {
            try await ws.runInProcess(["test", "--scenarios", scenariosDir, "--junit", ws.dir.file("j.xml")])
        } throws: { error in
            guard let failure = error as? CommandFailure else { return false }
            return failure.exitCode == 1 && failure.message.contains("validation")
        }
        let results = try #require(try FunctionalTestResults.load(directory: ws.dir.file("store")))
        #expect(!results.allPassed)
        #expect(try parseJUnit(ws.dir.file("j.xml")).failures.contains { $0.contains("below min_accuracy") })
        let failed = try await ws.store().experiments(limit: nil).filter { $0.kind == .test && $0.status == .failed }
        #expect(failed.count == results.failedCount)
        #expect(failed.allSatisfy { $0.message?.contains("below") == true })

        let before = ws.dir.list("experiments").count
        try ws.dir.write("bad/a.json", try String(contentsOfFile: scenariosDir + "/single_rock.json", encoding: .utf8))
        try ws.dir.write("bad/b.json", "{\"X\": [[0.5]], \"y\": [\"R\"]}")
        await #expect {
            try await ws.runInProcess(["test", "--scenarios", ws.dir.file("bad")])
        } throws: { error in
            (error as? DataError)?.description.hasPrefix(ws.dir.file("bad/b.json") + ":1:") == true
        }
        #expect(ws.dir.list("experiments").count == before, "nothing run")
        try FileManager.default.createDirectory(atPath: ws.dir.file("empty"), withIntermediateDirectories: true)
        try ws.dir.write("dup/a.json", try String(contentsOfFile: scenariosDir + "/single_rock.json", encoding: .utf8))
        try ws.dir.write("dup/b.json", try String(contentsOfFile: scenariosDir + "/single_rock.json", encoding: .utf8))
        for dir in [ws.dir.file("empty"), ws.dir.file("absent"), ws.dir.file("dup")] {
            await #expect {
                try await ws.runInProcess(["test", "--scenarios", dir])
            } throws: { ($0 as? CommandFailure)?.exitCode == 2 }
        }
        await #expect(throws: DataError.self) {
            try await ws.runInProcess(["test", "--scenarios", scenariosDir, "--model", ws.dir.file("none.zip")])
        }
    }
}

@Suite("sonarlab test / export / predict zip: the binary's exit codes and outputs")
struct DeliveryBinaryTests {
    @Test("test --junit passes on a fresh model (exit 0), fails on --epochs 1 (exit 1), refuses malformed (exit 2)")
    func exitCodes() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        #expect(try await ws.run(["train", "--epochs", "20", "--config", ws.config]).status == 0)
        let ok = try await ws.run(["test", "--config", ws.config, "--scenarios", scenariosDir, "--junit", "out.xml"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("confusion (rows actual)"))
        #expect(ok.stdout.contains("scenarios passed 7 of 7"))
        let (cases, failures) = try parseJUnit(ws.dir.file("out.xml"))
        #expect(cases.count >= 5 && failures.isEmpty)

        #expect(try await ws.run(["train", "--epochs", "1", "--config", ws.config]).status == 0)
        let weak = try await ws.run(["test", "--config", ws.config, "--scenarios", scenariosDir, "--junit", "weak.xml"])
        #expect(weak.status == 1, "\(weak.stdout)\(weak.stderr)")
        #expect(weak.stdout.contains("FAIL  validation"))
        #expect(weak.stderr.contains("scenarios failed"))
        #expect(!(try parseJUnit(ws.dir.file("weak.xml")).failures.isEmpty))

        try ws.dir.write(
            "bad/x.json",
            "{\"X\": [[" + Array(repeating: "0.5", count: 59).joined(separator: ",") + ",\"a\"]], \"y\": [\"R\"]}")
        let bad = try await ws.run(["test", "--config", ws.config, "--scenarios", "bad"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad/x.json:1: field 60"), "\(bad.stderr)")
    }

    @Test("predict --model FILE.zip prints byte-identical predictions to the unzipped model; an altered zip exits 2")
    func exportAndPredictFromZip() async throws {
        guard try requireBinary() else { return }
        let ws = try Workspace()
        defer { ws.dir.remove() }
        let train = try await ws.run(["train", "--epochs", "20", "--json", "--config", ws.config])
        let modelPath = try #require(try json(train.stdout)["model_path"] as? String)
        let export = try await ws.run(["export", "--output", "dist", "--config", ws.config])
        #expect(export.status == 0, "\(export.stderr)")
        let zipName = try #require(ws.dir.list("dist").first)
        let zip = ws.dir.file("dist/" + zipName)
        #expect(try TestZip.read(zip)["model.json"] == (try Data(contentsOf: URL(fileURLWithPath: modelPath))))

        for input in [TestPaths.sonarData, scenariosDir + "/validation_noisy.json"] {
            let fromZip = try await ws.run(["predict", "--model", zip, "--input", input, "--config", ws.config])
            let fromModel = try await ws.run(["predict", "--model", modelPath, "--input", input, "--config", ws.config])
            #expect(fromZip.status == 0 && fromModel.status == 0, "\(fromZip.stderr)")
            // Everything after the line naming the model file is byte-identical.
            let body = { (s: String) in
                s.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
            }
            #expect(body(fromZip.stdout) == body(fromModel.stdout))
            #expect(body(fromZip.stdout).split(separator: "\n").count > 50)
            let zj = try json(
                try await ws.run(["predict", "--model", zip, "--input", input, "--json", "--config", ws.config]).stdout)
            let mj = try json(
                try await ws.run(["predict", "--model", modelPath, "--input", input, "--json", "--config", ws.config]).stdout)
            let zp = try JSONSerialization.data(withJSONObject: try #require(zj["predictions"]), options: .sortedKeys)
            let mp = try JSONSerialization.data(withJSONObject: try #require(mj["predictions"]), options: .sortedKeys)
            #expect(zp == mp)
        }

        var files = try TestZip.read(zip)
        var model = try #require(files["model.json"])
        let digit = try #require(model.lastIndex { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "8") })
        model[digit] += 1
        files["model.json"] = model
        try TestZip.write(files, to: ws.dir.file("tampered.zip"))
        let refused = try await ws.run([
            "predict", "--model", "tampered.zip", "--input", TestPaths.sonarData, "--config", ws.config,
        ])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("tampered.zip: model.json: sha256"), "\(refused.stderr)")
        #expect(refused.stderr.contains("refusing it"))
        #expect(refused.stdout.isEmpty)
    }
}
