import Engine
import Foundation
import SonarLabTestSupport
import Testing

@Suite("functional scenarios: format, refusals, evaluation and the committed generator")
struct ScenarioTests {
    static let committed = TestPaths.packageRoot + "/tests/functional"

    func generated() throws -> [ScenarioGenerator.File] {
        let data = try SonarData.load(path: TestPaths.sonarData)
        return ScenarioGenerator.make(data: data, dataPath: "data/sonar.all-data", testSize: 0.25, seed: 42)
    }

    @Test("the committed tests/functional files are exactly what the generator makes")
    func committedFilesMatchTheGenerator() throws {
        let files = try generated()
        #expect(
            files.map(\.name) == [
                "mines_only.json", "out_of_range.json", "rocks_only.json", "single_mine.json", "single_rock.json",
                "validation.json", "validation_noisy.json",
            ])
        for file in files {
            let text = try String(contentsOfFile: Self.committed + "/" + file.name, encoding: .utf8)
            #expect(text == file.text, "\(file.name) differs from the generator: run `sonarlab make-scenarios`")
        }
        #expect(try generated() == files, "deterministic")
    }

    @Test("the validation scenario holds exactly the validation split's rows and labels, in order")
    func validationScenarioIsTheSplit() throws {
        let data = try SonarData.load(path: TestPaths.sonarData)
        let split = StratifiedSplit.split(labels: data.dataset.labels, testSize: 0.25, seed: 42)
        let expected = data.dataset.subset(split.validation)
        let scenario = try FunctionalScenario.load(path: Self.committed + "/validation.json")
        #expect(scenario.dataset == expected)
        #expect(scenario.name == "validation")
        #expect(scenario.minAccuracy == 0.75 && scenario.minF1 == 0.75)
        let rocks = try #require(try FunctionalScenario.load(path: Self.committed + "/rocks_only.json").dataset)
        let mines = try #require(try FunctionalScenario.load(path: Self.committed + "/mines_only.json").dataset)
        #expect(rocks.labels.allSatisfy { $0 == .rock } && rocks.count == 24)
        #expect(mines.labels.allSatisfy { $0 == .mine } && mines.count == 28)
        for single in ["single_rock", "single_mine"] {
            let s = try FunctionalScenario.load(path: Self.committed + "/\(single).json")
            let row = try #require(s.dataset).features.row(0)
            let index = try #require((0..<data.dataset.count).first { data.dataset.features.row($0) == row })
            #expect(split.train.contains(index), "\(single) is a real training row")
        }
    }

    @Test("the noisy scenario is the validation rows plus small noise, clipped to [0, 1]")
    func noisyScenario() throws {
        let clean = try #require(try FunctionalScenario.load(path: Self.committed + "/validation.json").dataset)
        let noisy = try #require(try FunctionalScenario.load(path: Self.committed + "/validation_noisy.json").dataset)
        #expect(noisy.labels == clean.labels)
        #expect(noisy.features.values.allSatisfy { (0...1).contains($0) })
        let diffs = zip(noisy.features.values, clean.features.values).map { Double($0 - $1) }
        let rms = (diffs.map { $0 * $0 }.reduce(0, +) / Double(diffs.count)).squareRoot()
        #expect(rms > 0.012 && rms < 0.025, "rms \(rms)")
    }

    @Test(
        "scenario files are refused with the file and the place named",
        arguments: [
            ("not json", "invalid JSON"),
            ("[1, 2]", "expected an object"),
            ("{\"X\": [], \"y\": []}", "holds no rows"),
            ("{\"X\": [ROW], \"y\": [\"R\"], \"min_accuracy\": 1.5}", "\"min_accuracy\" must be a number in [0, 1]"),
            ("{\"X\": [ROW], \"y\": [\"R\"], \"min_f1\": true}", "\"min_f1\" must be a number in [0, 1]"),
            ("{\"X\": [ROW], \"y\": [\"R\"], \"colour\": 1}", "unknown key \"colour\""),
            ("{\"X\": [ROW]}", "\"y\" is missing"),
            ("{\"X\": [ROW], \"y\": [\"R\"], \"name\": \"a b\"}", "\"name\" must be"),
            ("{\"X\": [ROW], \"y\": [\"R\"], \"description\": 3}", "\"description\" must be a string"),
            ("{\"X\": [ROW], \"y\": [\"R\"], \"expect_error\": \"bogus\"}", "\"expect_error\" must be one of"),
            (
                "{\"X\": [ROW], \"y\": [\"R\"], \"expect_error\": \"outOfRange\", \"min_accuracy\": 0.5}",
                "cannot be combined"
            ),
            // `line` is the line of the file (all on line 1 here), the JSON path names the row.
            ("{\"X\": [ROW, [0.1]], \"y\": [\"R\", \"M\"]}", "s.json:1: X[1] has 1 values"),
            ("{\"X\": [\nROW,\n[0.1]], \"y\": [\"R\", \"M\"]}", "s.json:3: X[1] has 1 values"),
            ("{\"X\": [[true]], \"y\": [\"R\"]}", "s.json:1: X[0] has 1 values"),
            ("{\"X\": [ROW], \"y\": [\"Q\"]}", "s.json:1: y[0]"),
        ])
    func refusals(text: String, message: String) throws {
        let row = "[" + Array(repeating: "0.5", count: 60).joined(separator: ",") + "]"
        let bytes = Data(text.replacingOccurrences(of: "ROW", with: row).utf8)
        #expect {
            try FunctionalScenario.decode(bytes, file: "s.json")
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix("s.json") && description.contains(message)
        }
    }

    @Test("thresholds pass or fail with a message; expect_error passes only for the expected refusal")
    func evaluation() throws {
        let data = SyntheticData.separable(count: 40)
        var configuration = TrainingConfiguration()
        configuration.epochs = 30
        let model = Trainer(configuration: configuration).train(trainingSet: data, validationSet: data).model
        func scenario(_ extra: String, rows: [[Float]], labels: [SonarClass]) throws -> FunctionalScenario {
            let x = rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",")
            let y = labels.map { "\"\($0.label)\"" }.joined(separator: ",")
            return try FunctionalScenario.decode(Data("{\"X\": [\(x)], \"y\": [\(y)]\(extra)}".utf8), file: "e.json")
        }
        let rows = (0..<data.count).map { data.features.row($0) }
        let pass = try scenario(", \"min_accuracy\": 0.9, \"min_f1\": 0.9", rows: rows, labels: data.labels).evaluate(
            model)
        #expect(pass.passed && pass.metrics?.accuracy ?? 0 >= 0.9 && pass.confusion?.total == 40)
        let flipped = data.labels.map { $0 == .rock ? SonarClass.mine : .rock }
        let fail = try scenario(", \"min_accuracy\": 0.9, \"min_f1\": 0.9", rows: rows, labels: flipped).evaluate(model)
        #expect(!fail.passed && fail.failures.count == 2)
        #expect(fail.failures[0].contains("below min_accuracy 0.9000"))

        var bad = rows[0]
        bad[3] = 1.5
        let refused = try scenario(", \"expect_error\": \"outOfRange\"", rows: [bad], labels: [.rock])
        #expect(refused.dataset == nil && refused.refusal?.code == .outOfRange)
        #expect(refused.evaluate(model).passed)
        #expect(refused.evaluate(model).refusal?.contains("e.json:1: field 4") == true)
        let wrongCode = try scenario(", \"expect_error\": \"notFinite\"", rows: [bad], labels: [.rock]).evaluate(model)
        #expect(!wrongCode.passed && wrongCode.failures[0].contains("expected notFinite"))
        let accepted = try scenario(", \"expect_error\": \"outOfRange\"", rows: [rows[0]], labels: [.rock]).evaluate(
            model)
        #expect(!accepted.passed && accepted.failures[0].contains("were accepted"))
        #expect(throws: DataError.self) { try FunctionalScenario.load(path: "/nonexistent/x.json") }
    }
}
