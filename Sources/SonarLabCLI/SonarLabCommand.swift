// SonarLabCLI: the `sonarlab` command line — argument parsing (swift-argument-parser) and wiring only.
//
// Each subcommand resolves the configuration (Settings), loads data (Engine), and runs or reads
// experiments (Tracking). Errors become exit codes in `mainWithExitCodes()`: 0 success, 1 a failed run or
// threshold, 2 bad input or configuration (the message names file, line and field), 75 the Kerberos ticket
// expired (run kinit; queued writes stay queued), 130 cancelled.
//
// May import: Engine, Settings, Tracking, HBase, TUI, ArgumentParser, Logging. Start at `SonarLabCommand`.
public import ArgumentParser
import Engine
import HBase
import Tracking
import Foundation
import Logging
import Settings
import Sweep

/// The root command, `sonarlab`.
public struct SonarLabCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sonarlab",
        abstract: "Train, track and ship a small MLP on the UCI Sonar data (rocks vs mines).",
        discussion: """
            Every train, cv and test run is an experiment, recorded in the configured store (embedded SQLite by \
            default) and in a folder experiments/exp_<name>_<timestamp>/ with its log, exp_config.yaml and model.

            Configuration: flags > environment (SONARLAB_<SECTION>_<KEY>) > config.ini > built-in defaults. \
            `sonarlab config` shows every effective value and where it came from.

            Exit codes: 0 success, 1 a failed run, 2 bad input or configuration, 75 the Kerberos ticket expired \
            (run kinit, then `sonarlab sync`), 130 cancelled.
            """,
        subcommands: [
            RunCommand.self, PrepareCommand.self, TrainCommand.self, CrossValidateCommand.self,
            HistoryCommand.self, ShowCommand.self, PredictCommand.self, TestCommand.self, ExportCommand.self,
            ReportCommand.self, MakeScenariosCommand.self, ConfigCommand.self, HBaseCommand.self, DatasetCommand.self,
            SyncCommand.self, OutboxCommand.self, DashboardCommand.self, ServeCommand.self, SweepGroup.self,
        ],
        defaultSubcommand: RunCommand.self
    )

    public init() {}

    /// Parses the process arguments, runs the command and exits with SonarLab's exit codes.
    ///
    /// Argument errors exit 2 (not swift-argument-parser's 64), like every other bad input.
    public static func mainWithExitCodes(_ arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            try ConfigurationSaveOnSuccess.shared.commit()
            Foundation.exit(0)
        } catch {
            Foundation.exit(report(error))
        }
    }

    /// Prints an error for people and returns its exit code.
    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as DataError:
            printError(lines: error.lines.enumerated().map { $0.offset == 0 ? "error: " + $0.element : $0.element })
            return ExitCodes.badInput
        case let error as SettingsError:
            printError("error: \(error)")
            return ExitCodes.badInput
        case let error as SweepError:
            printError("error: \(error)")
            return ExitCodes.badInput
        case let error as CommandFailure:
            printError("error: \(error.message)")
            return error.exitCode
        case let error as HBaseError:
            // Reads (history, show, dataset show, the dashboard's listing) need HBase itself; say what to check.
            printError("error: HBase: \(error.message)\(Self.hint(for: error))")
            return error == HBaseError.credentialsExpired ? ExitCodes.ticketExpired : ExitCodes.failure
        default:
            let code = exitCode(for: error).rawValue
            if code == ExitCode.success.rawValue {
                let message = fullMessage(for: error)
                if !message.isEmpty { print(message) }
                return 0
            }
            // The usage text is ours and spans lines; the error line quotes the arguments, which may hold line
            // breaks: only that part is escaped as one line.
            let message = fullMessage(for: error)
            if !message.isEmpty { printError(lines: usageLines(message, quoting: Self.message(for: error))) }
            // Usage errors (64) are bad input like any other.
            return code == ExitCode.validationFailure.rawValue ? ExitCodes.badInput : code
        }
    }
}

extension SonarLabCommand {
    /// What to check for an HBase error that reached the command line (never a secret).
    static func hint(for error: HBaseError) -> String {
        switch error {
        case HBaseError.transport, HBaseError.timeout, HBaseError.unavailable:
            return " — is the gateway in SONARLAB_HBASE_URL up? (`sonarlab hbase status`; writes would have been "
                + "queued, reads need HBase)"
        case HBaseError.unauthorized:
            return " — check SONARLAB_HBASE_AUTH and the keytab or ticket (KRB5_CLIENT_KTNAME, kinit) or the Basic user"
        case HBaseError.forbidden:
            return " — the principal needs read access ('R') to the sonarlab tables: ask for a grant"
        case HBaseError.tableNotFound, HBaseError.namespaceNotFound:
            return " — run `sonarlab hbase init`"
        case HBaseError.untrustedCertificate, HBaseError.certificateNotValid:
            return ""  // the message already names SONARLAB_HBASE_CA_FILE or the certificate's dates
        case HBaseError.credentialsUnavailable, HBaseError.credentialsExpired, HBaseError.mutualAuthenticationFailed:
            return ""  // the message already names the cache or keytab problem and what to run
        default:
            return ""
        }
    }
}

