import Foundation
import Kafka
import Logging

/// Loads a `DemoCompany` into a running system: commands through the services' APIs, the ERP's
/// records onto the ERP topics, then the first classification runs. Every step is skipped when
/// its result is already there, so a second run adds nothing.
public struct DemoLoader: Sendable {
    public let company: DemoCompany
    public let clients: [String: ServiceClient]
    public let kafka: KafkaConfiguration
    /// Progress lines (to standard error in `crmctl demo`).
    public let report: @Sendable (String) -> Void
    /// How long a request may keep answering 404/422/503 (a service still catching up with a
    /// record another one published) before the demo gives up.
    public var catchUpTimeout: Duration = .seconds(180)

    public init(
        company: DemoCompany, endpoints: [ServiceEndpoint], kafka: KafkaConfiguration, report: @escaping @Sendable (String) -> Void
    ) {
        self.company = company
        self.clients = Dictionary(uniqueKeysWithValues: endpoints.map { ($0.name, ServiceClient(base: $0.url)) })
        self.kafka = kafka
        self.report = report
    }

    public func run() async throws {
        let started = ContinuousClock.now
        try await send("staff", company.staff, concurrency: 1)
        try await send("counterparties, contact persons and contacts", company.counterparties, concurrency: 32)
        try await send("supplier terms and price lists", company.supplierTerms, concurrency: 4)
        let lastPurchase = company.purchases.last!.key
        try await publish(
            "purchase orders and receipts", company.purchases,
            alreadyThere: {
                try await contains(lastPurchase, in: "suppliers", "/suppliers/\(supplier(of: lastPurchase))/purchase-orders?limit=1000")
            })
        let lastOrder = company.orders.last!
        let lastCustomer = try customer(of: lastOrder)
        try await publish(
            "orders", company.orders,
            alreadyThere: { try await contains(lastOrder.key, in: "deals", "/counterparties/\(lastCustomer)/orders?limit=500") })
        try await send("campaigns and their costs", company.campaigns, concurrency: 4)
        try await send("inquiries", company.inquiries, concurrency: 16)
        try await send("deals", company.deals, concurrency: 16)
        try await send("sales-condition rules", [company.salesConditionRules], concurrency: 1)
        try await waitForOrders()
        try await classify()
        try await send("activities of the coming week", company.activities, concurrency: 8)
        report(String(format: "demo company loaded in %.1f s", seconds(since: started)))
    }

    // MARK: Requests

    func client(_ service: String) throws -> ServiceClient {
        guard let client = clients[service] else { throw ServiceClient.Failure(description: "no URL for the \(service) service") }
        return client
    }

