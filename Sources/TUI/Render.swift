import Engine
import Foundation
import Tracking

/// Draws the whole dashboard for `state` into `buffer` (resized to the state's size if needed).
///
/// Pure: the same state always gives the same cells, so every screen is tested as text.
/// - Parameters:
///   - state: what to show.
///   - buffer: the grid to draw into; replaced by a blank one of the right size first.
public func render(_ state: AppState, into buffer: inout CellBuffer) {
    let theme = state.theme
    buffer = CellBuffer(size: state.size, style: theme.style(.normal))
    guard buffer.width > 0, buffer.height > 0 else { return }
    if state.isTooSmall {
        renderTooSmall(state, into: &buffer)
        return
    }
    renderTabs(state, into: &buffer)
    let content = Rect(x: 0, y: 1, width: buffer.width, height: buffer.height - 2)
    switch state.screen {
    case .train: renderTrain(state, content, into: &buffer)
    case .history: renderHistory(state, content, into: &buffer)
    case .detail: renderDetail(state, content, into: &buffer)
    case .compare: renderCompare(state, content, into: &buffer)
    case .tests: renderTests(state, content, into: &buffer)
    case .help: renderHelp(state, content, into: &buffer)
    case .service: renderService(state, content, into: &buffer)
    case .sweep: renderSweep(state, content, into: &buffer)
    }
    renderStatus(state, into: &buffer)
}

private func renderTooSmall(_ state: AppState, into buffer: inout CellBuffer) {
    let all = Rect(x: 0, y: 0, width: buffer.width, height: buffer.height)
    let lines = [
        "Terminal too small",
        "need \(Size.minimum.width)×\(Size.minimum.height), have \(state.size.width)×\(state.size.height)",
        "enlarge the window, or press q to quit",
    ]
    let top = max(0, (buffer.height - lines.count) / 2)
    for (i, line) in lines.enumerated() {
        drawCentered(&buffer, line, in: all, y: top + i, style: state.theme.style(i == 0 ? .bad : .normal))
    }
}

private func renderTabs(_ state: AppState, into buffer: inout CellBuffer) {
    let theme = state.theme
    buffer.fill(Rect(x: 0, y: 0, width: buffer.width, height: 1), style: theme.style(.tabInactive))
    var x = buffer.write(" SonarLab ", x: 0, y: 0, style: theme.style(.title))
    for screen in Screen.allCases where screen != .service || state.service != nil || state.screen == .service {
        let label = " \(screen.rawValue) \(screen.title) "
        x += buffer.write(label, x: x, y: 0, style: theme.style(screen == state.screen ? .tabActive : .tabInactive))
    }
    if let run = state.run, run.state == .running {
        let text = "● training \(run.epochs.count)/\(run.plannedEpochs) "
        if x + displayWidth(of: text) + 1 < buffer.width {
            buffer.write(text, x: buffer.width - displayWidth(of: text), y: 0, style: theme.style(.accent))
        }
    }
}

private func renderStatus(_ state: AppState, into buffer: inout CellBuffer) {
    let left: String
    if let draft = state.history.filterDraft ?? state.sweep.trials.filterDraft {
        left = "filter: \(draft)▏  (Enter keeps, Esc clears)"
    } else if let draft = state.fieldDraft {
        if let problem = state.message, problem.role == .bad {
            // The value was refused: keep the draft and say why, until the next key.
            left = "\(state.focusedField.label): \(draft)▏  ✕ \(problem.text) (Esc cancels)"
        } else {
            let hint = state.isDraftSelected ? "typing replaces it, Ctrl-U clears" : "Ctrl-U clears"
            left = "\(state.focusedField.label): \(draft)▏  (\(hint), Enter sets, Esc cancels)"
        }
    } else if let message = state.message {
        left = message.text
    } else {
        left = hints(for: state.screen)
    }
    let reachable: String
    switch (state.storeQueue, state.isStoreReachable) {
    case (let queue?, _): reachable = "✕ \(queue)"
    case (nil, true?): reachable = "● reachable"
    case (nil, false?): reachable = "✕ unreachable"
    case (nil, nil): reachable = "…"
    }
    let storeText = truncated(state.store, to: max(8, buffer.width / 3 - displayWidth(of: reachable) - 1))
    drawStatusBar(
        &buffer, row: buffer.height - 1, width: buffer.width, left: left, right: "\(storeText) \(reachable)",
        theme: state.theme)
}

private func hints(for screen: Screen) -> String {
    switch screen {
    case .train: "t train  x cancel  ↑↓ field  Enter edit  Tab screens  ? help  q quit"
    case .history: "↑↓ select  Enter open  s sort  / filter  c mark  r refresh  ? help  q quit"
    case .detail: "←→ previous/next run  c mark for compare  Esc back  ? help  q quit"
    case .compare: "mark runs with c in History  Esc back  ? help  q quit"
    case .tests: "r run scenarios  Tab screens  ? help  q quit"
    case .help: "Esc back  q quit"
    case .service: "polls the service every second  Tab screens  ? help  q quit"
    case .sweep: "↑↓ trial  Enter train it  ←→ scatter parameter  s sort  / filter  r refresh  ? help  q quit"
    }
}

