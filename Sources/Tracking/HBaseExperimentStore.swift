public import Engine
import Foundation
public import HBase

/// The ``ExperimentStore`` over HBase (issue 4 item 3; layout in ``HBaseTrackingLayout``).
///
/// `create`, `appendEpochs` and `finish` are one write each: with a ``writer`` (as in every SonarLab command) it is
/// kept in the durable ``HBaseOutbox`` and sent in order in the background, so an HBase outage queues writes
/// instead of losing them (``pendingWrites()`` says how many); without one it is one direct put request.
/// `experiments(limit:)` is one stateful scan of families `s`, `p`, `m` (no epochs), newest first thanks to the
/// inverted row key; reads first wait for a delivery in flight.
public struct HBaseExperimentStore: ExperimentStore {
    /// The client (shared; the caller shuts it down).
    public let client: HBaseClient
    /// Table names.
    public let layout: HBaseTrackingLayout
    /// The durable writer every write goes through; `nil` sends each write directly (tests of the layout).
    public let writer: HBaseOutboxWriter?

    /// Creates the store.
    /// - Parameters:
    ///   - client: The HBase client.
    ///   - layout: Table names; default ``HBaseTrackingLayout/init(namespace:experimentsTable:datasetsTable:predictionsTable:)``.
    ///   - writer: The outbox writer (SonarLab's commands always pass one); `nil` puts directly.
    public init(
        client: HBaseClient, layout: HBaseTrackingLayout = HBaseTrackingLayout(), writer: HBaseOutboxWriter? = nil
    ) {
        self.client = client
        self.layout = layout
        self.writer = writer
    }

    /// Sends a write through the outbox writer, or directly without one.
    func send(_ row: HBaseRow, origin: String) async throws {
        if let writer {
            try await writer.write([row], into: layout.experiments, origin: origin)
        } else {
            try await client.put(row, into: layout.experiments)
        }
    }

    /// `HBase <table> at scheme://host:port` (never user info).
    public var location: String {
        let url = client.configuration.baseURL
        let port = url.port.map { ":\($0)" } ?? ""
        return "HBase \(layout.experiments.qualified) at \(url.scheme ?? "http")://\(url.host ?? "?")\(port)"
    }

    // MARK: Row key and cells

    /// The row key of a run: its id with every decimal digit `d` replaced by `9 - d`.
    ///
    /// The `yyyyMMdd-HHmmss` prefix then sorts newest first. The mapping is its own inverse.
    ///
    /// - Parameter id: The experiment id.
    /// - Returns: The row key.
    public static func rowKey(forID id: String) -> String {
        String(
            String.UnicodeScalarView(
                id.unicodeScalars.map { scalar in
                    guard ("0"..."9").contains(scalar) else { return scalar }
                    return Unicode.Scalar(UInt8(ascii: "9") - UInt8(scalar.value - 48))
                }))
    }

    static func epochQualifier(_ epoch: Int) -> String { PlainNumber.format("%06d", epoch) }

