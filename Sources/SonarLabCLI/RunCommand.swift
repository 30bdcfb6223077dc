import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// `sonarlab` with no subcommand: the main job.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The main job: the dashboard on a terminal; otherwise train with live progress, then list the history.",
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
            try await DashboardCommand.open(context: context, global: global, runName: name)
            return
        }
        let recorded = try await TrainCommand.train(context: context, name: name)
        print(TrainCommand.summaryText(recorded))
        print("")
        let store = try context.openStore()
        let runs = try await store.experiments(limit: 10)
        print("latest runs in \(store.location):")
        print(HistoryCommand.table(runs, staleness: context.staleness))
        if recorded.outcome.experiment.status == .cancelled { throw ExitCode(ExitCodes.cancelled) }
        try TrainCommand.requireRecorded(recorded)
    }
}
