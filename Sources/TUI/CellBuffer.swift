/// A grid of cells that screens and widgets draw into; the backend puts it on the terminal.
///
/// Everything outside the bounds is clipped, so a widget given too little room draws less and
/// never traps. Tests read it back as rows of text (`rowText(_:)`, `lines`).
import Engine

public struct CellBuffer: Equatable, Sendable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// The cells, row by row.
    public private(set) var cells: [Cell]

    /// Creates a buffer of blank cells.
    /// - Parameters:
    ///   - size: columns and rows (negative values count as 0).
    ///   - style: the style of the blank cells.
    public init(size: Size, style: TextStyle = .plain) {
        width = max(0, size.width)
        height = max(0, size.height)
        cells = Array(repeating: Cell(style: style), count: width * height)
    }

    /// The buffer's size.
    public var size: Size { Size(width: width, height: height) }

    /// The cell at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Sets one cell, clipping outside the buffer; a wide character takes the cell to its right too.
    mutating func put(_ character: Character, x: Int, y: Int, style: TextStyle) {
        guard contains(x: x, y: y) else { return }
        let ch = sanitized(character)
        let w = displayWidth(of: ch)
        if w == 2 && !contains(x: x + 1, y: y) {
            self[x, y] = Cell(character: " ", style: style)
            return
        }
        // Overwriting half of a wide character blanks its other half.
        if self[x, y].isContinuation && x > 0 { self[x - 1, y] = Cell(character: " ", style: self[x - 1, y].style) }
        if x + 1 < width && self[x + 1, y].isContinuation && w == 1 {
            self[x + 1, y] = Cell(character: " ", style: self[x + 1, y].style)
        }
        self[x, y] = Cell(character: ch, style: style)
        if w == 2 { self[x + 1, y] = Cell(character: " ", style: style, isContinuation: true) }
    }

    /// Writes `text` from (x, y) rightwards, at most `maxWidth` columns; returns the columns used.
    @discardableResult
    mutating func write(_ text: String, x: Int, y: Int, style: TextStyle, maxWidth: Int? = nil) -> Int {
        let limit = min(maxWidth ?? Int.max, width - x)
        guard y >= 0, y < height, limit > 0 else { return 0 }
        var cx = x
        for ch in text {
            let w = displayWidth(of: sanitized(ch))
            if cx + w > x + limit { break }
            put(ch, x: cx, y: y, style: style)
            cx += w
        }
        return cx - x
    }

    /// Fills a rectangle with one character and style.
    mutating func fill(_ rect: Rect, character: Character = " ", style: TextStyle) {
        for yy in max(0, rect.y)..<max(max(0, rect.y), min(height, rect.maxY)) {
            for xx in max(0, rect.x)..<max(max(0, rect.x), min(width, rect.maxX)) {
                self[xx, yy] = Cell(character: character, style: style)
            }
        }
    }

    /// Changes the style of the cells in a rectangle, keeping their characters.
    mutating func restyle(_ rect: Rect, style: TextStyle) {
        for yy in max(0, rect.y)..<max(max(0, rect.y), min(height, rect.maxY)) {
            for xx in max(0, rect.x)..<max(max(0, rect.x), min(width, rect.maxX)) {
                self[xx, yy].style = style
            }
        }
    }

    /// Row `y` as text, wide characters once, trailing spaces kept.
    public func rowText(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var s = ""
        for x in 0..<width where !self[x, y].isContinuation { s.append(self[x, y].character) }
        return s
    }

    /// Every row as text, trailing spaces removed: what a person sees, for tests and README captures.
    public var lines: [String] {
        (0..<height).map { y in
            var s = rowText(y)
            while s.last == " " { s.removeLast() }
            return s
        }
    }

    /// The positions of the cells that differ from `other` (every cell when the sizes differ).
    public func changedPositions(since other: CellBuffer?) -> [(x: Int, y: Int)] {
        var result: [(x: Int, y: Int)] = []
        guard let other, other.width == width, other.height == height else {
            for y in 0..<height { for x in 0..<width { result.append((x, y)) } }
            return result
        }
        for i in 0..<cells.count where cells[i] != other.cells[i] { result.append((i % width, i / width)) }
        return result
    }

    /// A character that holds a control character (C0, DEL, C1: ``TerminalText/isControl(_:)``) is drawn as
    /// `?`, so text from outside (run names, store values) cannot act on the terminal.
    private func sanitized(_ ch: Character) -> Character {
        if ch.unicodeScalars.contains(where: TerminalText.isControl) { return "?" }
        return ch
    }
}
