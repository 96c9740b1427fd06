import ArgumentParser
import CRMControl
import Foundation
import Kafka
import Logging
import Platform
import ServiceKit

@main
struct CRMCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Operate the CRM: run the dev broker, create topics on a cluster, check the services, load a demo company.",
        subcommands: [DevBrokerCommand.self, Topics.self, ImportCommand.self, StatusCommand.self, DemoCommand.self])
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
        logger.info(
            "dev broker ready",
            metadata: [
                "bootstrap": "\(broker.bootstrapServers)", "topics": "\(options.contract.topics.count)",
                "restored_records": "\(restored)", "journal": "\(options.dataDirectory ?? "off")",
            ])
        startThread(name: "journal") {
            do {
                try broker.journalLoop()
            } catch {
                logger.critical("journal failed: local data will not survive a restart", metadata: ["error": "\(error)"])
            }
        }

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
        startThread(name: "fault-commands") {
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
        subcommands: [Apply.self, List.self, Diagram.self])

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
                specs = specs.map {
                    var spec = $0
                    spec.replicationFactor = replicationFactor
                    return spec
                }
                if replicationFactor < 2 {
                    specs = specs.map {
                        var spec = $0
                        spec.config["min.insync.replicas"] = "1"
                        return spec
                    }
                }
            }
            let admin = try KafkaAdmin(configuration: kafka, logger: Logger(label: "crmctl"))
            let outcomes = try admin.createTopics(specs)
            var failed = false
            for spec in specs {
                switch outcomes[spec.name] {
                case .created?: writeLine("created \(spec.name) (\(spec.partitions) partitions)")
                case .alreadyExists?: writeLine("exists  \(spec.name)")
                case .failed(let reason)?:
                    failed = true
                    writeLine("FAILED  \(spec.name): \(reason)")
                case nil:
                    failed = true
                    writeLine("FAILED  \(spec.name): no answer")
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Diagram: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the flow of topics between the services as a Mermaid flowchart.",
            discussion: "With --update, rewrite it in place in a Markdown file between its markers (docs/architecture.md).")
        @Option(help: "The topic contract.") var topics: String = TopicContract.defaultPath
        @Option(help: "A Markdown file whose diagram to rewrite.") var update: String?

        func run() throws {
            let diagram = TopicDiagram.mermaid(try TopicContract.load(path: topics))
            guard let update else { return FileHandle.standardOutput.write(Data(diagram.utf8)) }
            let document = try String(contentsOfFile: update, encoding: .utf8)
            guard let rewritten = TopicDiagram.replacing(in: document, with: diagram) else {
                throw ValidationError("\(update) has no diagram markers (\(TopicDiagram.beginMarker))")
            }
            try rewritten.write(toFile: update, atomically: true, encoding: .utf8)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the topic map.")
        @Option(help: "The topic contract.") var topics: String = TopicContract.defaultPath

        func run() throws {
            for topic in try TopicContract.load(path: topics).topics {
                let policy = topic.spec.config["cleanup.policy"] ?? "delete"
                writeLine(
                    "\(topic.spec.name)\t\(topic.spec.partitions)p\t\(policy)\twriter=\(topic.writer)\tkey=\(topic.key)\tconsumers=\(topic.consumers.joined(separator: ","))"
                )
            }
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import counterparties from a CSV file into the contacts service, showing progress.",
        discussion: """
            The file is streamed to POST /counterparties/import (columns as in the export; legalName required). \
            Bad rows are reported by line and the good ones imported; the exit status is 1 when any row failed.
            """)

    @Argument(help: "The CSV file (UTF-8; comma, semicolon or tab separated).") var file: String
    @Option(help: "The contacts service.") var url = "http://127.0.0.1:8081"
    @Option(help: "Bearer token (or CRM_TOKEN).") var token: String?
    @Option(help: "comma, semicolon or tab (default: detected from the header).") var delimiter: String?
    @Flag(help: "Keep rows that share a tax id, e-mail or phone with another counterparty.") var allowDuplicates = false

    func run() async throws {
        let fileURL = URL(fileURLWithPath: file)
        guard FileManager.default.isReadableFile(atPath: file) else { throw ValidationError("cannot read \(file)") }
        var components = URLComponents(string: url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/counterparties/import")
        var query: [URLQueryItem] = []
        if let delimiter { query.append(URLQueryItem(name: "delimiter", value: delimiter)) }
        if allowDuplicates { query.append(URLQueryItem(name: "allowDuplicates", value: "true")) }
        components?.queryItems = query.isEmpty ? nil : query
        guard let endpoint = components?.url else { throw ValidationError("invalid --url \(url)") }
        let started = Date()
        let upload = ImportUpload { sent, total in
            let seconds = max(Date().timeIntervalSince(started), 0.001)
            let percent = total > 0 ? Double(sent) * 100 / Double(total) : 0
            let line = String(
                format: "\rsent %5.1f%% (%.1f of %.1f MB, %.1f MB/s)%@", percent, Double(sent) / 1e6,
                Double(total) / 1e6, Double(sent) / 1e6 / seconds, sent == total ? ", the service is applying the rows…" : "")
            FileHandle.standardError.write(Data(line.utf8))
        }
        let result = try await upload.run(
            url: endpoint, file: fileURL, contentType: "text/csv",
            token: token ?? ProcessInfo.processInfo.environment["CRM_TOKEN"])
        FileHandle.standardError.write(Data("\n".utf8))
        guard result.status == 200,
            let report = try JSONSerialization.jsonObject(with: result.body) as? [String: Any]
        else {
            throw ImportFailure(description: "the service answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        let imported = report["imported"] as? Int ?? 0
        let errors = report["errors"] as? [[String: Any]] ?? []
        for error in errors {
            let id = (error["id"] as? String).map { " (\($0))" } ?? ""
            writeLine("line \(error["line"] as? Int ?? 0)\(id): \(error["detail"] as? String ?? "")")
        }
        writeLine(String(format: "imported %d, failed %d, in %.1f s", imported, errors.count, Date().timeIntervalSince(started)))
        if !errors.isEmpty { throw ExitCode(1) }
    }
}

/// A failure reported by the service (not a usage mistake: no usage text).
struct ImportFailure: Error, CustomStringConvertible {
    let description: String
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Health, readiness, consumer lag per topic, store size and memory of every service.",
        discussion: "Exits with 1 when a service is down or not ready (still replaying, or failed).")

    @Option(help: "Host the services listen on (ports 8081-8085, or the CRM_<SERVICE>_PORT variables).") var host = "127.0.0.1"
    @Flag(help: "Print the services' status documents as JSON.") var json = false

    func run() async throws {
        let report = await StatusReport.collect(ServiceEndpoint.defaults(host: host))
        if json {
            var all: [String: Any] = [:]
            for entry in report.entries { all[entry.endpoint.name] = entry.status ?? ["state": "down", "reason": entry.unreachable ?? ""] }
            let data = try JSONSerialization.data(withJSONObject: all, options: [.prettyPrinted, .sortedKeys])
            writeLine(String(decoding: data, as: UTF8.self))
        } else {
            FileHandle.standardOutput.write(Data(report.rendered().utf8))
        }
        if !report.allReady { throw ExitCode(1) }
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fill a running system with a demo trading company (deterministic by --seed; a second run adds nothing).",
        discussion: """
            12 staff in three teams, 5,000 counterparties (clients of every kind, prospects, 40 suppliers) with \
            contact persons and contacts, two years of ERP orders and purchases (published onto erp.orders.v1 and \
            erp.purchases.v1 as the ERP would), supplier terms and price lists, campaigns, inquiries, deals at every \
            stage, sales-condition rules, two published classification runs and the coming week's activities.
            """)

    @Option(help: "Seed of the generated company.") var seed: UInt64 = 1
    @Option(help: "Host the services listen on (ports 8081-8085, or the CRM_<SERVICE>_PORT variables).") var host = "127.0.0.1"
    @Option(help: "Kafka bootstrap servers (default CRM_KAFKA_BROKERS, else the dev broker of ./data/logs/dev-broker.out).")
    var brokers: String?
    @Option(help: "Seconds to wait for every service to be ready.") var waitSeconds = 600

    func run() async throws {
        RuntimeBootstrap.bootstrap(logLevel: .warning)
        var kafka = try KafkaConfiguration.fromEnvironment()
        if let brokers = brokers ?? ProcessInfo.processInfo.environment["CRM_KAFKA_BROKERS"] ?? Self.devBroker() {
            kafka.properties["bootstrap.servers"] = brokers
        }
        let endpoints = ServiceEndpoint.defaults(host: host)
        let deadline = Date().addingTimeInterval(Double(waitSeconds))
        var report = await StatusReport.collect(endpoints)
        while !report.allReady {
            guard Date() < deadline else {
                FileHandle.standardError.write(Data(report.rendered().utf8))
                throw ServiceClient.Failure(description: "the services are not all ready (the table above shows why)")
            }
            try await Task.sleep(for: .seconds(1))
            report = await StatusReport.collect(endpoints)
        }
        let started = Date()
        let company = DemoCompany(seed: seed)
        progress(
            String(
                format: "demo company (seed %llu): %d counterparties, %d ERP order records, %d purchase records; generated in %.1f s",
                seed, company.counterparties.count, company.orders.count, company.purchases.count, Date().timeIntervalSince(started)))
        try await DemoLoader(company: company, endpoints: endpoints, kafka: kafka, report: progress).run()
    }

    static func devBroker() -> String? {
        let data = ProcessInfo.processInfo.environment["CRM_DATA_DIR"] ?? "./data"
        guard let text = try? String(contentsOfFile: data + "/logs/dev-broker.out", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.map(String.init)
    }
}

func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
