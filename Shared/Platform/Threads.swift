import CPlatform
import Foundation

/// Starts `body` on a thread of its own, named for `top -H`, `perf` and debuggers. Foundation's
/// `Thread.name` does not reach the kernel on Linux when set before the thread starts, so the
/// name is set from inside.
public func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        crm_set_thread_name(name)
        body()
    }
    thread.name = name
    thread.start()
}

/// Runs blocking work (librdkafka polls, SQLite batches) on a thread of its own and awaits its
/// result, so it never occupies one of the few threads of Swift's cooperative pool.
public func runOnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        startThread(name: name) { continuation.resume(with: Result { try body() }) }
    }
}
