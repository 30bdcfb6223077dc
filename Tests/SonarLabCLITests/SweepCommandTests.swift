import Engine
import Foundation
import SonarLabTestSupport
import Sweep
import Testing
import Tracking

@testable import SonarLabCLI

@Suite("sonarlab sweep")
struct SweepCommandTests {
    /// A tiny sweep: 6 trials of 3-fold CV, 5 epochs.
    static let tiny = [
        "sweep", "--trials", "6", "--folds", "3", "--repeats", "1", "--epochs", "5", "--hidden", "4,8",
        "--lr", "0.001..0.1:log", "--seed", "3",
    ]

    static func sweepAndTrials(_ workspace: Workspace) async throws -> (Experiment, [Experiment]) {
        let store = try workspace.store()
        let sweep = try #require(try await store.experiments(limit: nil).first { $0.kind == .sweep })
        return (sweep, try await SweepRecords.trials(of: sweep.id, in: store))
    }

    /// Trials as comparable text: number, parameters, per-fold accuracies, status.
    static func outcomes(_ trials: [Experiment]) -> [String] {
        trials.map { e in
            let r = SweepRecords.result(from: e)
            return "\(r?.index ?? -1) \(SweepRecords.parameterText(r?.parameters ?? [:])) "
                + "\(r?.foldAccuracies ?? []) \(r?.status.rawValue ?? "?")"
        }
    }

    @Test(
        "a sweep records itself and each trial (parent, parameters, per-fold scores, status), the same for --jobs 1 and 2"
    )
    func recordsAndIsIndependentOfJobs() async throws {
        let one = try Workspace()
        let two = try Workspace()
        defer {
            one.dir.remove()
            two.dir.remove()
        }
        try await one.runInProcess(Self.tiny + ["--jobs", "1", "--strategy", "tpe"])
        try await two.runInProcess(Self.tiny + ["--jobs", "2", "--strategy", "tpe"])
        let (sweep, trials) = try await Self.sweepAndTrials(one)
        let (_, trialsTwo) = try await Self.sweepAndTrials(two)
        #expect(sweep.status == .finished)
        #expect(sweep.parameters["sweep.strategy"] == "tpe")
        #expect(trials.count == 6)
        #expect(trials.allSatisfy { $0.parameters["sweep.parent"] == sweep.id && $0.status == .finished })
        #expect(trials.allSatisfy { $0.result?.foldAccuracies?.count == 3 && $0.endedAt != nil })
        #expect(Self.outcomes(trials) == Self.outcomes(trialsTwo))
        let best = try #require(sweep.parameters["sweep.best_trial"])
        let bestAccuracy = trials.compactMap { $0.result?.validation?.accuracy }.max()
        #expect(trials.first { $0.id == best }?.result?.validation?.accuracy == bestAccuracy)
    }

    @Test("--resume runs only the trials not finished and keeps the finished ones' records")
    func resumeRunsOnlyUnfinishedTrials() async throws {
        let workspace = try Workspace()
        defer { workspace.dir.remove() }
        try await workspace.runInProcess(Self.tiny + ["--jobs", "2", "--strategy", "random"])
        let (sweep, trials) = try await Self.sweepAndTrials(workspace)
        let store = try workspace.store()
        var interrupted = trials[4]
        interrupted.status = .cancelled
        interrupted.parameters["sweep.status"] = "cancelled"
        interrupted.result = nil
        try await store.finish(interrupted)
        try await workspace.runInProcess(["sweep", "--resume", sweep.id, "--json"])
        let (_, after) = try await Self.sweepAndTrials(workspace)
        #expect(Self.outcomes(after) == Self.outcomes(trials))
        for (old, new) in zip(trials, after) where old.id != interrupted.id {
            #expect(old.startedAt == new.startedAt, "trial \(old.id) ran again")
        }
        #expect(after[4].startedAt != trials[4].startedAt)
    }

