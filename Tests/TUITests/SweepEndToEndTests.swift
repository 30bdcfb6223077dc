import Foundation
import SonarLabTestSupport
import Testing

@Suite(.serialized) struct SweepEndToEndTests {
    @Test(
        "under tmux: History opens a recorded sweep, ←/→ pick the scatter's parameter, Enter trains a trial",
        .enabled(if: EndToEnd.shouldRun, "\(EndToEnd.missingPrerequisite ?? "")"), .timeLimit(.minutes(5)))
    func sweepScreenUnderTmux() async throws {
        if let missing = EndToEnd.missingPrerequisite {
            Issue.record("CI=true but the end-to-end prerequisite is missing: \(missing)")
            return
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("sonarlab-e2e-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let root = EndToEnd.repositoryRoot
        let config = work.appendingPathComponent("config.ini").path
        try fm.copyItem(at: root.appendingPathComponent("config.ini"), to: work.appendingPathComponent("config.ini"))
        let data = root.appendingPathComponent("data/sonar.all-data").path
        let sweep = EndToEnd.run(
            [
                EndToEnd.binary, "sweep", "--config", config, "--data", data, "--trials", "4", "--folds", "2",
                "--repeats", "1", "--strategy", "random", "--epochs", "5", "--hidden", "8..64:log", "--lr",
                "0.001..0.1:log", "--json",
            ], currentDirectory: work.path)
        try #require(sweep.status == 0, "sonarlab sweep failed: \(sweep.output)")
        let sweepID = try #require(
            sweep.output.firstMatch(of: /"sweep_id"\s*:\s*"([^"]+)"/).map { String($0.1) }, "\(sweep.output)")

        let script = """
            cd '\(work.path)' || exit 1
            '\(EndToEnd.binary)' dashboard --config '\(config)' --data '\(data)' 2> dashboard-stderr.txt
            echo $? > exit-code.txt
            sleep 60
            """
        try script.write(to: work.appendingPathComponent("run.sh"), atomically: true, encoding: .utf8)
        let tmux = TmuxSession()
        defer { tmux.kill() }
        #expect(tmux.start(width: 140, height: 50, command: "sh '\(work.path)/run.sh'"))
        let opened = await tmux.waitFor(seconds: 30) { $0.contains("1 Train") && $0.contains("8 Sweep") }
        try #require(opened.ok, "the dashboard did not open:\n\(opened.screen)")

        // History: keep only the sweep's row (its name is "[sweep] …"), then Enter opens the Sweep screen.
        tmux.send("2")
        let listed = await tmux.waitFor(seconds: 20) { $0.contains("5 runs ·") && $0.contains(sweepID) }
        try #require(listed.ok, "History did not list the sweep and its trials:\n\(listed.screen)")
        tmux.send("/")
        tmux.send("-l", "[sweep]")
        tmux.send("Enter")
        let filtered = await tmux.waitFor(seconds: 10) { $0.contains("(1 shown)") }
        try #require(filtered.ok, "the filter did not keep the sweep:\n\(filtered.screen)")
        tmux.send("Enter")
        let screen = await tmux.waitFor(seconds: 20) { screen in
            screen.contains("CV accuracy vs hidden_size") && screen.contains("Best so far")
                && screen.contains("4/4 trials finished")
        }
        try #require(screen.ok, "the Sweep screen did not show the sweep:\n\(screen.screen)")
        // The first row is trial 0 (trial order): its hidden size, as the table shows it.
        let row = screen.screen.firstMatch(of: /│\s+0 (\d\.\d{3}) ± \d\.\d{3}\s+finished\s+(\d+)\s/)
        let hidden = try #require(row.map { String($0.2) }, "no row of trial 0:\n\(screen.screen)")

        tmux.send("Right")
        let next = await tmux.waitFor(seconds: 10) { $0.contains("CV accuracy vs lr") }
        #expect(next.ok, "→ did not pick the next parameter:\n\(next.screen)")

        // Enter trains trial 0's final model, named by the trial, and follows it on the Train screen.
        let trialID = sweepID + "-t0000"
        tmux.send("Enter")
        let trained = await tmux.waitFor(seconds: 90) { screen in
            screen.contains("\(trialID) · finished ·") && screen.contains("final: validation accuracy")
                && screen.contains("epoch 5/5 ")
        }
        try #require(trained.ok, "the trial's run did not finish:\n\(trained.screen)")

        // History, filter cleared, newest first: the run; Enter shows its parameters in Detail.
        tmux.send("2")
        tmux.send("/")
        tmux.send("C-u")
        tmux.send("Enter")
        tmux.send("g")
        let back = await tmux.waitFor(seconds: 20) { $0.contains("6 runs ·") && !$0.contains("shown)") }
        try #require(back.ok, "History did not list the new run:\n\(back.screen)")
        tmux.send("Enter")
        let detail = await tmux.waitFor(seconds: 20) { screen in
            screen.contains("Run \(trialID)") && screen.contains("sweep.from_trial")
        }
        try #require(detail.ok, "Detail did not open the trial's run:\n\(detail.screen)")
        #expect(
            detail.screen.contains(try Regex("mlp\\.hidden_size\\s+\(hidden)\\s")),
            "the run's hidden size is not trial 0's \(hidden):\n\(detail.screen)")
        #expect(detail.screen.contains(try Regex("mlp\\.epochs\\s+5\\s")), "\(detail.screen)")
        #expect(detail.screen.contains("sweep.from_trial") && detail.screen.contains(trialID))

        tmux.send("q")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !EndToEnd.isComplete(work.appendingPathComponent("exit-code.txt")) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let exitCode = (try? String(contentsOf: work.appendingPathComponent("exit-code.txt"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(exitCode == "0")
    }
}