// MARK: - Train

private func renderTrain(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    let (runArea, rest) = area.splitTop(5)
    let bottomHeight = 9 + max(0, (area.height - 22) / 4)
    let (chartsArea, bottom) = rest.splitTop(rest.height - bottomHeight)

    // Run panel: who, where, progress, latest metrics.
    let inner = drawPanel(&buffer, runArea, title: "Run", theme: theme)
    if let run = state.run {
        let stateText = run.isCancelling && run.state == .running ? "cancelling" : run.state.rawValue
        let idText = run.id.map { " as \($0)" } ?? ""
        var x = buffer.write(
            "\(run.name) · \(stateText)", x: inner.x, y: inner.y, style: theme.style(role(for: run.state)))
        // Say "recorded" only once the store has it all: while running it is being recorded, and a run whose
        // writes were refused (e.g. HBase 403) is not in the store at all.
        let recording: (String, ThemeRole)
        switch run.record?.recording {
        case nil: recording = (" · recording in \(run.recordedIn)\(idText)", .muted)
        case .recorded: recording = (" · recorded in \(run.recordedIn)\(idText)", .muted)
        case .queued(let note): recording = (" · queued for \(run.recordedIn)\(idText): \(note)", .warning)
        case .refused(let reason):
            recording = (" · NOT recorded in \(run.recordedIn) (the run folder has it): \(reason)", .bad)
        }
        x += buffer.write(
            recording.0, x: inner.x + x, y: inner.y, style: theme.style(recording.1), maxWidth: inner.width - x)
        let done = run.epochs.count
        let label = "epoch \(done)/\(run.plannedEpochs) "
        let stats: String = {
            let rate = run.epochsPerSecond.map { PlainNumber.format("%.1f epochs/s", $0) } ?? "– epochs/s"
            let elapsed = formatDuration((run.endedAt ?? state.now).timeIntervalSince(run.startedAt))
            let eta = run.secondsRemaining.map(formatDuration) ?? "–"
            return PlainNumber.format(
                " %3.0f%%  ", run.plannedEpochs > 0 ? 100 * Double(done) / Double(run.plannedEpochs) : 0)
                + "\(rate)  elapsed \(elapsed)  ETA \(eta)"
        }()
        let labelWidth = buffer.write(label, x: inner.x, y: inner.y + 1, style: theme.style(.accent))
        let barWidth = max(4, inner.width - labelWidth - displayWidth(of: stats))
        drawProgressBar(
            &buffer, Rect(x: inner.x + labelWidth, y: inner.y + 1, width: barWidth, height: 1),
            fraction: run.plannedEpochs > 0 ? Double(done) / Double(run.plannedEpochs) : 0, theme: theme)
        buffer.write(
            stats, x: inner.x + labelWidth + barWidth, y: inner.y + 1, style: theme.style(.normal),
            maxWidth: inner.maxX - inner.x - labelWidth - barWidth)
        let third: (String, ThemeRole)
        if let record = run.record, run.state != .running {
            let v = record.validation
            let model = record.modelPath.map { " · model \($0)" } ?? ""
            third = (
                "final: validation accuracy \(formatMetric(v?.accuracy)) · macro-F1 \(formatMetric(v?.macroF1)) · loss \(formatMetric(v?.loss))\(model)",
                run.state == .finished ? .good : role(for: run.state)
            )
        } else if let failure = run.failure {
            third = ("failed: \(failure)", .bad)
        } else if let last = run.epochs.last {
            third = (
                "validation accuracy \(formatMetric(last.validation.accuracy)) · macro-F1 \(formatMetric(last.validation.macroF1)) · loss \(formatMetric(last.validation.loss))",
                .normal
            )
        } else {
            third = ("waiting for the first epoch…", .muted)
        }
        buffer.write(truncated(third.0, to: inner.width), x: inner.x, y: inner.y + 2, style: theme.style(third.1))
    } else {
        buffer.write("No run yet.", x: inner.x, y: inner.y, style: theme.style(.normal))
        buffer.write(
            truncated(
                "Press t to train with the parameters below (↑↓ choose, Enter edits); runs are recorded in \(state.store).",
                to: inner.width),
            x: inner.x, y: inner.y + 1, style: theme.style(.muted))
    }

    // Charts: loss, accuracy, macro-F1; train vs validation, x-axis to the planned epochs.
    let epochs = state.run?.epochs ?? []
    let planned = state.run?.plannedEpochs ?? state.parameters.epochs
    drawMetricCharts(&buffer, chartsArea, epochs: epochs, planned: planned, theme: theme, across: true)

    // Bottom: epoch log and the parameter form.
    let formWidth = min(40, max(30, bottom.width / 4))
    let (logArea, formArea) = bottom.splitLeft(bottom.width - formWidth)
    let logInner = drawPanel(&buffer, logArea, title: "Epoch log", theme: theme)
    if logInner.height > 0 {
        buffer.write(
            "  ep │  t.loss t.acc  t.F1 │  v.loss v.acc  v.F1", x: logInner.x, y: logInner.y,
            style: theme.style(.header), maxWidth: logInner.width)
        let rows = max(0, logInner.height - 1)
        for (i, point) in epochs.suffix(rows).enumerated() {
            let line = PlainNumber.format(
                "%4d │ %7.4f %5.3f %5.3f │ %7.4f %5.3f %5.3f", point.epoch, point.train.loss,
                point.train.accuracy,
                point.train.macroF1, point.validation.loss, point.validation.accuracy, point.validation.macroF1)
            buffer.write(
                line, x: logInner.x, y: logInner.y + 1 + i, style: theme.style(.normal), maxWidth: logInner.width)
        }
    }
    let formInner = drawPanel(&buffer, formArea, title: "Parameters (Enter edits)", theme: theme)
    // More fields than rows: the window scrolls so that the focused field stays in view.
    let formRows = max(0, formInner.height)
    let firstRow = max(0, min(state.focusedField.rawValue - formRows + 1, FormField.allCases.count - formRows))
    for field in FormField.allCases where (firstRow..<firstRow + formRows).contains(field.rawValue) {
        let row = field.rawValue - firstRow
        let isFocused = field == state.focusedField && state.screen == .train
        let value =
            isFocused && state.fieldDraft != nil ? (state.fieldDraft ?? "") + "▏" : field.text(of: state.parameters)
        let labelWidth = 14
        let text = padded(field.label, to: labelWidth) + truncated(value, to: max(0, formInner.width - labelWidth))
        buffer.write(
            padded(text, to: formInner.width), x: formInner.x, y: formInner.y + row,
            style: theme.style(isFocused ? .selected : .normal))
        if isFocused, state.isDraftSelected, let draft = state.fieldDraft {
            // The selected value (typing replaces it) stands out from the rest of the focused row.
            var style = theme.style(.selected)
            style.isReverse.toggle()
            buffer.write(
                truncated(draft, to: max(0, formInner.width - labelWidth)), x: formInner.x + labelWidth,
                y: formInner.y + row, style: style)
        }
    }
}