    static func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(value)
    }

    static func number(_ value: Double) -> String { String(describing: value) }

    static func date(exact: String?, unix: String?) -> Date? {
        if let seconds = exact.flatMap(Double.init) { return Date(timeIntervalSinceReferenceDate: seconds) }
        return unix.flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
    }

    func cells(for experiment: Experiment, includeEpochs: Bool) throws -> [HBaseCell] {
        func s(_ qualifier: String, _ value: String?) -> HBaseCell? {
            value.map { HBaseCell(column: HBaseColumn("s", qualifier), string: $0) }
        }
        var cells: [HBaseCell] = [
            s("id", experiment.id), s("name", experiment.name), s("kind", experiment.kind.rawValue),
            s("status", experiment.status.rawValue),
            s("started_at", Self.number(experiment.startedAt.timeIntervalSince1970)),
            s("ended_at", experiment.endedAt.map { Self.number($0.timeIntervalSince1970) }),
            // Seconds since 2001 as Foundation holds them, so a Date reads back bit-identical.
            s("started_ref", Self.number(experiment.startedAt.timeIntervalSinceReferenceDate)),
            s("ended_ref", experiment.endedAt.map { Self.number($0.timeIntervalSinceReferenceDate) }),
            s("data_fingerprint", experiment.dataFingerprint), s("data_file_sha256", experiment.dataFileSHA256),
            s("model_path", experiment.modelPath),
            s("run_directory", experiment.runDirectory), s("message", experiment.message),
        ].compactMap { $0 }
        if let heartbeat = experiment.heartbeat { cells += heartbeatCells(heartbeat) }
        for (key, value) in experiment.parameters.sorted(by: { $0.key < $1.key }) {
            cells.append(HBaseCell(column: HBaseColumn("p", key), string: value))
        }
        if let result = experiment.result {
            cells.append(HBaseCell(column: HBaseColumn("m", "result"), value: try Self.encodeJSON(result)))
            if let validation = result.validation {
                cells.append(
                    HBaseCell(column: HBaseColumn("m", "val_accuracy"), string: Self.number(validation.accuracy)))
                cells.append(HBaseCell(column: HBaseColumn("m", "val_loss"), string: Self.number(validation.loss)))
                cells.append(
                    HBaseCell(column: HBaseColumn("m", "val_macro_f1"), string: Self.number(validation.macroF1)))
            }
            if let best = result.bestEpoch {
                cells.append(HBaseCell(column: HBaseColumn("m", "best_epoch"), string: String(best)))
            }
        }
        if includeEpochs {
            cells += try epochCells(experiment.epochs)
        }
        return cells
    }

    /// `s:heartbeat_ref` (seconds since 2001, exact), `s:heartbeat_pid`, `s:heartbeat_host`.
    func heartbeatCells(_ heartbeat: RunHeartbeat) -> [HBaseCell] {
        [
            HBaseCell(
                column: HBaseColumn("s", "heartbeat_ref"),
                string: Self.number(heartbeat.at.timeIntervalSinceReferenceDate)),
            HBaseCell(column: HBaseColumn("s", "heartbeat_pid"), string: String(heartbeat.pid)),
            HBaseCell(column: HBaseColumn("s", "heartbeat_host"), string: heartbeat.host),
        ]
    }

    func epochCells(_ epochs: [EpochMetrics]) throws -> [HBaseCell] {
        try epochs.map {
            HBaseCell(column: HBaseColumn("e", Self.epochQualifier($0.epoch)), value: try Self.encodeJSON($0))
        }
    }

    func decode(_ row: HBaseRow) throws -> Experiment {
        func s(_ qualifier: String) -> String? { row.string(of: HBaseColumn("s", qualifier)) }
        let rowName = row.keyString
        func malformed(_ what: String) -> HBaseError {
            HBaseError.invalidResponse.with(
                message: "experiment row '\(rowName)' in \(layout.experiments.qualified): \(what)")
        }
        guard let id = s("id"), let name = s("name"), let kindText = s("kind"),
            let kind = ExperimentKind(rawValue: kindText),
            let statusText = s("status"), let status = RunStatus(rawValue: statusText),
            let started = Self.date(exact: s("started_ref"), unix: s("started_at")),
            let fingerprint = s("data_fingerprint")
        else { throw malformed("missing or malformed status cells") }
        var parameters: [String: String] = [:]
        for cell in row.cells where cell.column.family == Data("p".utf8) {
            if let qualifier = cell.column.qualifier {
                parameters[String(decoding: qualifier, as: UTF8.self)] = String(decoding: cell.value, as: UTF8.self)
            }
        }
        var experiment = Experiment(
            id: id, name: name, kind: kind, startedAt: started, parameters: parameters,
            dataFingerprint: fingerprint, status: status
        )
        experiment.endedAt = Self.date(exact: s("ended_ref"), unix: s("ended_at"))
        experiment.modelPath = s("model_path")
        experiment.dataFileSHA256 = s("data_file_sha256")
        experiment.runDirectory = s("run_directory")
        experiment.message = s("message")
        if let at = s("heartbeat_ref").flatMap(Double.init), let pid = s("heartbeat_pid").flatMap(Int32.init),
            let host = s("heartbeat_host")
        {
            experiment.heartbeat = RunHeartbeat(at: Date(timeIntervalSinceReferenceDate: at), pid: pid, host: host)
        }
        if let result = row.value(of: HBaseColumn("m", "result")) {
            guard let decoded = try? JSONDecoder().decode(ExperimentResult.self, from: result) else {
                throw malformed("m:result is not JSON")
            }
            experiment.result = decoded
        }
        var epochs: [EpochMetrics] = []
        for cell in row.cells where cell.column.family == Data("e".utf8) {
            guard let metrics = try? JSONDecoder().decode(EpochMetrics.self, from: cell.value) else {
                throw malformed("an e: cell is not JSON")
            }
            epochs.append(metrics)
        }
        experiment.epochs = epochs.sorted { $0.epoch < $1.epoch }
        return experiment
    }

    // MARK: ExperimentStore

    /// Writes the run's status, parameters (and any result or epochs) in one request (or one outbox entry).
    /// - Parameter experiment: The run.
    /// - Throws: ``HBaseError`` (`tableNotFound` before `sonarlab hbase init`, `forbidden`, `unavailable`, …); with a
    ///   writer only a refusal it saw earlier (an outage queues instead of throwing).
    public func create(_ experiment: Experiment) async throws {
        let row = HBaseRow(
            key: Self.rowKey(forID: experiment.id), cells: try cells(for: experiment, includeEpochs: true))
        try await send(row, origin: experiment.id)
    }

    /// Writes a batch of epochs in one request; an epoch number already present is replaced.
    /// - Parameters:
    ///   - epochs: The epochs.
    ///   - experimentID: The run's id.
    /// - Throws: ``HBaseError``.
    public func appendEpochs(_ epochs: [EpochMetrics], experimentID: String) async throws {
        guard !epochs.isEmpty else { return }
        try await send(
            HBaseRow(key: Self.rowKey(forID: experimentID), cells: try epochCells(epochs)), origin: experimentID)
    }

    /// Writes the run's final state, with all its epochs, in one request.
    /// - Parameter experiment: The run.
    /// - Throws: ``HBaseError``.
    public func finish(_ experiment: Experiment) async throws {
        try await create(experiment)
    }

    /// Writes the heartbeat cells only (`s:heartbeat_*`), as one outbox entry.
    ///
    /// Idempotent by the outbox's cell-timestamp rule: a replay rewrites the same versions, and a late replay of
    /// an older heartbeat never hides a newer one.
    /// - Parameters:
    ///   - heartbeat: The heartbeat.
    ///   - experimentID: The run's id.
    /// - Throws: ``HBaseError``; with a writer only a refusal it saw earlier.
    public func recordHeartbeat(_ heartbeat: RunHeartbeat, experimentID: String) async throws {
        try await send(
            HBaseRow(key: Self.rowKey(forID: experimentID), cells: heartbeatCells(heartbeat)), origin: experimentID)
    }

    /// Runs newest first, without epochs.
    /// - Parameter limit: At most this many; `nil` for all.
    /// - Returns: The runs.
    /// - Throws: ``HBaseError``.
    public func experiments(limit: Int?) async throws -> [Experiment] {
        if limit == 0 { return [] }
        await writer?.settle()
        let scan = HBaseScan(columns: ["s", "p", "m"].map { HBaseColumn($0, nil) }, batch: 1000)
        return try await client.scan(scan, in: layout.experiments, limit: limit).filter { !Self.isClaimOnly($0) }
            .map(decode)
    }

    /// One run with its epochs, or `nil`.
    /// - Parameter id: The run's id.
    /// - Returns: The run.
    /// - Throws: ``HBaseError``.
    public func experiment(id: String) async throws -> Experiment? {
        await writer?.settle()
        guard let row = try await client.row(Self.rowKey(forID: id), in: layout.experiments), !Self.isClaimOnly(row)
        else { return nil }
        return try decode(row)
    }

    // MARK: Shared sweeps' trial claims

    /// The column of a shared sweep's trial claim: `s:claim`, in the trial's own row.
    static let claimColumn = HBaseColumn("s", "claim")

    /// A row holding only a trial claim (claimed, its experiment cells still in the outbox): not a run yet.
    static func isClaimOnly(_ row: HBaseRow) -> Bool {
        row.value(of: HBaseColumn("s", "id")) == nil && row.value(of: claimColumn) != nil
    }

    /// The claim text of a shared sweep's trial (`s:claim` of the trial's row), read directly (never through the
    /// outbox: a claim is decided by HBase now, or not at all).
    /// - Parameter key: The trial's experiment id.
    /// - Returns: The text, or `nil` when it was never claimed.
    /// - Throws: ``HBaseError`` (`transport`, `unavailable`, `tableNotFound`, …).
    public func claimValue(key: String) async throws -> String? {
        try await client.row(Self.rowKey(forID: key), in: layout.experiments, columns: [Self.claimColumn])?
            .string(of: Self.claimColumn)
    }

    /// Replaces a trial's claim text only if it still holds `expected`.
    ///
    /// One `checkAndPut` on the trial's row (HBASE_REST.md §3.5; RowResource.checkAndPut → `checkAndMutate(...).ifEquals(value)`). `nil` is sent as an
    /// empty expected value, which HBase's `HRegion.checkAndMutate` matches only when the cell is absent (or empty).
    /// - Parameters:
    ///   - key: The trial's experiment id.
    ///   - expected: The text read before, or `nil`.
    ///   - new: The new text.
    /// - Returns: `true` when written (200), `false` when the value had changed (304).
    /// - Throws: ``HBaseError``.
    public func replaceClaim(key: String, expected: String?, with new: String) async throws -> Bool {
        try await client.checkAndPut(
            [HBaseCell(column: Self.claimColumn, string: new)], row: Data(Self.rowKey(forID: key).utf8),
            in: layout.experiments, ifColumn: Self.claimColumn, equals: Data((expected ?? "").utf8))
    }

    /// The writes waiting in the outbox for this store's cluster (all origins), and why.
    /// - Returns: ``PendingWrites/none`` without a writer.
    public func pendingWrites() async -> PendingWrites {
        await writer?.pending() ?? PendingWrites.none
    }

    /// Delivers the outbox now (see ``HBaseOutboxWriter/deliver(waitingForLockUpTo:retryRefused:)``).
    /// - Parameter timeout: The longest wait for another process's delivery.
    /// - Returns: What is still queued.
    public func deliverPendingWrites(within timeout: Duration) async -> PendingWrites {
        await writer?.deliver(waitingForLockUpTo: timeout).pending ?? PendingWrites.none
    }

    /// Checks that the gateway answers and the experiments table exists.
    /// - Throws: ``HBaseError`` (`tableNotFound` with a hint to run `sonarlab hbase init`, `transport`, …).
    public func checkReachable() async throws {
        guard try await client.tableExists(layout.experiments) else {
            throw HBaseError.tableNotFound.with(
                message: "table '\(layout.experiments.qualified)' does not exist; run `sonarlab hbase init`")
        }
    }
}
