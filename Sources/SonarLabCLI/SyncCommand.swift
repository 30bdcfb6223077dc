import ArgumentParser
import Engine
import Foundation
import HBase
import Tracking

/// `sonarlab sync`: delivers the HBase writes queued in the outbox while HBase was unreachable.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Send the HBase writes queued in the outbox (exit 0 once it is empty).",
        discussion: """
            When HBase is unreachable or answers 5xx, `train --backend hbase`, `cv`, `test`, `dataset load` and \
            `predict --store hbase` keep their writes, in order, in <[tracking] dir>/hbase-outbox.sqlite and go \
            on; the queue drains by itself when a later command reaches HBase. `sync` drains it now, in order, \
            to the gateway named by SONARLAB_HBASE_URL (entries queued for another gateway are never sent there). \
            Every write carries its own cell timestamps, so sending one twice changes nothing.

            Exit codes: 0 the outbox is empty; 1 writes are still queued, with the reason: HBase unreachable, \
            HBase refused them (401/403: fix the credentials or grants; 404: run `sonarlab hbase init`), entries \
            for another gateway, or another sonarlab process kept the outbox busy for --wait seconds.

            Examples:
              sonarlab sync
              sonarlab sync --json | jq .queued
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp(
            "Seconds to wait for another sonarlab process that is sending the same outbox.", valueName: "seconds"))
    var wait: Double = 30

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func validate() throws {
        guard wait >= 0, wait.isFinite else { throw ValidationError("--wait must be a number of seconds ≥ 0") }
    }

    func run() async throws {
        let context = try CommandContext(global: global, flags: [:])
        let client = try context.makeHBaseClient()
        let writer = try context.makeHBaseWriter(client: client)
        let started = ContinuousClock.now
        // Ctrl-C or SIGTERM cancels the delivery between requests: what was sent is removed from the outbox,
        // the rest stays queued (an entry is only removed after HBase acknowledged it).
        let delivering = Task {
            await writer.deliver(waitingForLockUpTo: .milliseconds(Int64(wait * 1000)), retryRefused: true)
        }
        let trap = SignalTrap(notice: "\nstopping the delivery; what is not sent stays queued…") {
            delivering.cancel()
        }
        let delivery = await delivering.value
        trap.release()
        if delivering.isCancelled {
            let left = (try? await writer.outbox.count(cluster: writer.cluster)).map(String.init) ?? "the rest"
            try? await client.shutdown()
            printError(
                "sync interrupted: sent \(delivery.sentEntries) queued writes; \(left) still queued in "
                    + "\(writer.outbox.path) — run `sonarlab sync` again")
            throw ExitCode(ExitCodes.cancelled)
        }
        let elapsedDuration = ContinuousClock.now - started
        let elapsed =
            Double(elapsedDuration.components.seconds) + Double(elapsedDuration.components.attoseconds) / 1e18
        try? await client.shutdown()
        let others = delivery.otherClusters.filter { $0.value > 0 }
        var reasons: [String] = []
        if delivery.lockWasBusy {
            reasons.append(
                "another sonarlab process kept the outbox busy for \(wait) s (\(delivery.pending.count) writes queued); "
                    + "try again")
        } else if delivery.pending.count > 0 {
            let summary = delivery.pending.summary ?? "\(delivery.pending.count) writes still queued"
            reasons.append(summary + (delivery.pending.reason.map { ": \($0)" } ?? ""))
        }
        if !others.isEmpty {
            let list = others.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            reasons.append(
                "writes queued for another HBase gateway are not sent to \(writer.cluster): \(list); run "
                    + "`sonarlab sync` with SONARLAB_HBASE_URL set to that gateway")
        }
        if json {
            let reason: Any = reasons.isEmpty ? NSNull() : reasons.joined(separator: "; ")
            printText(
                try jsonText(
                    [
                        "cluster": writer.cluster, "outbox": writer.outbox.path,
                        "sent_writes": delivery.sentEntries, "sent_rows": delivery.sentRows,
                        "queued": delivery.pending.count, "refused": delivery.pending.isBlocked,
                        "reason": reason,
                        "other_clusters": others, "seconds": elapsed,
                    ] as [String: Any]))
        } else {
            printText(
                "sent \(delivery.sentEntries) queued \(delivery.sentEntries == 1 ? "write" : "writes") "
                    + "(\(delivery.sentRows) rows) to \(writer.cluster) in \(PlainNumber.format("%.2f", elapsed)) s")
            if reasons.isEmpty { printText("outbox empty (\(writer.outbox.path))") }
        }
        guard reasons.isEmpty else {
            // An expired Kerberos ticket is exit 75 like everywhere else: kinit, then sync again.
            let expired = delivery.pending.refusal == HBaseError.credentialsExpired
            throw CommandFailure(
                message: "sync: " + reasons.joined(separator: "; "),
                exitCode: expired ? ExitCodes.ticketExpired : ExitCodes.failure)
        }
    }
}
