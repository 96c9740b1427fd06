import ArgumentParser
import CRMControl
import Foundation
import Kafka
import Logging
import ServiceRuntime

@main
struct CRMCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Operate the CRM: run the dev broker, create topics on a cluster.",
        subcommands: [DevBrokerCommand.self, Topics.self])
}

func writeLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

struct DevBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Host librdkafka's mock Kafka cluster with every contract topic.",
        discussion: """
            Prints the bootstrap address as its first line. Reads control commands on stdin, one per line, \
            answering 'ok' or 'error ...': broker down|up N|all, rtt N|all MS, leader TOPIC P BROKER, \
            request-errors API COUNT CODE, create-topic NAME P, watermarks TOPIC P, ping, quit. \
            Records are journaled under DATA/dev-broker/journal and restored on the next start.
            """)

    @Option(help: "Number of mock brokers.") var brokers: Int32 = 3
    @Option(help: "Data folder for the journal (CRM_DATA_DIR, default ./data).") var dataDir: String?
    @Flag(help: "Keep nothing on disk.") var noJournal = false
    @Option(help: "The topic contract.") var topics: String = TopicContract.defaultPath

    func run() throws {
        let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["CRM_LOG_LEVEL"] ?? "info") ?? .info
        RuntimeBootstrap.bootstrap(logLevel: level)
        let logger = Logger(label: "crm-dev-broker")
        var options = DevBroker.Options(contract: try TopicContract.load(path: topics))
        options.brokers = brokers
        options.dataDirectory = noJournal ? nil : (dataDir ?? ProcessInfo.processInfo.environment["CRM_DATA_DIR"] ?? "./data")
        let broker = try DevBroker(options: options, logger: logger)
        // Restore before announcing the address: a client must never see the log half restored.
        let restored = try broker.restore()
        writeLine(broker.bootstrapServers)
        logger.info("dev broker ready", metadata: [
            "bootstrap": "\(broker.bootstrapServers)", "topics": "\(options.contract.topics.count)",
            "restored_records": "\(restored)", "journal": "\(options.dataDirectory ?? "off")",
        ])
        let journalThread = Thread {
            do {
                try broker.journalLoop()
            } catch {
                logger.critical("journal failed: local data will not survive a restart", metadata: ["error": "\(error)"])
            }
        }
        journalThread.start()

        let stopRequested = DispatchSemaphore(value: 0)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            sources.append(source)
        }
        let stdinThread = Thread {
            // EOF on stdin (started in the background) is not a stop request.
            while let line = readLine() {
                let command = line.trimmingCharacters(in: .whitespaces)
                if command.isEmpty { continue }
                if command == "quit" {
                    writeLine("ok")
                    stopRequested.signal()
                    return
                }
                writeLine(broker.execute(command))
            }
        }
        stdinThread.start()
        stopRequested.wait()
        logger.info("stopping: writing the journal")
        broker.stop()
        broker.waitForJournal()
        _ = sources
        logger.info("stopped")
    }
}

struct Topics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The topic contract (topics/asyncapi.yaml).",
        subcommands: [Apply.self, List.self])

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create every contract topic on a real Kafka cluster (existing ones are left alone).")
        @Option(help: "Bootstrap servers (or CRM_KAFKA_BROKERS); other CRM_KAFKA_* settings apply too.") var brokers: String?
        @Option(help: "The topic contract.") var topics: String = TopicContract.defaultPath
        @Option(help: "Replication factor override (e.g. 1 for a one-broker cluster).") var replicationFactor: Int32?

        func run() throws {
            RuntimeBootstrap.bootstrap(logLevel: .warning)
            var kafka = try KafkaConfiguration.fromEnvironment()
            if let brokers { kafka.properties["bootstrap.servers"] = brokers }
            let contract = try TopicContract.load(path: topics)
            var specs = contract.specs
            if let replicationFactor {
                specs = specs.map { var spec = $0; spec.replicationFactor = replicationFactor; return spec }
                if replicationFactor < 2 { specs = specs.map { var spec = $0; spec.config["min.insync.replicas"] = "1"; return spec } }
            }
            let admin = try KafkaAdmin(configuration: kafka, logger: Logger(label: "crmctl"))
            let outcomes = try admin.createTopics(specs)
            var failed = false
            for spec in specs {
                switch outcomes[spec.name] {
                case .created?: writeLine("created \(spec.name) (\(spec.partitions) partitions)")
                case .alreadyExists?: writeLine("exists  \(spec.name)")
                case .failed(let reason)?: failed = true; writeLine("FAILED  \(spec.name): \(reason)")
                case nil: failed = true; writeLine("FAILED  \(spec.name): no answer")
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the topic map.")
        @Option(help: "The topic contract.") var topics: String = TopicContract.defaultPath

        func run() throws {
            for topic in try TopicContract.load(path: topics).topics {
                let policy = topic.spec.config["cleanup.policy"] ?? "delete"
                writeLine("\(topic.spec.name)\t\(topic.spec.partitions)p\t\(policy)\twriter=\(topic.writer)\tkey=\(topic.key)\tconsumers=\(topic.consumers.joined(separator: ","))")
            }
        }
    }
}
