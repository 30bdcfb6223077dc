import Testing
@testable import TUI

@Suite struct WidgetTests {
    let theme = Theme.mono

    private func drawBar(_ fraction: Double, width: Int = 10) -> String {
        var buffer = CellBuffer(size: Size(width: width, height: 1))
        drawProgressBar(&buffer, Rect(x: 0, y: 0, width: width, height: 1), fraction: fraction, theme: theme)
        return buffer.rowText(0)
    }

    @Test func progressBarFillsInEighths() {
        #expect(drawBar(0) == "░░░░░░░░░░")
        #expect(drawBar(1) == "██████████")
        #expect(drawBar(0.5) == "█████░░░░░")
        #expect(drawBar(0.25) == "██▌░░░░░░░")
        #expect(drawBar(0.0125) == "▏░░░░░░░░░")
    }

    @Test func progressBarClampsOutOfRangeAndNonFiniteFractions() {
        #expect(drawBar(3) == "██████████")
        #expect(drawBar(-1) == "░░░░░░░░░░")
        #expect(drawBar(.nan) == "░░░░░░░░░░")
    }

    private func render(_ chart: LineChart, width: Int = 30, height: Int = 8) -> CellBuffer {
        var buffer = CellBuffer(size: Size(width: width, height: height))
        chart.draw(&buffer, Rect(x: 0, y: 0, width: width, height: height), theme: theme)
        return buffer
    }

    /// The rows (0-based) of the plot area holding any braille dot, per column.
    private func dotRows(_ buffer: CellBuffer, column: Int) -> [Int] {
        (0..<buffer.height).filter { y in
            let v = buffer[column, y].character.unicodeScalars.first?.value ?? 0
            return v > 0x2800 && v <= 0x28FF
        }
    }

    @Test func chartScalesTheDataRangeToThePlotAndLabelsTheAxis() {
        let chart = LineChart(
            series: [ChartSeries(label: "loss", values: [2.0, 1.5, 1.0, 0.5], role: .train)], xMax: 4, yRange: nil)
        let buffer = render(chart)
        let plotX = LineChart.labelWidth + 1
        let plotHeight = 8 - 2
        // The first value (the maximum) is on the top row, the last (the minimum) on the bottom row.
        #expect(dotRows(buffer, column: plotX) == [0])
        #expect(dotRows(buffer, column: 29) == [plotHeight - 1])
        #expect(buffer.rowText(0).hasPrefix(" 2.000┤"))
        #expect(buffer.rowText(plotHeight - 1).hasPrefix(" 0.500┤"))
        #expect(buffer.rowText(plotHeight / 2).hasPrefix(" 1.250┤"))
        #expect(buffer.rowText(plotHeight).hasPrefix("      └───"))
        #expect(buffer.lines[plotHeight + 1] == "       1" + String(repeating: " ", count: 21) + "4")
    }

    @Test func chartUsesAFixedRangeWhenGivenAndGrowsAcrossAFixedXAxis() {
        // 5 of 100 planned epochs: the curve covers only the left part of the plot.
        let chart = LineChart(
            series: [ChartSeries(label: "acc", values: [0.5, 0.6, 0.7, 0.8, 0.9], role: .validation)], xMax: 100,
            yRange: 0...1)
        let buffer = render(chart)
        #expect(buffer.rowText(0).hasPrefix(" 1.000┤"))
        #expect(buffer.rowText(5).hasPrefix(" 0.000┤"))
        #expect(buffer.lines[7].hasSuffix("100"))
        let plotX = LineChart.labelWidth + 1
        let columnsWithDots = (plotX..<30).filter { !dotRows(buffer, column: $0).isEmpty }
        // 4 of 99 epoch steps across 23 columns (46 dots): dots 0…2, the first two columns only.
        #expect(columnsWithDots == [plotX, plotX + 1])
    }

    @Test func chartOfAFlatSeriesStaysVisibleAndAnEmptyChartDrawsAxesOnly() {
        let flat = render(
            LineChart(series: [ChartSeries(label: "f", values: [0.3, 0.3, 0.3], role: .train)], xMax: 3, yRange: nil))
        let plotX = LineChart.labelWidth + 1
        #expect(!dotRows(flat, column: plotX).isEmpty)
        let empty = render(LineChart(series: [], xMax: 80, yRange: nil))
        #expect(empty.rowText(0).hasPrefix(" 1.000┤"))
        #expect((plotX..<30).allSatisfy { dotRows(empty, column: $0).isEmpty })
    }

    @Test func chartInATinyRectDrawsNothingAndDoesNotTrap() {
        let buffer = render(
            LineChart(series: [ChartSeries(label: "x", values: [1, 2], role: .train)], xMax: 2, yRange: nil), width: 5,
            height: 2)
        #expect(buffer.lines.allSatisfy { $0.isEmpty })
    }

    @Test func viewportKeepsTheSelectionVisibleWhenScrolling() {
        var viewport = ListViewport()
        viewport.move(by: 1, count: 100, visibleRows: 10)
        #expect(viewport == ListViewport(selected: 1, offset: 0))
        viewport.move(by: 12, count: 100, visibleRows: 10)
        #expect(viewport == ListViewport(selected: 13, offset: 4))
        viewport.move(by: 1000, count: 100, visibleRows: 10)
        #expect(viewport == ListViewport(selected: 99, offset: 90))
        viewport.move(by: -95, count: 100, visibleRows: 10)
        #expect(viewport == ListViewport(selected: 4, offset: 4))
        viewport.scroll(count: 3, visibleRows: 10)
        #expect(viewport == ListViewport(selected: 2, offset: 0))
        viewport.move(by: 1, count: 0, visibleRows: 10)
        #expect(viewport == ListViewport(selected: 0, offset: 0))
    }

    @Test func tableShowsTheHeaderWithSortIndicatorAndOnlyTheVisibleRows() {
        let rows = (0..<50).map { ["row\($0)", "\($0 * 10)"] }
        let table = TableView(
            columns: [
                TableColumn(title: "Name", width: 6, alignment: .left),
                TableColumn(title: "N", width: 4, alignment: .right),
            ],
            rows: rows, viewport: ListViewport(selected: 21, offset: 18), sortColumn: 1, isAscending: false)
        var buffer = CellBuffer(size: Size(width: 16, height: 5))
        table.draw(&buffer, Rect(x: 0, y: 0, width: 16, height: 5), theme: theme)
        #expect(buffer.lines[0] == "Name     N▼")
        #expect(buffer.lines[1] == "row18   180")
        #expect(buffer.lines[4].hasPrefix("row21   210"))
        #expect(buffer[0, 4].style.isReverse)  // the selected row (mono: reverse video)
        #expect(!buffer[0, 3].style.isReverse)
        #expect(buffer.lines[1...].allSatisfy { !$0.contains("row22") })
    }

    @Test func panelDrawsABorderAndReturnsTheInnerArea() {
        var buffer = CellBuffer(size: Size(width: 12, height: 4))
        let inner = drawPanel(&buffer, Rect(x: 0, y: 0, width: 12, height: 4), title: "Loss", theme: theme)
        #expect(inner == Rect(x: 1, y: 1, width: 10, height: 2))
        #expect(buffer.lines == ["┌ Loss ────┐", "│          │", "│          │", "└──────────┘"])
    }

    @Test func statusBarPutsTheRightTextFlushRight() {
        var buffer = CellBuffer(size: Size(width: 30, height: 1))
        drawStatusBar(&buffer, row: 0, width: 30, left: "q quit", right: "SQLite ● ok", theme: theme)
        #expect(buffer.rowText(0) == " q quit           SQLite ● ok ")
    }
}
