import Foundation
import Testing
import WireFormat

@testable import WireSchema

@Suite struct JSONWriterTests {
    static let records = [
        CounterpartyRecord(id: "C-1", kind: .organization, roles: [.customer], legalName: "Plain Trading LLC"),
        CounterpartyRecord(
            id: "019bb6a0-0000-7000-8000-000000000001", kind: .person, roles: [.customer, .supplier, .prospect],
            legalName: "ООО \"Ромашка\" \\ back/slash", shortName: "Ромашка 🌼", taxId: "7701234567",
            addresses: Addresses(legal: "Line 1\nLine 2\r\n\tTabbed", actual: "\u{01}\u{1F}\u{08}\u{0C}\u{7F}", delivery: ""),
            phones: ["+7 495 123-45-67", "8 (495) 1234567"], emails: ["a@example.com"], website: "https://example.com/a?b=c",
            responsibleManagerId: "S-1", source: "campaign-1", tags: ["vip", "é"], notes: "\u{2028}\u{2029} end", archived: true),
    ]

    @Test(arguments: records)
    func writesTheSameBytesAsTheEncoder(_ record: CounterpartyRecord) throws {
        var writer = JSONWriter()
        record.write(to: &writer)
        let generic = Array(try WireEncoder.makeEncoder().encode(record))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: generic, as: UTF8.self))
        #expect(try WireEncoder.encode(record) == generic)
        #expect(try CounterpartyRecord.read(writer.bytes) == record)
        var tree = JSONWriter()
        tree.value(try JSONParser.parse(writer.bytes))
        #expect(tree.bytes == writer.bytes)
    }
}

@Suite struct SalesConditionsWriterTests {
    static let assignments = [
        SalesConditions(
            clientId: "C-1", rank: ClientRank(abcClass: "A", xyzClass: "X", status: "regular"),
            conditions: Conditions(
                priceType: "wholesale", discountPercent: Amount(Decimal(string: "7.5")!), prepaymentPercent: 30, deferralDays: 45,
                reservationAllowed: true, reservationDays: 5, creditLimit: Amount(Decimal(string: "1000000.25")!)),
            source: .rule, ruleIndex: 0, overrideUntil: nil),
        SalesConditions(
            clientId: "C-\"2\"", rank: nil, conditions: Conditions(priceType: "retail"), source: .override, ruleIndex: nil,
            overrideUntil: Date(timeIntervalSince1970: 1_780_000_000.123)),
        SalesConditions(
            clientId: "C-3", rank: ClientRank(abcClass: nil, xyzClass: nil, status: "potential"), conditions: Conditions(priceType: "r"),
            source: .default, ruleIndex: nil, overrideUntil: nil),
    ]

