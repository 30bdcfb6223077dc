import Foundation
import SonarLabTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the end-to-end test needs: tmux and a `sonarlab` binary that has the `dashboard` command.
///
/// The binary is `SONARLAB_BINARY` or `.build/debug/sonarlab` (built by `swift build --build-tests`).
/// Without them the test is skipped with the reason shown — except when `CI=true`, where it runs and fails.
enum EndToEnd {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let environment = ProcessInfo.processInfo.environment
    static let isCI = environment["CI"] == "true"
    static let binary =
        environment["SONARLAB_BINARY"] ?? repositoryRoot.appendingPathComponent(".build/debug/sonarlab").path

    /// Why the test cannot run here, or nil when it can.
    static let missingPrerequisite: String? = {
        guard let tmux = which("tmux") else { return "tmux is not installed (apt-get install tmux)" }
        _ = tmux
        guard FileManager.default.isExecutableFile(atPath: binary) else { return "no sonarlab binary at \(binary)" }
        // With RunCommand as the default subcommand, an unknown `dashboard` still prints (run's) help: look for ours.
        let help = run([binary, "dashboard", "--help"])
        guard help.status == 0, help.output.contains("sonarlab dashboard") else {
            return "\(binary) has no `dashboard` command (register DashboardCommand in SonarLabCommand)"
        }
        return nil
    }()

    static var shouldRun: Bool { isCI || missingPrerequisite == nil }

    /// Whether a file the pane's shell writes (`cmd > file`) is complete: it exists and ends a line.
    static func isComplete(_ file: URL) -> Bool {
        (try? String(contentsOf: file, encoding: .utf8))?.hasSuffix("\n") == true
    }

    static func which(_ name: String) -> String? {
        for dir in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a command that leaves a daemon behind (`tmux new-session`) and returns its exit status: through
    /// ``ChildProcess`` (waitpid), because Foundation's `Process` notices a child's exit when inherited
    /// descriptors close, which a daemon forked from the child never does.
    static func spawnDetached(_ arguments: [String]) -> Int32 {
        guard
            let child = try? ChildProcess(
                arguments[0], Array(arguments.dropFirst()), environment: environment, stdout: .discard,
                stderr: .discard)
        else { return -1 }
        guard child.waitForExit(timeout: SonarLabProcess.defaultTimeout) else {
            child.kill9()
            return -1
        }
        return child.wasSignalled ? -1 : child.terminationStatus
    }

    /// Runs a command to its end and returns its exit status and combined output.
    @discardableResult
    static func run(_ arguments: [String], currentDirectory: String? = nil, capturesOutput: Bool = true) -> (
        status: Int32, output: String
    ) {
        let child: ChildProcess
        do {
            child = try ChildProcess(
                arguments[0], Array(arguments.dropFirst()), in: currentDirectory, environment: environment,
                stdout: capturesOutput ? .capture : .discard, stderr: nil)
        } catch { return (-1, "\(error)") }
        guard child.waitForExit(timeout: SonarLabProcess.defaultTimeout) else {
            child.kill9()
            return (-1, "\(arguments.joined(separator: " ")) did not end within \(SonarLabProcess.defaultTimeout) s")
        }
        child.finishOutput()
        return (child.terminationStatus, child.stdout)
    }
}

/// A detached tmux session of a fixed size on a private server socket.
struct TmuxSession {
    let socket = "sonarlab-e2e-\(UUID().uuidString.prefix(8))"
    let name = "dashboard"

    func start(width: Int, height: Int, command: String) -> Bool {
        EndToEnd.spawnDetached([
            "tmux", "-L", socket, "new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)", command,
        ]) == 0
    }

    func send(_ keys: String...) {
        EndToEnd.run(["tmux", "-L", socket, "send-keys", "-t", name] + keys)
    }

    func capture() -> String {
        EndToEnd.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", name]).output
    }

