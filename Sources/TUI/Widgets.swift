import Engine
import Foundation

// Widgets: pure functions that draw into a `CellBuffer` inside a `Rect`, clipping to it.

/// Draws a box with an optional title on its top border; returns the inner rectangle.
@discardableResult
func drawPanel(_ buffer: inout CellBuffer, _ rect: Rect, title: String?, theme: Theme, titleRole: ThemeRole = .title)
    -> Rect
{
    guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
    let border = theme.style(.border)
    buffer.fill(rect.inset(by: 1), style: theme.style(.normal))
    for x in rect.x + 1..<rect.maxX - 1 {
        buffer.put("─", x: x, y: rect.y, style: border)
        buffer.put("─", x: x, y: rect.maxY - 1, style: border)
    }
    for y in rect.y + 1..<rect.maxY - 1 {
        buffer.put("│", x: rect.x, y: y, style: border)
        buffer.put("│", x: rect.maxX - 1, y: y, style: border)
    }
    buffer.put("┌", x: rect.x, y: rect.y, style: border)
    buffer.put("┐", x: rect.maxX - 1, y: rect.y, style: border)
    buffer.put("└", x: rect.x, y: rect.maxY - 1, style: border)
    buffer.put("┘", x: rect.maxX - 1, y: rect.maxY - 1, style: border)
    if let title, !title.isEmpty, rect.width > 4 {
        buffer.write(
            " \(truncated(title, to: rect.width - 4)) ", x: rect.x + 1, y: rect.y, style: theme.style(titleRole))
    }
    return rect.inset(by: 1)
}

/// Draws a one-row progress bar with eighth-block precision; `fraction` is clamped to 0…1.
func drawProgressBar(_ buffer: inout CellBuffer, _ rect: Rect, fraction: Double, theme: Theme) {
    guard rect.width > 0, rect.height > 0 else { return }
    let f = fraction.isFinite ? min(1, max(0, fraction)) : 0
    let eighths = Int((f * Double(rect.width * 8)).rounded(.down))
    let partials: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    let filled = theme.style(.progress)
    let empty = theme.style(.muted)
    for i in 0..<rect.width {
        let cellEighths = eighths - i * 8
        let ch: Character
        let style: TextStyle
        if cellEighths >= 8 {
            (ch, style) = ("█", filled)
        } else if cellEighths > 0 {
            (ch, style) = (partials[cellEighths - 1], filled)
        } else {
            (ch, style) = ("░", empty)
        }
        buffer.put(ch, x: rect.x + i, y: rect.y, style: style)
    }
}

/// Draws the status bar: `left` text, `right` text flush right, across one row.
func drawStatusBar(_ buffer: inout CellBuffer, row y: Int, width: Int, left: String, right: String, theme: Theme) {
    let style = theme.style(.status)
    buffer.fill(Rect(x: 0, y: y, width: width, height: 1), style: style)
    let rightWidth = min(displayWidth(of: right), max(0, width / 2))
    buffer.write(truncated(left, to: max(0, width - rightWidth - 2)), x: 1, y: y, style: style)
    if rightWidth > 0 {
        buffer.write(truncated(right, to: rightWidth), x: width - rightWidth - 1, y: y, style: style)
    }
}

/// One series of a line chart: the values at x = 1, 2, and so on.
struct ChartSeries: Equatable, Sendable {
    var label: String
    var values: [Double]
    var role: ThemeRole
}

/// A line chart of per-epoch series drawn with braille dots (2×4 dots a cell).
///
/// The y-axis shows the top, middle and bottom values; the x-axis runs from epoch 1 to `xMax`
/// (the planned number of epochs, so a live curve grows across a fixed axis).
struct LineChart {
    var series: [ChartSeries]
    /// The last epoch on the x-axis; at least the longest series.
    var xMax: Int
    /// A fixed y-range, such as 0…1 for accuracy; nil scales to the data.
    var yRange: ClosedRange<Double>?

    /// Width of the y-axis labels, in columns.
    static let labelWidth = 6

    /// The y-range drawn: `yRange`, or the data's range padded so flat series stay visible.
    func effectiveRange() -> ClosedRange<Double> {
        if let yRange { return yRange }
        let all = series.flatMap(\.values).filter(\.isFinite)
        guard let lo = all.min(), let hi = all.max() else { return 0...1 }
        if hi - lo < 1e-9 {
            let pad = max(abs(hi) * 0.1, 0.05)
            return (lo - pad)...(hi + pad)
        }
        return lo...hi
    }

