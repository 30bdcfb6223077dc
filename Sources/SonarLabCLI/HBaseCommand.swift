import ArgumentParser
import Foundation
import HBase
import Settings
import Tracking

extension CommandContext {
    /// The `[hbase]` table names as a Tracking layout.
    var hbaseLayout: HBaseTrackingLayout {
        let h = configuration.hbase
        return HBaseTrackingLayout(
            namespace: h.namespace, experimentsTable: h.experimentsTable, datasetsTable: h.datasetsTable,
            predictionsTable: h.predictionsTable)
    }

    /// The durable writer of this command's HBase writes: the outbox `<[tracking] dir>/hbase-outbox.sqlite`.
    /// - Parameter client: The client whose gateway receives the writes.
    /// - Returns: The writer.
    /// - Throws: ``CommandFailure`` when the outbox cannot be opened.
    func makeHBaseWriter(client: HBaseClient) throws -> HBaseOutboxWriter {
        let outbox: HBaseOutbox
        do {
            outbox = try HBaseOutbox.inDirectory(configuration.tracking.directory)
        } catch {
            throw CommandFailure.failed(
                "cannot open the HBase outbox in \(configuration.tracking.directory): \(error)")
        }
        return HBaseOutboxWriter(outbox: outbox, client: client, identity: hbaseIdentity)
    }

    /// Who HBase sees, for messages: `principal trainer`, `user alice`, `no authentication` (never a secret).
    var hbaseIdentity: String {
        guard let connection = try? HBaseConnectionSettings(environment: environment) else { return "this client" }
        switch connection.auth {
        case .none: return "the unauthenticated client"
        case .basic: return "user '\(connection.user ?? "?")'"
        case .kerberos: return "principal '\(connection.principal ?? "from the ticket cache")'"
        }
    }

    /// Tells the user about writes still queued at the end of a command: a warning line on standard error
    /// when HBase was unreachable, or a failure (exit 1) when HBase refused them.
    /// - Parameters:
    ///   - pending: What is still queued.
    ///   - command: The command, for the message.
    /// - Throws: ``CommandFailure`` when HBase refused the writes (401, 403, 404, …).
    static func reportPending(_ pending: PendingWrites, command: String) throws {
        if pending.isBlocked {
            if pending.refusal == HBaseError.credentialsExpired {
                throw CommandFailure(
                    message: "\(command): \(pending.reason ?? "Kerberos ticket expired; run kinit")",
                    exitCode: ExitCodes.ticketExpired)
            }
            throw CommandFailure.failed("\(command): \(pending.reason ?? "HBase refused the writes")")
        }
        if let summary = pending.summary {
            printError(
                "warning: \(summary) (\(pending.reason ?? "no answer")); they are kept and sent when HBase is back: "
                    + "run `sonarlab sync`")
        } else if pending.count > 0 {
            printError("note: \(pending.count) HBase writes are queued behind another sonarlab process sending them")
        }
    }

    /// An HBase client for the gateway named by the environment (``HBaseConnectionSettings``).
    ///
    /// The client lives for the rest of the process.
    /// - Throws: ``SettingsError`` for a missing or unsafe address or credentials; ``CommandFailure`` for an
    ///   auth kind this build cannot do yet.
    func makeHBaseClient() throws -> HBaseClient {
        let connection = try HBaseConnectionSettings(environment: environment)
        let authenticator: any HBaseAuthenticator
        switch connection.auth {
        case .none:
            authenticator = HBaseNoAuthenticator()
        case .basic:
            guard let user = connection.user, let password = connection.password else {
                throw CommandFailure.badInput("basic auth needs SONARLAB_HBASE_USER and SONARLAB_HBASE_PASSWORD")
            }
            authenticator = HBaseBasicAuthenticator(user: user, password: password.revealed)
        case .kerberos:
            // The keytab (when given) is read by GSSAPI into a private in-memory ticket cache; without it the
            // ticket cache (KRB5CCNAME, e.g. from kinit) is used.
            authenticator = HBaseKerberosAuthenticator(
                principal: connection.principal,
                keytab: environment["KRB5_CLIENT_KTNAME"].flatMap { $0.isEmpty ? nil : $0 },
                servicePrincipal: connection.servicePrincipal)
        }
        let timeout = Duration.milliseconds(Int64(configuration.hbase.timeoutSeconds * 1000))
        let client = HBaseClientConfiguration(
            baseURL: connection.url,
            timeouts: .init(connect: min(timeout, .seconds(5)), read: timeout, request: timeout),
            authenticator: authenticator,
            tls: .init(caFile: connection.caFile),
            allowsCredentialsOverLoopbackHTTP: connection.allowPlainHTTP
        )
        do {
            return try HBaseClient(configuration: client, logger: logger)
        } catch let error as HBaseError {
            throw CommandFailure.badInput("HBase: \(error.message)")
        }
    }
}

/// `sonarlab hbase`: prepare and check the HBase store.
struct HBaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hbase",
        abstract: "Prepare and check the HBase store (address and credentials from the environment).",
        subcommands: [Init.self, Status.self])

    /// `sonarlab hbase init`: namespace and tables, idempotent.
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create the namespace and tables if missing (safe to run again).")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global: global, flags: [:])
            let client = try context.makeHBaseClient()
            let layout = context.hbaseLayout
            do {
                let created = try await layout.ensure(using: client)
                try? await client.shutdown()
                printText(
                    created.isEmpty
                        ? "HBase store already initialised (\(layout.namespace))"
                        : "created " + created.joined(separator: ", "))
            } catch let error as HBaseError {
                try? await client.shutdown()
                throw CommandFailure.hbase("hbase init", error)
            }
        }
    }

    /// `sonarlab hbase status`: cluster version and tables.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the HBase version and whether SonarLab's tables exist.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global: global, flags: [:])
            let client = try context.makeHBaseClient()
            do {
                let status = try await context.hbaseLayout.status(using: client)
                try? await client.shutdown()
                printText("HBase \(status.clusterVersion)")
                for (table, exists) in status.tables.sorted(by: { $0.key < $1.key }) {
                    printText("  \(table): \(exists ? "present" : "missing")")
                }
                if !status.isInitialized { throw CommandFailure.failed("tables missing; run `sonarlab hbase init`") }
            } catch let error as HBaseError {
                try? await client.shutdown()
                throw CommandFailure.hbase("hbase status", error)
            }
        }
    }
}
