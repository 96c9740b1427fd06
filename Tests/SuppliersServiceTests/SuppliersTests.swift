import EventStore
import Foundation
import GRDB
import HummingbirdTesting
import Kafka
import ServiceKit
import SuppliersService
import TestSupport
import Testing
import WireFormat
import WireSchema

/// Counterparties as the contacts service publishes them: two suppliers and a customer.
func counterpartiesFeed(suppliers: [String] = ["s1", "s2"]) throws -> TopicFeed {
    var feed = TopicFeed()
    for id in suppliers {
        try feed.event(
            CounterpartyEvent.registered(CounterpartyRecord(id: id, kind: .organization, roles: [.supplier], legalName: "\(id) Supply LLC"))
        )
    }
    try feed.event(CounterpartyEvent.registered(CounterpartyRecord(id: "c1", kind: .organization, roles: [.customer], legalName: "C1")))
    return feed
}

/// The service with its clock on 6 December 2026, 10:00 UTC (the default window: December 2025 to November 2026).
func withSuppliers(_ body: @Sendable (ServiceUnderTest<SuppliersService>, ServiceClock) async throws -> Void) async throws {
    var settings = SuppliersSettings()
    let clock = ServiceClock(start: Timestamp.parse("2026-12-06T10:00:00Z")!)
    settings.clock = clock
    settings.standingInterval = .milliseconds(50)
    settings.standingPause = .milliseconds(20)
    try await withService(SuppliersService.self, settings: settings, maxRequestBodyBytes: 1024 * 1024) { service in
        try await service.feed(try counterpartiesFeed())
        try await body(service, clock)
    }
}

/// The reference cases of `domain.md` for supplier s1, all due in March 2026.
func referencePurchases() -> TopicFeed {
    var feed = TopicFeed()
    // A split delivery completed late by its second receipt.
    feed.purchase(
        "PurchaseOrderPlaced", "po1", supplier: "s1", at: "2026-03-01T08:00:00Z", promised: "2026-03-10",
        lines: [("A", "10", nil), ("B", "5", nil)])
    feed.purchase("GoodsReceived", "po1", supplier: "s1", at: "2026-03-05T12:00:00Z", lines: [("A", "10", nil), ("B", "2", nil)])
    feed.purchase("GoodsReceived", "po1", supplier: "s1", at: "2026-03-12T12:00:00Z", lines: [("B", "3", nil)])
    // A short delivery never completed: delivered on its last receipt, not in full.
    feed.purchase(
        "PurchaseOrderPlaced", "po2", supplier: "s1", at: "2026-03-01T09:00:00Z", promised: "2026-03-10", lines: [("A", "10", nil)])
    feed.purchase("GoodsReceived", "po2", supplier: "s1", at: "2026-03-05T12:00:00Z", lines: [("A", "4", nil)])
    feed.purchase("GoodsReceived", "po2", supplier: "s1", at: "2026-03-07T12:00:00Z", lines: [("A", "5", nil)])
    // Rejected quantities: received in full, accepted short.
    feed.purchase(
        "PurchaseOrderPlaced", "po3", supplier: "s1", at: "2026-03-02T09:00:00Z", promised: "2026-03-12", lines: [("A", "10", nil)])
    feed.purchase("GoodsReceived", "po3", supplier: "s1", at: "2026-03-11T12:00:00Z", lines: [("A", "10", "2")])
    // No receipt: neither on time nor in full, no lead time.
    feed.purchase(
        "PurchaseOrderPlaced", "po4", supplier: "s1", at: "2026-03-03T09:00:00Z", promised: "2026-03-15", lines: [("A", "5", nil)])
    // Cancelled: not due.
    feed.purchase(
        "PurchaseOrderPlaced", "po5", supplier: "s1", at: "2026-03-03T09:00:00Z", promised: "2026-03-15", lines: [("A", "5", nil)])
    feed.purchase("PurchaseOrderCancelled", "po5", supplier: "s1", at: "2026-03-04T09:00:00Z", reason: "no longer needed")
    // A receipt before the order is known, delivered twice.
    feed.purchase("GoodsReceived", "po6", supplier: "s1", at: "2026-03-08T12:00:00Z", lines: [("A", "3", nil)], eventId: "po6-receipt")
    feed.purchase("GoodsReceived", "po6", supplier: "s1", at: "2026-03-08T12:00:00Z", lines: [("A", "3", nil)], eventId: "po6-receipt")
    feed.purchase(
        "PurchaseOrderPlaced", "po6", supplier: "s1", at: "2026-03-01T09:00:00Z", promised: "2026-03-09", lines: [("A", "3", nil)])
    return feed
}

