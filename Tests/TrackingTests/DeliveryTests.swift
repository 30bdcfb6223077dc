import Engine
import Foundation
import SonarLabTestSupport
import Testing
import Tracking

/// A small trained artefact on synthetic data.
func makeArtefact(id: String = "20261129-120000-abcdef") -> ModelArtefact {
    let data = SyntheticData.separable(count: 40)
    var configuration = TrainingConfiguration()
    configuration.epochs = 5
    let result = Trainer(configuration: configuration).train(trainingSet: data, validationSet: data)
    return ModelArtefact(
        experimentID: id, name: "pkg", createdAt: Date(timeIntervalSince1970: 1_800_000_000), result: result,
        dataFingerprint: String(repeating: "ab", count: 32), configuration: configuration)
}

@Suite("model distribution zip: contents, manifest, refusal of altered archives")
struct ModelPackageTests {
    func write(_ dir: TemporaryDirectory, cv: Bool = true) throws -> (String, ModelPackage.Contents) {
        let artefact = makeArtefact()
        let contents = ModelPackage.Contents(
            modelBytes: artefact.encoded(), artefact: artefact,
            parameters: ["split.test_size": "0.25", "split.seed": "42", "mlp.epochs": "5", "data.path": "d.csv"],
            dataPath: "d.csv",
            crossValidation: cv
                ? CrossValidationSummary(
                    folds: 10, repeats: 5, fits: 50, accuracyMean: 0.86, accuracySD: 0.07, f1Mean: 0.85, f1SD: 0.07)
                : nil,
            crossValidationExperimentID: cv ? "20261129-120100-000001" : nil)
        return (try ModelPackage.write(contents, toDirectory: dir.file("dist")), contents)
    }

