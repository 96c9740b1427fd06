import Foundation
import Kafka
import Testing
import WireFormat

@testable import WireSchema

@Suite struct EventDecodingTests {
    let registered = #"{"id":"C-1","kind":"organization","legalName":"Acme","roles":["customer"],"futureField":{"x":1}}"#

    @Test func ignoresUnknownFieldsAndDefaultsLists() throws {
        let event = try CounterpartyEvent.decode(type: "CounterpartyRegistered", data: Array(registered.utf8))
        guard case .registered(let record) = event else {
            Issue.record("wrong case")
            return
        }
        #expect(record.id == "C-1")
        #expect(record.roles == [.customer])
        #expect(record.phones.isEmpty && record.tags.isEmpty && !record.archived)
    }

    @Test func roundTripsThroughTheEncoder() throws {
        let record = CounterpartyRecord(
            id: "C-2", kind: .person, roles: [.prospect, .supplier], legalName: "Иван \"Ivan\" Petrov",
            taxId: "123", addresses: Addresses(legal: "Moscow\nTverskaya 1"), phones: ["+7 495 1234567"],
            emails: ["a@b.ru"], tags: ["vip"], notes: "multi\u{0001}line")
        let event = CounterpartyEvent.updated(record)
        #expect(try CounterpartyEvent.decode(type: event.type, data: try event.encodeData()) == event)
    }

