import ArgumentParser
import ContactsService
import Foundation
import ServiceRuntime

/// `crm-contacts`: serve (default), rebuild the store from the topics, or dump it canonically.
@main
struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-contacts",
        abstract: "The CRM contacts service (counterparties). Configured by CRM_* environment variables.",
        subcommands: [Serve.self, Rebuild.self, Dump.self],
        defaultSubcommand: Serve.self)

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the HTTP API and the projector.")
        @Option(help: "HTTP port (overrides CRM_HTTP_PORT).") var port: Int?

        func run() async throws {
            var configuration = try ContactsApp.configuration()
            if let port { configuration.httpPort = port }
            try await ContactsApp.serve(configuration)
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the store and rebuild it from what the topics hold now, then exit.",
            discussion: "Use when the service refuses to start because the log lost events it had not applied.")

        func run() async throws {
            let configuration = try ContactsApp.configuration()
            let result = try await ContactsApp.rebuild(configuration)
            func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
            let total = seconds(result.duration)
            print("rebuilt \(configuration.storePath): \(result.applied) events applied, \(result.deadLettered) dead-lettered")
            print(String(format: "replay: %.2f s, %.0f events/s; ", total, Double(result.applied) / max(total, 1e-9))
                  + result.timings.description)
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the store canonically (JSON lines in id order).")

        func run() throws {
            let configuration = try ContactsApp.configuration()
            var buffer = ""
            try ContactsApp.dump(configuration) { line in
                buffer += line + "\n"
                if buffer.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(buffer.utf8))
                    buffer = ""
                }
            }
            FileHandle.standardOutput.write(Data(buffer.utf8))
        }
    }
}