    @Test("show lists a sweep's trials best first; history --kind filters; train --from-trial uses the trial")
    func showHistoryAndTrainFromTrial() async throws {
        guard try requireBinary() else { return }
        let workspace = try Workspace()
        defer { workspace.dir.remove() }
        let run = try await workspace.run(Self.tiny + ["--jobs", "2", "--strategy", "grid", "--lr", "0.003,0.03", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try json(run.stdout)
        #expect(summary["trials"] as? Int == 4)  // a grid of 2 × 2 points, fewer than --trials
        let sweepID = try #require(summary["sweep_id"] as? String)
        let shown = try await workspace.run(["show", sweepID])
        #expect(shown.status == 0)
        let rows = shown.stdout.split(separator: "\n").filter { $0.hasPrefix("  \(sweepID)-t") }
        #expect(rows.count == 4)
        let accuracies = rows.compactMap { row in row.split(separator: " ").dropFirst(2).first.flatMap { Double($0) } }
        #expect(accuracies == accuracies.sorted(by: >))
        let history = try await workspace.run(["history", "--kind", "sweep", "--json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
        #expect(listed.map { $0["id"] as? String } == [sweepID])
        let badKind = try await workspace.run(["history", "--kind", "sweeps"])
        #expect(badKind.status == 2)
        #expect(badKind.stderr.contains("--kind 'sweeps'"))
        let best = try #require((summary["best"] as? [String: Any])?["trial_id"] as? String)
        let bestParameters = try #require((summary["best"] as? [String: Any])?["parameters"] as? [String: String])
        let trained = try await workspace.run(["train", "--from-trial", best, "--json"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let train = try #require(try await workspace.store().experiments(limit: nil).first { $0.kind == .train })
        for (key, value) in bestParameters { #expect(train.parameters[key] == value) }
        #expect(train.parameters["sweep.from_trial"] == best && train.parameters["sweep.from_sweep"] == sweepID)
        // The model card names the sweep, its search space, the trial's CV score and that no nested estimate exists.
        let exported = try await workspace.run(["export", "--output", workspace.dir.file("dist")])
        #expect(exported.status == 0, "\(exported.stderr)")
        let zip = try #require(workspace.dir.list("dist").first { $0.hasSuffix(".zip") })
        let card = String(
            decoding: try #require(try ModelPackage.open(path: workspace.dir.file("dist/\(zip)")).files["MODEL_CARD.md"]),
            as: UTF8.self)
        let trialCV = try #require(try await workspace.store().experiment(id: best)?.result?.crossValidation)
        #expect(card.contains("trial `\(best)` of sweep `\(sweepID)` (grid, 6 trials, seed 3"), "\(card)")
        #expect(card.contains("1 × 3-fold stratified CV on the same folds"), "\(card)")
        #expect(card.contains(PlainNumber.format("**%.4f ± ", trialCV.accuracyMean)), "\(card)")
        #expect(card.contains("No nested estimate was recorded"))
        #expect(card.contains("`mlp.hidden_size = 4,8`") && card.contains("`mlp.lr = 0.003,0.03`"), "\(card)")
        #expect(card.contains("Adam (Kingma & Ba 2015"))
        let unknown = try await workspace.run(["train", "--from-trial", "nope"])
        #expect(unknown.status == 2)
    }

    @Test(
        "a bad search space is refused with exit 2 naming the flag, before anything is written",
        arguments: [
            (["--lr", "0.1..0.01"], "flag --lr: 0.1..0.01: 0.1 is not below 0.01"),
            (["--hidden", "8..:log"], "flag --hidden:"),
            (["--strategy", "grid", "--lr", "0.001..0.01"], "flag --lr: a grid cannot enumerate"),
            (["--param", "dropout"], "flag --param: 'dropout' is not KEY=SPEC"),
            (["--param", "hiden_size=3,4"], "flag --param: 'hiden_size' is not an [mlp] key"),
            (["--batch-size", "full,-1"], "flag --batch-size: -1 is outside"),
            (["--strategy", "bayes"], "--strategy 'bayes'"),
            (["--trials", "0"], "--trials '0'"),
            (["--jobs", "x"], "--jobs 'x'"),
            (["--timeout", "-3"], "--timeout '-3'"),
        ])
    func refusesBadSpace(arguments: [String], message: String) async throws {
        guard try requireBinary() else { return }
        let workspace = try Workspace()
        defer { workspace.dir.remove() }
        let result = try await workspace.run(["sweep", "--folds", "3", "--repeats", "1"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: workspace.dir.file("store")))
    }

    @Test("--nested records the nested estimate beside the optimistic inner best")
    func nestedIsRecorded() async throws {
        let workspace = try Workspace()
        defer { workspace.dir.remove() }
        try await workspace.runInProcess(
            [
                "sweep", "--trials", "2", "--folds", "3", "--repeats", "1", "--epochs", "5", "--hidden", "4,8",
                "--nested", "2",
            ])
        let (sweep, trials) = try await Self.sweepAndTrials(workspace)
        #expect(trials.count == 2)
        #expect(sweep.parameters["sweep.nested.folds"] == "2")
        let outer = try #require(sweep.parameters["sweep.nested.outer_accuracies"]).split(separator: ",")
            .compactMap { Double($0) }
        #expect(outer.count == 2)
        let mean = try #require(sweep.parameters["sweep.nested.accuracy_mean"].flatMap(Double.init))
        #expect(abs(mean - outer.reduce(0, +) / 2) < 1e-6)
        #expect(sweep.result?.crossValidation?.accuracyMean != nil)
    }

    @Test("the progress line fits the terminal width and drops detail to do so")
    func progressFitsWidth() {
        let result = TrialResult(
            index: 3, parameters: ["mlp.lr": "0.01"], foldAccuracies: [0.8, 0.9], f1Mean: 0.85, lossMean: 0.3,
            status: .finished, seconds: 1)
        let full = SweepProgress.render(
            done: 4, total: 10, best: (3, 0.85), ranHere: 4, seconds: 2, columns: nil, last: result)
        #expect(full.contains("trial 4/10 | best 0.8500 (#3) | 2.00 trials/s"))
        #expect(full.contains("eta 3.00s"))
        #expect(full.contains("#3 finished 0.8500"))
        for columns in [20, 40, 80, 200] {
            let line = SweepProgress.render(
                done: 4, total: 10, best: (3, 0.85), ranHere: 4, seconds: 2, columns: columns, last: result)
            #expect(line.count <= columns - 1)
            #expect(line.hasPrefix("4/10") || line.hasPrefix("trial 4/10"))
        }
    }
}
