// TUI: the SonarLab ncurses dashboard.
//
// What it does: a pure, testable screen model — a cell grid (`CellBuffer`), widgets (progress bar,
// line chart, table, panel, status bar, help, hyper-parameter form), themes read from
// `themes/*.ini` — and an Elm-style state machine (`AppState.handle(_:)` returns `Effect`s,
// `render(_:into:)` draws the state into a buffer). `DashboardRuntime` carries out the effects with
// Engine and Tracking and feeds the results back as `Event`s; `NCursesBackend` (the only file that
// imports CNCurses) draws the buffer, redrawing only the cells that changed.
//
// May import: Engine (types and training), Tracking (experiments), Settings, CNCurses (backend only).
// Start at `Dashboard.run(options:services:)` for the entry point and `AppState` for the behaviour.
