import Engine
import Foundation
public import Logging

/// A swift-log handler that appends one line per record to a file (the run log), flushed per line.
///
/// Line format: `2026-11-29T09:15:00Z info sonarlab: message key=value`. Metadata values are printed as
/// given: callers must not log secrets (none of SonarLab's code does; a test checks).
public struct FileLogHandler: LogHandler {
    private let sink: Sink
    private let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    /// Opens (creating or appending to) `path`.
    /// - Throws: a file-system error when the file cannot be opened.
    public init(label: String, path: String) throws {
        self.label = label
        sink = try Sink(path: path)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        // One line per record, control characters visible: paths and names from outside never reach a `cat` or
        // `tail -f` of the run log raw, nor split a record.
        let meta =
            merged.isEmpty
            ? ""
            : " " + merged.keys.sorted().map { "\($0)=\(TerminalText.escape("\(merged[$0]!)"))" }.joined(separator: " ")
        sink.write("\(Sink.timestamp()) \(event.level) \(label): \(TerminalText.escape("\(event.message)"))\(meta)\n")
    }

    final class Sink: @unchecked Sendable {
        private let handle: FileHandle
        private let lock = NSLock()

        init(path: String) throws {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            handle.seekToEndOfFile()
        }

        func write(_ text: String) {
            lock.withLock { handle.write(Data(text.utf8)) }
        }

        static func timestamp() -> String {
            ISO8601DateFormatter().string(from: Date())
        }

        deinit { try? handle.close() }
    }
}