private func role(for state: RunState) -> ThemeRole {
    switch state {
    case .running: .accent
    case .stale: .warning
    case .finished: .good
    case .failed: .bad
    case .cancelled: .warning
    }
}

/// Draws the loss, accuracy and macro-F1 charts (train vs validation), across or stacked.
private func drawMetricCharts(
    _ buffer: inout CellBuffer, _ area: Rect, epochs: [EpochMetrics], planned: Int, theme: Theme, across: Bool,
    count: Int = 3
) {
    let metrics: [(String, KeyPath<SplitMetrics, Double>, ClosedRange<Double>?)] = Array(
        [
            ("Loss", \SplitMetrics.loss, nil), ("Accuracy", \SplitMetrics.accuracy, 0...1),
            ("Macro-F1", \SplitMetrics.macroF1, 0...1),
        ]
        .prefix(count))
    let areas = across ? area.columns(metrics.count) : area.rows(metrics.count)
    for ((title, path, range), rect) in zip(metrics, areas) {
        let last = epochs.last
        let values =
            last.map { " \(formatMetric($0.train[keyPath: path])) / \(formatMetric($0.validation[keyPath: path]))" }
            ?? ""
        let inner = drawPanel(&buffer, rect, title: title + values, theme: theme)
        let chart = LineChart(
            series: [
                ChartSeries(label: "train", values: epochs.map { $0.train[keyPath: path] }, role: .train),
                ChartSeries(label: "val", values: epochs.map { $0.validation[keyPath: path] }, role: .validation),
            ],
            xMax: planned, yRange: range)
        chart.draw(&buffer, inner, theme: theme)
        drawLegend(&buffer, rect, [("train", .train), ("val", .validation)], theme: theme)
    }
}

/// Writes a colour legend (`▬ train ▬ val`) into the bottom border of a panel.
private func drawLegend(_ buffer: inout CellBuffer, _ rect: Rect, _ entries: [(String, ThemeRole)], theme: Theme) {
    guard rect.width > 12, rect.height >= 2 else { return }
    var x = rect.x + 2
    for (label, role) in entries {
        x += buffer.write(" ▬ ", x: x, y: rect.maxY - 1, style: theme.style(role), maxWidth: rect.maxX - 1 - x)
        x += buffer.write(label, x: x, y: rect.maxY - 1, style: theme.style(.muted), maxWidth: rect.maxX - 1 - x)
    }
    if x < rect.maxX - 1 { buffer.write(" ", x: x, y: rect.maxY - 1, style: theme.style(.border)) }
}

// MARK: - History