    /// Formats an axis value in at most `labelWidth - 1` columns.
    static func axisLabel(_ v: Double) -> String {
        let a = abs(v)
        let s: String
        if a >= 1000 {
            s = PlainNumber.format("%.0e", v)
        } else if a >= 100 {
            s = PlainNumber.format("%.0f", v)
        } else if a >= 10 {
            s = PlainNumber.format("%.1f", v)
        } else {
            s = PlainNumber.format("%.3f", v)
        }
        return s.count > labelWidth - 1 ? String(s.prefix(labelWidth - 1)) : s
    }

    /// Draws the chart into `rect`: y labels on the left, the plot, the x-axis and epoch labels below.
    func draw(_ buffer: inout CellBuffer, _ rect: Rect, theme: Theme) {
        let plotWidth = rect.width - Self.labelWidth - 1
        let plotHeight = rect.height - 2
        guard plotWidth >= 2, plotHeight >= 1 else { return }
        let range = effectiveRange()
        let muted = theme.style(.muted)
        let plotX = rect.x + Self.labelWidth + 1
        // Axes.
        for row in 0..<plotHeight { buffer.put("┤", x: plotX - 1, y: rect.y + row, style: muted) }
        buffer.put("└", x: plotX - 1, y: rect.y + plotHeight, style: muted)
        for col in 0..<plotWidth { buffer.put("─", x: plotX + col, y: rect.y + plotHeight, style: muted) }
        let labels: [(Int, Double)] = [
            (0, range.upperBound), (plotHeight / 2, (range.lowerBound + range.upperBound) / 2),
            (plotHeight - 1, range.lowerBound),
        ]
        for (row, value) in labels where plotHeight > 2 || row == 0 || row == plotHeight - 1 {
            buffer.write(
                padded(Self.axisLabel(value), to: Self.labelWidth, alignRight: true), x: rect.x, y: rect.y + row,
                style: muted)
        }
        let last = max(xMax, series.map(\.values.count).max() ?? 1, 1)
        buffer.write("1", x: plotX, y: rect.y + plotHeight + 1, style: muted)
        let lastLabel = "\(last)"
        if plotWidth > lastLabel.count + 2 {
            buffer.write(lastLabel, x: plotX + plotWidth - lastLabel.count, y: rect.y + plotHeight + 1, style: muted)
        }
        // Braille dots: each cell has 2 columns × 4 rows of dots.
        let dotsWide = plotWidth * 2
        let dotsHigh = plotHeight * 4
        var dots = [UInt8](repeating: 0, count: plotWidth * plotHeight)
        var owner = [ThemeRole?](repeating: nil, count: plotWidth * plotHeight)
        let span = range.upperBound - range.lowerBound
        func dot(_ v: Double, _ index: Int) -> (Int, Int)? {
            guard v.isFinite else { return nil }
            let fx = last > 1 ? Double(index) / Double(last - 1) : 0
            let dx = Int((fx * Double(dotsWide - 1)).rounded())
            let clamped = min(range.upperBound, max(range.lowerBound, v))
            let fy = span > 0 ? (clamped - range.lowerBound) / span : 0
            let dy = dotsHigh - 1 - Int((fy * Double(dotsHigh - 1)).rounded())
            return (dx, dy)
        }
        func set(_ dx: Int, _ dy: Int, _ role: ThemeRole) {
            guard dx >= 0, dy >= 0, dx < dotsWide, dy < dotsHigh else { return }
            let bits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
            let cell = (dy / 4) * plotWidth + dx / 2
            dots[cell] |= bits[dy % 4][dx % 2]
            owner[cell] = role
        }
        for s in series {
            var previous: (Int, Int)?
            for (i, v) in s.values.enumerated() {
                guard let p = dot(v, i) else { previous = nil; continue }
                if let q = previous {
                    // Bresenham between consecutive epochs, so the curve is continuous.
                    var (x0, y0) = q
                    let (x1, y1) = p
                    let dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1
                    let dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1
                    var err = dx + dy
                    while true {
                        set(x0, y0, s.role)
                        if x0 == x1 && y0 == y1 { break }
                        let e2 = 2 * err
                        if e2 >= dy { err += dy; x0 += sx }
                        if e2 <= dx { err += dx; y0 += sy }
                    }
                } else {
                    set(p.0, p.1, s.role)
                }
                previous = p
            }
        }
        for row in 0..<plotHeight {
            for col in 0..<plotWidth {
                let i = row * plotWidth + col
                guard dots[i] != 0, let role = owner[i], let scalar = Unicode.Scalar(0x2800 + UInt32(dots[i])) else {
                    continue
                }
                buffer.put(Character(scalar), x: plotX + col, y: rect.y + row, style: theme.style(role))
            }
        }
    }
}

