import ArgumentParser
import Engine
import Foundation
import HBase
import Settings
import Tracking

/// `sonarlab outbox`: look at and clean the durable queue of HBase writes (`<[tracking] dir>/hbase-outbox.sqlite`).
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List or drop the HBase writes queued in the outbox.",
        discussion: """
            HBase writes are kept in <[tracking] dir>/hbase-outbox.sqlite until the gateway they were made for \
            accepts them (`sonarlab sync` sends them). Each entry belongs to one gateway, named by its normalised \
            URL (scheme://host:port/path; the loopback names are one host). Entries for a gateway \
            that is gone for good (a mistyped SONARLAB_HBASE_URL, a torn-down test stack) or writes HBase keeps \
            refusing can be listed and dropped here. Nothing here contacts HBase.

            Examples:
              sonarlab outbox list
              sonarlab outbox list --json | jq '.entries[].gateway'
              sonarlab outbox drop --gateway "$OLD_GATEWAY_URL" --yes
              sonarlab outbox drop --entry 42
              sonarlab outbox drop --refused --yes
            """,
        subcommands: [OutboxListCommand.self, OutboxDropCommand.self])
}

/// `sonarlab outbox list`: every queued write, oldest first.
struct OutboxListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the queued HBase writes, oldest first, with their gateway and last error.",
        discussion: """
            Columns: ENTRY (the number `outbox drop --entry` takes), GATEWAY, TABLE, ROWS, ORIGIN (the experiment \
            id, `dataset load` or `predict`), QUEUED (UTC), TRIES (failed sends), STATE (`waiting`, or `refused` \
            when HBase refused the last send: 401, 403, 404, other 4xx), LAST ERROR. With SONARLAB_HBASE_URL set, \
            entries for other gateways are marked `(other gateway)`. Creates no file when nothing was ever queued.

            --json prints {"outbox", "current_gateway", "entries": [{"entry", "gateway", "table", "rows", \
            "origin", "queued_at", "attempts", "refused", "last_error", "is_current_gateway"}]}.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON object on standard output.")
    var json = false

    func run() async throws {
        let context = try CommandContext(global: global, flags: [:])
        let path = context.outboxPath
        let entries = try await context.existingOutbox()?.summaries() ?? []
        let current = context.currentGateway
        if json {
            let iso = ISO8601DateFormatter()
            let objects: [[String: Any]] = entries.map { e in
                [
                    "entry": Int(e.sequence), "gateway": e.cluster, "table": e.table, "rows": e.rowCount,
                    "origin": e.origin,
                    "queued_at": iso.string(from: e.enqueuedAt), "attempts": e.attempts, "refused": e.isRefused,
                    "last_error": e.lastError ?? NSNull(),
                    "is_current_gateway": current.map { $0 == e.cluster } ?? NSNull(),
                ]
            }
            print(
                try jsonText(
                    ["outbox": path, "current_gateway": current ?? NSNull(), "entries": objects] as [String: Any]))
            return
        }
        guard !entries.isEmpty else {
            printText("outbox empty (\(path))")
            return
        }
        print(Self.table(entries, current: current))
        let rows = entries.reduce(0) { $0 + $1.rowCount }
        let gateways = Set(entries.map(\.cluster)).count
        print(
            "\(entries.count) \(entries.count == 1 ? "write" : "writes") (\(rows) rows) for \(gateways) "
                + "\(gateways == 1 ? "gateway" : "gateways") in \(TerminalText.escape(path))")
    }

    /// The entries as a text table (values from the outbox escaped for the terminal).
    static func table(_ entries: [HBaseOutboxSummary], current: String?) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var rows = [["ENTRY", "GATEWAY", "TABLE", "ROWS", "ORIGIN", "QUEUED", "TRIES", "STATE", "LAST ERROR"]]
        for e in entries {
            let other = current.map { $0 != e.cluster } ?? false
            rows.append([
                String(e.sequence), TerminalText.escape(e.cluster) + (other ? " (other gateway)" : ""),
                TerminalText.escape(e.table),
                String(e.rowCount), TerminalText.escape(e.origin), formatter.string(from: e.enqueuedAt),
                String(e.attempts),
                e.isRefused ? "refused" : "waiting",
                e.lastError.map { TerminalText.escape(String($0.prefix(120))) } ?? "-",
            ])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

/// `sonarlab outbox drop`: removes queued writes without sending them.
struct OutboxDropCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop",
        abstract: "Remove queued HBase writes without sending them (they are lost for HBase).",
        discussion: """
            Choose exactly one of --gateway URL (every write queued for that gateway; the URL is normalised like \
            the outbox's keys: the loopback names of one port are one gateway), --entry N (one write, \
            N from `sonarlab outbox list`) or --refused (every write for a gateway and table that HBase refused on the \
            last send: 401, 403, 404, other 4xx; the writes queued behind it would get the same answer). It lists \
            what it drops first. Without --yes it asks on a terminal, and refuses (exit 2) when standard input is \
            not a terminal. The run folders under experiments/ keep every run's data either way.

            Exit codes: 0 dropped (or nothing matched --refused, or you answered no); 2 bad input: no selector or \
            more than one, a URL that is not http(s)://host[:port], an unknown --entry, no entry for --gateway, \
            or no --yes without a terminal.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Drop every write queued for this gateway URL.", valueName: "url"))
    var gateway: String?

    @Option(help: ArgumentHelp("Drop one write, by its ENTRY number in `sonarlab outbox list`.", valueName: "n"))
    var entry: Int64?

    @Flag(help: "Drop the writes for each gateway and table that HBase refused (401, 403, 404, other 4xx).")
    var refused = false

    @Flag(help: "Do not ask; needed when standard input is not a terminal.")
    var yes = false

    func validate() throws {
        let chosen = [gateway != nil, entry != nil, refused].filter { $0 }.count
        guard chosen == 1 else {
            throw ValidationError("choose exactly one of --gateway URL, --entry N or --refused")
        }
    }

    func run() async throws {
        let context = try CommandContext(global: global, flags: [:])
        let selection = try self.selection()
        guard let outbox = try await context.existingOutbox() else {
            print("nothing to drop: no outbox at \(TerminalText.escape(context.outboxPath))")
            return
        }
        let all = try await outbox.summaries()
        let chosen = selection.select(from: all)
        guard !chosen.isEmpty else {
            switch selection {
            case .refused:
                print("nothing to drop: no refused write in \(TerminalText.escape(outbox.path))")
                return
            case .entry(let n):
                throw CommandFailure.badInput(
                    "--entry \(n): no such entry in \(TerminalText.escape(outbox.path)) (see `sonarlab outbox list`)")
            case .cluster(let key):
                let queued = Set(all.map(\.cluster)).sorted().map { TerminalText.escape($0) }.joined(separator: ", ")
                throw CommandFailure.badInput(
                    "--gateway '\(TerminalText.escape(gateway ?? key))': no write is queued for \(TerminalText.escape(key))"
                        + (queued.isEmpty ? "" : "; queued gateways: \(queued)"))
            }
        }
        let rows = chosen.reduce(0) { $0 + $1.rowCount }
        let what = "\(chosen.count) queued \(chosen.count == 1 ? "write" : "writes") (\(rows) rows)"
        print("to drop from \(TerminalText.escape(outbox.path)):")
        print(OutboxListCommand.table(chosen, current: nil))
        if !yes {
            guard isatty(STDIN_FILENO) == 1 else {
                throw CommandFailure.badInput(
                    "refusing to drop \(what) without --yes: standard input is not a terminal, so nobody can confirm; "
                        + "run again with --yes")
            }
            FileHandle.standardError.write(Data("drop \(what)? They will never reach HBase. [y/N] ".utf8))
            let answer = (readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            guard answer == "y" || answer == "yes" else {
                print("nothing dropped")
                return
            }
        }
        try await outbox.remove(chosen.map(\.sequence))
        try await outbox.compactIfEmpty()
        let left = all.count - chosen.count
        print("dropped \(what); \(left) still queued")
    }

    /// The selector as an outbox selection.
    /// - Throws: ``CommandFailure`` (exit 2) for a gateway that is not an `http(s)://host[:port][/path]` URL.
    func selection() throws -> HBaseOutboxSelection {
        if let entry { return .entry(entry) }
        if refused { return .refused }
        let text = gateway ?? ""
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw CommandFailure.badInput(
                "--gateway '\(TerminalText.escape(text))': not a gateway URL; expected http(s)://host[:port][/path] as in "
                    + "`sonarlab outbox list`")
        }
        return .cluster(HBaseOutbox.clusterKey(for: url))
    }
}

extension CommandContext {
    /// `<[tracking] dir>/hbase-outbox.sqlite`.
    var outboxPath: String {
        (configuration.tracking.directory as NSString).appendingPathComponent(HBaseOutbox.fileName)
    }

    /// The outbox when its file exists; never creates the tracking folder or the file.
    /// - Throws: ``CommandFailure`` when the file exists but cannot be opened.
    func existingOutbox() throws -> HBaseOutbox? {
        do {
            return try HBaseOutbox.existing(inDirectory: configuration.tracking.directory)
        } catch {
            throw CommandFailure.failed("cannot open the HBase outbox \(TerminalText.escape(outboxPath)): \(error)")
        }
    }

    /// The cluster key of SONARLAB_HBASE_URL, or `nil` when it is not set or not valid.
    var currentGateway: String? {
        (try? HBaseConnectionSettings(environment: environment)).map { HBaseOutbox.clusterKey(for: $0.url) }
    }
}