private func renderHistory(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    let history = state.history
    let visible = history.visibleRuns
    let (infoArea, tableArea) = area.splitTop(1)
    var info = "\(history.runs.count) runs"
    if visible.count != history.runs.count { info += " (\(visible.count) shown)" }
    let filter = history.filterDraft ?? history.filter
    if !filter.isEmpty { info += " · filter \"\(filter)\"" }
    info += " · sorted by \(history.sortColumn.title) \(history.isAscending ? "▲" : "▼")"
    if !history.marked.isEmpty { info += " · \(history.marked.count)/2 marked" }
    if history.isLoading { info += " · loading…" }
    buffer.write(truncated(" " + info, to: infoArea.width), x: infoArea.x, y: infoArea.y, style: theme.style(.muted))

    let inner = drawPanel(&buffer, tableArea, title: "Experiments in \(state.store)", theme: theme)
    if let error = history.loadError {
        drawLines(&buffer, inner, [("Store unreachable: \(error)", .bad), ("Press r to retry.", .muted)], theme: theme)
        return
    }
    if visible.isEmpty {
        let text: [(String, ThemeRole)] =
            !history.hasLoaded
            ? [("Loading experiments…", .muted)]
            : history.runs.isEmpty
                ? [("No experiments yet.", .normal), ("Press t to train one; it will appear here.", .muted)]
                : [("No run matches the filter \"\(filter)\".", .normal), ("Press / and clear it.", .muted)]
        drawLines(&buffer, inner, text, theme: theme)
        return
    }
    let columns = HistoryColumn.fitting(inner.width - 3)
    let marks = Set(history.marked)
    var table = TableView(
        columns: [TableColumn(title: "", width: 1, alignment: .left)]
            + columns.map { TableColumn(title: $0.title, width: $0.width, alignment: $0.alignment) },
        rows: [], viewport: history.viewport, sortColumn: columns.firstIndex(of: history.sortColumn).map { $0 + 1 },
        isAscending: history.isAscending)
    // Only the visible slice is formatted: 1,000 runs cost as much as a screenful.
    let start = min(history.viewport.offset, visible.count)
    let end = min(visible.count, start + TableView.visibleRows(height: inner.height))
    table.rows = Array(repeating: [], count: visible.count)
    table.rowRoles = Array(repeating: nil, count: visible.count)
    for i in start..<end {
        let run = visible[i]
        table.rows[i] = [marks.contains(run.id) ? "●" : " "] + columns.map { $0.text(run) }
        table.rowRoles[i] =
            marks.contains(run.id) ? .marked : (run.state == .failed ? .bad : run.state == .cancelled ? .warning : nil)
    }
    table.draw(&buffer, inner, theme: theme)
}

// MARK: - Detail

private func renderDetail(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    guard let loaded = state.detail else {
        let inner = drawPanel(&buffer, area, title: "Detail", theme: theme)
        drawLines(
            &buffer, inner,
            [("No run selected.", .normal), ("Open one from History: press 2, choose a run, Enter.", .muted)],
            theme: theme)
        return
    }
    guard let run = loaded.snapshot else {
        let inner = drawPanel(&buffer, area, title: "Detail \(loaded.id)", theme: theme)
        let text: [(String, ThemeRole)] =
            loaded.error.map { [("Could not load run \(loaded.id): \($0)", .bad)] } ?? [
                ("Loading run \(loaded.id)…", .muted)
            ]
        drawLines(&buffer, inner, text, theme: theme)
        return
    }
    let leftWidth = min(56, max(38, area.width * 2 / 5))
    let (left, right) = area.splitLeft(leftWidth)
    let runHeight = min(13, left.height / 2 + 1)
    let (runArea, paramArea) = left.splitTop(runHeight)
    let marked = state.history.marked.contains(run.id) ? " ● marked" : ""
    let runInner = drawPanel(&buffer, runArea, title: "Run \(run.name)\(marked)", theme: theme)
    let duration = run.endedAt.map { formatDuration($0.timeIntervalSince(run.startedAt)) } ?? "–"
    var lines: [(String, ThemeRole)] = [
        ("id       \(run.id)", .normal),
        (
            "status   \(run.state.rawValue) · \(run.epochs.count)/\(run.plannedEpochs) epochs"
                + (run.failure.map { ": \($0)" } ?? ""), role(for: run.state)
        ),
        ("started  \(formatDate(run.startedAt)) UTC", .normal),
        ("ended    \(run.endedAt.map(formatDate) ?? "–") (\(duration))", .normal),
    ]
    // The fingerprint and the model path are shown whole, wrapped if needed.
    lines += wrapped("data     sha256:", run.dataFingerprint.isEmpty ? "–" : run.dataFingerprint, width: runInner.width)
    lines += wrapped("model    ", run.modelPath ?? "–", width: runInner.width)
    drawLines(&buffer, runInner, lines, theme: theme)

    let paramInner = drawPanel(&buffer, paramArea, title: "Parameters", theme: theme)
    let keyWidth = min(24, (run.parameters.map { displayWidth(of: $0.key) }.max() ?? 0) + 1)
    drawLines(
        &buffer, paramInner, run.parameters.map { (padded($0.key, to: keyWidth) + $0.value, .normal) }, theme: theme)

    let (metricsArea, chartsArea) = right.splitTop(8)
    let metricsInner = drawPanel(&buffer, metricsArea, title: "Final metrics · confusion (validation)", theme: theme)
    var metricLines: [(String, ThemeRole)] = [
        ("            loss    acc  macro-F1", .header),
        (
            "train      \(formatMetric(run.finalTrain?.loss)) \(formatMetric(run.finalTrain?.accuracy))    \(formatMetric(run.finalTrain?.macroF1))",
            .normal
        ),
        (
            "validation \(formatMetric(run.validation?.loss)) \(formatMetric(run.validation?.accuracy))    \(formatMetric(run.validation?.macroF1))",
            .accent
        ),
    ]
    metricLines += confusionLines(run.confusion)
    drawLines(&buffer, metricsInner, metricLines, theme: theme)

    drawMetricCharts(
        &buffer, chartsArea, epochs: run.epochs, planned: max(run.plannedEpochs, run.epochs.count), theme: theme,
        across: false,
        count: chartsArea.height >= 24 ? 3 : 2)
}

