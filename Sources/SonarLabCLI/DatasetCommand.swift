import ArgumentParser
import Engine
import Foundation
import HBase
import Settings
import Tracking

/// `sonarlab dataset`: the prepared train and validation rows in HBase.
struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Store the prepared train/validation rows in HBase and read them back.",
        subcommands: [Load.self, Show.self])

    /// The configured data file's split as dataset records.
    static func records(_ context: CommandContext) throws -> (fingerprint: String, records: [DatasetRecord]) {
        let loaded = try context.loadData()
        let config = context.configuration
        let split = StratifiedSplit.split(
            labels: loaded.dataset.labels, testSize: config.split.testSize, seed: config.split.seed)
        func make(_ indices: [Int], _ part: DatasetSplit) -> [DatasetRecord] {
            indices.enumerated().map { position, row in
                DatasetRecord(
                    split: part, index: position, features: loaded.dataset.features.row(row),
                    label: loaded.dataset.labels[row], line: loaded.lineNumbers[row])
            }
        }
        return (loaded.fingerprint, make(split.train, .train) + make(split.validation, .validation))
    }

    /// `sonarlab dataset load`: writes every split row (idempotent: a second load writes the same cells).
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "load", abstract: "Write the train and validation rows of the configured data to HBase.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global: global, flags: [:])
            let (fingerprint, records) = try DatasetCommand.records(context)
            let client = try context.makeHBaseClient()
            let writer = try context.makeHBaseWriter(client: client)
            do {
                try await HBaseDatasetStore(client: client, layout: context.hbaseLayout, writer: writer).write(
                    records, fingerprint: fingerprint)
            } catch let error as HBaseError {
                try? await client.shutdown()
                throw CommandFailure.hbase("dataset load", error)
            }
            let delivery = await writer.deliver(waitingForLockUpTo: .seconds(10))
            try? await client.shutdown()
            let train = records.filter { $0.split == .train }.count
            printText(
                "\(delivery.pending.count == 0 ? "wrote" : "queued") \(records.count) rows (train \(train), validation \(records.count - train)) to \(context.hbaseLayout.datasets.qualified) for sha256 \(fingerprint)"
            )
            try CommandContext.reportPending(delivery.pending, command: "dataset load")
        }
    }

    /// `sonarlab dataset show`: reads the rows back and checks them against the configured data file.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Read the stored rows back and check them against the data file's fingerprint.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global: global, flags: [:])
            let (fingerprint, expected) = try DatasetCommand.records(context)
            let client = try context.makeHBaseClient()
            let stored: [DatasetRecord]
            do {
                stored = try await HBaseDatasetStore(client: client, layout: context.hbaseLayout).records(
                    fingerprint: fingerprint)
                try? await client.shutdown()
            } catch let error as HBaseError {
                try? await client.shutdown()
                throw CommandFailure.hbase("dataset show", error)
            }
            let train = stored.filter { $0.split == .train }.count
            printText(
                "\(stored.count) rows (train \(train), validation \(stored.count - train)) in \(context.hbaseLayout.datasets.qualified) for sha256 \(fingerprint)"
            )
            guard !stored.isEmpty else {
                throw CommandFailure.failed("no rows for this data; run `sonarlab dataset load`")
            }
            guard stored == expected else {
                throw CommandFailure.failed(
                    "the stored rows differ from \(context.configuration.data.path) (sha256 \(fingerprint))")
            }
            printText("fingerprint ok: the stored rows match \(context.configuration.data.path)")
        }
    }
}
