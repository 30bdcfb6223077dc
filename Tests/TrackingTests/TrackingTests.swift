import Engine
import Foundation
import Logging
import SonarLabTestSupport
import Testing

@testable import Tracking

/// The behaviour every `ExperimentStore` must have; run against each store.
enum ExperimentStoreContract {
    static func epoch(_ n: Int, accuracy: Double = 0.5) -> EpochMetrics {
        EpochMetrics(
            epoch: n, train: SplitMetrics(loss: 1.0 / Double(n), accuracy: accuracy, macroF1: accuracy),
            validation: SplitMetrics(loss: 2.0 / Double(n), accuracy: accuracy, macroF1: accuracy - 0.01),
            elapsedSeconds: Double(n) / 100)
    }

    static func experiment(_ id: String, startedAt: Double) -> Experiment {
        Experiment(
            id: id, name: "n-\(id)", kind: .train, startedAt: Date(timeIntervalSince1970: startedAt),
            parameters: ["mlp.lr": "0.01", "mlp.epochs": "3"], dataFingerprint: "f00d")
    }

    static func check(_ store: any ExperimentStore) async throws {
        try await store.checkReachable()
        #expect(try await store.experiments(limit: nil).isEmpty)
        #expect(try await store.experiment(id: "missing") == nil)

        var a = experiment("a", startedAt: 1000)
        try await store.create(a)
        try await store.appendEpochs([epoch(1), epoch(2)], experimentID: "a")
        // Replaying a batch writes the same records again, never twice.
        try await store.appendEpochs([epoch(2), epoch(3)], experimentID: "a")
        let running = try #require(try await store.experiment(id: "a"))
        #expect(running.status == .running)
        #expect(running.epochs == [epoch(1), epoch(2), epoch(3)])

        a.status = .finished
        a.endedAt = Date(timeIntervalSince1970: 1010)
        a.epochs = [epoch(1), epoch(2), epoch(3)]
        a.result = ExperimentResult(
            bestEpoch: 3, train: epoch(3).train, validation: epoch(3).validation,
            validationConfusion: ConfusionMatrix(counts: [[1, 2], [3, 4]]))
        a.modelPath = "experiments/x/model.json"
        a.dataFileSHA256 = String(repeating: "cd", count: 32)
        try await store.finish(a)
        try await store.finish(a)
        #expect(try await store.experiment(id: "a") == a)

        try await store.create(experiment("b", startedAt: 2000))
        try await store.create(experiment("c", startedAt: 1500))
        let list = try await store.experiments(limit: nil)
        #expect(list.map(\.id) == ["b", "c", "a"])
        #expect(list.allSatisfy { $0.epochs.isEmpty })
        #expect(list.last?.result == a.result)
        #expect(try await store.experiments(limit: 2).map(\.id) == ["b", "c"])
    }
}

