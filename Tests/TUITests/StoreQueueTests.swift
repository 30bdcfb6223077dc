import Testing

@testable import TUI

/// The status line while the store queues writes (HBase unreachable: the outbox holds them).
@Suite("Status line: queued store writes")
struct StoreQueueTests {
    @Test func theStatusLineShowsQueuedWritesUntilTheyAreDelivered() {
        var state = Fixtures.state(width: 120, height: 40)
        state.send(.historyLoaded([], store: "HBase sonarlab:experiments at http://127.0.0.1:8080"))
        #expect(Fixtures.screen(state)[39].hasSuffix("● reachable"))
        state.send(.storeQueue("HBase unreachable — 12 writes queued"))
        #expect(Fixtures.screen(state)[39].hasSuffix("✕ HBase unreachable — 12 writes queued"))
        state.send(.storeQueue(nil))
        #expect(Fixtures.screen(state)[39].hasSuffix("● reachable"))
    }
}
