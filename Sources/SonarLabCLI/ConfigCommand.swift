import ArgumentParser
import Engine
import Foundation
import Logging
import Settings
import Tracking

/// `sonarlab config`: effective configuration and where each value came from.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show every configuration key, its effective value and its source.",
        discussion: "Precedence: flags > environment (SONARLAB_<SECTION>_<KEY>) > config.ini > built-in defaults."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let context = try CommandContext(global: global, flags: training.flags.merging(store.flags) { $1 })
        let rows = context.resolved.table
        let width = rows.map(\.key.count).max() ?? 0
        let valueWidth = rows.map(\.value.count).max() ?? 0
        for row in rows {
            printText(
                row.key.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + row.value.padding(toLength: valueWidth, withPad: " ", startingAt: 0) + "  "
                    + row.source.description)
        }
    }
}