@Suite("Experiment stores")
struct LocalStoreTests {
    @Test("the local SQLite store satisfies the store contract")
    func contract() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await ExperimentStoreContract.check(LocalStore(directory: dir.file("store")))
    }

    @Test("what one store wrote, a store reopened on the same folder reads")
    func persistence() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await LocalStore(directory: dir.path).create(ExperimentStoreContract.experiment("p", startedAt: 5))
        #expect(try await LocalStore(directory: dir.path).experiment(id: "p")?.name == "n-p")
    }

    @Test("two stores on one file writing at once lose nothing")
    func concurrentWriters() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let one = try LocalStore(directory: dir.path), two = try LocalStore(directory: dir.path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in [one, two].enumerated() {
                group.addTask {
                    for i in 0..<25 {
                        let id = "w\(index)-\(i)"
                        try await store.create(ExperimentStoreContract.experiment(id, startedAt: Double(i)))
                        try await store.appendEpochs([ExperimentStoreContract.epoch(1)], experimentID: id)
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try await one.experiments(limit: nil)
        #expect(all.count == 50)
        #expect(Set(all.map(\.id)).count == 50)
        #expect(try await two.experiment(id: "w1-24")?.epochs.count == 1)
    }

    @Test("several stores opening one new folder at the same moment all open it (the migration race)")
    func concurrentCreation() async throws {
        for _ in 0..<20 {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 { group.addTask { _ = try LocalStore(directory: dir.path) } }
                try await group.waitForAll()
            }
            try await LocalStore(directory: dir.path).create(ExperimentStoreContract.experiment("c", startedAt: 1))
        }
    }

    @Test("experiment ids sort by start time and differ within one second")
    func ids() {
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        let ids = (0..<50).map { _ in Experiment.makeID(startingAt: t) }
        #expect(Set(ids).count > 45)
        #expect(ids[0].hasPrefix("20270115-080000-"))
        #expect(ids.allSatisfy { $0.count == 22 })
        #expect(Experiment.makeID(startingAt: t.addingTimeInterval(1)) > ids.max()!)
    }
}

@Suite("Run folders and recorded training")
struct TrainingSessionTests {
    @Test("a recorded run writes folder, log, yaml, metrics and model, and the store has every epoch")
    func recordedRun() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try LocalStore(directory: dir.file("store"))
        let data = try SonarData.load(path: TestPaths.sonarData)
        var config = TrainingConfiguration()
        config.epochs = 7
        let request = TrainingRequest(
            name: "t1", data: data, dataPath: TestPaths.sonarData, testSize: 0.25, splitSeed: 42, configuration: config,
            parameters: ["mlp.epochs": "7"], experimentsRoot: dir.file("experiments"), epochBatch: 3)
        let seen = EpochCounter()
        let outcome = try await TrainingSession(store: store).run(request, onEpoch: { _ in seen.add() })
        #expect(seen.value == 7)
        #expect(outcome.storeError == nil)
        let e = try #require(try await store.experiment(id: outcome.experiment.id))
        #expect(e.status == .finished)
        #expect(e.epochs.count == 7)
        #expect(e.dataFingerprint == data.fingerprint)
        #expect(e.result?.bestEpoch == outcome.result.bestEpoch)
        let folder = outcome.folder
        #expect(folder.path.hasPrefix(dir.file("experiments/exp_t1_")))
        let yaml = try String(contentsOfFile: folder.configPath, encoding: .utf8)
        #expect(yaml.contains("status: finished"))
        #expect(yaml.contains("mlp.epochs: 7"))
        #expect(yaml.contains(String(format: "accuracy: %.4f", outcome.result.bestValidation.accuracy)))
        #expect(!yaml.contains("e-"), "metrics are plain decimals")
        let csv = try String(contentsOfFile: folder.metricsPath, encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 8)
        let log = try String(contentsOfFile: folder.logPath, encoding: .utf8)
        #expect(log.contains("run started"))
        #expect(log.contains("run finished"))
        let model = try ModelArtefact.load(path: try #require(e.modelPath))
        #expect(model.experimentID == e.id)
        #expect(model.bestEpoch == outcome.result.bestEpoch)
    }

    @Test("a CRLF copy of the data with a header records the same fingerprint, its own sha256, and logs the header")
    func headerAndCRLFCopy() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let original = try String(contentsOfFile: TestPaths.sonarData, encoding: .utf8)
        let header = ((1...60).map { "band_\($0)" } + ["class"]).joined(separator: ",")
        let copy = header + "\r\n" + original.replacingOccurrences(of: "\n", with: "\r\n")
        let path = try dir.write("copy.csv", copy)
        let data = try SonarData.load(path: path)
        let reference = try SonarData.load(path: TestPaths.sonarData)
        #expect(data.fingerprint == reference.fingerprint)
        var config = TrainingConfiguration()
        config.epochs = 2
        let store = try LocalStore(directory: dir.file("store"))
        let request = TrainingRequest(
            name: "copy", data: data, dataPath: path, testSize: 0.25, splitSeed: 42, configuration: config,
            parameters: [:], experimentsRoot: dir.file("experiments"))
        let outcome = try await TrainingSession(store: store).run(request)
        let e = try #require(try await store.experiment(id: outcome.experiment.id))
        #expect(e.dataFingerprint == reference.fingerprint)
        #expect(e.dataFileSHA256 == SonarData.sha256Hex(of: Data(copy.utf8)))
        #expect(e.dataFileSHA256 != e.dataFingerprint)
        let log = try String(contentsOfFile: outcome.folder.logPath, encoding: .utf8)
        let note = "line 1 is a header (every field is non-numeric; [data] header = auto): skipped"
        #expect(log.contains(note), "\(log)")
        #expect(log.contains("file_sha256=\(try #require(e.dataFileSHA256))"), "\(log)")
        let yaml = try String(contentsOfFile: outcome.folder.configPath, encoding: .utf8)
        #expect(yaml.contains("data_file_sha256: \(try #require(e.dataFileSHA256))"))
        let model = try ModelArtefact.load(path: try #require(e.modelPath))
        #expect(model.dataFingerprint == reference.fingerprint && model.dataFileSHA256 == e.dataFileSHA256)
    }

    @Test("a stop signal records the run as cancelled with its epochs so far")
    func cancelledRun() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try LocalStore(directory: dir.file("store"))
        let data = try SonarData.load(path: TestPaths.sonarData)
        let request = TrainingRequest(
            name: "c", data: data, dataPath: "d", testSize: 0.25, splitSeed: 42, configuration: TrainingConfiguration(),
            parameters: [:], experimentsRoot: dir.file("experiments"))
        let stop = StopSignal()
        stop.raise()
        let outcome = try await TrainingSession(store: store).run(request, stop: stop)
        let e = try #require(try await store.experiment(id: outcome.experiment.id))
        #expect(e.status == .cancelled)
        #expect(e.epochs.count == 1)
        #expect(e.message?.contains("cancelled") == true)
    }

    @Test("two runs with the same name in the same second get separate folders")
    func folderCollision() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let t = Date()
        let a = try RunFolder(root: dir.path, name: "x", startedAt: t)
        let b = try RunFolder(root: dir.path, name: "x", startedAt: t)
        #expect(a.path != b.path)
        #expect(b.path.hasSuffix("_2"))
    }

    @Test("the file log handler writes leveled lines with metadata")
    func fileLog() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let handler = try FileLogHandler(label: "t", path: dir.file("run.log"))
        let logger = Logger(label: "t") { _ in handler }
        logger.info("hello", metadata: ["k": "v"])
        logger.debug("hidden")
        let text = try String(contentsOfFile: dir.file("run.log"), encoding: .utf8)
        #expect(text.contains("info t: hello k=v"))
        #expect(!text.contains("hidden"))
    }
}