    @Test(arguments: assignments)
    func writesTheSameBytesAsTheEncoder(_ assignment: SalesConditions) throws {
        var writer = JSONWriter()
        assignment.write(to: &writer)
        let generic = Array(try WireEncoder.makeEncoder().encode(assignment))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: generic, as: UTF8.self))
        #expect(try WireDecoder.decode(SalesConditions.self, from: writer.bytes) == assignment)
        #expect(try SalesConditionsEvent.decode(.assigned, data: writer.bytes) == .assigned(assignment))
    }

    @Test func theReaderTakesWhatCodableTakesAndNamesWhatItRefuses() throws {
        let loose = #"{"clientId":"c","priceType":"p","discountPercent":" 2.50 ","creditLimit":1e3,"rank":null,"extra":{"a":[1]}}"#
        #expect(try SalesConditions.read(Array(loose.utf8)) == WireDecoder.decode(SalesConditions.self, from: Array(loose.utf8)))
        func reason(_ json: String) -> String { refusal(json) { _ = try SalesConditionsEvent.decode(.assigned, data: $0) } }
        #expect(reason(#"{"clientId":"c"}"#) == "missing field 'priceType'")
        #expect(
            reason(#"{"clientId":"c","priceType":"p","source":"luck"}"#).contains("'source': 'luck' is not one of rule, override, default"))
        #expect(reason(#"{"clientId":"c","priceType":"p","deferralDays":1.5}"#).contains("'deferralDays': expected a whole number"))
        #expect(
            reason(#"{"clientId":"c","priceType":"p","overrideUntil":"soon"}"#).contains("'overrideUntil': 'soon' is not an RFC 3339 time"))
        #expect(
            reason(#"{"clientId":"c","priceType":"p","reservationAllowed":"yes"}"#).contains("'reservationAllowed': expected a boolean"))
    }
}

@Suite struct ReminderWriterTests {
    static let reminders = [
        Reminder(
            id: "rem_0123456789abcdef0123456789abcdef", recipientId: "S-1", kind: .activityUpcoming,
            dueAt: Date(timeIntervalSince1970: 1_780_000_000.5), sentAt: Date(timeIntervalSince1970: 1_780_000_000.75), late: false,
            text: "Call \"Prices\" with ООО Ромашка at 2026-06-01T10:00:00+03:00 (Europe/Moscow)", activityId: "A-1",
            counterpartyId: "C-1", contactPersonId: "P-1", dealId: "D-1"),
        Reminder(id: "rem_x", recipientId: "S-2", kind: .birthday, dueAt: Date(timeIntervalSince1970: 0), text: "Birthday\ntoday"),
    ]

    @Test(arguments: reminders)
    func writesTheSameBytesAsTheEncoder(_ reminder: Reminder) throws {
        let generic = Array(try WireEncoder.makeEncoder().encode(reminder))
        #expect(String(decoding: try ReminderEvent.due(reminder).encodeData(), as: UTF8.self) == String(decoding: generic, as: UTF8.self))
        #expect(try WireDecoder.decode(Reminder.self, from: try ReminderEvent.due(reminder).encodeData()) == reminder)
    }
}

@Suite struct PriceListWriterTests {
    static let parts = [
        PriceList(
            supplierId: "S-1", priceListId: "2027", currency: "EUR", validFrom: CalendarDate("2027-01-01"),
            validTo: CalendarDate("2027-12-31"),
            publicationId: "0194f0a0-0000-7000-8000-000000000001", publishedAt: Date(timeIntervalSince1970: 1_780_000_000.25), part: 2,
            parts: 3, firstLine: 2001, lineCount: 4500,
            items: [
                PriceList.Item(sku: "STEEL \"1\"", packagingUnit: "t", price: Amount(Decimal(string: "820.5")!), minQuantity: 10),
                PriceList.Item(sku: "PALLET", price: 15, returnablePackaging: true),
                PriceList.Item(sku: "Ящик\tпустой", packagingUnit: "", price: 0, returnablePackaging: false),
            ]),
        PriceList(
            supplierId: "S-2", priceListId: "p", currency: "RUB", validFrom: nil, validTo: nil, publicationId: nil, publishedAt: nil,
            part: nil,
            parts: nil, firstLine: nil, lineCount: nil, items: []),
    ]

    @Test(arguments: parts)
    func writesTheSameBytesAsTheEncoder(_ part: PriceList) throws {
        var writer = JSONWriter()
        part.write(to: &writer)
        let generic = Array(try WireEncoder.makeEncoder().encode(part))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: generic, as: UTF8.self))
        #expect(try WireDecoder.decode(PriceList.self, from: writer.bytes) == part)
    }
}

@Suite struct ClassificationResultsWriterTests {
    static let parts = [
        ClassificationRunResults(
            runId: "0194f0a0-0000-7000-8000-000000000001", part: 3,
            clients: [
                ClientRunResult(
                    clientId: "C-\"1\"", managerId: "M-1", abcClass: "A", xyzClass: "X", status: .regular,
                    measure: Amount(Decimal(string: "1234.5")!), share: 12.345678, cumulativeShareBefore: 0, cv: 9.999999, sales: 12,
                    previousAbcClass: "B", previousXyzClass: "Y", previousStatus: "one-time"),
                ClientRunResult(
                    clientId: "Клиент", managerId: nil, abcClass: "C", xyzClass: nil, status: .oneTime, measure: 1, share: 0.00001,
                    cumulativeShareBefore: 99.5, cv: nil, sales: 1, previousAbcClass: nil, previousXyzClass: nil, previousStatus: nil),
                ClientRunResult(
                    clientId: "lost", managerId: nil, abcClass: nil, xyzClass: nil, status: .lost, measure: 0, share: nil,
                    cumulativeShareBefore: nil, cv: nil, sales: 0, previousAbcClass: nil, previousXyzClass: nil, previousStatus: "regular"),
                ClientRunResult(
                    clientId: "big", managerId: "M-2", abcClass: "A", xyzClass: "Z", status: .regular, measure: 5, share: 100,
                    cumulativeShareBefore: 1e-7, cv: 123456789.125, sales: 40, previousAbcClass: nil, previousXyzClass: nil,
                    previousStatus: nil),
            ]),
        ClassificationRunResults(runId: "r", part: 0, clients: []),
    ]