/// Lines of a confusion matrix: header, then one line per actual class.
private func confusionLines(_ grid: ConfusionGrid?) -> [(String, ThemeRole)] {
    guard let grid, !grid.labels.isEmpty else { return [("confusion matrix: –", .muted)] }
    var result: [(String, ThemeRole)] = [
        (padded("actual \\ pred", to: 14) + grid.labels.map { padded($0, to: 7, alignRight: true) }.joined(), .header)
    ]
    for (i, label) in grid.labels.enumerated() {
        let row = i < grid.counts.count ? grid.counts[i] : []
        result.append((padded(label, to: 14) + row.map { padded("\($0)", to: 7, alignRight: true) }.joined(), .normal))
    }
    return result
}

/// `prefix` + `value`, continued on following lines indented like the prefix when too long.
private func wrapped(_ prefix: String, _ value: String, width: Int) -> [(String, ThemeRole)] {
    let indent = displayWidth(of: prefix)
    let room = max(8, width - indent)
    var result: [(String, ThemeRole)] = []
    var rest = Substring(value)
    var first = true
    repeat {
        let chunk = rest.prefix(room)
        rest = rest.dropFirst(chunk.count)
        result.append(((first ? prefix : String(repeating: " ", count: indent)) + chunk, .normal))
        first = false
    } while !rest.isEmpty && result.count < 4
    return result
}

// MARK: - Compare

private func renderCompare(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    let marked = state.history.marked
    guard marked.count == 2 else {
        let inner = drawPanel(&buffer, area, title: "Compare", theme: theme)
        drawLines(
            &buffer, inner,
            [
                ("Mark two runs to compare them (\(marked.count)/2 marked).", .normal),
                ("In History or Detail, press c on a run; then press 4.", .muted),
            ], theme: theme)
        return
    }
    let runs: [ExperimentSnapshot?] = marked.map { id in
        state.loadedForCompare[id] ?? state.history.runs.first(where: { $0.id == id })
    }
    guard let a = runs[0], let b = runs[1] else {
        let inner = drawPanel(&buffer, area, title: "Compare", theme: theme)
        drawLines(&buffer, inner, [("Loading the marked runs…", .muted)], theme: theme)
        return
    }
    let (head, rest) = area.splitTop(4)
    let headInner = drawPanel(&buffer, head, title: "Runs", theme: theme)
    for (i, (tag, run, role)) in [("A", a, ThemeRole.train), ("B", b, ThemeRole.validation)].enumerated() {
        let v = run.validation
        let text =
            "\(tag) \(run.id) \(run.name) · \(run.state.rawValue) · val acc \(formatMetric(v?.accuracy)) F1 \(formatMetric(v?.macroF1)) loss \(formatMetric(v?.loss))"
        buffer.write(truncated(text, to: headInner.width), x: headInner.x, y: headInner.y + i, style: theme.style(role))
    }
    let leftWidth = min(56, max(38, area.width * 2 / 5))
    let (paramArea, chartArea) = rest.splitLeft(leftWidth)
    let paramInner = drawPanel(&buffer, paramArea, title: "Parameters (differences first)", theme: theme)
    var keys: [String] = a.parameters.map(\.key)
    for p in b.parameters where !keys.contains(p.key) { keys.append(p.key) }
    let keyWidth = min(24, (keys.map { displayWidth(of: $0) }.max() ?? 0) + 1)
    let valueWidth = max(6, (paramInner.width - keyWidth) / 2)
    var rows: [(key: String, a: String, b: String, differs: Bool)] = keys.map { k in
        (k, a.parameter(k) ?? "–", b.parameter(k) ?? "–", a.parameter(k) != b.parameter(k))
    }
    rows.append(
        (
            "data", String(a.dataFingerprint.prefix(12)), String(b.dataFingerprint.prefix(12)),
            a.dataFingerprint != b.dataFingerprint
        ))
    let differing = rows.filter { $0.differs }
    var lines: [(String, ThemeRole)] = [
        (padded("parameter", to: keyWidth) + padded("A", to: valueWidth) + "B", .header)
    ]
    for row in differing {
        let text = padded(row.key, to: keyWidth) + padded(row.a, to: valueWidth) + row.b
        lines.append((text, .accent))
    }
    lines.append(("\(differing.count) differ, \(rows.count - differing.count) equal:", .muted))
    for row in rows where !row.differs {
        lines.append((padded(row.key, to: keyWidth) + row.a, .muted))
    }
    drawLines(&buffer, paramInner, lines, theme: theme)

    let planned = max(a.plannedEpochs, b.plannedEpochs, a.epochs.count, b.epochs.count)
    let metrics: [(String, KeyPath<SplitMetrics, Double>, ClosedRange<Double>?)] = [
        ("Validation loss", \SplitMetrics.loss, nil), ("Validation accuracy", \SplitMetrics.accuracy, 0...1),
        ("Validation macro-F1", \SplitMetrics.macroF1, 0...1),
    ]
    let shown = Array(metrics.prefix(chartArea.height >= 27 ? 3 : 2))
    for ((title, path, range), rect) in zip(shown, chartArea.rows(shown.count)) {
        let inner = drawPanel(&buffer, rect, title: title + " · A vs B", theme: theme)
        LineChart(
            series: [
                ChartSeries(label: "A", values: a.epochs.map { $0.validation[keyPath: path] }, role: .train),
                ChartSeries(label: "B", values: b.epochs.map { $0.validation[keyPath: path] }, role: .validation),
            ], xMax: planned, yRange: range
        ).draw(&buffer, inner, theme: theme)
        drawLegend(&buffer, rect, [("A", .train), ("B", .validation)], theme: theme)
    }
}