/// SonarLab's exit codes.
enum ExitCodes {
    /// A run failed or a threshold was not met.
    static let failure: Int32 = 1
    /// Bad input or configuration.
    static let badInput: Int32 = 2
    /// The Kerberos ticket expired and there is no keytab to renew it (sysexits `EX_TEMPFAIL`): run `kinit`;
    /// writes stay queued in the outbox and `sonarlab sync` delivers them.
    static let ticketExpired: Int32 = 75
    /// The run was cancelled (SIGINT, SIGTERM or a key).
    static let cancelled: Int32 = 130
}

/// An error that ends a command with a message and an exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    var description: String { message }

    static func badInput(_ message: String) -> CommandFailure {
        CommandFailure(message: message, exitCode: ExitCodes.badInput)
    }
    static func failed(_ message: String) -> CommandFailure {
        CommandFailure(message: message, exitCode: ExitCodes.failure)
    }
    /// An HBase error of `command`: exit 75 for an expired Kerberos ticket (run kinit), 1 otherwise.
    static func hbase(_ command: String, _ error: HBaseError) -> CommandFailure {
        CommandFailure(
            message: "\(command): \(error.message)",
            exitCode: error == HBaseError.credentialsExpired ? ExitCodes.ticketExpired : ExitCodes.failure)
    }
}

/// Writes one line to standard error, with every control character (line breaks too) made visible.
///
/// Error messages quote flags, environment values, paths and store values; a raw ESC among them would act on
/// the user's terminal, and a raw line break would let a value forge a line of its own (`error: …`), so a
/// message is always one line (``TerminalText/escape(_:keepingNewlines:)``). Multi-line messages of our own
/// go through ``printError(lines:)``.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((TerminalText.escape(text) + "\n").utf8))
}

/// Writes a multi-line message of our own to standard error: each element one line, escaped as in
/// ``printError(_:)``.
func printError(lines: [String]) {
    FileHandle.standardError.write(Data(lines.map { TerminalText.escape($0) + "\n" }.joined().utf8))
}

/// The lines of swift-argument-parser's full message (the error, the usage, the help hint), with `quoted`, the
/// error's own text that quotes the arguments, kept on one line wherever it appears.
/// - Parameters:
///   - full: `fullMessage(for:)`.
///   - quoted: `message(for:)`, which may hold line breaks from an argument.
/// - Returns: the lines to print with ``printError(lines:)``.
func usageLines(_ full: String, quoting quoted: String) -> [String] {
    guard quoted.contains("\n"), let range = full.range(of: quoted) else {
        return full.components(separatedBy: "\n")
    }
    var lines = full[..<range.lowerBound].components(separatedBy: "\n")
    lines[lines.count - 1] += quoted
    let after = full[range.upperBound...].components(separatedBy: "\n")
    lines[lines.count - 1] += after[0]
    return lines + after.dropFirst()
}

/// Writes one line of human-readable text to standard output, with every control character (line breaks too)
/// made visible.
///
/// For summaries that quote names, ids, paths and store values; JSON output goes out with `print` unchanged
/// (JSON escapes control characters itself, and scripts need it exact).
func printText(_ text: String) {
    print(TerminalText.escape(text))
}

/// Writes a multi-line block of our own (a table, a summary) to standard output, keeping its line breaks.
///
/// The builder of `block` escapes every outside value it quotes (``Swift/String/terminalSafe``), so that a
/// line break in a name cannot forge a row; every other control character is made visible here as well.
func printText(block: String) {
    print(TerminalText.escape(block, keepingNewlines: true))
}

/// A log handler that makes control characters in messages and metadata visible, then hands the record on.
///
/// Log records quote paths, names and HBase answers; the stderr log must not pass a raw ESC to the terminal.
struct TerminalSafeLogHandler: LogHandler {
    /// The handler that writes the escaped records.
    var inner: any LogHandler

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var safe = event
        safe.message = "\(TerminalText.escape("\(event.message)"))"
        safe.metadata = event.metadata?.mapValues { .string(TerminalText.escape("\($0)")) }
        inner.log(event: safe)
    }
}
