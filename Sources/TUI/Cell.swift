/// A terminal colour: the terminal's default, or an index into the 256-colour xterm palette.
///
/// Indices 0–7 are the basic ANSI colours, 8–15 their bright variants, 16–231 the 6×6×6 cube and
/// 232–255 the grey ramp.
public enum TerminalColor: Hashable, Sendable {
    /// The terminal's own foreground or background colour.
    case standard
    /// A palette index, 0–255.
    case indexed(UInt8)
}

/// How a cell looks: colours and attributes.
public struct TextStyle: Hashable, Sendable {
    /// Foreground colour.
    public var foreground: TerminalColor
    /// Background colour.
    public var background: TerminalColor
    /// Bold (bright) text.
    public var isBold: Bool
    /// Foreground and background swapped.
    public var isReverse: Bool
    /// Underlined text.
    public var isUnderline: Bool
    /// Dim text.
    public var isDim: Bool

    /// Creates a style; every argument defaults to the terminal's plain text.
    public init(
        foreground: TerminalColor = .standard, background: TerminalColor = .standard,
        isBold: Bool = false, isReverse: Bool = false, isUnderline: Bool = false, isDim: Bool = false
    ) {
        self.foreground = foreground
        self.background = background
        self.isBold = isBold
        self.isReverse = isReverse
        self.isUnderline = isUnderline
        self.isDim = isDim
    }

    /// The terminal's plain text.
    public static let plain = TextStyle()
}

/// One character cell of the screen.
///
/// A wide character (East Asian wide, most emoji) occupies two cells: the first holds the
/// character, the second is a continuation cell (`isContinuation`) that the backend skips.
public struct Cell: Hashable, Sendable {
    /// The character shown in the cell.
    public var character: Character
    /// The cell's style.
    public var style: TextStyle
    /// Whether this cell is the right half of a wide character drawn in the cell to its left.
    public var isContinuation: Bool

    /// Creates a cell.
    public init(character: Character = " ", style: TextStyle = .plain, isContinuation: Bool = false) {
        self.character = character
        self.style = style
        self.isContinuation = isContinuation
    }
}

/// A size in terminal columns and rows.
public struct Size: Hashable, Sendable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int

    /// Creates a size.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// The smallest terminal the dashboard lays out in (80×24); smaller shows "terminal too small".
    public static let minimum = Size(width: 80, height: 24)
}

/// A rectangle of cells: origin at the top-left, x to the right, y down.
struct Rect: Hashable, Sendable {
    var x: Int
    var y: Int
    var width: Int
    var height: Int

    var maxX: Int { x + width }
    var maxY: Int { y + height }
    var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The rectangle shrunk by `d` cells on every side.
    func inset(by d: Int) -> Rect {
        Rect(x: x + d, y: y + d, width: max(0, width - 2 * d), height: max(0, height - 2 * d))
    }

    /// Splits into `count` columns of (nearly) equal width, left to right.
    func columns(_ count: Int, gap: Int = 0) -> [Rect] {
        guard count > 0 else { return [] }
        let usable = max(0, width - gap * (count - 1))
        var result: [Rect] = []
        var cx = x
        for i in 0..<count {
            let w = usable / count + (i < usable % count ? 1 : 0)
            result.append(Rect(x: cx, y: y, width: w, height: height))
            cx += w + gap
        }
        return result
    }

    /// Splits into `count` rows of (nearly) equal height, top to bottom.
    func rows(_ count: Int) -> [Rect] {
        guard count > 0 else { return [] }
        var result: [Rect] = []
        var cy = y
        for i in 0..<count {
            let h = height / count + (i < height % count ? 1 : 0)
            result.append(Rect(x: x, y: cy, width: width, height: h))
            cy += h
        }
        return result
    }

    /// The top `rows` rows of the rectangle, and what is left below them.
    func splitTop(_ rows: Int) -> (top: Rect, rest: Rect) {
        let r = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: r), Rect(x: x, y: y + r, width: width, height: height - r))
    }

    /// The left `columns` columns of the rectangle, and what is right of them.
    func splitLeft(_ columns: Int) -> (left: Rect, rest: Rect) {
        let c = min(max(0, columns), width)
        return (Rect(x: x, y: y, width: c, height: height), Rect(x: x + c, y: y, width: width - c, height: height))
    }
}

/// How many columns a character takes in a terminal: 2 for East Asian wide and emoji, else 1.
///
/// A small table in the spirit of `wcwidth`, enough for the text the dashboard shows; control
/// characters are replaced before they reach a buffer, so they never need a width.
func displayWidth(of character: Character) -> Int {
    guard let scalar = character.unicodeScalars.first else { return 1 }
    let v = scalar.value
    let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
    ]
    return wideRanges.contains { $0.contains(v) } ? 2 : 1
}

/// The number of columns `text` takes in a terminal.
func displayWidth(of text: String) -> Int {
    text.reduce(0) { $0 + displayWidth(of: $1) }
}

/// `text` cut to at most `width` columns, ending in "…" when something was cut.
func truncated(_ text: String, to width: Int) -> String {
    guard width > 0 else { return "" }
    if displayWidth(of: text) <= width { return text }
    var result = ""
    var used = 0
    for ch in text {
        let w = displayWidth(of: ch)
        if used + w > width - 1 { break }
        result.append(ch)
        used += w
    }
    return result + "…"
}

/// `text` padded with spaces (or cut) to exactly `width` columns.
func padded(_ text: String, to width: Int, alignRight: Bool = false) -> String {
    let t = truncated(text, to: width)
    let pad = String(repeating: " ", count: max(0, width - displayWidth(of: t)))
    return alignRight ? pad + t : t + pad
}