@Suite(.serialized) struct SuppliersTests {
    @Test func theReferenceCasesGiveTheFiguresWorkedByHand() async throws {
        try await withSuppliers { service, _ in
            try await service.feed(referencePurchases())
            let client = service.client
            let march = "from=2026-03-01&to=2026-03-31"
            let figures = try object(try await client.send(.get, "/suppliers/s1/reliability?\(march)"))
            // Due: po1, po2, po3, po4, po6. On time: po2, po3, po6. In full: po1, po6. OTIF: po6.
            #expect(figures["ordersDue"] as? Int == 5)
            #expect(
                figures["onTimeRate"] as? Double == 60 && figures["inFullRate"] as? Double == 40 && figures["otifRate"] as? Double == 20)
            // 50·20 + 25·60 + 25·40 = 35: poor.
            #expect(figures["score"] as? Double == 35 && figures["standing"] as? String == "poor" && figures["blocked"] as? Bool == false)
            // Lead times 11, 6, 9, 7 days: mean 8.25, deviation √3.6875; lateness 2, −3, −1, −1.
            #expect(figures["meanLeadTimeDays"] as? Double == 8.25 && figures["leadTimeStdDevDays"] as? Double == 1.92)
            #expect(figures["meanLatenessDays"] as? Double == -0.75)

            let bySku = try object(try await client.send(.get, "/suppliers/s1/reliability?\(march)&by=sku"))
            let items = bySku["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["sku"] as? String } == ["A", "B"])
            #expect(items.first?["ordersDue"] as? Int == 5 && items.first?["onTimeRate"] as? Double == 80)
            #expect(items.first?["inFullRate"] as? Double == 40 && items.first?["otifRate"] as? Double == 40)
            #expect(
                items.last?["ordersDue"] as? Int == 1 && items.last?["onTimeRate"] as? Double == 0
                    && items.last?["inFullRate"] as? Double == 100)

            // A window with nothing due has no rates.
            let empty = try object(try await client.send(.get, "/suppliers/s1/reliability?from=2026-05-01&to=2026-05-31"))
            #expect(empty["ordersDue"] as? Int == 0 && empty["score"] is NSNull && empty["standing"] is NSNull)

            func orders(_ state: String) async throws -> [String] { try await client.ids("/suppliers/s1/purchase-orders?state=\(state)") }
            #expect(try await orders("delivered") == ["po1", "po6"])
            #expect(try await orders("cancelled") == ["po5"])
            #expect(Set(try await orders("open")) == ["po2", "po3", "po4"])
            #expect(Set(try await orders("late")) == ["po2", "po3", "po4"])
            let all = try object(try await client.send(.get, "/suppliers/s1/purchase-orders?limit=2"))
            #expect((all["items"] as? [Any])?.count == 2 && all["nextCursor"] is String)
            let po3 =
                (try object(try await client.send(.get, "/suppliers/s1/purchase-orders?state=open&limit=10"))["items"] as? [[String: Any]])?
                .first { $0["id"] as? String == "po3" }
            let line = (po3?["lines"] as? [[String: Any]])?.first
            #expect(
                line?["accepted"] as? String == "8" && line?["rejected"] as? String == "2"
                    && po3?["deliveryDate"] as? String == "2026-03-11")

            // The ranking: s1 (35) before s2 (nothing due), also as CSV.
            let ranking = try object(try await client.send(.get, "/suppliers/reliability?\(march)"))
            let ranked = (ranking["items"] as? [[String: Any]] ?? []).map { $0["supplierId"] as? String }
            #expect(ranked == ["s1", "s2"])
            let csv = try await client.send(.get, "/suppliers/reliability?\(march)", headers: [.accept: "text/csv"])
            let rows = String(buffer: csv.body).split(separator: "\r\n")
            #expect(rows.first?.hasPrefix("rank,supplierId,name,ordersDue") == true && rows.dropFirst().first?.hasPrefix("1,s1,") == true)

