import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import TUI
import Tracking

/// `sonarlab` with no subcommand: the main job.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "The main job: the dashboard on a terminal; otherwise train with live progress, then list the history.",
        discussion: "This is what `sonarlab` with no subcommand and `make run` do."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Run name.", valueName: "name"))
    var name: String = "sonar"

    func run() async throws {
        try validateRunName(name)
        let context = try CommandContext(global: global, flags: training.flags.merging(store.flags) { $1 })
        if DashboardCommand.isInteractive {
            if let reason = Dashboard.unsupportedTerminalReason(term: context.environment["TERM"]) {
                // A dumb or unknown terminal gets a blank curses screen: train headless instead, and say why.
                printError("note: \(reason), so no dashboard: training headless (set TERM, e.g. xterm-256color)")
            } else {
                try await DashboardCommand.open(context: context, global: global, runName: name)
                return
            }
        }
        let recorded = try await TrainCommand.train(context: context, name: name)
        printText(block: TrainCommand.summaryText(recorded))
        printText("")
        let store = try context.openStore()
        let runs = try await store.experiments(limit: 10)
        printText("latest runs in \(store.location):")
        printText(block: HistoryCommand.table(runs, staleness: context.staleness))
        if recorded.outcome.experiment.status == .cancelled { throw ExitCode(ExitCodes.cancelled) }
        try TrainCommand.requireRecorded(recorded)
    }
}