/// One point of a scatter plot.
struct ScatterPoint: Equatable, Sendable {
    var x: Double
    var y: Double
}

/// A scatter plot drawn with braille dots (2×4 dots a cell): y against x, x on a log axis when its positive
/// values span more than 10×.
struct ScatterPlot {
    var points: [ScatterPoint]

    /// The points that can be drawn (finite; positive x on a log axis).
    var drawable: [ScatterPoint] {
        points.filter { $0.x.isFinite && $0.y.isFinite && (!isLogX || $0.x > 0) }
    }

    /// Whether x is drawn on a log axis: every x positive and the largest over 10× the smallest.
    var isLogX: Bool {
        let xs = points.map(\.x).filter(\.isFinite)
        guard let lo = xs.min(), let hi = xs.max(), lo > 0 else { return false }
        return hi / lo > 10
    }

    /// Draws the plot into `rect`: y labels on the left, the dots, the x-axis with its lowest and highest value.
    func draw(_ buffer: inout CellBuffer, _ rect: Rect, theme: Theme) {
        let labelWidth = LineChart.labelWidth
        let plotWidth = rect.width - labelWidth - 1
        let plotHeight = rect.height - 2
        guard plotWidth >= 2, plotHeight >= 1 else { return }
        let muted = theme.style(.muted)
        let plotX = rect.x + labelWidth + 1
        for row in 0..<plotHeight { buffer.put("┤", x: plotX - 1, y: rect.y + row, style: muted) }
        buffer.put("└", x: plotX - 1, y: rect.y + plotHeight, style: muted)
        for col in 0..<plotWidth { buffer.put("─", x: plotX + col, y: rect.y + plotHeight, style: muted) }
        let shown = drawable
        guard !shown.isEmpty else {
            buffer.write("no scores yet", x: plotX + 1, y: rect.y, style: muted, maxWidth: plotWidth - 1)
            return
        }
        let log = isLogX
        func axis(_ x: Double) -> Double { log ? Foundation.log10(x) : x }
        let xs = shown.map { axis($0.x) }
        let ys = shown.map(\.y)
        var (xLo, xHi) = (xs.min() ?? 0, xs.max() ?? 1)
        var (yLo, yHi) = (ys.min() ?? 0, ys.max() ?? 1)
        if xHi - xLo < 1e-12 { (xLo, xHi) = (xLo - 0.5, xHi + 0.5) }
        if yHi - yLo < 1e-9 { (yLo, yHi) = (yLo - 0.01, yHi + 0.01) }
        buffer.write(
            padded(LineChart.axisLabel(yHi), to: labelWidth, alignRight: true), x: rect.x, y: rect.y, style: muted)
        if plotHeight > 1 {
            buffer.write(
                padded(LineChart.axisLabel(yLo), to: labelWidth, alignRight: true), x: rect.x,
                y: rect.y + plotHeight - 1, style: muted)
        }
        let low = LineChart.axisLabel(log ? Foundation.pow(10, xLo) : xLo)
        let high = LineChart.axisLabel(log ? Foundation.pow(10, xHi) : xHi)
        buffer.write(low, x: plotX, y: rect.y + plotHeight + 1, style: muted, maxWidth: plotWidth)
        if plotWidth > low.count + high.count + 2 {
            buffer.write(high, x: plotX + plotWidth - high.count, y: rect.y + plotHeight + 1, style: muted)
        }
        let dotsWide = plotWidth * 2
        let dotsHigh = plotHeight * 4
        var dots = [UInt8](repeating: 0, count: plotWidth * plotHeight)
        let bits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
        for (x, y) in zip(xs, ys) {
            let dx = Int(((x - xLo) / (xHi - xLo) * Double(dotsWide - 1)).rounded())
            let dy = dotsHigh - 1 - Int(((y - yLo) / (yHi - yLo) * Double(dotsHigh - 1)).rounded())
            guard dx >= 0, dy >= 0, dx < dotsWide, dy < dotsHigh else { continue }
            dots[(dy / 4) * plotWidth + dx / 2] |= bits[dy % 4][dx % 2]
        }
        for row in 0..<plotHeight {
            for col in 0..<plotWidth {
                let i = row * plotWidth + col
                guard dots[i] != 0, let scalar = Unicode.Scalar(0x2800 + UInt32(dots[i])) else { continue }
                buffer.put(Character(scalar), x: plotX + col, y: rect.y + row, style: theme.style(.validation))
            }
        }
    }
}