final class EpochCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}

@Suite("The model card's training and selection text")
struct ModelCardTextTests {
    @Test("the optimizer, dropout, input noise and ensemble are named when they are on, and only then")
    func trainingTextNamesTheOptions() {
        var configuration = TrainingConfiguration()
        #expect(ModelPackage.optimizerText(configuration).hasPrefix("Adam (Kingma & Ba 2015"))
        #expect(ModelPackage.regularisationText(configuration) == "")
        configuration.optimizer = .adamW
        configuration.dropout = 0.2
        configuration.inputNoise = 0.05
        configuration.ensemble = 5
        #expect(ModelPackage.optimizerText(configuration).contains("decoupled weight decay, Loshchilov & Hutter 2019"))
        let text = ModelPackage.regularisationText(configuration)
        #expect(text.contains("dropout 0.2 on the hidden layer"))
        #expect(text.contains("Gaussian input noise σ = 0.05"))
        #expect(text.contains("an ensemble of 5 seed-varied MLPs"))
    }

    @Test("the selection names the sweep, the trial's CV, the nested estimate and the search space")
    func selectionTextNamesTheSweep() {
        #expect(ModelPackage.selectionText(parameters: [:], sweep: nil, trial: nil).contains("not picked by a sweep"))
        let lost = ModelPackage.selectionText(parameters: ["sweep.from_trial": "S-t0001"], sweep: nil, trial: nil)
        #expect(lost.contains("trial `S-t0001`") && lost.contains("its sweep was not found"))
        let sweep = Experiment(
            id: "S", name: "s", kind: .sweep, startedAt: Date(),
            parameters: [
                "sweep.strategy": "tpe", "sweep.trials": "100", "sweep.seed": "7", "cv.folds": "10", "cv.repeats": "5",
                "sweep.nested.folds": "5", "sweep.nested.accuracy_mean": "0.861", "sweep.nested.accuracy_sd": "0.031",
                "sweep.space.00.mlp.lr": "0.001..0.03:log", "sweep.space.01.mlp.dropout": "0..0.5",
            ], dataFingerprint: "x")
        var trial = Experiment(
            id: "S-t0001", name: "s-t0001", kind: .trial, startedAt: Date(), parameters: [:], dataFingerprint: "x")
        trial.result = ExperimentResult(
            crossValidation: CrossValidationSummary(
                folds: 10, repeats: 5, fits: 50, accuracyMean: 0.8801, accuracySD: 0.0712, f1Mean: 0.87, f1SD: 0))
        let text = ModelPackage.selectionText(parameters: ["sweep.from_trial": "S-t0001"], sweep: sweep, trial: trial)
        #expect(text.contains("trial `S-t0001` of sweep `S` (tpe, 100 trials, seed 7; every trial scored by 5 × 10-fold"))
        #expect(text.contains("**0.8801 ± 0.0712** over 50 fits"))
        #expect(text.contains("(5 outer folds, the search repeated inside each): **0.8610 ± 0.0310**"))
        #expect(text.contains("`mlp.lr = 0.001..0.03:log`, `mlp.dropout = 0..0.5`"))
    }
}
