import Foundation
import Kafka
import Testing

@testable import EventStore

// Background work (standings, sales conditions) waits on the projector's commits instead of a
// timer: a commit must wake it, and without one the wait must end at its timeout (also when the
// projector has failed) or when the service shuts down (the task is cancelled).
struct ProjectorStatusTests {
    @Test func aCommitEndsTheWait() async {
        let status = ProjectorStatus()
        let before = status.commitCount
        async let woken = status.waitForCommit(after: before, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(100))
        status.committed(nextOffsets: [TopicPartition("t", 0): 1], applied: 1, deadLettered: 0)
        #expect(await woken == before + 1)
    }

    @Test func aCommitBeforeTheWaitEndsItAtOnce() async {
        let status = ProjectorStatus()
        let before = status.commitCount
        status.committed(nextOffsets: [:], applied: 0, deadLettered: 0)
        let start = ContinuousClock.now
        #expect(await status.waitForCommit(after: before, timeout: .seconds(30)) == before + 1)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func withoutACommitTheWaitEndsAtItsTimeout() async {
        let status = ProjectorStatus()
        let start = ContinuousClock.now
        #expect(await status.waitForCommit(after: 0, timeout: .milliseconds(200)) == 0)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
    }

    @Test func aFailedProjectorDoesNotEndTheWaitEarly() async {
        let status = ProjectorStatus()
        status.failed("the store is full")
        let start = ContinuousClock.now
        #expect(await status.waitForCommit(after: 0, timeout: .milliseconds(200)) == 0)
        #expect(ContinuousClock.now - start >= .milliseconds(200), "a loop waiting here would spin")
    }

    @Test func cancellingTheTaskEndsTheWait() async {
        let status = ProjectorStatus()
        let waiting = Task { await status.waitForCommit(after: 0, timeout: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        waiting.cancel()
        #expect(await waiting.value == 0)
        #expect(ContinuousClock.now - start < .seconds(30))
    }
}
