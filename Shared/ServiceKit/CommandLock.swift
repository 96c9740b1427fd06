/// Serialises commands that touch the same keys, in this process, from their check against local
/// state until their event is applied, so that each check sees the effect of the one before.
/// Without it two concurrent commands can each pass a check that together they break: A reports
/// to B and B to A (a cycle), or two clients registered with the same phone (a duplicate). Commands
/// with no key in common run side by side.
public actor CommandLock {
    private var held = Set<String>()
    private var waiters: [(keys: Set<String>, continuation: CheckedContinuation<Void, Never>)] = []

    public init() {}

    public nonisolated func withLock<T: Sendable>(
        _ keys: some Sequence<String>, _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let keys = Set(keys)
        await acquire(keys)
        do {
            let result = try await body()
            await release(keys)
            return result
        } catch {
            await release(keys)
            throw error
        }
    }

    /// All keys at once (never some then wait for the rest), so two commands cannot deadlock.
    private func acquire(_ keys: Set<String>) async {
        if held.isDisjoint(with: keys) && !waiters.contains(where: { !$0.keys.isDisjoint(with: keys) }) {
            held.formUnion(keys)
            return
        }
        await withCheckedContinuation { waiters.append((keys, $0)) }
    }

    /// Wakes, in arrival order, every waiter whose keys are all free now and not wanted by an
    /// earlier waiter (so a waiter on a busy key is never overtaken by a newcomer on it).
    private func release(_ keys: Set<String>) {
        held.subtract(keys)
        var wanted = Set<String>()
        var index = 0
        while index < waiters.count {
            let waiter = waiters[index]
            if held.isDisjoint(with: waiter.keys) && wanted.isDisjoint(with: waiter.keys) {
                held.formUnion(waiter.keys)
                waiters.remove(at: index)
                waiter.continuation.resume()
            } else {
                wanted.formUnion(waiter.keys)
                index += 1
            }
        }
    }
}