            try expectProblem(try await client.send(.get, "/suppliers/nobody/reliability"), .notFound)
            try expectProblem(try await client.send(.get, "/suppliers/c1/reliability"), .unprocessableContent, containing: "not a supplier")
            try expectProblem(try await client.send(.get, "/suppliers/s1/reliability?from=2026-04-01&to=2026-03-01"), .badRequest)
        }
    }

    @Test func aBadPurchaseRecordIsDeadLetteredAndAnOrderOfAnotherSupplierRefused() async throws {
        try await withSuppliers { service, _ in
            var feed = TopicFeed()
            feed.raw(Topics.erpPurchases, key: "px", #"{"eventId": "e1", "type": "PurchaseOrderPlaced", "purchaseOrderId": "px"}"#)
            feed.purchase(
                "PurchaseOrderPlaced", "py", supplier: "s1", at: "2026-03-01T08:00:00Z", promised: "2026-03-10", lines: [("A", "1", nil)])
            feed.purchase("GoodsReceived", "py", supplier: "s2", at: "2026-03-02T08:00:00Z", lines: [("A", "1", nil)])
            try await service.feed(feed)
            #expect(service.host.projector.status.deadLetterCount == 2, "no supplierId, another supplier's order")
            let po = try object(try await service.client.send(.get, "/suppliers/s1/purchase-orders"))
            #expect(((po["items"] as? [[String: Any]])?.first?["receipts"] as? Int) == 0)
        }
    }

    @Test func termsArePerSupplierAndVersioned() async throws {
        try await withSuppliers { service, _ in
            let client = service.client
            let terms =
                #"{"deliveryTerms": "DAP Berlin", "minimumOrder": "500", "deliveryDays": ["Monday", "thu"], "promisedLeadTimeDays": 7, "paymentTerms": "net 30", "packagingDeposit": "12.50", "packagingReturnDays": 60, "currency": "eur"}"#
            try expectProblem(try await client.send(.put, "/suppliers/nobody/terms", terms), .notFound)
            try expectProblem(
                try await client.send(.put, "/suppliers/c1/terms", terms), .unprocessableContent, containing: "not a supplier")
            try expectProblem(
                try await client.send(.put, "/suppliers/s1/terms", #"{"deliveryDays": ["someday"]}"#), .unprocessableContent,
                containing: "deliveryDays")
            try expectProblem(try await client.send(.put, "/suppliers/s1/terms", #"{"minimumOrder": "-1"}"#), .unprocessableContent)
            let set = try await client.send(.put, "/suppliers/s1/terms", terms)
            #expect(set.status == .ok && set.headers[.eTag] == "\"1\"")
            let body = try object(set)
            let stored = body["terms"] as? [String: Any]
            #expect(stored?["deliveryDays"] as? [String] == ["mon", "thu"] && stored?["currency"] as? String == "EUR")
            #expect(stored?["minimumOrder"] as? String == "500" || stored?["minimumOrder"] as? Double == 500)
            try expectProblem(
                try await client.send(
                    .put, "/suppliers/s1/terms", #"{"paymentTerms": "prepaid"}"#, headers: jsonHeaders + [.ifMatch: "\"7\""]),
                .preconditionFailed)
            let second = try await client.send(
                .put, "/suppliers/s1/terms", #"{"paymentTerms": "prepaid"}"#, headers: jsonHeaders + [.ifMatch: "\"1\""])
            #expect(second.headers[.eTag] == "\"2\"")
            let detail = try object(try await client.send(.get, "/suppliers/s1"))
            #expect(((detail["terms"] as? [String: Any])?["terms"] as? [String: Any])?["paymentTerms"] as? String == "prepaid")
            #expect(((detail["terms"] as? [String: Any])?["terms"] as? [String: Any])?["deliveryTerms"] == nil)
            #expect(try await client.ids("/suppliers") == ["s1", "s2"])
            #expect(try await client.ids("/suppliers?q=S2%20supply") == ["s2"])
            #expect(try await client.ids("/suppliers?standing=none") == ["s1", "s2"])
            try expectProblem(try await client.send(.get, "/suppliers?standing=great"), .badRequest)
        }
    }

    static func priceList(_ id: String, items: [String], validFrom: String = "2026-01-01", validTo: String? = nil) -> String {
        #"{"id": "\#(id)", "currency": "EUR", "validFrom": "\#(validFrom)""# + (validTo.map { #", "validTo": "\#($0)""# } ?? "")
            + #", "items": [\#(items.joined(separator: ","))]}"#
    }

    @Test func priceListsGiveOffersPackagingAndHistory() async throws {
        try await withSuppliers { service, _ in
            let client = service.client
            let s1 = Self.priceList(
                "main",
                items: [
                    #"{"sku": "A", "packagingUnit": "box", "price": "10.00"}"#,
                    #"{"sku": "A", "packagingUnit": "box", "price": "9.50", "minQuantity": 100}"#,
                    #"{"sku": "CRATE", "price": "2.00", "returnablePackaging": true}"#,
                ])
            let created = try await client.created("/suppliers/s1/price-lists", s1)
            #expect(created["lines"] as? Int == 3 && created["status"] as? String == "active" && created["id"] as? String == "main")
            let csv = "sku;packagingUnit;price;minQuantity\r\nA;box;9,80;\r\nB;;3;\r\n"
            let uploaded = try await client.send(
                .post, "/suppliers/s2/price-lists?id=spring&currency=EUR&validFrom=2026-02-01", csv, headers: [.contentType: "text/csv"])
            #expect(uploaded.status == .created, "\(String(buffer: uploaded.body))")

            // A bad line: nothing published, the line named.
            let bad = "sku,price,minQuantity\nB,4,\nC,cheap,\nD,1,-5\n"
            let refused = try await client.send(
                .post, "/suppliers/s2/price-lists?id=bad&currency=EUR&validFrom=2026-02-01", bad, headers: [.contentType: "text/csv"])
            try expectProblem(refused, .unprocessableContent, containing: "2 lines")
            let errors = try object(refused)["errors"] as? [[String: Any]] ?? []
            #expect(errors.map { $0["line"] as? Int } == [3, 4] && (errors.first?["detail"] as? String)?.contains("price") == true)
            try expectProblem(try await client.send(.get, "/suppliers/s2/price-lists/bad"), .notFound)
            try expectProblem(
                try await client.send(.post, "/suppliers/c1/price-lists", s1), .unprocessableContent, containing: "not a supplier")
            try expectProblem(
                try await client.send(.post, "/suppliers/s1/price-lists", #"{"currency": "EUR", "validFrom": "2026-01-01", "items": []}"#),
                .unprocessableContent, containing: "no lines")

            // Offers: at quantity 150 s1's break applies; without a quantity each supplier's smallest minimum.
            let offers = try object(try await client.send(.get, "/items/A/offers?on=2026-06-01&quantity=150"))
            let list = offers["offers"] as? [[String: Any]] ?? []
            #expect(list.map { $0["supplierId"] as? String } == ["s1", "s2"] && list.map { $0["price"] as? String } == ["9.5", "9.8"])
            #expect(list.first?["total"] as? String == "1425")
            #expect((offers["recommended"] as? [String: Any])?["supplierId"] as? String == "s1")
            let plain = try object(try await client.send(.get, "/items/A/offers?on=2026-06-01"))
            #expect((plain["offers"] as? [[String: Any]] ?? []).map { $0["price"] as? String } == ["9.8", "10"])
            // Before s2's list is valid only s1 offers.
            let january = try object(try await client.send(.get, "/items/A/offers?on=2026-01-15"))
            #expect((january["offers"] as? [[String: Any]] ?? []).map { $0["supplierId"] as? String } == ["s1"])

            let packaging = try object(try await client.send(.get, "/suppliers/s1/packaging"))
            #expect((packaging["items"] as? [[String: Any]] ?? []).map { $0["sku"] as? String } == ["CRATE"])

            // A new upload of the list replaces it; the history keeps both prices.
            _ = try await client.created(
                "/suppliers/s1/price-lists",
                Self.priceList("main", items: [#"{"sku": "A", "packagingUnit": "box", "price": "10.40"}"#], validFrom: "2026-07-01"))
            let lists = try object(try await client.send(.get, "/suppliers/s1/price-lists"))
            let main = (lists["items"] as? [[String: Any]])?.first
            #expect(main?["lines"] as? Int == 1 && main?["publications"] as? Int == 2)
            let history = try object(try await client.send(.get, "/suppliers/s1/items/A/price-history"))
            let prices = (history["prices"] as? [[String: Any]] ?? []).map { $0["price"] as? String }
            #expect(prices == ["10", "9.5", "10.4"])
            let shown = try await client.send(.get, "/suppliers/s2/price-lists/spring", headers: [.accept: "text/csv"])
            #expect(String(buffer: shown.body) == "sku,packagingUnit,price,minQuantity,returnablePackaging\r\nA,box,9.8,,\r\nB,,3,,\r\n")
        }
    }

    @Test func aLargePriceListIsPublishedInPartsAndReadBackWhole() async throws {
        try await withSuppliers { service, _ in
            let count = 2 * PriceList.partSize + 345
            var csv = "sku,price\n"
            for index in 1...count { csv += "SKU-\(index),\(index).25\n" }
            let response = try await service.client.send(
                .post, "/suppliers/s1/price-lists?id=big&currency=USD&validFrom=2026-01-01", csv, headers: [.contentType: "text/csv"])
            #expect(response.status == .created)
            let parts = try await service.host.store.database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM price_part")
            }
            #expect(parts == 3)
            let list = try object(try await service.client.send(.get, "/suppliers/s1/price-lists/big"))
            let items = list["items"] as? [[String: Any]] ?? []
            #expect(items.count == count && items.last?["sku"] as? String == "SKU-\(count)" && list["lines"] as? Int == count)
        }
    }

    @Test func standingsArePublishedAsTheyChangeAndAVeryPoorSupplierIsBlocked() async throws {
        try await withSuppliers { service, clock in
            let client = service.client
            try await service.feed(referencePurchases())
            try await eventually("s1's standing is published") {
                try object(try await client.send(.get, "/suppliers/s1"))["standing"] as? String == "poor"
            }
            // s2: one order never delivered → very poor, blocked.
            var feed = TopicFeed()
            feed.purchase(
                "PurchaseOrderPlaced", "q1", supplier: "s2", at: "2026-04-01T08:00:00Z", promised: "2026-04-10", lines: [("A", "1", nil)])
            try await service.feed(feed)
            try await eventually("s2 is blocked") { try object(try await client.send(.get, "/suppliers/s2"))["blocked"] as? Bool == true }
            #expect(try await client.ids("/suppliers?standing=very-poor") == ["s2"])
            for supplier in ["s1", "s2"] {
                _ = try await client.created(
                    "/suppliers/\(supplier)/price-lists",
                    Self.priceList("p", items: [#"{"sku": "A", "price": "\#(supplier == "s2" ? "1" : "5")"}"#]))
            }
            let offers = try object(try await client.send(.get, "/items/A/offers"))
            let cheapest = (offers["offers"] as? [[String: Any]])?.first
            #expect(cheapest?["supplierId"] as? String == "s2" && cheapest?["blocked"] as? Bool == true)
            #expect((offers["recommended"] as? [String: Any])?["supplierId"] as? String == "s1")

            // A year on, the window holds nothing: both standings end.
            clock.advance(by: 366 * 86_400)
            try await eventually("the window moved past every order") {
                try await client.ids("/suppliers?standing=none") == ["s1", "s2"]
            }
            let history = try await service.host.store.database.read { db in
                try String.fetchAll(db, sql: "SELECT record FROM supplier_standing_history WHERE supplier_id = 's1' ORDER BY changed_at")
            }
            #expect(history.count == 2 && history.last?.contains(#""previousStanding":"poor""#) == true)
        }
    }

    @Test func aRebuiltStoreDumpsIdentically() async throws {
        try await withSuppliers { service, _ in
            let client = service.client
            try await service.feed(referencePurchases())
            _ = try await client.send(.put, "/suppliers/s1/terms", #"{"promisedLeadTimeDays": 5}"#)
            _ = try await client.created("/suppliers/s1/price-lists", Self.priceList("p", items: [#"{"sku": "A", "price": "5"}"#]))
            try await eventually("s1's standing is published") {
                try object(try await client.send(.get, "/suppliers/s1"))["standing"] as? String == "poor"
            }
            let (served, dumped, _) = try await service.dumpsServedAndRebuilt(settings: SuppliersSettings())
            #expect(dumped == served, "a rebuilt store dumps identically")
            #expect(dumped.contains { $0.hasPrefix(#"{"supplier_month""#) } && dumped.contains { $0.hasPrefix(#"{"supplier_standing""#) })
        }
    }
}
