import Testing
@testable import TUI

@Suite struct CellBufferTests {
    @Test func writingClipsAtTheRightEdgeAndReportsColumnsUsed() {
        var buffer = CellBuffer(size: Size(width: 10, height: 2))
        let used = buffer.write("abcdefghijklmnop", x: 6, y: 1, style: .plain)
        #expect(used == 4)
        #expect(buffer.lines == ["", "      abcd"])
    }

    @Test func wideCharactersTakeTwoCellsAndReadBackOnce() {
        var buffer = CellBuffer(size: Size(width: 6, height: 1))
        let used = buffer.write("a漢b", x: 0, y: 0, style: .plain)
        #expect(used == 4)
        #expect(buffer[1, 0].character == "漢")
        #expect(buffer[2, 0].isContinuation)
        #expect(buffer.lines == ["a漢b"])
    }

    @Test func aWideCharacterThatDoesNotFitIsNotHalfDrawn() {
        var buffer = CellBuffer(size: Size(width: 3, height: 1))
        buffer.write("ab漢", x: 0, y: 0, style: .plain)
        #expect(buffer.lines == ["ab"])
        #expect(!buffer[2, 0].isContinuation)
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var buffer = CellBuffer(size: Size(width: 4, height: 1))
        buffer.write("漢", x: 0, y: 0, style: .plain)
        buffer.write("x", x: 1, y: 0, style: .plain)
        #expect(buffer.lines == [" x"])
        #expect(!buffer[1, 0].isContinuation)
    }

    @Test func controlCharactersAreReplaced() {
        var buffer = CellBuffer(size: Size(width: 4, height: 1))
        buffer.write("a\u{1B}b", x: 0, y: 0, style: .plain)
        #expect(buffer.lines == ["a?b"])
    }

    @Test func writingOutsideTheBufferIsIgnored() {
        var buffer = CellBuffer(size: Size(width: 4, height: 2))
        buffer.write("zz", x: 0, y: 5, style: .plain)
        buffer.write("zz", x: -1, y: -1, style: .plain)
        buffer.fill(Rect(x: -3, y: -3, width: 100, height: 100), character: ".", style: .plain)
        #expect(buffer.lines == ["....", "...."])
    }

    @Test func changedPositionsListOnlyTheDifferingCells() {
        var a = CellBuffer(size: Size(width: 5, height: 3))
        var b = a
        b.write("x", x: 2, y: 1, style: .plain)
        b.write("y", x: 4, y: 2, style: TextStyle(isBold: true))
        let changes = b.changedPositions(since: a)
        #expect(changes.map { "\($0.x),\($0.y)" } == ["2,1", "4,2"])
        #expect(b.changedPositions(since: nil).count == 15)
        a = CellBuffer(size: Size(width: 4, height: 3))
        #expect(b.changedPositions(since: a).count == 15)
    }

    @Test func truncationAndPaddingCountColumnsNotCharacters() {
        #expect(truncated("experiment", to: 6) == "exper…")
        #expect(truncated("short", to: 6) == "short")
        #expect(padded("漢字", to: 6) == "漢字  ")
        #expect(padded("7", to: 3, alignRight: true) == "  7")
    }
}