    @Test(arguments: parts)
    func writesTheSameBytesAsTheEncoder(_ part: ClassificationRunResults) throws {
        let generic = Array(try WireEncoder.makeEncoder().encode(part))
        let written = try ClassificationRunEvent.resultsRecorded(part).encodeData()
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: generic, as: UTF8.self))
        #expect(try WireDecoder.decode(ClassificationRunResults.self, from: written) == part)
        #expect(try ClassificationRunEvent.decode(.resultsRecorded, data: written) == .resultsRecorded(part))
    }

    @Test func badResultsAreRefusedNamingTheField() throws {
        func reason(_ json: String) -> String { refusal(json) { _ = try ClassificationRunEvent.decode(.resultsRecorded, data: $0) } }
        #expect(
            reason(#"{"runId": "r", "part": 1, "clients": [{"clientId": "c", "status": "regular", "measure": "1"}]}"#)
                .contains("missing field 'clients[0].sales'"))
        #expect(reason(#"{"runId": "r", "part": "1", "clients": []}"#).contains("'part': expected a number"))
        #expect(
            reason(#"{"runId": "r", "part": 1, "clients": [{"clientId": "c", "status": "regular", "measure": "1", "sales": 1.5}]}"#)
                .contains("'clients[0].sales': expected a whole number"))
        let valid = #"{"clientId": "c", "status": "regular", "measure": "1", "sales": 1}"#
        #expect(reason(#"{"runId": "r", "part": 1, "clients": [\#(valid), ]}"#).contains("expected a value after ','"))
        #expect(reason(#"{"runId": "r", "part": 1, "clients": [\#(valid) \#(valid)]}"#).contains("expected ',' or ']'"))
        #expect(reason(#"{"runId": "r", "part": 1, "clients": [\#(valid), \#(valid)]}"#) == "read")
        #expect(reason(#"{"runId": "r", "part": 1, "clients": [ ]}"#) == "read")
        #expect(reason(#"{"runId": "r", "part": 1, "clients": {}}"#).contains("'clients': expected an array"))
        #expect(reason(#"{"runId": "r", "part": 1, "clients": null, "x": [1, {"a": [2]}]}"#) == "read")
    }
}

@Suite struct ClientClassificationWriterTests {
    static let classifications = [
        ClientClassification(
            clientId: "C-\"1\"", runId: "0194f0a0-0000-7000-8000-000000000001", asOf: CalendarDate("2026-11-15")!, abcClass: "A",
            xyzClass: "X", status: .regular, previousAbcClass: "B", previousXyzClass: nil, previousStatus: "one-time",
            // As a run records them, not in sorted order: the writer sorts, as the encoder does.
            parameters: .object([
                ("measure", .string("revenue")), ("periodKind", .string("month")), ("periods", .number("12")),
                ("oneTimeMax", .number("1")), ("abcCuts", .array([.number("80"), .number("95.5")])),
                ("xyzCuts", .object([("Z", .null), ("_", .bool(true)), ("a", .string("Ä"))])),
            ])),
        ClientClassification(
            clientId: "Клиент", runId: "r", asOf: CalendarDate("2024-02-29")!, abcClass: nil, xyzClass: nil, status: .potential,
            previousAbcClass: nil, previousXyzClass: nil, previousStatus: nil, parameters: nil),
    ]

    @Test(arguments: classifications)
    func writesTheSameBytesAsTheEncoder(_ classification: ClientClassification) throws {
        let generic = Array(try WireEncoder.makeEncoder().encode(classification))
        let written = try SegmentEvent.clientClassified(classification).encodeData()
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: generic, as: UTF8.self))
        // Read back by hand and by Codable alike, and written again to the same bytes (objects keep
        // their members' order, so the sorted parameters differ from the unsorted original).
        let read = try SegmentEvent.decode(.clientClassified, data: written)
        #expect(read == .clientClassified(try WireDecoder.decode(ClientClassification.self, from: written)))
        #expect(try read.encodeData() == written)
        guard case .clientClassified(var back) = read else { return }
        for name in ["measure", "periodKind", "periods", "oneTimeMax", "abcCuts", "xyzCuts"] {
            #expect(back.parameters?[name] == classification.parameters?[name])
        }
        back.parameters = classification.parameters
        #expect(back == classification)
    }

    @Test func badClassificationsAreRefusedNamingTheField() throws {
        func reason(_ json: String) -> String { refusal(json) { _ = try SegmentEvent.decode(.clientClassified, data: $0) } }
        #expect(reason(#"{"clientId": "c", "runId": "r", "asOf": "2026-11-15", "status": "regular"}"#) == "read")
        #expect(reason(#"{"clientId": "c", "runId": "r", "status": "regular"}"#).contains("missing field 'asOf'"))
        #expect(reason(#"{"clientId": "c", "runId": "r", "asOf": "2026-02-30", "status": "regular"}"#).contains("'asOf': '2026-02-30'"))
        #expect(
            reason(#"{"clientId": "c", "runId": "r", "asOf": "2026-11-15", "status": "vip"}"#).contains("'status': 'vip' is not one of"))
        #expect(reason(#"{"clientId": 7, "runId": "r", "asOf": "2026-11-15", "status": "lost"}"#).contains("'clientId': expected a string"))
        #expect(
            reason(#"{"clientId": "c", "runId": "r", "asOf": "2026-11-15", "status": "lost", "parameters": {"periods": }}"#) != "read")
    }
}

/// "read" when `read` takes the document, else the error it gives: what a reader refuses with.
func refusal(_ json: String, _ read: ([UInt8]) throws -> Void) -> String {
    do {
        try read(Array(json.utf8))
        return "read"
    } catch {
        return "\(error)"
    }
}
