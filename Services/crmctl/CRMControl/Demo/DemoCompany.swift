import Foundation
import Platform
import WireFormat

/// One request of the demo to a service's API. It names its own id, so a second run is answered
/// `409` (or `412`) and changes nothing; `then` (contact persons, costs, a deal's close) is sent
/// only after the request created its subject, so nothing is added twice either.
public struct DemoRequest: @unchecked Sendable {
    public let service: String
    public let method: String
    public let path: String
    public let body: [String: Any]
    /// For a request that is not refused when repeated (a PUT): a path and a field of its answer;
    /// when that field has a value, the request was made before and is skipped.
    public var unlessPresent: (path: String, field: String)? = nil
    public var then: [DemoRequest] = []
}

/// One record as the ERP publishes it: plain JSON keyed by the order or purchase order id.
public struct ERPRecord: Sendable {
    public let topic: String
    public let key: String
    public let value: [UInt8]
}

/// A trading company, generated from a seed: staff in three teams, clients of every kind the
/// analytics tells apart, suppliers with terms, price lists and uneven reliability, campaigns and
/// the inquiries they brought, deals at every stage, two years of the ERP's orders and purchases,
/// and the coming week's activities. Everything is dated relative to `now` (its UTC day).
public struct DemoCompany: @unchecked Sendable {
    /// What a client's purchases look like over the two years (docs/analytics.md's statuses).
    enum Archetype: CaseIterable {
        case stable, irregular, episodic, oneTime, lost, new, potential
    }

    struct Client {
        let id: String
        let managerId: String
        let archetype: Archetype
        let scale: Int  // a typical order, in roubles
        var firstSaleDay: Int?
    }

    public static let currency = "RUB"
    public static let erpOrdersTopic = "erp.orders.v1"
    public static let erpPurchasesTopic = "erp.purchases.v1"

    public let seed: UInt64
    public let today: Date
    public internal(set) var staff: [DemoRequest] = []
    public internal(set) var counterparties: [DemoRequest] = []
    public internal(set) var supplierTerms: [DemoRequest] = []
    public internal(set) var campaigns: [DemoRequest] = []
    public internal(set) var inquiries: [DemoRequest] = []
    public internal(set) var deals: [DemoRequest] = []
    public internal(set) var salesConditionRules: DemoRequest!
    public internal(set) var activities: [DemoRequest] = []
    public internal(set) var orders: [ERPRecord] = []
    public internal(set) var purchases: [ERPRecord] = []
    /// Orders that end completed or cancelled (what the analytics volume report counts).
    public internal(set) var closedOrders = 0
    /// The dates of the classification runs the demo makes: a month ago, and today.
    public var classificationDates: [String] { [Self.date(day(-30)), Self.date(today)] }

    var random: SplitMix64
    var clients: [Client] = []
    var salesManagers: [String] = []
    let catalog: [(sku: String, unit: String, cost: Kopecks)]

    public init(seed: UInt64 = 1, now: Date = Date()) {
        self.seed = seed
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        today = calendar.startOfDay(for: now)
        random = SplitMix64(seed: seed)
        var catalogRandom = SplitMix64(seed: seed ^ 0xC0FFEE)
        let families = [("STEEL", "t"), ("PIPE", "m"), ("SHEET", "pc"), ("WIRE", "kg"), ("BOLT", "box"), ("PAINT", "l"), ("CEMENT", "bag")]
        catalog = (0..<210).map { index in
            let family = families[index % families.count]
            return (
                "\(family.0)-\(String(format: "%03d", index / families.count + 1))", family.1,
                Kopecks(value: catalogRandom.int(50...4_000) * 100)
            )
        }
        makeStaff()
        makeClients()
        makeSuppliers()
        makeCampaignsAndInquiries()
        makeOrders()
        makeDeals()
        makeRules()
        makeActivities(now: now)
    }

    // MARK: Time

    func day(_ offset: Int) -> Date { today.addingTimeInterval(Double(offset) * 86_400) }

