import Foundation

extension DemoCompany {
    // MARK: Suppliers

    /// 40 suppliers: 25 reliable, 10 that are often late or short, 5 poor ones (blocked by their score).
    mutating func makeSuppliers() {
        for number in 1...40 {
            let id = String(format: "SUP-%02d", number)
            counterparties.append(counterparty(id: id, index: 9_000 + number, roles: ["supplier"], manager: "S-12"))
            let (onTime, inFull) = number <= 25 ? (92, 96) : number <= 35 ? (65, 80) : (25, 50)
            let lead = random.int(3...21)
            var terms: [String: Any] = [
                "deliveryTerms": random.pick(["DAP warehouse", "EXW", "FCA", "DDP warehouse"]),
                "minimumOrder": "\(random.int(1...20) * 5_000)",
                "currency": Self.currency, "deliveryDays": random.pick([["mon", "thu"], ["tue", "fri"], ["mon", "wed", "fri"]]),
                "promisedLeadTimeDays": lead, "paymentTerms": random.pick(["prepayment", "net 15", "net 30", "net 45"]),
            ]
            let returnable = random.chance(40)
            if returnable {
                terms["packagingDeposit"] = "\(random.int(5...30) * 50)"
                terms["packagingReturnDays"] = random.pick([30, 60, 90])
            }
            var items: [[String: Any]] = []
            var offered: [(sku: String, price: Kopecks)] = []
            for entry in catalog where random.chance(30) {
                let price = entry.cost.scaled(percent: random.int(88...112))
                offered.append((entry.sku, price))
                items.append(["sku": entry.sku, "packagingUnit": entry.unit, "price": price.decimal])
                if random.chance(30) {
                    items.append([
                        "sku": entry.sku, "packagingUnit": entry.unit, "price": price.scaled(percent: 95).decimal, "minQuantity": "50",
                    ])
                }
            }
            if returnable { items.append(["sku": "PALLET", "packagingUnit": "pc", "price": "1200.00", "returnablePackaging": true]) }
            var request = DemoRequest(service: "suppliers", method: "PUT", path: "/suppliers/\(id)/terms", body: terms)
            request.unlessPresent = ("/suppliers/\(id)", "terms")
            request.then.append(
                DemoRequest(
                    service: "suppliers", method: "POST", path: "/suppliers/\(id)/price-lists",
                    body: ["id": "main", "currency": Self.currency, "validFrom": Self.date(day(-400)), "items": items]))
            supplierTerms.append(request)
            makePurchases(supplier: id, lead: lead, onTime: onTime, inFull: inFull, offered: offered)
        }
    }

    /// One or two purchase orders a month for two years; receipts late or short as the supplier is.
    mutating func makePurchases(supplier: String, lead: Int, onTime: Int, inFull: Int, offered: [(sku: String, price: Kopecks)]) {
        guard !offered.isEmpty else { return }
        var number = 0
        var placedDay = -730 + random.int(0...14)
        while placedDay < 0 {
            number += 1
            let id = "PO-\(supplier.dropFirst(4))-\(String(format: "%03d", number))"
            let placedAt = workingMoment(placedDay)
            let promised = placedDay + lead
            let lines = (0..<random.int(1...3)).map { _ in
                let item = random.pick(offered)
                return (sku: item.sku, quantity: random.int(1...20) * 10, price: item.price)
            }
            var events: [[String: Any]] = [
                [
                    "eventId": "\(id)/placed", "type": "PurchaseOrderPlaced", "occurredAt": Self.time(placedAt), "purchaseOrderId": id,
                    "supplierId": supplier, "promisedDate": Self.date(day(promised)),
                    "lines": lines.map { ["sku": $0.sku, "quantity": "\($0.quantity)", "price": $0.price.decimal] },
                ]
            ]
            let deliveredDay = random.chance(onTime) ? promised - random.int(0...1) : promised + random.int(1...10)
            if deliveredDay < 0 {
                let full = random.chance(inFull)
                let received = lines.map { line -> [String: Any] in
                    if full { return ["sku": line.sku, "quantity": "\(line.quantity)"] }
                    // Short, or part of it rejected at the gate.
                    return random.chance(50)
                        ? ["sku": line.sku, "quantity": "\(line.quantity * random.int(50...90) / 100)"]
                        : ["sku": line.sku, "quantity": "\(line.quantity)", "rejectedQuantity": "\(max(1, line.quantity / 10))"]
                }
                events.append([
                    "eventId": "\(id)/received", "type": "GoodsReceived", "occurredAt": Self.time(workingMoment(deliveredDay)),
                    "purchaseOrderId": id, "supplierId": supplier, "lines": received,
                ])
            }
            for event in events {
                purchases.append(ERPRecord(topic: Self.erpPurchasesTopic, key: id, value: Self.json(event)))
            }
            placedDay += random.int(10...25)
        }
    }