    @Test("the zip is named by the experiment id, holds every file, and opens to the same model bytes")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, contents) = try write(dir)
        #expect(path.hasSuffix("/dist/sonarlab-model-20261129-120000-abcdef.zip"))
        let opened = try ModelPackage.open(path: path)
        #expect(opened.artefact == contents.artefact)
        #expect(opened.files["model.json"] == contents.modelBytes)
        #expect(
            Set(opened.files.keys) == [
                "model.json", "config.ini", "metrics.json", "DATA_FINGERPRINT", "MODEL_CARD.md", "MANIFEST.sha256",
            ])
        let manifest = String(decoding: try #require(opened.files["MANIFEST.sha256"]), as: UTF8.self)
        #expect(manifest.split(separator: "\n").count == 5)
        #expect(manifest.contains("\(SonarData.fingerprint(of: contents.modelBytes))  model.json"))
        let card = String(decoding: try #require(opened.files["MODEL_CARD.md"]), as: UTF8.self)
        for part in [
            "## Intended use", "## Data", "## Metrics", "## Limits", "0.8600 ± 0.0700", "20261129-120000-abcdef",
        ] {
            #expect(card.contains(part), "model card lacks \(part)")
        }
        let config = String(decoding: try #require(opened.files["config.ini"]), as: UTF8.self)
        #expect(config.contains("[split]\nseed = 42\ntest_size = 0.25"))
        #expect(config.contains("hidden_size = 40"))
        let metricsData = try #require(opened.files["metrics.json"])
        let metrics = try #require(try JSONSerialization.jsonObject(with: metricsData) as? [String: Any])
        #expect((metrics["cross_validation"] as? [String: Any])?["fits"] as? Int == 50)
        #expect(
            String(decoding: try #require(opened.files["DATA_FINGERPRINT"]), as: UTF8.self) == String(
                repeating: "ab", count: 32) + "  d.csv\n")
        // Writing again replaces the zip; without cv the card says so.
        let (again, _) = try write(dir, cv: false)
        #expect(again == path)
        let card2 = String(
            decoding: try #require(try ModelPackage.open(path: again).files["MODEL_CARD.md"]), as: UTF8.self)
        #expect(card2.contains("No cross-validation run"))
    }

    /// Rewrites the zip with `change` applied to the entries (name → bytes).
    func rewrite(_ path: String, to target: String, _ change: (inout [String: Data]) -> Void) throws {
        var files = try ModelPackage.open(path: path).files
        change(&files)
        try TestZip.write(files, to: target)
    }

    @Test("an altered model, manifest, extra or missing entry, or a non-zip is refused with the reason")
    func tampering() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try write(dir)
        let cases: [(String, (inout [String: Data]) -> Void, String)] = [
            (
                "model",
                { f in
                    var bytes = f["model.json"]!
                    let i = bytes.firstIndex(of: UInt8(ascii: "5"))!
                    bytes[i] = UInt8(ascii: "6")
                    f["model.json"] = bytes
                }, "model.json: sha256"
            ),
            (
                "manifest",
                { f in
                    var text = String(decoding: f["MANIFEST.sha256"]!, as: UTF8.self)
                    let first = text.first!
                    text.replaceSubrange(text.startIndex...text.startIndex, with: first == "0" ? "1" : "0")
                    f["MANIFEST.sha256"] = Data(text.utf8)
                }, "does not match MANIFEST.sha256"
            ),
            ("extra", { f in f["evil.sh"] = Data("rm -rf /".utf8) }, "evil.sh is not in MANIFEST.sha256"),
            ("missing", { f in f["MODEL_CARD.md"] = nil }, "MODEL_CARD.md is listed in MANIFEST.sha256 but missing"),
            ("nomanifest", { f in f["MANIFEST.sha256"] = nil }, "MANIFEST.sha256 is missing"),
            ("garbled", { f in f["MANIFEST.sha256"] = Data("nonsense\n".utf8) }, "MANIFEST.sha256: expected"),
        ]
        for (name, change, message) in cases {
            let target = dir.file("\(name).zip")
            try rewrite(path, to: target, change)
            #expect {
                try ModelPackage.open(path: target)
            } throws: { error in
                "\(error)".hasPrefix(target) && "\(error)".contains(message)
            }
        }
        // One flipped byte inside the stored (compressed) data: damaged entry or hash mismatch, never accepted.
        var raw = try Data(contentsOf: URL(fileURLWithPath: path))
        raw[200] ^= 0xFF
        try raw.write(to: URL(fileURLWithPath: dir.file("flipped.zip")))
        #expect(throws: DataError.self) { try ModelPackage.open(path: dir.file("flipped.zip")) }
        try dir.write("plain.zip", "not a zip")
        #expect(throws: DataError.self) { try ModelPackage.open(path: dir.file("plain.zip")) }
        #expect(throws: DataError.self) { try ModelPackage.open(path: dir.file("absent.zip")) }
    }
}

@Suite("last test results, JUnit XML and the report")
struct ResultsAndReportTests {
    static func results() -> FunctionalTestResults {
        FunctionalTestResults(
            startedAt: Date(timeIntervalSince1970: 1_800_000_000), modelPath: "m.json", modelExperimentID: "id-1",
            scenariosSource: "tests/functional",
            scenarios: [
                .init(
                    name: "validation", file: "v.json", description: "all", status: .passed, rows: 52, accuracy: 0.8269,
                    f1: 0.8253, loss: 0.42, confusionMatrix: [[19, 5], [4, 24]], minAccuracy: 0.75, minF1: 0.75,
                    expectError: nil, messages: [], experimentID: "e1", runDirectory: "r1", seconds: 0.01),
                .init(
                    name: "weak<&>", file: "w.json", description: nil, status: .failed, rows: 1, accuracy: 0, f1: 0,
                    loss: 2, confusionMatrix: [[0, 1], [0, 0]], minAccuracy: 1, minF1: nil, expectError: nil,
                    messages: ["accuracy 0.0000 is below min_accuracy 1.0000 \"quoted\""], experimentID: "e2",
                    runDirectory: "r2", seconds: 0.02),
                .init(
                    name: "refused", file: "o.json", description: nil, status: .passed, rows: 0, accuracy: nil, f1: nil,
                    loss: nil, confusionMatrix: nil, minAccuracy: nil, minF1: nil, expectError: "outOfRange",
                    messages: ["refused as expected"], experimentID: "e3", runDirectory: "r3", seconds: 0),
            ])
    }

