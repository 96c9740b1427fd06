import Foundation
import Kafka
import TestSupport
import Testing
import WireSchema

@testable import CRMControl

/// The repository's contract file, found from this source file's location.
let contractPath: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        let candidate = url.appendingPathComponent("topics/asyncapi.yaml")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
    }
    return TopicContract.defaultPath
}()

@Suite struct TopicContractTests {
    @Test func describesEveryTopicTheIssueNames() throws {
        let contract = try TopicContract.load(path: contractPath)
        let names = Set(contract.topics.map(\.spec.name))
        for required in [
            "crm.counterparties.v1", "crm.interactions.v1", "crm.staff.v1", "crm.suppliers.v1", "crm.inquiries.v1",
            "crm.deals.v1", "crm.campaigns.v1", "crm.activities.v1", "crm.reminders.v1", "crm.segments.v1",
            "crm.sales-conditions.v1", "crm.deal-settings.v1", "crm.deadletter.v1", "erp.orders.v1", "erp.purchases.v1",
        ] {
            #expect(names.contains(required), "\(required) missing")
        }
        #expect(contract.topic(named: "crm.segments.v1")?.spec.config["cleanup.policy"] == "compact")
        #expect(contract.topic(named: "crm.sales-conditions.v1")?.spec.config["cleanup.policy"] == "compact")
        #expect(contract.topic(named: "crm.counterparties.v1")?.spec.config["retention.ms"] == "-1")
    }

    @Test func everyTopicHasOneWriterAKeyAndMessages() throws {
        let contract = try TopicContract.load(path: contractPath)
        for topic in contract.topics {
            #expect(!topic.writer.isEmpty && !topic.writer.contains(","), "\(topic.spec.name): one writer")
            if topic.writer == "*" { #expect(topic.spec.name == "crm.deadletter.v1", "only the dead-letter topic is shared") }
            #expect(!topic.key.isEmpty, "\(topic.spec.name): key documented")
            #expect(!topic.messages.isEmpty, "\(topic.spec.name): messages")
            #expect(!topic.consumers.isEmpty, "\(topic.spec.name): consumers")
        }
    }

    @Test func theWireSchemaKnowsEveryMessageOfTheContract() throws {
        let contract = try TopicContract.load(path: contractPath)
        #expect(Set(MessageCatalog.messages.keys) == Set(contract.topics.map(\.spec.name)))
        for topic in contract.topics {
            #expect(
                Set(MessageCatalog.messages[topic.spec.name] ?? []) == Set(topic.messages),
                "messages of \(topic.spec.name)")
        }
    }

    @Test func rejectsAChannelWithoutAWriter() {
        let text = """
            channels:
              a:
                address: a.v1
                bindings: {kafka: {partitions: 1}}
            """
        #expect(throws: TopicContract.ContractError.self) { try TopicContract.parse(text) }
    }

    @Test func devBrokerCreatesTheContractTopicsAndAnswersCommands() throws {
        let contract = try TopicContract.load(path: contractPath)
        var options = DevBroker.Options(contract: contract)
        options.dataDirectory = nil
        let broker = try DevBroker(options: options, logger: quietLogger)
        #expect(broker.execute("watermarks crm.counterparties.v1 63") == "ok 0 0")
        #expect(broker.execute("broker down 1") == "ok")
        #expect(broker.execute("broker up all") == "ok")
        #expect(broker.execute("broker down 9").hasPrefix("error"))
        #expect(broker.execute("fly away").hasPrefix("error unknown command"))
    }

    @Test func journalRoundTripsRecordsAndCutsATornTail() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let journal = try Journal(directory: directory)
        let tp = TopicPartition("t", 0)
        let headers = [KafkaHeader("h", "x"), KafkaHeader("n", nil)]
        let keys: [[UInt8]?] = [Array("k0".utf8), nil, Array("k2".utf8)]
        let values: [[UInt8]?] = [Array("v0".utf8), Array("v1".utf8), nil]
        var records: [ConsumedRecord] = []
        for index in 0..<3 {
            records.append(
                ConsumedRecord(
                    topic: "t", partition: 0, offset: Int64(index), key: keys[index], value: values[index], headers: headers,
                    timestampMs: 1000 + Int64(index)))
        }
        records.forEach(journal.append)
        try journal.close()
        let handle = try FileHandle(forWritingTo: journal.fileURL(tp))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([9, 0, 0, 0, 1, 2]))
        try handle.close()
        let reread = try Journal(directory: directory).read(tp)
        #expect(reread.count == 3)
        for (a, b) in zip(records, reread) {
            #expect(a.offset == b.offset)
            #expect(a.key == b.key)
            #expect(a.value == b.value)
            #expect(a.headers == b.headers)
            #expect(a.timestampMs == b.timestampMs)
        }
    }
}
