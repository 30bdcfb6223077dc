/// A key press, as the backend decodes it.
public enum Key: Hashable, Sendable {
    /// A printable character.
    case character(Character)
    case up, down, left, right
    case enter, escape, tab, backTab, backspace
    case pageUp, pageDown, home, end
    /// Ctrl-C typed in raw mode (the dashboard quits as for SIGINT).
    case interrupt
    /// Ctrl-U: clears the text being typed (as in a shell's line editor).
    case clearLine
}

/// The dashboard's screens, in tab order; the raw value is the number key that opens it.
public enum Screen: Int, CaseIterable, Hashable, Sendable {
    case train = 1, history, detail, compare, tests, help
    /// A running `sonarlab serve` (shown in the tabs when one is followed).
    case service
    /// A sweep's trials, its best-so-far curve and a scatter of accuracy against one swept parameter.
    case sweep

    /// The tab title.
    var title: String {
        switch self {
        case .train: "Train"
        case .history: "History"
        case .detail: "Detail"
        case .compare: "Compare"
        case .tests: "Tests"
        case .help: "Help"
        case .service: "Service"
        case .sweep: "Sweep"
        }
    }
}

/// What a key asks for; `KeyMap` maps keys to commands per screen.
enum Command: Hashable, Sendable {
    case moveUp, moveDown, moveLeft, moveRight, pageUp, pageDown, top, bottom
    case open, nextScreen, previousScreen, goTo(Screen)
    case filter, sort, reverseSort, refresh, mark, runScenarios
    case train, cancelRun, edit
    case back, quit, help
}

/// One line of the key map: the keys, what they do, and where they apply.
struct KeyBinding: Sendable {
    /// The keys, as the help shows them.
    var label: String
    var keys: [Key]
    var command: Command
    var summary: String
    /// Screens where the binding applies; empty means everywhere.
    var screens: [Screen] = []
}

/// The key map: the one source of both key handling and the Help screen.
enum KeyMap {
    static let bindings: [KeyBinding] = {
        var list: [KeyBinding] = [
            KeyBinding(label: "↑ k", keys: [.up, .character("k")], command: .moveUp, summary: "move up"),
            KeyBinding(label: "↓ j", keys: [.down, .character("j")], command: .moveDown, summary: "move down"),
            KeyBinding(
                label: "← h", keys: [.left, .character("h")], command: .moveLeft, summary: "previous column/run/param"),
            KeyBinding(
                label: "→ l", keys: [.right, .character("l")], command: .moveRight, summary: "next column/run/param"),
            KeyBinding(label: "PgUp PgDn", keys: [.pageUp], command: .pageUp, summary: "page up, page down"),
            KeyBinding(label: "", keys: [.pageDown], command: .pageDown, summary: ""),
            KeyBinding(label: "Home End", keys: [.home, .character("g")], command: .top, summary: "first, last row"),
            KeyBinding(label: "", keys: [.end, .character("G")], command: .bottom, summary: ""),
            KeyBinding(label: "Enter", keys: [.enter], command: .open, summary: "open, edit, train trial"),
            KeyBinding(label: "Tab", keys: [.tab], command: .nextScreen, summary: "next screen"),
            KeyBinding(label: "Shift-Tab", keys: [.backTab], command: .previousScreen, summary: "previous screen"),
        ]
        for screen in Screen.allCases {
            list.append(
                KeyBinding(
                    label: screen == .train ? "1-8" : "", keys: [.character(Character("\(screen.rawValue)"))],
                    command: .goTo(screen), summary: screen == .train ? "go to screen 1-8 (tabs)" : ""))
        }
        list += [
            KeyBinding(label: "t", keys: [.character("t")], command: .train, summary: "train with these parameters"),
            KeyBinding(label: "x", keys: [.character("x")], command: .cancelRun, summary: "cancel the run"),
            KeyBinding(
                label: "e", keys: [.character("e")], command: .edit, summary: "edit the parameter", screens: [.train]),
            KeyBinding(
                label: "/", keys: [.character("/")], command: .filter, summary: "filter runs by text",
                screens: [.history, .sweep]),
            KeyBinding(
                label: "s", keys: [.character("s")], command: .sort, summary: "sort by the next column",
                screens: [.history, .sweep]),
            KeyBinding(
                label: "S", keys: [.character("S")], command: .reverseSort, summary: "reverse the sort order",
                screens: [.history, .sweep]),
            KeyBinding(
                label: "r", keys: [.character("r")], command: .refresh, summary: "reload from the store",
                screens: [.history, .sweep]),

            KeyBinding(
                label: "r", keys: [.character("r")], command: .runScenarios,
                summary: "run scenarios, latest model", screens: [.tests]),
            KeyBinding(
                label: "c", keys: [.character("c")], command: .mark, summary: "mark for compare (two)",
                screens: [.history, .detail]),
            KeyBinding(label: "Esc", keys: [.escape], command: .back, summary: "back / cancel input"),
            KeyBinding(label: "?", keys: [.character("?")], command: .help, summary: "help"),
            KeyBinding(label: "q", keys: [.character("q")], command: .quit, summary: "quit (cancels a run)"),
        ]
        return list
    }()

    /// The command `key` gives on `screen`, if any.
    static func command(for key: Key, on screen: Screen) -> Command? {
        bindings.first { $0.keys.contains(key) && ($0.screens.isEmpty || $0.screens.contains(screen)) }?.command
    }

    /// The help, generated from `bindings`: one section for keys that work everywhere, then one per
    /// screen with its own keys.
    static func helpSections() -> [(title: String, lines: [(keys: String, summary: String)])] {
        var sections: [(title: String, lines: [(keys: String, summary: String)])] = [
            ("Everywhere", bindings.filter { !$0.label.isEmpty && $0.screens.isEmpty }.map { ($0.label, $0.summary) })
        ]
        for screen in Screen.allCases {
            let lines = bindings.filter { !$0.label.isEmpty && $0.screens.contains(screen) }.map {
                ($0.label, $0.summary)
            }
            if !lines.isEmpty { sections.append((screen.title, lines)) }
        }
        return sections
    }
}