    @Test("results round-trip through last-test-results.json; no file reads as nil; a bad file is refused")
    func resultsFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(try FunctionalTestResults.load(directory: dir.path) == nil)
        let r = Self.results()
        try r.write(toDirectory: dir.file("store"))
        #expect(try FunctionalTestResults.load(directory: dir.file("store")) == r)
        #expect(r.passedCount == 2 && r.failedCount == 1 && !r.allPassed)
        let text = try String(contentsOfFile: dir.file("store/last-test-results.json"), encoding: .utf8)
        for key in [
            "\"model_experiment_id\"", "\"confusion_matrix\"", "\"min_accuracy\"",
            "\"started_at\" : \"2027-01-15T08:00:00Z\"",
        ] {
            #expect(text.contains(key), "missing \(key)")
        }
        try dir.write("bad/last-test-results.json", "{}")
        #expect(throws: DataError.self) { try FunctionalTestResults.load(directory: dir.file("bad")) }
    }

    @Test("JUnit XML has one escaped test case per scenario and a failure with its message")
    func junit() throws {
        let xml = Self.results().junitXML()
        #expect(xml.contains("<testsuite name=\"functional\" tests=\"3\" failures=\"1\""))
        #expect(xml.components(separatedBy: "<testcase ").count == 4)
        #expect(xml.contains("name=\"weak&lt;&amp;&gt;\""))
        #expect(xml.contains("<failure message=\"accuracy 0.0000 is below min_accuracy 1.0000 &quot;quoted&quot;\""))
        #expect(xml.components(separatedBy: "<failure").count == 2)
    }

    @Test("the report has every section, the test table and charts with train and validation polylines")
    func report() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var train = Experiment(
            id: "t1", name: "sonar", kind: .train, startedAt: Date(), parameters: ["mlp.epochs": "3"],
            dataFingerprint: "f",
            status: .finished)
        train.epochs = (1...3).map {
            EpochMetrics(
                epoch: $0, train: SplitMetrics(loss: 1 / Double($0), accuracy: 0.5 + 0.1 * Double($0), macroF1: 0.5),
                validation: SplitMetrics(loss: 0.8, accuracy: 0.7, macroF1: .nan), elapsedSeconds: 0)
        }
        train.result = ExperimentResult(
            bestEpoch: 2, train: train.epochs[1].train, validation: train.epochs[1].validation,
            validationConfusion: ConfusionMatrix(counts: [[19, 5], [4, 24]]))
        var cv = Experiment(
            id: "c1", name: "cv", kind: .crossValidation, startedAt: Date(), parameters: [:], dataFingerprint: "f")
        cv.result = ExperimentResult(
            crossValidation: .init(
                folds: 10, repeats: 5, fits: 50, accuracyMean: 0.8595, accuracySD: 0.07, f1Mean: 0.85, f1SD: 0.07))
        let report = RunReport(
            generatedAt: Date(), environment: .current(),
            data: .init(
                path: "data/sonar.all-data", fingerprint: "f", rocks: 97, mines: 111, testSize: 0.25, seed: 42,
                trainRows: 156, validationRows: 52),
            training: train, crossValidation: cv, tests: Self.results(), storeLocation: "local SQLite s")
        let written = try report.write(to: dir.file("docs/REPORT.md"))
        #expect(written.count == 4)
        let md = try String(contentsOfFile: dir.file("docs/REPORT.md"), encoding: .utf8)
        for part in [
            "## Environment", "| Swift |", "| CPU |", "## Data and split", "156 training rows", "## Training",
            "![loss](report-loss.svg)", "## Cross-validation", "0.8595", "## Functional tests", "2 passed, 1 failed",
            "| validation | 52 | 0.8269 |", "refused: outOfRange", "## CI and CD", "(../.github/workflows/ci.yml)",
            "(../.github/workflows/cd.yml)",
        ] {
            #expect(md.contains(part), "report lacks \(part)")
        }
        let svg = try String(contentsOfFile: dir.file("docs/report-loss.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.contains(">train</text>") && svg.contains(">validation</text>"))
        #expect(svg.contains("stroke-dasharray") && svg.contains(">kept epoch 2</text>"))
        // Without runs the report says what to run.
        let empty = RunReport(
            generatedAt: Date(), environment: .init(swift: "s", operatingSystem: "o", cpu: "c"), data: report.data,
            training: nil, crossValidation: nil, tests: nil, storeLocation: "x")
        #expect(empty.charts().isEmpty)
        #expect(empty.markdown().contains("No finished training run"))
        #expect(empty.markdown().contains("No functional test has run yet"))
    }

    @Test("the report's Model service section counts the served rows only, by request and by caller")
    func serviceSectionSummarisesServedPredictions() throws {
        func record(_ input: String, _ label: SonarClass, pMine: Double, served: Bool, caller: String?, at t: Double)
            -> PredictionRecord
        {
            PredictionRecord(
                modelID: "m1", inputReference: input, label: label, probability: label == .mine ? pMine : 1 - pMine,
                predictedAt: Date(timeIntervalSince1970: t), mineProbability: served ? pMine : nil,
                featuresSHA256: served ? "f" : nil, caller: caller)
        }
        let records = [
            record("req-a/0000", .mine, pMine: 0.9, served: true, caller: "trainer@SONARLAB.TEST", at: 100),
            record("req-a/0001", .rock, pMine: 0.2, served: true, caller: "trainer@SONARLAB.TEST", at: 100),
            record("req-b/0000", .mine, pMine: 0.7, served: true, caller: nil, at: 160),
            // `predict --store hbase`: no fingerprint, not served.
            record("sonar-validation-0001", .rock, pMine: 0.1, served: false, caller: nil, at: 50),
        ]
        let summary = try #require(RunReport.ServiceSummary(predictions: records, modelID: "m1", sources: ["here"]))
        #expect(summary.rows == 3 && summary.requests == 2 && summary.rocks == 1 && summary.mines == 2)
        #expect(abs(summary.meanMineProbability - 0.6) < 1e-12)
        #expect(summary.first == Date(timeIntervalSince1970: 100) && summary.last == Date(timeIntervalSince1970: 160))
        #expect(summary.callers.map(\.name) == ["trainer@SONARLAB.TEST", "anonymous"])
        #expect(summary.callers.map(\.rows) == [2, 1])
        #expect(RunReport.ServiceSummary(predictions: records, modelID: "other", sources: []) == nil)
        #expect(RunReport.ServiceSummary(predictions: [records[3]], modelID: "m1", sources: []) == nil)

        var report = RunReport(
            generatedAt: Date(timeIntervalSince1970: 0), environment: .init(swift: "s", operatingSystem: "o", cpu: "c"),
            data: .init(path: "d", fingerprint: "x", rocks: 1, mines: 1, testSize: 0.25, seed: 42, trainRows: 1,
                validationRows: 1),
            training: nil, crossValidation: nil, tests: nil, storeLocation: "x", service: summary)
        let text = report.markdown()
        #expect(text.contains("## Model service"))
        #expect(text.contains("answered **3 rows in 2 inference requests** for model `m1`"), "\(text)")
        #expect(text.contains("| `trainer@SONARLAB.TEST` | 2 |\n| `anonymous` | 1 |"))
        #expect(text.contains("mean P(mine) 0.6000"))
        report.service = nil
        #expect(report.markdown().contains("No prediction served by `sonarlab serve` is recorded"))
    }
}
