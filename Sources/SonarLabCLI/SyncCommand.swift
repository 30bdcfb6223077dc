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
            to the gateway named by SONARLAB_HBASE_URL. Every write carries its own cell timestamps, so sending \
            one twice changes nothing.

            Entries queued for another gateway (a mistyped URL, a torn-down test stack) are never sent there: \
            `sync` lists them with a warning and still exits 0 (with --strict: 1). Deliver them with \
            SONARLAB_HBASE_URL set to that gateway, or remove them with `sonarlab outbox drop --gateway URL`. \
            the loopback names (localhost, the IPv4 and IPv6 loopback addresses) of one port are one gateway.

            Exit codes: 0 nothing is queued for this gateway; 1 writes for it are still queued, with the reason: \
            HBase unreachable, HBase refused them (401/403: fix the credentials or grants; 404: run `sonarlab hbase \
            init`), or another sonarlab process kept the outbox busy for --wait seconds; with --strict also when \
            entries for other gateways are queued; 75 the Kerberos ticket expired and no keytab can renew it (run \
            kinit, then sync again: nothing was lost); 130 interrupted (what was not sent stays queued).

            Examples:
              sonarlab sync
              sonarlab sync --strict
              sonarlab sync --json | jq .queued
              sonarlab outbox list
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp(
            "Seconds to wait for another sonarlab process that is sending the same outbox.", valueName: "seconds"))
    var wait: Double = 30

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    @Flag(help: "Exit 1 when writes for other HBase gateways are queued (by default they are only listed).")
    var strict = false

    func validate() throws {
        guard wait >= 0, wait.isFinite else { throw ValidationError("--wait must be a number of seconds ≥ 0") }
    }

    func run() async throws {
        let context = try CommandContext(global: global, flags: [:])
        let client = try context.makeHBaseClient()
        let path = context.outboxPath
        guard FileManager.default.fileExists(atPath: path) else {
            // Nothing was ever queued here: say so without creating the tracking folder or an outbox file.
            try? await client.shutdown()
            let cluster = HBaseOutbox.clusterKey(for: client.configuration.baseURL)
            if json {
                print(
                    try jsonText(
                        [
                            "cluster": cluster, "outbox": path, "sent_writes": 0, "sent_rows": 0, "queued": 0,
                            "refused": false, "reason": NSNull(), "other_clusters": [String: Int](), "seconds": 0,
                        ] as [String: Any]))
            } else {
                printText("nothing queued: no outbox at \(path)")
            }
            return
        }
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
        var warnings: [String] = []
        if !others.isEmpty {
            let list = others.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            let text =
                "writes queued for other HBase gateways are not sent to \(writer.cluster): \(list); run "
                + "`sonarlab sync` with SONARLAB_HBASE_URL set to that gateway, or drop them with "
                + "`sonarlab outbox drop --gateway URL` (see `sonarlab outbox list`)"
            if strict { reasons.append(text) } else { warnings.append(text) }
        }
        if json {
            let reason: Any = reasons.isEmpty ? NSNull() : reasons.joined(separator: "; ")
            let warning: Any = warnings.isEmpty ? NSNull() : warnings.joined(separator: "; ")
            print(
                try jsonText(
                    [
                        "cluster": writer.cluster, "outbox": writer.outbox.path,
                        "sent_writes": delivery.sentEntries, "sent_rows": delivery.sentRows,
                        "queued": delivery.pending.count, "refused": delivery.pending.isBlocked,
                        "reason": reason, "warning": warning,
                        "other_clusters": others, "seconds": elapsed,
                    ] as [String: Any]))
        } else {
            printText(
                "sent \(delivery.sentEntries) queued \(delivery.sentEntries == 1 ? "write" : "writes") "
                    + "(\(delivery.sentRows) rows) to \(writer.cluster) in \(PlainNumber.format("%.2f", elapsed)) s")
            if reasons.isEmpty {
                printText(
                    others.isEmpty
                        ? "outbox empty (\(writer.outbox.path))"
                        : "nothing left for \(writer.cluster) (\(writer.outbox.path))")
            }
        }
        for warning in warnings { printError("warning: sync: " + warning) }
        guard reasons.isEmpty else {
            // An expired Kerberos ticket is exit 75 like everywhere else: kinit, then sync again.
            let expired = delivery.pending.refusal == HBaseError.credentialsExpired
            throw CommandFailure(
                message: "sync: " + reasons.joined(separator: "; "),
                exitCode: expired ? ExitCodes.ticketExpired : ExitCodes.failure)
        }
    }
}
