import Foundation
import Synchronization

/// A bounded FIFO between two threads: `put` blocks while full, `take` waits while empty.
final class BlockingQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var head = 0
        var closed = false
        var count: Int { items.count - head }
    }
    private let state = Mutex(State())
    private let capacity: Int
    private let notEmpty = DispatchSemaphore(value: 0)
    private let notFull: DispatchSemaphore

    init(capacity: Int) {
        self.capacity = capacity
        notFull = DispatchSemaphore(value: capacity)
    }

    /// Returns false when the queue was closed.
    @discardableResult
    func put(_ item: Element) -> Bool {
        notFull.wait()
        let accepted = state.withLock { state -> Bool in
            if state.closed { return false }
            state.items.append(item)
            return true
        }
        if accepted { notEmpty.signal() } else { notFull.signal() }
        return accepted
    }

    /// Waits up to `timeout` for an item; nil on timeout or when closed and drained.
    func take(timeout: DispatchTime) -> Element? {
        guard notEmpty.wait(timeout: timeout) == .success else { return nil }
        let item = state.withLock { state -> Element? in
            guard state.count > 0 else { return nil }
            let item = state.items[state.head]
            state.head += 1
            if state.head > 1024 && state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            return item
        }
        if item != nil { notFull.signal() }
        return item
    }

    func close() {
        state.withLock { $0.closed = true }
        notEmpty.signal()
        notFull.signal()
    }
}