    // MARK: Campaigns and inquiries

    static let campaignPlan: [(id: String, name: String, channel: String, start: Int, length: Int, budget: Int)] = [
        ("EXPO-1", "Construction expo, spring", "exhibition", -700, 20, 400_000),
        ("MAIL-1", "Spring price mailing", "email", -640, 45, 60_000),
        ("WEB-1", "Search advertising", "web", -560, 90, 250_000),
        ("CALL-1", "Cold calls to builders", "call", -450, 60, 120_000),
        ("EXPO-2", "Construction expo, autumn", "exhibition", -330, 20, 450_000),
        ("MAIL-2", "New assortment mailing", "email", -230, 45, 70_000),
        ("WEB-2", "Search advertising, year two", "web", -170, 120, 300_000),
        ("REF-1", "Referral bonus", "referral", -60, 90, 90_000),
    ]

    mutating func makeCampaignsAndInquiries() {
        for plan in Self.campaignPlan {
            var request = DemoRequest(
                service: "deals", method: "POST", path: "/campaigns",
                body: [
                    "id": plan.id, "name": plan.name, "channel": plan.channel, "startsOn": Self.date(day(plan.start)),
                    "endsOn": Self.date(day(plan.start + plan.length)), "budget": "\(plan.budget)", "currency": Self.currency,
                ])
            for part in 0..<random.int(1...3) {
                let incurred = min(plan.start + part * 15, 0)
                request.then.append(
                    DemoRequest(
                        service: "deals", method: "POST", path: "/campaigns/\(plan.id)/costs",
                        body: ["amount": "\(plan.budget * random.int(20...40) / 100)", "incurredOn": Self.date(day(incurred))]))
            }
            campaigns.append(request)
        }
    }

    /// The campaign running on `day`, if any (the latest started).
    func campaign(on day: Int) -> (id: String, channel: String)? {
        Self.campaignPlan.last { $0.start <= day && day <= $0.start + $0.length }.map { ($0.id, $0.channel) }
    }

    mutating func inquiry(_ id: String, client: Client?, on day: Int, prospect: [String: Any]? = nil) {
        let campaign = campaign(on: day)
        var body: [String: Any] = [
            "id": id, "channel": campaign?.channel ?? random.pick(["call", "email", "web", "visit"]),
            "subject": random.pick(["bulk prices", "delivery to site", "new project", "price list request"]),
            "managerId": client?.managerId ?? random.pick(salesManagers), "receivedAt": Self.time(workingMoment(day)),
        ]
        if let campaign { body["campaignId"] = campaign.id } else { body["source"] = random.pick(Self.sources) }
        if let client { body["counterpartyId"] = client.id } else { body["prospect"] = prospect ?? [:] }
        inquiries.append(DemoRequest(service: "deals", method: "POST", path: "/inquiries", body: body))
    }

    // MARK: The ERP's orders

    static let cancellationReasons = [
        "out of stock", "price too high", "delivery too slow", "client changed plans", "credit limit exceeded",
    ]