    /// Polls the pane until `predicate` holds; returns the last capture and whether it held.
    func waitFor(seconds: Double, _ predicate: (String) -> Bool) async -> (screen: String, ok: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = ""
        while Date() < deadline {
            screen = capture()
            if predicate(screen) { return (screen, true) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return (screen, false)
    }

    func kill() { EndToEnd.run(["tmux", "-L", socket, "kill-server"]) }
}

@Suite(.serialized) struct DashboardEndToEndTests {
    @Test(
        "under tmux: t trains with live progress, History lists the run, q restores the terminal",
        .enabled(if: EndToEnd.shouldRun, "\(EndToEnd.missingPrerequisite ?? "")"), .timeLimit(.minutes(3)))
    func trainWatchFindAndQuitUnderTmux() async throws {
        if let missing = EndToEnd.missingPrerequisite {
            // Only reached with CI=true: a missing prerequisite fails instead of skipping.
            Issue.record("CI=true but the end-to-end prerequisite is missing: \(missing)")
            return
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("sonarlab-e2e-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let root = EndToEnd.repositoryRoot
        try fm.copyItem(at: root.appendingPathComponent("config.ini"), to: work.appendingPathComponent("config.ini"))
        try fm.copyItem(at: root.appendingPathComponent("themes"), to: work.appendingPathComponent("themes"))
        let data = root.appendingPathComponent("data/sonar.all-data").path
        let epochs = 30
        // The pane's shell records the terminal settings before and after the dashboard, and its exit code.
        let script = """
            cd '\(work.path)' || exit 1
            stty -g > stty-before.txt
            '\(EndToEnd.binary)' dashboard --config '\(work.path)/config.ini' --data '\(data)' --epochs \(epochs) 2> dashboard-stderr.txt
            echo $? > exit-code.txt
            stty -g > stty-after.txt
            sleep 60
            """
        try script.write(to: work.appendingPathComponent("run.sh"), atomically: true, encoding: .utf8)
        let tmux = TmuxSession()
        defer { tmux.kill() }
        #expect(tmux.start(width: 120, height: 40, command: "sh '\(work.path)/run.sh'"))

        let opened = await tmux.waitFor(seconds: 30) { $0.contains("1 Train") && $0.contains("No run yet.") }
        try #require(opened.ok, "the dashboard did not open:\n\(opened.screen)")
        #expect(opened.screen.contains("● reachable"))

        tmux.send("t")
        // Wait for a whole final frame (a capture can catch the terminal half-way through a redraw).
        let finished = await tmux.waitFor(seconds: 90) { screen in
            screen.contains("· finished ·") && screen.contains("final: validation accuracy")
                && screen.contains("epoch \(epochs)/\(epochs) ") && screen.contains(String(format: "%4d │", epochs))
                && screen.contains("Parameters")
        }
        try #require(finished.ok, "the run did not finish:\n\(finished.screen)")
        let screen = finished.screen
        #expect(screen.contains("epoch \(epochs)/\(epochs) "))
        #expect(screen.contains("100%"))
        #expect(screen.contains("epochs/s"))
        #expect(screen.contains("ETA 0:00"))
        // The final metrics are numbers in [0, 1] and the run says where it is recorded.
        let accuracy = screen.firstMatch(of: /final: validation accuracy (\d\.\d{3}) · macro-F1 (\d\.\d{3})/)
        let value = accuracy.flatMap { Double($0.1) }
        #expect(value.map { (0.5...1).contains($0) } == true, "no plausible final accuracy in:\n\(screen)")
        let idMatch = screen.firstMatch(of: /recorded in local SQLite \S+ as (\S+)/)
        let id = idMatch.map { String($0.1) }
        #expect(id != nil, "no experiment id on the Train screen:\n\(screen)")
        #expect(screen.contains(String(format: "%4d │", epochs)))  // the epoch log reached the last epoch

        tmux.send("2")
        // Wait for the whole History frame (a capture can catch the terminal half-way through a redraw).
        let history = await tmux.waitFor(seconds: 20) { screen in
            screen.contains("1 runs ·") && screen.contains("│  ID ") && !screen.contains("Epoch log")
                && (id.map { screen.contains($0) } ?? true)
        }
        try #require(history.ok, "History did not list the run:\n\(history.screen)")
        if let id { #expect(history.screen.contains(id), "History lacks \(id):\n\(history.screen)") }
        #expect(history.screen.contains("sonar"))

        tmux.send("q")
        let exitFile = work.appendingPathComponent("exit-code.txt")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !EndToEnd.isComplete(work.appendingPathComponent("stty-after.txt")) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let exitCode = (try? String(contentsOf: exitFile, encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let stderr =
            (try? String(contentsOf: work.appendingPathComponent("dashboard-stderr.txt"), encoding: .utf8)) ?? ""
        #expect(exitCode == "0", "exit code \(exitCode ?? "none"); stderr: \(stderr)")
        let before = try? String(contentsOf: work.appendingPathComponent("stty-before.txt"), encoding: .utf8)
        let after = try? String(contentsOf: work.appendingPathComponent("stty-after.txt"), encoding: .utf8)
        #expect(before != nil && before == after, "terminal settings changed: \(before ?? "-") → \(after ?? "-")")
    }

    @Test(
        "under tmux: after a run, r on the Tests screen runs the functional scenarios against its model, live",
        .enabled(if: EndToEnd.shouldRun, "\(EndToEnd.missingPrerequisite ?? "")"), .timeLimit(.minutes(3)))
    func testsScreenRunsTheScenarios() async throws {
        if let missing = EndToEnd.missingPrerequisite {
            Issue.record("CI=true but the end-to-end prerequisite is missing: \(missing)")
            return
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("sonarlab-e2e-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let root = EndToEnd.repositoryRoot
        try fm.copyItem(at: root.appendingPathComponent("config.ini"), to: work.appendingPathComponent("config.ini"))
        try fm.createDirectory(at: work.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try fm.copyItem(
            at: root.appendingPathComponent("tests/functional"), to: work.appendingPathComponent("tests/functional"))
        let scenarioCount = try fm.contentsOfDirectory(atPath: work.appendingPathComponent("tests/functional").path)
            .filter { $0.hasSuffix(".json") }.count
        let data = root.appendingPathComponent("data/sonar.all-data").path
        let script = """
            cd '\(work.path)' || exit 1
            '\(EndToEnd.binary)' dashboard --config '\(work.path)/config.ini' --data '\(data)' --epochs 40 2> dashboard-stderr.txt
            echo $? > exit-code.txt
            sleep 60
            """
        try script.write(to: work.appendingPathComponent("run.sh"), atomically: true, encoding: .utf8)
        let tmux = TmuxSession()
        defer { tmux.kill() }
        #expect(tmux.start(width: 120, height: 40, command: "sh '\(work.path)/run.sh'"))
        let opened = await tmux.waitFor(seconds: 30) { $0.contains("1 Train") && $0.contains("No run yet.") }
        try #require(opened.ok, "the dashboard did not open:\n\(opened.screen)")
        tmux.send("5")
        let empty = await tmux.waitFor(seconds: 20) { $0.contains("Press r to run the functional scenarios") }
        try #require(empty.ok, "the Tests screen did not say how to run the scenarios:\n\(empty.screen)")
        tmux.send("1")
        tmux.send("t")
        let finished = await tmux.waitFor(seconds: 90) { $0.contains("· finished ·") }
        try #require(finished.ok, "the run did not finish:\n\(finished.screen)")
        tmux.send("5")
        tmux.send("r")
        let done = await tmux.waitFor(seconds: 90) { screen in
            screen.contains("functional scenarios: ") && screen.contains(" of \(scenarioCount) passed")
                && !screen.contains("Running the functional scenarios")
        }
        try #require(done.ok, "the scenarios did not finish on the Tests screen:\n\(done.screen)")
        #expect(done.screen.contains("PASS"))
        // Each scenario was recorded as a `test` experiment, and the results file was written, as `sonarlab test` does.
        #expect(fm.fileExists(atPath: work.appendingPathComponent(".sonarlab/last-test-results.json").path))
        tmux.send("q")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !EndToEnd.isComplete(work.appendingPathComponent("exit-code.txt")) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let history = try await SonarLabProcess.runProcess(
            EndToEnd.binary, ["history", "--config", work.path + "/config.ini", "--json"], in: work.path)
        let tests = history.stdout.components(separatedBy: "\"kind\" : \"test\"").count - 1
        #expect(tests == scenarioCount, "\(history.stdout.prefix(400))")
    }

    @Test(
        "under tmux: SIGTERM or Ctrl-C while training cancels the run and restores the terminal",
        .enabled(if: EndToEnd.shouldRun, "\(EndToEnd.missingPrerequisite ?? "")"), .timeLimit(.minutes(3)),
        arguments: ["TERM", "HUP", "C-c"])
    func aSignalRestoresTheTerminal(signal: String) async throws {
        if let missing = EndToEnd.missingPrerequisite {
            Issue.record("CI=true but the end-to-end prerequisite is missing: \(missing)")
            return
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("sonarlab-e2e-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let root = EndToEnd.repositoryRoot
        try fm.copyItem(at: root.appendingPathComponent("config.ini"), to: work.appendingPathComponent("config.ini"))
        let data = root.appendingPathComponent("data/sonar.all-data").path
        let script = """
            cd '\(work.path)' || exit 1
            # Ctrl-C reaches the whole foreground group, this shell too: catch it so the script goes on.
            trap 'true' INT
            stty -g > stty-before.txt
            sh -c 'echo $$ > pid.txt; exec "$0" "$@"' '\(EndToEnd.binary)' dashboard --config '\(work.path)/config.ini' --data '\(data)' --epochs 100000
            echo $? > exit-code.txt
            stty -g > stty-after.txt
            sleep 60
            """
        try script.write(to: work.appendingPathComponent("run.sh"), atomically: true, encoding: .utf8)
        let tmux = TmuxSession()
        defer { tmux.kill() }
        #expect(tmux.start(width: 100, height: 30, command: "sh '\(work.path)/run.sh'"))
        let opened = await tmux.waitFor(seconds: 30) { $0.contains("1 Train") }
        try #require(opened.ok, "the dashboard did not open:\n\(opened.screen)")
        tmux.send("t")
        let running = await tmux.waitFor(seconds: 30) { $0.contains("· running ·") && $0.contains("epochs/s") }
        try #require(running.ok, "the run did not start:\n\(running.screen)")
        let pid = try String(contentsOf: work.appendingPathComponent("pid.txt"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if signal == "C-c" {
            tmux.send("C-c")  // typed: the terminal driver sends SIGINT
        } else {
            #expect(EndToEnd.run(["kill", "-\(signal)", pid]).status == 0)
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !EndToEnd.isComplete(work.appendingPathComponent("stty-after.txt")) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let before = try? String(contentsOf: work.appendingPathComponent("stty-before.txt"), encoding: .utf8)
        let after = try? String(contentsOf: work.appendingPathComponent("stty-after.txt"), encoding: .utf8)
        #expect(before != nil && before == after, "terminal settings changed: \(before ?? "-") → \(after ?? "-")")
        // Ctrl-C and signals leave with 130, like a cancelled headless run (q leaves with 0).
        let exitCode = try? String(contentsOf: work.appendingPathComponent("exit-code.txt"), encoding: .utf8)
        #expect(exitCode?.trimmingCharacters(in: .whitespacesAndNewlines) == "130", "exit code after \(signal)")
        // The run was cancelled between epochs and recorded as such.
        let history = EndToEnd.run(
            [EndToEnd.binary, "history", "--config", "\(work.path)/config.ini"], currentDirectory: work.path)
        #expect(history.output.contains("cancelled"), "history after SIGTERM:\n\(history.output)")
    }
}

extension DashboardEndToEndTests {
    @Test(
        "under tmux: a run on broken data fails on screen, the dashboard stays, q restores the terminal",
        .enabled(if: EndToEnd.shouldRun, "\(EndToEnd.missingPrerequisite ?? "")"), .timeLimit(.minutes(3)))
    func aFailingRunIsShownAndTheTerminalRestored() async throws {
        if let missing = EndToEnd.missingPrerequisite {
            Issue.record("CI=true but the end-to-end prerequisite is missing: \(missing)")
            return
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("sonarlab-e2e-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let root = EndToEnd.repositoryRoot
        try fm.copyItem(at: root.appendingPathComponent("config.ini"), to: work.appendingPathComponent("config.ini"))
        // The real data with its third row cut to 59 fields.
        var rows = try String(contentsOf: root.appendingPathComponent("data/sonar.all-data"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        rows[2] = rows[2].split(separator: ",").dropFirst(2).joined(separator: ",")
        let broken = work.appendingPathComponent("broken.csv")
        try rows.joined(separator: "\n").write(to: broken, atomically: true, encoding: .utf8)
        let script = """
            cd '\(work.path)' || exit 1
            stty -g > stty-before.txt
            '\(EndToEnd.binary)' dashboard --config '\(work.path)/config.ini' --data '\(broken.path)'
            echo $? > exit-code.txt
            stty -g > stty-after.txt
            sleep 60
            """
        try script.write(to: work.appendingPathComponent("run.sh"), atomically: true, encoding: .utf8)
        let tmux = TmuxSession()
        defer { tmux.kill() }
        #expect(tmux.start(width: 120, height: 40, command: "sh '\(work.path)/run.sh'"))
        let opened = await tmux.waitFor(seconds: 30) { $0.contains("1 Train") && $0.contains("No run yet.") }
        try #require(opened.ok, "the dashboard did not open:\n\(opened.screen)")
        tmux.send("t")
        let failed = await tmux.waitFor(seconds: 30) { $0.contains("failed:") && $0.contains("broken.csv:3") }
        #expect(failed.ok, "no failure naming the file and line on screen:\n\(failed.screen)")
        tmux.send("q")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !EndToEnd.isComplete(work.appendingPathComponent("stty-after.txt")) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let exitCode = try? String(contentsOf: work.appendingPathComponent("exit-code.txt"), encoding: .utf8)
        #expect(exitCode == "0\n")
        let before = try? String(contentsOf: work.appendingPathComponent("stty-before.txt"), encoding: .utf8)
        let after = try? String(contentsOf: work.appendingPathComponent("stty-after.txt"), encoding: .utf8)
        #expect(before != nil && before == after, "terminal settings changed: \(before ?? "-") → \(after ?? "-")")
    }
}