// MARK: - Tests

private func renderTests(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    let live = state.scenarioRun.flatMap { $0.isRunning ? $0 : nil }
    guard let results = live?.results ?? state.testResults, !results.isEmpty || live != nil else {
        let inner = drawPanel(&buffer, area, title: "Functional scenarios", theme: theme)
        drawLines(
            &buffer, inner,
            [
                (state.testResults == nil ? "Loading…" : "No results yet.", .normal),
                ("Press r to run the functional scenarios against the latest model (or run `sonarlab test`).", .muted),
            ], theme: theme)
        return
    }
    let passed = results.filter(\.passed).count
    let title: String
    if let live {
        let model = live.model.map { " against \($0)" } ?? ""
        let total = live.total.map { " of \($0)" } ?? ""
        title = "Running the functional scenarios\(model): \(results.count)\(total) done, \(passed) passed"
    } else {
        title = "Functional scenarios: \(passed) of \(results.count) passed"
    }
    let inner = drawPanel(
        &buffer, area, title: title, theme: theme,
        titleRole: live != nil ? .accent : (passed == results.count ? .good : .bad))
    let detailWidth = max(10, inner.width - 28 - 6 - 9 - 9 - 4)
    let table = TableView(
        columns: [
            TableColumn(title: "Scenario", width: 28, alignment: .left),
            TableColumn(title: "Result", width: 6, alignment: .left),
            TableColumn(title: "Accuracy", width: 9, alignment: .right),
            TableColumn(title: "Macro-F1", width: 9, alignment: .right),
            TableColumn(title: "Detail", width: detailWidth, alignment: .left),
        ],
        rows: results.map {
            [$0.name, $0.passed ? "PASS" : "FAIL", formatMetric($0.accuracy), formatMetric($0.macroF1), $0.detail]
        },
        rowRoles: results.map { $0.passed ? nil : .bad }, viewport: ListViewport(), sortColumn: nil, isAscending: true,
        showsSelection: false)
    table.draw(&buffer, inner, theme: theme)
}

// MARK: - Help

private func renderHelp(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    let inner = drawPanel(&buffer, area, title: "Keys (the dashboard's key map)", theme: theme)
    var lines: [(keys: String, summary: String, isHeading: Bool)] = []
    for section in KeyMap.helpSections() {
        if !lines.isEmpty { lines.append(("", "", false)) }
        lines.append((section.title, "", true))
        lines += section.lines.map { ($0.keys, $0.summary, false) }
    }
    let columnCount = lines.count > inner.height ? 2 : 1
    let columns = inner.columns(columnCount, gap: 2)
    let perColumn = (lines.count + columnCount - 1) / columnCount
    for (c, rect) in columns.enumerated() {
        for (i, line) in lines.dropFirst(c * perColumn).prefix(min(perColumn, rect.height)).enumerated() {
            if line.isHeading {
                buffer.write(line.keys, x: rect.x, y: rect.y + i, style: theme.style(.header), maxWidth: rect.width)
                continue
            }
            let x = buffer.write(
                padded(line.keys, to: 11), x: rect.x, y: rect.y + i, style: theme.style(.accent), maxWidth: rect.width)
            buffer.write(
                line.summary, x: rect.x + x, y: rect.y + i, style: theme.style(.normal), maxWidth: rect.width - x)
        }
    }
}

// MARK: - Service

/// Milliseconds with 2 decimals (`1.25 ms`), or "–".
private func formatMilliseconds(_ seconds: Double?) -> String {
    guard let seconds, seconds.isFinite else { return "–" }
    return PlainNumber.format("%.2f ms", seconds * 1000)
}

/// A count without decimals, or "–".
private func formatCount(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "–" }
    return PlainNumber.format("%.0f", value)
}

