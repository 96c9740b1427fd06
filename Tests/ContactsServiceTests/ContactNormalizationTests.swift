import ContactsService
import Testing
import WireFormat
import WireSchema

@Suite struct ContactNormalizationTests {
    let russia = ContactNormalization(countryCode: "7")

    @Test(arguments: ["+7 495 123-45-67", "8 (495) 1234567", "495 123 45 67", "7 495 1234567", "+7(495)123-45-67", "0074951234567"])
    func onePhoneNumberHoweverWritten(_ text: String) {
        #expect(russia.phone(text) == "74951234567")
    }

    @Test func phonesElsewhereAndNonsense() {
        let germany = ContactNormalization(countryCode: "49")
        #expect(germany.trunkPrefix == "0")
        #expect(germany.phone("030 1234567") == "49301234567")
        #expect(germany.phone("+49 30 1234567") == "49301234567")
        #expect(russia.phone("ext. 12") == nil, "too few digits")
    }

    @Test func namesReduceToTheirWords() {
        #expect(russia.nameKey("Romashka, LLC") == russia.nameKey("ROMASHKA llc."))
        #expect(russia.nameKey("ООО «Ромашка»") == "ромашка")
        #expect(russia.nameKey("Café Müller GmbH") == "cafe muller")
        #expect(russia.nameKey("LLC") == "llc", "a name that is only a legal form keeps it")
    }

    @Test func identitiesOfACounterparty() {
        let record = CounterpartyRecord(
            id: "x", kind: .organization, roles: [], legalName: "X", taxId: "77-01 234567", phones: ["8 916 111 22 33", "12"],
            emails: ["Sales@Example.COM"])
        let identities = russia.identities(of: record).map { "\($0.0.rawValue)=\($0.1)" }
        #expect(identities == ["taxId=7701234567", "email=sales@example.com", "phone=79161112233"])
    }
}
