import Foundation
import Testing
import WireFormat

@testable import SchedulerService

/// Local times as plans write them: the zone's offset at that instant, across clock changes and in
/// zones a quarter or half an hour off, whether looked up each time or kept per quarter hour.
@Suite struct LocalTimeTests {
    @Test(arguments: [
        ("Europe/Moscow", "2027-03-01T00:30:00.000Z", "2027-03-01T03:30:00+03:00"),
        ("Asia/Kolkata", "2027-03-01T00:30:00.999Z", "2027-03-01T06:00:00+05:30"),
        ("America/St_Johns", "2027-01-10T12:00:00.000Z", "2027-01-10T08:30:00-03:30"),
        ("Asia/Kathmandu", "2027-01-10T12:00:00.000Z", "2027-01-10T17:45:00+05:45"),
        // The night Berlin moves its clocks forward: 01:59:59 winter time, then 03:00 summer time.
        ("Europe/Berlin", "2027-03-28T00:59:59.000Z", "2027-03-28T01:59:59+01:00"),
        ("Europe/Berlin", "2027-03-28T01:00:00.000Z", "2027-03-28T03:00:00+02:00"),
        ("Mars/Olympus", "1969-12-31T23:59:59.500Z", "1969-12-31T23:59:59+00:00"),
    ])
    func formatsWithTheOffsetAtThatInstant(_ zone: String, _ utc: String, _ local: String) throws {
        let time = LocalTime(identifier: zone)
        let instant = try #require(Timestamp.parse(utc))
        var offsets: [Int: Int] = [:]
        #expect(time.format(instant) == local)
        #expect(time.format(instant, offsets: &offsets) == local)
        #expect(time.format(instant, offsets: &offsets) == local, "from the offsets kept")
        var bytes: [UInt8] = Array("x".utf8)
        time.append(instant, offsets: &offsets, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "x" + local)
    }
}