    /// `yyyy-MM-dd` (UTC).
    static func date(_ date: Date) -> String {
        CalendarDate(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down))).description
    }

    /// RFC 3339 in UTC, as the services write it.
    static func time(_ date: Date) -> String { Timestamp.format(date) }

    /// A moment of working hours on day `offset` (06:00–14:00 UTC: the working day of every team's zone).
    mutating func workingMoment(_ offset: Int) -> Date {
        day(offset).addingTimeInterval(Double(random.int(6 * 60...14 * 60)) * 60)
    }

    // MARK: Staff

    mutating func makeStaff() {
        let head = ("S-01", "Elena Volkova", nil as String?, "Europe/Moscow")
        let teams: [(supervisor: (String, String), zone: String, managers: [(String, String)])] = [
            (
                ("S-02", "Dmitry Orlov"), "Europe/Moscow",
                [("S-03", "Ivan Petrov"), ("S-04", "Maria Sokolova"), ("S-05", "Pavel Kuznetsov")]
            ),
            (("S-06", "Olga Lebedeva"), "Asia/Yekaterinburg", [("S-07", "Sergey Popov"), ("S-08", "Anna Morozova")]),
            (("S-09", "Nikolai Fedorov"), "Asia/Novosibirsk", [("S-10", "Irina Volkova"), ("S-11", "Andrei Zaitsev")]),
        ]
        var members = [head]
        for team in teams {
            members.append((team.supervisor.0, team.supervisor.1, "S-01", team.zone))
            for manager in team.managers {
                members.append((manager.0, manager.1, team.supervisor.0, team.zone))
                salesManagers.append(manager.0)
            }
        }
        members.append(("S-12", "Tatiana Buyer", "S-01", "Europe/Moscow"))  // purchasing: the suppliers' manager
        staff = members.map { id, name, supervisor, zone in
            var body: [String: Any] = [
                "id": id, "name": name, "timeZone": zone,
                "email": name.lowercased().replacingOccurrences(of: " ", with: ".") + "@demo-trade.example",
            ]
            if let supervisor { body["supervisorId"] = supervisor }
            return DemoRequest(service: "contacts", method: "POST", path: "/staff", body: body)
        }
    }

    // MARK: Clients and prospects

    static let nameWords = (
        first: ["Alfa", "Baltic", "Volga", "Ural", "Siberian", "Northern", "Southern", "Central", "Prime", "Neva", "Kama", "Don"],
        second: ["Steel", "Build", "Trade", "Metal", "Stroy", "Invest", "Supply", "Techno", "Profile", "Resource", "Service", "Market"]
    )
    static let cities = ["Moscow", "Saint Petersburg", "Yekaterinburg", "Novosibirsk", "Kazan", "Samara", "Perm", "Omsk", "Tyumen", "Ufa"]
    static let people = (
        first: ["Alexei", "Boris", "Viktor", "Galina", "Darya", "Yevgeny", "Zoya", "Igor", "Kira", "Leonid", "Marina", "Oleg"],
        last: ["Smirnov", "Ivanov", "Vasiliev", "Pavlov", "Semenov", "Golubev", "Vinogradov", "Bogdanov", "Vorobiev", "Kozlov"]
    )
    static let sources = ["exhibition", "website", "referral", "cold-call", "tender", "advertising"]

    mutating func makeClients() {
        // 3,900 clients with the role customer, 1,060 prospects; with the 40 suppliers, 5,000.
        let mix: [(Archetype, Int)] = [
            (.stable, 500), (.irregular, 500), (.episodic, 300), (.oneTime, 600), (.lost, 700), (.new, 300), (.potential, 1_000),
        ]
        var index = 0
        for (archetype, count) in mix {
            for _ in 0..<count {
                index += 1
                let id = String(format: "C-%05d", index)
                let manager = random.pick(salesManagers)
                let scale = random.pick([8_000, 15_000, 30_000, 60_000, 120_000, 250_000, 600_000])
                clients.append(Client(id: id, managerId: manager, archetype: archetype, scale: scale))
                counterparties.append(counterparty(id: id, index: index, roles: ["customer"], manager: manager))
            }
        }
        for _ in 0..<1_060 {
            index += 1
            let id = String(format: "C-%05d", index)
            let manager = random.pick(salesManagers)
            clients.append(Client(id: id, managerId: manager, archetype: .potential, scale: 20_000))
            counterparties.append(counterparty(id: id, index: index, roles: ["prospect"], manager: manager))
        }
    }

    /// A counterparty with a contact person or two (birthdays, some today) and, for clients, the
    /// recent calls and meetings with them.
    mutating func counterparty(id: String, index: Int, roles: [String], manager: String) -> DemoRequest {
        let name = "\(random.pick(Self.nameWords.first)) \(random.pick(Self.nameWords.second)) \(index)"
        let city = random.pick(Self.cities)
        var body: [String: Any] = [
            "id": id, "kind": "organization", "roles": roles, "legalName": "OOO \(name)", "shortName": name,
            "responsibleManagerId": manager, "source": random.pick(Self.sources),
        ]
        // Completeness varies: most have a tax id, address, phone and e-mail; some little of it.
        let thorough = random.chance(75)
        if thorough || random.chance(40) { body["taxId"] = String(7_700_000_000 + index * 7) }
        if thorough { body["addresses"] = ["legal": "\(city), \(random.pick(Self.nameWords.first)) street \(random.int(1...120))"] }
        if thorough || random.chance(50) {
            body["phones"] = [String(format: "+7 495 %03d-%02d-%02d", index / 10_000 + 100, index / 100 % 100, index % 100)]
        }
        if thorough || random.chance(50) { body["emails"] = ["office\(index)@client\(index).example"] }
        var request = DemoRequest(service: "contacts", method: "POST", path: "/counterparties", body: body)
        let persons = roles.contains("supplier") ? 1 : random.int(thorough ? 1...2 : 0...1)
        for number in 0..<persons {
            let personId = "\(id)-P\(number + 1)"
            var person: [String: Any] = [
                "id": personId, "name": "\(random.pick(Self.people.first)) \(random.pick(Self.people.last))",
                "position": number == 0 ? "chief buyer" : "accountant",
            ]
            if random.chance(80) {
                person["phones"] = [
                    String(format: "+7 916 %03d-%02d-%02d", index / 10_000 + 200, index / 100 % 100, number * 50 + index % 50)
                ]
            }
            if random.chance(60) { person["emails"] = ["p\(number + 1).\(index)@client\(index).example"] }
            if random.chance(70) {
                // About one person in 300 has a birthday today: reminders the morning the demo is loaded.
                let birthday = random.chance(1) ? today : day(random.int(0...364))
                person["birthday"] = String(Self.date(birthday).dropFirst(5))
            }
            request.then.append(
                DemoRequest(service: "contacts", method: "POST", path: "/counterparties/\(id)/contact-persons", body: person))
        }
        return request
    }

    /// Calls, e-mails and meetings with client number `index` (its position in `clients` and
    /// `counterparties`) on the given days, by its manager.
    mutating func logContacts(_ index: Int, on days: [Int]) {
        let client = clients[index]
        for (number, day) in days.enumerated() where day < 0 {
            let kind = random.pick(["call", "call", "call", "email", "meeting"])
            var interaction: [String: Any] = [
                "id": "\(client.id)-I\(number + 1)", "kind": kind, "direction": random.chance(70) ? "outbound" : "inbound",
                "staffId": client.managerId, "occurredAt": Self.time(workingMoment(day)),
                "subject": random.pick(["prices", "delivery dates", "new order", "payment", "assortment", "complaint"]),
            ]
            if kind != "email" { interaction["durationMinutes"] = random.int(5...60) }
            if counterparties[index].then.contains(where: { $0.path.hasSuffix("contact-persons") }) {
                interaction["contactPersonId"] = "\(client.id)-P1"
            }
            counterparties[index].then.append(
                DemoRequest(service: "contacts", method: "POST", path: "/counterparties/\(client.id)/interactions", body: interaction))
        }
    }
}
