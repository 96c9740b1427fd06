import Foundation
import ServiceKit
import WireFormat
import WireSchema

/// The deals service's field rules beyond the kit's (422 naming the field).
enum DealsValidation {
    /// An ISO 4217 code: three capital letters.
    static func currency(_ code: String, _ field: String = "currency") throws -> String {
        let code = code.trimmingWhitespace()
        guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw Problem.unprocessable("\(field) must be an ISO 4217 code of three capital letters (got '\(code)')")
        }
        return code
    }

    /// Money: not negative, at most four decimals, at most 10^12.
    static func amount(_ amount: Amount, _ field: String) throws {
        if amount.value < 0 { throw Problem.unprocessable("\(field) must not be negative") }
        if let problem = MinorUnits.problem(amount.value, field: field) { throw Problem.unprocessable(problem) }
    }

    static func percent(_ value: Amount?, _ field: String) throws {
        guard let value else { return }
        if value.value < 0 || value.value > 100 { throw Problem.unprocessable("\(field) must be between 0 and 100") }
        if MinorUnits.of(value.value) == nil { throw Problem.unprocessable("\(field) must have at most four decimal places") }
    }

    static func probability(_ value: Int?, _ field: String = "probability") throws {
        if let value, !(0...100).contains(value) { throw Problem.unprocessable("\(field) must be an integer from 0 to 100") }
    }

    /// Conditions as the rules, overrides and the ERP expect them.
    static func conditions(_ conditions: Conditions, _ field: String) throws -> Conditions {
        var conditions = conditions
        conditions.priceType = try Validation.required(conditions.priceType, "\(field).priceType", maxLength: 64)
        try percent(conditions.discountPercent, "\(field).discountPercent")
        try percent(conditions.prepaymentPercent, "\(field).prepaymentPercent")
        if let days = conditions.deferralDays, !(0...3650).contains(days) {
            throw Problem.unprocessable("\(field).deferralDays must be from 0 to 3650")
        }
        if let days = conditions.reservationDays {
            if !(0...3650).contains(days) { throw Problem.unprocessable("\(field).reservationDays must be from 0 to 3650") }
            if conditions.reservationAllowed != true {
                throw Problem.unprocessable("\(field).reservationDays needs reservationAllowed: true")
            }
        }
        if let limit = conditions.creditLimit { try amount(limit, "\(field).creditLimit") }
        return conditions
    }
}
