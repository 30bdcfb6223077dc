import Foundation
import SonarLabTestSupport
import Testing
import Tracking

@Suite("two sonarlab processes training into one local store")
struct ConcurrentTrainTests {
    @Test("two train processes started together get distinct ids and folders, and the store keeps every epoch of both")
    func twoProcesses() async throws {
        guard try requireBinary() else { return }
        // One store write per epoch, and enough epochs (about a second each) for the two runs to overlap.
        let ws = try Workspace(extra: "[hbase]\nepoch_batch = 1\n")
        defer { ws.dir.remove() }
        let epochs = 1500
        // Same name on purpose: both runs want experiments/exp_race_<same second>.
        let args = ["train", "--config", ws.config, "--epochs", "\(epochs)", "--name", "race", "--json", "--headless"]
        // Started back to back on a fresh store, so they also race to create the database and its tables.
        let processes = try (0..<2).map { _ in
            try RunningProcess(args, in: ws.dir.path, removingInherited: ["SONARLAB_", "KRB5"])
        }
        // Wait for both (each wait kills its process at the deadline), then judge.
        var results = [ProcessResult?]()
        for process in processes { results.append(await process.wait(timeout: 180)) }
        var summaries = [[String: Any]]()
        for result in results {
            let result = try #require(result, "a train process did not finish within 180 s")
            #expect(result.status == 0, "\(result.stderr)")
            summaries.append(try json(result.stdout))
        }
        let ids = summaries.compactMap { $0["experiment_id"] as? String }
        let folders = summaries.compactMap { $0["run_directory"] as? String }
        #expect(ids.count == 2 && Set(ids).count == 2, "\(ids)")
        #expect(folders.count == 2 && Set(folders).count == 2, "\(folders)")

        let recorded = try await ws.store().experiments(limit: nil)
        #expect(Set(recorded.map(\.id)) == Set(ids))
        for id in ids {
            let e = try #require(try await ws.store().experiment(id: id))
            #expect(e.status == .finished, "\(id): \(e.status)")
            #expect(e.epochs.map(\.epoch) == Array(1...epochs), "\(id): every epoch exactly once")
            // What the store holds is what the run wrote to its own folder.
            let folder = try #require(e.runDirectory)
            let lines = try String(contentsOfFile: folder + "/metrics.csv", encoding: .utf8)
                .split(separator: "\n").dropFirst()
            #expect(lines.map { Int($0.split(separator: ",")[0]) } == Array(1...epochs).map { Optional($0) })
            #expect(FileManager.default.fileExists(atPath: try #require(e.modelPath)))
        }
        // The two runs really overlapped in time (otherwise this tested nothing concurrent).
        let spans = recorded.compactMap { e in e.endedAt.map { (e.startedAt, $0) } }
        try #require(spans.count == 2)
        #expect(spans[0].0 < spans[1].1 && spans[1].0 < spans[0].1, "the runs did not overlap: \(spans)")
        #expect(Set(ws.dir.list("experiments")).count == 2, "\(ws.dir.list("experiments"))")
    }
}