/// How a table column lines up its text.
enum ColumnAlignment: Sendable { case left, right }

/// A table column: title, width in columns, alignment.
struct TableColumn: Equatable, Sendable {
    var title: String
    var width: Int
    var alignment: ColumnAlignment
}

/// Scrolling arithmetic for a list: keeps the selection within the visible rows.
struct ListViewport: Equatable, Sendable {
    /// The selected row index (0 when empty).
    var selected: Int = 0
    /// The first visible row index.
    var offset: Int = 0

    /// Moves the selection by `delta`, clamped to `count` rows, and scrolls to keep it in `visibleRows`.
    mutating func move(by delta: Int, count: Int, visibleRows: Int) {
        selected = count == 0 ? 0 : min(count - 1, max(0, selected + delta))
        scroll(count: count, visibleRows: visibleRows)
    }

    /// Clamps the selection and offset after the row count or the visible height changed.
    mutating func scroll(count: Int, visibleRows: Int) {
        selected = count == 0 ? 0 : min(count - 1, max(0, selected))
        let rows = max(1, visibleRows)
        if selected < offset { offset = selected }
        if selected >= offset + rows { offset = selected - rows + 1 }
        offset = max(0, min(offset, max(0, count - rows)))
    }
}

/// A table with a header (sort indicator on the sorted column), a selected row and scrolling.
struct TableView {
    var columns: [TableColumn]
    var rows: [[String]]
    /// Styles per row, such as failed runs in the bad style; nil means normal.
    var rowRoles: [ThemeRole?] = []
    var viewport: ListViewport
    var sortColumn: Int?
    var isAscending: Bool
    /// Whether the selection is shown (the table has focus).
    var showsSelection: Bool = true

    /// The number of data rows that fit in `height` rows (one row is the header).
    static func visibleRows(height: Int) -> Int { max(0, height - 1) }

    func draw(_ buffer: inout CellBuffer, _ rect: Rect, theme: Theme) {
        guard rect.height >= 1, rect.width >= 1 else { return }
        var header = ""
        for (i, column) in columns.enumerated() {
            var title = column.title
            if i == sortColumn { title += isAscending ? "▲" : "▼" }
            header += padded(title, to: column.width, alignRight: column.alignment == .right) + " "
        }
        buffer.write(padded(header, to: rect.width), x: rect.x, y: rect.y, style: theme.style(.header))
        let visible = Self.visibleRows(height: rect.height)
        for line in 0..<visible {
            let index = viewport.offset + line
            guard index < rows.count else { break }
            var text = ""
            for (i, column) in columns.enumerated() {
                let value = i < rows[index].count ? rows[index][i] : ""
                text += padded(value, to: column.width, alignRight: column.alignment == .right) + " "
            }
            let isSelected = showsSelection && index == viewport.selected
            let role = isSelected ? .selected : (index < rowRoles.count ? rowRoles[index] ?? .normal : .normal)
            buffer.write(padded(text, to: rect.width), x: rect.x, y: rect.y + 1 + line, style: theme.style(role))
        }
        // A scroll indicator on the right edge when not everything fits.
        if rows.count > visible, visible > 0 {
            let position = rows.count <= 1 ? 0 : viewport.selected * (visible - 1) / (rows.count - 1)
            buffer.put("▐", x: rect.maxX - 1, y: rect.y + 1 + position, style: theme.style(.accent))
        }
    }
}

/// Draws lines of text, one a row, clipped to `rect`; returns how many were drawn.
@discardableResult
func drawLines(_ buffer: inout CellBuffer, _ rect: Rect, _ lines: [(String, ThemeRole)], theme: Theme) -> Int {
    var drawn = 0
    for (i, (text, role)) in lines.enumerated() where i < rect.height {
        buffer.write(truncated(text, to: rect.width), x: rect.x, y: rect.y + i, style: theme.style(role))
        drawn += 1
    }
    return drawn
}

/// Draws `text` centred in `rect` on row `y`.
func drawCentered(_ buffer: inout CellBuffer, _ text: String, in rect: Rect, y: Int, style: TextStyle) {
    let t = truncated(text, to: rect.width)
    buffer.write(t, x: rect.x + max(0, (rect.width - displayWidth(of: t)) / 2), y: y, style: style)
}
