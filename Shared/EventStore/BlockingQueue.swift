import Foundation
import Synchronization

/// A bounded FIFO between two threads: `put` blocks while full, `take` waits while empty.
final class BlockingQueue<Element: Sendable>: Sendable {
    private struct State {
        // At most `capacity` (a handful) items: removing from the front is cheap, and a taken item
        // must not stay referenced here (each one can hold thousands of records).
        var items: [Element] = []
        var closed = false
    }
    private let state = Mutex(State())
    private let capacity: Int
    private let notEmpty = DispatchSemaphore(value: 0)
    private let notFull: DispatchSemaphore

    init(capacity: Int) {
        self.capacity = capacity
        // Created at 0 and raised: libdispatch traps when a semaphore is freed below its initial
        // value, which a queue dropped while holding items would be.
        notFull = DispatchSemaphore(value: 0)
        for _ in 0..<capacity { notFull.signal() }
    }

    /// Returns false when the queue was closed.
    @discardableResult
    func put(_ item: Element) -> Bool {
        notFull.wait()
        return append(item)
    }

    /// Adds the item only if there is room now; returns false when full or closed.
    func offer(_ item: Element) -> Bool {
        guard notFull.wait(timeout: .now()) == .success else { return false }
        return append(item)
    }

    /// Appends once a slot was taken from `notFull`; gives the slot back when closed.
    private func append(_ item: Element) -> Bool {
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
            state.items.isEmpty ? nil : state.items.removeFirst()
        }
        if item != nil { notFull.signal() }
        return item
    }

    /// Takes the first item without waiting, and only if `accept` says so; nil otherwise.
    func takeFirst(if accept: (Element) -> Bool) -> Element? {
        guard notEmpty.wait(timeout: .now()) == .success else { return nil }
        let item = state.withLock { state -> Element? in
            guard let first = state.items.first, accept(first) else { return nil }
            return state.items.removeFirst()
        }
        // Refused or closed and drained: the permit taken above goes back.
        if item != nil { notFull.signal() } else { notEmpty.signal() }
        return item
    }

    func close() {
        state.withLock { $0.closed = true }
        notEmpty.signal()
        notFull.signal()
    }
}