private func renderService(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    guard let service = state.service else {
        let inner = drawPanel(&buffer, area, title: "Service", theme: theme)
        drawLines(
            &buffer, inner,
            [
                ("No model service is followed.", .normal),
                (
                    "Set SONARLAB_SERVE_URL or run `sonarlab dashboard --service URL` (a running `sonarlab serve`).",
                    .muted
                ),
            ], theme: theme)
        return
    }
    let url = TerminalText.escape(service.url)
    var lines: [(String, ThemeRole)] = []
    let titleRole: ThemeRole
    switch service.status {
    case nil:
        titleRole = .accent
        lines.append(("… waiting for the first answer from \(url)", .muted))
    case let status? where !status.isReachable:
        titleRole = .bad
        let failure = TerminalText.escape(status.failure ?? "unreachable")
        lines.append(("✕ \(failure) (polled \(formatDate(status.polledAt)))", .bad))
        lines.append(("The dashboard keeps polling every second.", .muted))
    case let status?:
        titleRole = .good
        let figures = status.figures
        lines.append(("● reachable · polled \(formatDate(status.polledAt)) UTC", .good))
        lines.append(("Server         \(TerminalText.escape(status.server ?? "–"))", .normal))
        let model = TerminalText.escape(status.model ?? "–")
        lines.append(("Model          \(model)   version \(TerminalText.escape(status.modelVersion ?? "–"))", .normal))
        let rate = status.requestsPerSecond.map { PlainNumber.format("%.1f/s", $0) } ?? "– (next poll)"
        lines.append(
            (
                "Requests       \(rate)   total \(formatCount(figures?.requests))   in flight \(formatCount(figures?.inflight))"
                    + "   rows predicted \(formatCount(figures?.rowsPredicted))", .normal
            ))
        lines.append(
            ("Latency        p50 \(formatMilliseconds(status.p50))   p99 \(formatMilliseconds(status.p99))", .normal))
        let errors = figures?.errors ?? 0
        lines.append(("Errors         \(formatCount(errors)) (status ≥ 400)", errors > 0 ? .warning : .normal))
        let queued = figures?.outboxDepth
        let deliveryErrors = figures?.deliveryErrors ?? 0
        lines.append(
            (
                "Queued HBase writes  \(formatCount(queued))"
                    + (deliveryErrors > 0 ? "   delivery errors \(formatCount(deliveryErrors))" : ""),
                (queued ?? 0) > 0 || deliveryErrors > 0 ? .warning : .normal
            ))
    }
    let inner = drawPanel(&buffer, area, title: "Service \(url)", theme: theme, titleRole: titleRole)
    let used = drawLines(&buffer, inner, lines, theme: theme)
    let rest = Rect(x: inner.x, y: inner.y + used + 1, width: inner.width, height: max(0, inner.height - used - 1))
    guard rest.height >= 2 else { return }
    if let error = service.predictionsError {
        drawLines(&buffer, rest, [("Latest predictions: \(TerminalText.escape(error))", .bad)], theme: theme)
        return
    }
    guard !service.predictions.isEmpty else {
        drawLines(&buffer, rest, [("Latest predictions: none in the store yet.", .muted)], theme: theme)
        return
    }
    let table = TableView(
        columns: [
            TableColumn(title: "Time (UTC)", width: 16, alignment: .left),
            TableColumn(title: "Input", width: max(10, rest.width - 16 - 6 - 9 - 10), alignment: .left),
            TableColumn(title: "Label", width: 6, alignment: .left),
            TableColumn(title: "P", width: 9, alignment: .right),
        ],
        rows: service.predictions.map {
            [
                formatDate($0.predictedAt), TerminalText.escape($0.inputReference), $0.label.label,
                formatMetric($0.probability),
            ]
        },
        rowRoles: service.predictions.map { _ in nil }, viewport: ListViewport(), sortColumn: nil, isAscending: true,
        showsSelection: false)
    table.draw(&buffer, rest, theme: theme)
}

// MARK: - Sweep

/// A swept key without its section: `mlp.hidden_size` → `hidden_size`.
private func parameterName(_ key: String) -> String { key.hasPrefix("mlp.") ? String(key.dropFirst(4)) : key }

