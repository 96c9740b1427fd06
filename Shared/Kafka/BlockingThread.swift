import Foundation

/// Runs blocking work (librdkafka polls, SQLite batches) on a thread of its own and awaits its
/// result, so it never occupies one of the few threads of Swift's cooperative pool.
public func runOnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