    mutating func makeOrders() {
        var sequence = 0
        for index in clients.indices {
            let client = clients[index]
            var days: [(day: Int, percent: Int)] = []
            switch client.archetype {
            case .stable:
                for month in 0..<24 { days.append((-728 + month * 30 + random.int(0...6), random.int(93...107))) }
            case .irregular:
                for month in 0..<24 where random.chance(35) { days.append((-728 + month * 30 + random.int(0...25), random.int(30...250))) }
            case .episodic:
                for _ in 0..<random.int(1...3) {
                    let start = random.int(-720 ... -40)
                    for step in 0..<random.int(2...3) { days.append((min(start + step * random.int(7...20), -2), random.int(60...160))) }
                }
            case .oneTime:
                days.append((random.int(-330 ... -20), random.int(80...200)))
            case .lost:
                let start = random.int(-720 ... -560)
                for step in 0..<random.int(2...6) { days.append((start + step * random.int(15...30), random.int(70...130))) }
            case .new:
                var day = random.int(-170 ... -60)
                while day < 0 {
                    days.append((day, random.int(80...120)))
                    day += random.int(20...40)
                }
            case .potential:
                // Some prospects ordered once and never took the goods.
                if random.chance(15) { days.append((random.int(-300 ... -10), 100)) }
            }
            days.sort { $0.day < $1.day }
            for (day, percent) in days {
                sequence += 1
                let cancelled = client.archetype == .potential || random.chance(6)
                let completed = addOrder(
                    "SO-" + Self.padded(sequence, 6), client: client, day: day, amount: client.scale * percent / 100,
                    cancelled: cancelled)
                if completed && clients[index].firstSaleDay == nil { clients[index].firstSaleDay = day }
            }
            // The people a client deals with: a few contacts in the last four months for active clients.
            let recent = days.contains { $0.day > -120 } || client.archetype == .potential && random.chance(30)
            if recent { logContacts(index, on: (0..<random.int(1...4)).map { _ in random.int(-120 ... -1) }.sorted()) }
            // New clients, and some of the others, came from an inquiry a few weeks before their
            // first purchase (through the campaign running then, if any): every campaign shows
            // what it brought.
            if let first = clients[index].firstSaleDay, client.archetype == .new || first > -700 && random.chance(40) {
                inquiry("INQ-\(client.id)", client: client, on: first - random.int(5...40))
            } else if client.archetype == .potential, random.chance(25) {
                // Prospects that asked and never bought: no campaign converts everyone.
                inquiry("INQ-\(client.id)", client: client, on: random.int(-720 ... -1))
            }
        }
        for number in 1...100 {
            inquiry(
                String(format: "INQ-P%03d", number), client: nil, on: random.int(-90 ... -1),
                prospect: ["name": "\(random.pick(Self.people.first)) \(random.pick(Self.people.last))", "company": "New client \(number)"])
        }
    }

    /// Places an order of about `amount` roubles and completes or cancels it some days later
    /// (leaves it open when that is still to come); returns whether it became a sale.
    mutating func addOrder(_ id: String, client: Client, day: Int, amount: Int, cancelled: Bool) -> Bool {
        let lineCount = random.int(1...3)
        var lines: [[String: Any]] = []
        for _ in 0..<lineCount {
            let item = random.pick(catalog)
            let price = item.cost.scaled(percent: random.int(115...140))
            let quantity = max(1, amount * 100 / lineCount / price.value)
            lines.append(["sku": item.sku, "quantity": "\(quantity)", "price": price.decimal, "cost": item.cost.decimal])
        }
        var events: [[String: Any]] = [
            [
                "eventId": "\(id)/placed", "type": "OrderPlaced", "occurredAt": Self.time(workingMoment(day)), "orderId": id,
                "customerId": client.id, "managerId": client.managerId, "currency": Self.currency, "lines": lines,
            ]
        ]
        let closedDay = day + random.int(1...7)
        if closedDay < 0 {
            var closing: [String: Any] = [
                "eventId": "\(id)/\(cancelled ? "cancelled" : "completed")", "type": cancelled ? "OrderCancelled" : "OrderCompleted",
                "occurredAt": Self.time(workingMoment(closedDay)), "orderId": id, "customerId": client.id, "managerId": client.managerId,
            ]
            if cancelled { closing["reason"] = random.pick(Self.cancellationReasons) }
            events.append(closing)
            closedOrders += 1
        }
        for event in events { orders.append(ERPRecord(topic: Self.erpOrdersTopic, key: id, value: Self.json(event))) }
        return closedDay < 0 && !cancelled
    }