    /// Sends the requests, `concurrency` at a time, each followed by its `then` requests when it
    /// created something; shows progress.
    func send(_ title: String, _ requests: [DemoRequest], concurrency: Int) async throws {
        let started = ContinuousClock.now
        var created = 0
        var done = 0
        var iterator = requests.makeIterator()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<concurrency {
                guard let request = iterator.next() else { break }
                group.addTask { try await perform(request) }
            }
            while let wasCreated = try await group.next() {
                done += 1
                if wasCreated { created += 1 }
                if done % 500 == 0 { report("\(title): \(done) of \(requests.count)") }
                if let request = iterator.next() { group.addTask { try await perform(request) } }
            }
        }
        report(
            String(
                format: "%@: %d of %d new%@ (%.1f s)", title, created, requests.count,
                created < requests.count ? ", the rest already there" : "", seconds(since: started)))
    }

    /// Sends one request; true when it created its subject (then sends what follows it).
    func perform(_ request: DemoRequest) async throws -> Bool {
        let client = try client(request.service)
        let deadline = ContinuousClock.now + catchUpTimeout
        if let (path, field) = request.unlessPresent {
            let current = try await client.send("GET", path)
            if current.status == 200, let value = current.object[field], !(value is NSNull) { return false }
        }
        while true {
            let answer = try await client.send(request.method, request.path, json: request.body)
            switch answer.status {
            case 200...299:
                for next in request.then { _ = try await perform(next) }
                return true
            case 409, 412:
                return false  // there from an earlier run
            case 404, 422, 503:
                // A record it names is not applied here yet (another service published it).
                guard ContinuousClock.now < deadline else { fallthrough }
                try await Task.sleep(for: .milliseconds(200))
            default:
                throw ServiceClient.Failure(
                    description:
                        "\(request.method) \(client.base.absoluteString)\(request.path) answered \(answer.status): \(answer.text.prefix(400))"
                )
            }
        }
    }

    // MARK: The ERP's records

    func publish(_ title: String, _ records: [ERPRecord], alreadyThere: () async throws -> Bool) async throws {
        if try await alreadyThere() {
            report("\(title): already on the ERP topic")
            return
        }
        let started = ContinuousClock.now
        let configuration = kafka
        // The last record goes alone after the others are acknowledged: finding it (above) means
        // every record was delivered.
        let marker = records.last!
        try await Task.detached {
            let producer = try KafkaProducer(configuration: configuration, name: "crmctl-demo", logger: Logger(label: "crmctl-demo"))
            defer { producer.close() }
            let outgoing = records.dropLast().map { OutgoingRecord(topic: $0.topic, key: Array($0.key.utf8), value: $0.value) }
            try producer.sendAllBlocking(outgoing)
            try producer.sendAllBlocking([OutgoingRecord(topic: marker.topic, key: Array(marker.key.utf8), value: marker.value)])
        }.value
        report(String(format: "%@: %d ERP records published (%.1f s)", title, records.count, seconds(since: started)))
    }

    func contains(_ id: String, in service: String, _ path: String) async throws -> Bool {
        let answer = try await client(service).send("GET", path)
        return answer.status == 200 && answer.text.contains("\"\(id)\"")
    }

    func supplier(of purchaseOrder: String) -> String { "SUP-" + purchaseOrder.split(separator: "-")[1] }

    func customer(of record: ERPRecord) throws -> String {
        guard let object = try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any],
            let customer = object["customerId"] as? String
        else { throw ServiceClient.Failure(description: "an order without a customer") }
        return customer
    }

    /// Waits until the analytics service has applied every closed order (its volume report counts
    /// them), so the classification sees the whole history.
    func waitForOrders() async throws {
        let started = ContinuousClock.now
        let from = DemoCompany.date(company.day(-760))
        let to = DemoCompany.date(company.today)
        var counted = 0
        while ContinuousClock.now < started + catchUpTimeout {
            let answer = try await client("analytics").send("GET", "/orders/volume?from=\(from)&to=\(to)&periodKind=quarter")
            let items = answer.object["items"] as? [[String: Any]] ?? []
            counted = items.reduce(0) { $0 + ($1["completedOrders"] as? Int ?? 0) + ($1["failedOrders"] as? Int ?? 0) }
            if counted >= company.closedOrders {
                report(String(format: "analytics has every order (%.1f s)", seconds(since: started)))
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ServiceClient.Failure(
            description: "the analytics service applied \(counted) of \(company.closedOrders) closed orders in time")
    }

    /// A published classification run as of a month ago and one as of today (the changes between
    /// them are transitions; the segments reach the deals service's sales conditions).
    func classify() async throws {
        let analytics = try client("analytics")
        let runs = try await analytics.expect([200], "GET", "/classification-runs?limit=200").object["items"] as? [[String: Any]] ?? []
        for asOf in company.classificationDates {
            if runs.contains(where: { $0["asOf"] as? String == asOf && $0["published"] as? Bool == true }) {
                report("classification as of \(asOf): already run")
                continue
            }
            let run = try await analytics.expect([201], "POST", "/classification-runs", json: ["asOf": asOf, "publish": true]).object
            report("classification as of \(asOf): run \(run["id"] as? String ?? "?"), counts \(run["counts"] ?? "")")
        }
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