private func renderSweep(_ state: AppState, _ area: Rect, into buffer: inout CellBuffer) {
    let theme = state.theme
    guard let sweep = state.shownSweep else {
        let inner = drawPanel(&buffer, area, title: "Sweep", theme: theme)
        let lines: [(String, ThemeRole)] =
            if let error = state.sweep.error ?? state.history.loadError.map({ TUIError.sweepUnreadable($0).message }) {
                [(TerminalText.escape(error), .bad), ("Press r to retry.", .muted)]
            } else if !state.history.hasLoaded {
                [("Loading the store's sweeps…", .muted)]
            } else {
                [
                    (TerminalText.escape(TUIError.noSweep(in: state.store).message), .normal),
                    ("Or open one from History: press 2, choose a sweep or a trial, Enter.", .muted),
                ]
            }
        drawLines(&buffer, inner, lines, theme: theme)
        return
    }
    let list = state.sweep.trials
    let trials = list.runs
    let visible = list.visibleRuns
    let keys = state.sweptParameters
    let (infoArea, rest) = area.splitTop(1)
    let finished = trials.filter { $0.trial?.status == "finished" }
    let best = finished.max { ($0.trial?.accuracyMean ?? 0) < ($1.trial?.accuracyMean ?? 0) }
    let planned = sweep.parameter("sweep.trials").flatMap { Int($0) }
    var info = "\(TerminalText.escape(sweep.id)) · \(sweep.state.rawValue) · \(finished.count)"
    info += planned.map { "/\($0)" } ?? ""
    info += " trials finished"
    if let best, let t = best.trial {
        info += " · best #\(t.index) \(formatMetric(t.accuracyMean)) ± \(formatMetric(t.accuracySD))"
    }
    if visible.count != trials.count { info += " (\(visible.count) shown)" }
    let filter = list.filterDraft ?? list.filter
    if !filter.isEmpty { info += " · filter \"\(TerminalText.escape(filter))\"" }
    info += " · sorted by \(list.sortColumn == .id ? "Trial" : list.sortColumn.title) \(list.isAscending ? "▲" : "▼")"
    if let error = state.sweep.error { info += " · \(TerminalText.escape(error))" }
    buffer.write(truncated(" " + info, to: infoArea.width), x: infoArea.x, y: infoArea.y, style: theme.style(.muted))

    let (tableArea, right) = rest.splitLeft(max(40, rest.width * 11 / 20))
    let name = TerminalText.escape(sweep.name)
    let inner = drawPanel(&buffer, tableArea, title: "Trials of \(name) (Enter trains one)", theme: theme)
    if visible.isEmpty {
        let text: [(String, ThemeRole)] =
            trials.isEmpty
            ? [("No trial recorded yet.", .muted)]
            : [("No trial matches the filter \"\(TerminalText.escape(filter))\".", .normal)]
        drawLines(&buffer, inner, text, theme: theme)
    } else {
        let fixed = 5 + 14 + 9 + 3
        let paramWidth = keys.isEmpty ? 0 : max(6, min(12, (inner.width - fixed) / keys.count - 1))
        let shownKeys = Array(keys.prefix(max(0, (inner.width - fixed) / max(1, paramWidth + 1))))
        let sortIndex: Int? =
            switch list.sortColumn {
            case .id: 0
            case .accuracy: 1
            case .status: 2
            default: nil
            }
        var table = TableView(
            columns: [
                TableColumn(title: "#", width: 5, alignment: .right),
                TableColumn(title: "Mean ± sd", width: 14, alignment: .left),
                TableColumn(title: "Status", width: 9, alignment: .left),
            ] + shownKeys.map { TableColumn(title: parameterName($0), width: paramWidth, alignment: .right) },
            rows: [], viewport: list.viewport, sortColumn: sortIndex, isAscending: list.isAscending)
        table.rows = visible.map { run in
            let t = run.trial
            let score = t?.accuracyMean.map { "\(formatMetric($0)) ± \(formatMetric(t?.accuracySD))" } ?? "–"
            return ["\(t?.index ?? 0)", score, TerminalText.escape(t?.status ?? run.state.rawValue)]
                + shownKeys.map { TerminalText.escape(run.parameter($0) ?? "–") }
        }
        table.rowRoles = visible.map { run in
            run.id == best?.id ? .good : run.state == .failed ? .bad : run.state == .running ? .accent : nil
        }
        table.draw(&buffer, inner, theme: theme)
    }

    let (curveArea, scatterArea) = right.splitTop(right.height / 2)
    // Best so far against trial number: the highest mean of the finished trials up to each number.
    let byIndex = Dictionary(
        finished.compactMap { r in r.trial.flatMap { t in t.accuracyMean.map { (t.index, $0) } } },
        uniquingKeysWith: { a, _ in a })
    let last = max(trials.compactMap { $0.trial?.index }.max() ?? 0, (planned ?? 1) - 1)
    var curve: [Double] = []
    var running = -Double.infinity
    for i in 0...max(0, last) {
        if let v = byIndex[i] { running = max(running, v) }
        curve.append(running.isFinite && i <= (byIndex.keys.max() ?? -1) ? running : .nan)
    }
    let curveTitle = "Best so far" + (best?.trial.map { " \(formatMetric($0.accuracyMean)) (trial \($0.index))" } ?? "")
    let curveInner = drawPanel(&buffer, curveArea, title: curveTitle, theme: theme)
    LineChart(
        series: [ChartSeries(label: "best", values: curve, role: .validation)], xMax: max(1, last + 1), yRange: nil
    ).draw(&buffer, curveInner, theme: theme)

    guard let key = state.scatterParameter else {
        let scatterInner = drawPanel(&buffer, scatterArea, title: "CV accuracy", theme: theme)
        drawLines(&buffer, scatterInner, [("No swept parameter to plot.", .muted)], theme: theme)
        return
    }
    let points: [ScatterPoint] = trials.compactMap { run in
        guard let y = run.trial?.accuracyMean, let x = run.parameter(key).flatMap({ Double($0) }) else { return nil }
        return ScatterPoint(x: x, y: y)
    }
    let plot = ScatterPlot(points: points)
    let position = "\(keys.firstIndex(of: key).map { $0 + 1 } ?? 1)/\(keys.count)"
    let scatterTitle =
        "CV accuracy vs \(TerminalText.escape(parameterName(key)))\(plot.isLogX ? " (log)" : "") · ←→ \(position)"
    let scatterInner = drawPanel(&buffer, scatterArea, title: scatterTitle, theme: theme)
    plot.draw(&buffer, scatterInner, theme: theme)
}