    static func padded(_ number: Int, _ width: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func json(_ object: [String: Any]) -> [UInt8] { CompactJSON.encode(object) }

    // MARK: Deals, rules, activities

    static let stages = ["qualification", "needs-analysis", "proposal", "negotiation"]

    /// Deals at every stage: open ones with new and potential clients, won and lost ones with a reason.
    mutating func makeDeals() {
        let candidates = clients.filter { $0.archetype == .new || $0.archetype == .potential || $0.archetype == .stable }
        for number in 1...240 {
            let client = random.pick(candidates)
            let id = String(format: "D-%04d", number)
            let amount = client.scale * random.int(2...10)
            var body: [String: Any] = [
                "id": id, "counterpartyId": client.id, "ownerId": client.managerId, "currency": Self.currency,
                "title":
                    "\(random.pick(["Steel", "Pipes", "Sheet metal", "Fasteners", "Paint"])) for \(random.pick(["Q1", "Q2", "the new site", "the warehouse"]))",
                "expectedAmount": "\(amount)", "expectedCloseDate": Self.date(day(random.int(-20...90))),
                "stage": Self.stages[number % Self.stages.count],
            ]
            if inquiries.contains(where: { $0.body["id"] as? String == "INQ-\(client.id)" }) { body["inquiryId"] = "INQ-\(client.id)" }
            var request = DemoRequest(service: "deals", method: "POST", path: "/deals", body: body)
            switch number % 6 {
            case 4:
                request.then.append(
                    DemoRequest(
                        service: "deals", method: "POST", path: "/deals/\(id)/close",
                        body: ["outcome": "won", "amount": "\(amount * random.int(80...100) / 100)"]))
            case 5:
                request.then.append(
                    DemoRequest(
                        service: "deals", method: "POST", path: "/deals/\(id)/close",
                        body: ["outcome": "lost", "reason": random.pick(["price", "competitor", "no budget", "timing"])]))
            default: break
            }
            deals.append(request)
        }
    }

    mutating func makeRules() {
        salesConditionRules = DemoRequest(
            service: "deals", method: "PUT", path: "/sales-conditions/rules",
            body: [
                "rules": [
                    [
                        "match": ["abcClass": "A", "status": "regular"],
                        "conditions": ["priceType": "wholesale", "discountPercent": "7.5", "deferralDays": 30, "creditLimit": "2000000"],
                    ],
                    ["match": ["abcClass": "A"], "conditions": ["priceType": "wholesale", "discountPercent": "5", "deferralDays": 14]],
                    [
                        "match": ["abcClass": "B"],
                        "conditions": ["priceType": "small-wholesale", "discountPercent": "3", "deferralDays": 7],
                    ],
                    ["match": ["status": "lost"], "conditions": ["priceType": "retail", "prepaymentPercent": "100"]],
                ],
                "default": ["priceType": "retail", "prepaymentPercent": "50"],
            ], unlessPresent: ("/sales-conditions/rules", "default"))
    }

    /// The coming week for every sales manager: calls and meetings with their clients; one call in
    /// 20 minutes (its reminder is due 5 minutes after the demo is loaded), and yesterday's calls,
    /// most of them done (they join the clients' timelines), one not (overdue).
    mutating func makeActivities(now: Date) {
        let soon = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60 + 20 * 60)
        for manager in salesManagers {
            let own = clients.filter { $0.managerId == manager && $0.archetype != .potential }
            for number in 1...14 {
                let client = random.pick(own)
                let id = "ACT-\(manager)-\(number)"
                let starts: Date
                switch number {
                case 1: starts = soon
                case 2...4: starts = workingMoment(-1)
                default: starts = workingMoment(random.int(0...6))
                }
                let kind = number == 1 ? "call" : random.pick(["call", "call", "meeting", "visit", "task"])
                var body: [String: Any] = [
                    "id": id, "kind": kind, "ownerId": manager, "counterpartyId": client.id,
                    "subject": random.pick(["Agree on prices", "Delivery schedule", "Overdue payment", "New assortment", "Annual contract"]
                    ),
                    "startsAt": Self.time(starts), "endsAt": Self.time(starts.addingTimeInterval(Double(random.pick([15, 30, 60])) * 60)),
                    "remindMinutesBefore": 15,
                ]
                if kind == "meeting" || kind == "visit" { body["remindMinutesBefore"] = 60 }
                var request = DemoRequest(service: "scheduler", method: "POST", path: "/activities", body: body)
                if number == 2 || number == 3 {
                    request.then.append(
                        DemoRequest(
                            service: "scheduler", method: "POST", path: "/activities/\(id)/complete",
                            body: ["outcome": random.pick(["agreed", "will order next week", "sent the price list"])]))
                }
                activities.append(request)
            }
        }
    }
}
