import ServiceKit
import Testing

@Suite struct CommandLockTests {
    actor Log {
        var entries: [String] = []
        func add(_ entry: String) { entries.append(entry) }
    }

    /// Would hang, not fail, if the unrelated command waited for the first: hence the time limit.
    @Test(.timeLimit(.minutes(1))) func commandsOnOneKeyRunOneAtATimeOthersAlongside() async throws {
        let lock = CommandLock()
        let log = Log()
        let (firstHolds, holding) = AsyncStream.makeStream(of: Void.self)
        let (released, letGo) = AsyncStream.makeStream(of: Void.self)
        let first = Task {
            try await lock.withLock(["k"]) {
                await log.add("first in")
                holding.yield()
                for await _ in released { break }
                await log.add("first out")
            }
        }
        for await _ in firstHolds { break }
        let second = Task { try await lock.withLock(["k", "other"]) { await log.add("second") } }
        try await lock.withLock(["unrelated"]) { await log.add("unrelated") }
        letGo.yield()
        try await first.value
        try await second.value
        #expect(await log.entries == ["first in", "unrelated", "first out", "second"])
    }

    @Test func aFailingCommandReleasesItsKeys() async throws {
        struct Refused: Error {}
        let lock = CommandLock()
        await #expect(throws: Refused.self) { try await lock.withLock(["k"]) { throw Refused() } }
        #expect(try await lock.withLock(["k"]) { 42 } == 42)
    }
}
