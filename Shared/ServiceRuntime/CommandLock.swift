/// Serialises the commands of one conflict domain in this process, from their check against local
/// state until their event is applied, so that each check sees the effect of the one before.
/// Without it two concurrent commands can each pass a check that together they break (A reports to
/// B and B to A: a cycle). Waiters are served in arrival order.
public actor CommandLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public nonisolated func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Hands the lock straight to the next waiter, so no newcomer can overtake it.
    private func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