    @Test func unknownTypeIsAWireFormatError() {
        #expect(throws: WireFormatError.self) {
            try CounterpartyEvent.decode(type: "CounterpartyTeleported", data: Array(registered.utf8))
        }
    }

    @Test func errorsNameTheField() {
        do {
            _ = try CounterpartyEvent.decode(
                type: "CounterpartyRegistered", data: Array(#"{"id":"C","kind":"organization","legalName":5}"#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("legalName"))
        }
        do {
            _ = try CounterpartyEvent.decode(
                type: "CounterpartyRegistered", data: Array(#"{"id":"C","kind":"robot","legalName":"x"}"#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("kind"))
        }
    }

    @Test func erpOrderAmountsAreExactFromNumbersAndStrings() throws {
        let json = #"""
            {"eventId":"e1","type":"OrderPlaced","occurredAt":"2026-03-14T09:30:00Z","orderId":"SO-1","customerId":"C-1",
             "currency":"EUR","lines":[{"sku":"A","quantity":2,"price":"100.10","cost":70.05},{"sku":"B","quantity":"0.3","price":0.1}]}
            """#
        let order = try ERPOrderEvent.decode(Array(json.utf8))
        let lines = try #require(order.lines)
        let revenue = lines.reduce(Decimal(0)) { $0 + $1.quantity.value * $1.price.value }
        #expect(revenue == ExactDecimal.parse("200.23"))
        #expect(lines[0].cost?.value == ExactDecimal.parse("70.05"))
        #expect(order.type == .placed)
    }

    /// The hand reader takes exactly what `Codable` takes, with the field named when it refuses.
    @Test func erpOrderReaderAgreesWithCodable() throws {
        let documents = [
            #"{"eventId":"e1","type":"OrderPlaced","occurredAt":"2026-03-14T09:30:00.125Z","orderId":"SO-1","customerId":"C-1","managerId":"M-1","currency":"EUR","dealId":"D-1","lines":[{"sku":"A","quantity":2,"price":" 100.10 ","cost":70.05,"extra":[1,{"x":null}]}]}"#,
            #"{"eventId":"e2","type":"OrderCompleted","occurredAt":"2026-03-15T09:30:00+03:00","orderId":"SO-1","customerId":"C-1","lines":null,"managerId":null}"#,
            #"{"eventId":"e3","type":"OrderCancelled","occurredAt":"2026-03-16T09:30:00Z","orderId":"SO-1","customerId":"C-1","reason":"price","lines":[]}"#,
        ]
        for document in documents {
            let codable = try WireDecoder.decode(ERPOrderEvent.self, from: Array(document.utf8))
            #expect(try ERPOrderEvent.read(Array(document.utf8)) == codable)
        }
        #expect(try ERPOrderEvent.read(Array(documents[1].utf8)).lines == nil, "null lines keep the stored amounts")
        #expect(try ERPOrderEvent.read(Array(documents[2].utf8)).lines == [], "an empty list is no lines")

        func reason(_ json: String) -> String { refusal(json) { _ = try ERPOrderEvent.decode($0) } }
        let head = #""eventId":"e","type":"OrderCompleted","orderId":"o","customerId":"c""#
        #expect(reason("{\(head),\"occurredAt\":\"2026-03-14T09:30:00Z\"}") == "read")
        #expect(reason("{\(head)}") == "missing field 'occurredAt'")
        #expect(reason("{\(head),\"occurredAt\":\"yesterday\"}").contains("'occurredAt': 'yesterday' is not an RFC 3339 time"))
        #expect(
            reason(#"{"eventId":"e","type":"OrderShipped","orderId":"o","customerId":"c","occurredAt":"2026-03-14T09:30:00Z"}"#)
                .contains("'type': 'OrderShipped' is not one of OrderPlaced, OrderCompleted, OrderCancelled"))
        #expect(
            reason("{\(head),\"occurredAt\":\"2026-03-14T09:30:00Z\",\"lines\":[{\"sku\":\"A\",\"quantity\":\"two\",\"price\":1}]}")
                .contains("'lines[0].quantity': 'two' is not a decimal number"))
        #expect(
            reason("{\(head),\"occurredAt\":\"2026-03-14T09:30:00Z\",\"lines\":[{\"sku\":\"A\",\"quantity\":1}]}")
                == "missing field 'lines[0].price'")
        #expect(reason("{\(head),\"occurredAt\":\"2026-03-14T09:30:00Z\",\"lines\":{}}").contains("'lines': expected an array"))
        #expect(reason("{\(head),\"occurredAt\":\"2026-03-14T09:30:00Z\"} x").contains("unexpected data after the document"))
    }

    @Test func erpOrderPlacedNeedsLines() {
        let json = #"{"eventId":"e1","type":"OrderPlaced","occurredAt":"2026-03-14T09:30:00Z","orderId":"SO-1","customerId":"C-1"}"#
        #expect(throws: WireFormatError.self) { try ERPOrderEvent.decode(Array(json.utf8)) }
        let completed = #"{"eventId":"e2","type":"OrderCompleted","occurredAt":"2026-03-15T09:30:00Z","orderId":"SO-1","customerId":"C-1"}"#
        #expect(throws: Never.self) { try ERPOrderEvent.decode(Array(completed.utf8)) }
    }

    @Test func erpPurchaseContract() throws {
        let placed =
            #"{"eventId":"p1","type":"PurchaseOrderPlaced","occurredAt":"2026-03-14T09:30:00Z","purchaseOrderId":"PO-77","supplierId":"S-1","promisedDate":"2026-03-20","lines":[{"sku":"A","quantity":10,"price":"5.00","rejectedQuantity":0}]}"#
        let event = try ERPPurchaseEvent.decode(Array(placed.utf8))
        #expect(event.promisedDate?.description == "2026-03-20")
        let badDate = placed.replacingOccurrences(of: "2026-03-20", with: "2026-02-30")
        #expect(throws: WireFormatError.self) { try ERPPurchaseEvent.decode(Array(badDate.utf8)) }
        let badAmount = placed.replacingOccurrences(of: "\"5.00\"", with: "\"5,00\"")
        #expect(throws: WireFormatError.self) { try ERPPurchaseEvent.decode(Array(badAmount.utf8)) }
    }

    @Test func cloudEventHeadersRoundTrip() throws {
        let attributes = CloudEventAttributes(
            id: "01", type: "CounterpartyRegistered", source: "crm-contacts",
            time: try #require(Timestamp.parse("2026-03-14T09:30:00.123Z")), subject: "C-1", actor: "alice",
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let headers = attributes.headers
        #expect(headers.contains(KafkaHeader("ce_specversion", "1.0")))
        #expect(headers.contains(KafkaHeader("content-type", "application/json")))
        #expect(CloudEventAttributes(headers: headers) == attributes)
        #expect(CloudEventAttributes(headers: [KafkaHeader("ce_type", "x")]) == nil)
    }
}

@Suite struct MessageCatalogTests {
    @Test func decodesMessagesOfTopicsWhoseServicesComeLater() throws {
        let deal = try MessageCatalog.decode(
            topic: Topics.deals, type: "DealOpened",
            data: Array(
                #"{"id":"D-1","counterpartyId":"C-1","stage":"proposal","expectedAmount":"1250.50","probability":40,"expectedCloseDate":"2026-12-31","extra":1}"#
                    .utf8))
        guard case .opened(let opened) = try #require(deal as? DealEvent) else {
            Issue.record("not DealOpened")
            return
        }
        #expect(opened.expectedAmount?.value == ExactDecimal.parse("1250.50"))
        #expect(opened.expectedCloseDate?.description == "2026-12-31")
        #expect((deal as? DealEvent)?.key == "D-1")

        let reminder = try #require(
            try MessageCatalog.decode(
                topic: Topics.reminders, type: "ReminderDue",
                data: Array(#"{"id":"r-1","recipientId":"S-1","kind":"birthday","dueAt":"2026-05-01T06:00:00Z","text":"Birthday"}"#.utf8))
                as? ReminderEvent)
        guard case .due(let due) = reminder else {
            Issue.record("not ReminderDue")
            return
        }
        #expect(due.kind == .birthday)

        let segment = try #require(
            try MessageCatalog.decode(
                topic: Topics.segments, type: "ClientClassified",
                data: Array(
                    #"{"clientId":"C-1","runId":"run-1","asOf":"2026-11-29","abcClass":"A","status":"one-time","parameters":{"periods":12}}"#
                        .utf8)) as? SegmentEvent)
        guard case .clientClassified(let classification) = segment else {
            Issue.record("not ClientClassified")
            return
        }
        #expect(classification.status == .oneTime)
        #expect(classification.parameters?["periods"] == .number("12"))
        #expect(segment.key == "C-1")
        let roundTrip = try SegmentEvent.decode(type: segment.type, data: try segment.encodeData())
        #expect(roundTrip == segment)
    }

    @Test func everyDeclaredTopicIsInTheCatalogueOnce() {
        let topics = MessageCatalog.topics.map(\.topic)
        #expect(Set(topics).count == topics.count)
        #expect(MessageCatalog.messages[Topics.staff] == StaffEvent.messageNames)
        #expect(MessageCatalog.eventTypes.contains(CounterpartyEvent.Message.mergeUndone.rawValue))
        #expect(throws: WireFormatError.self) { try MessageCatalog.decode(topic: "nobody.v1", type: "X", data: []) }
    }

    @Test func refusesUnknownTypesAndBadData() {
        #expect(throws: WireFormatError.self) {
            try MessageCatalog.decode(topic: Topics.deals, type: "DealTeleported", data: Array("{}".utf8))
        }
        #expect(throws: WireFormatError.self) {
            try MessageCatalog.decode(topic: Topics.deals, type: "DealClosed", data: Array(#"{"id":"D","outcome":"maybe"}"#.utf8))
        }
        #expect(throws: WireFormatError.self) {
            try MessageCatalog.decode(
                topic: Topics.campaigns, type: "CampaignCostRecorded", data: Array(#"{"id":"K","amount":"12,5"}"#.utf8))
        }
    }
}
