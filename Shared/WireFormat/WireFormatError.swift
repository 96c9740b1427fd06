import Foundation

/// Why a record could not become an event. The projector dead-letters it with this text.
public struct WireFormatError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// Turns a decoding failure into a one-line reason naming the field.
    public static func describing(_ error: any Error) -> WireFormatError {
        if let error = error as? WireFormatError { return error }
        if let error = error as? JSONParseError { return WireFormatError(error.description) }
        if let error = error as? DecodingError {
            func path(_ context: DecodingError.Context) -> String {
                let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                return text.isEmpty ? "value" : "'\(text)'"
            }
            switch error {
            case .keyNotFound(let key, let context):
                let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
                return WireFormatError("missing field '\(key.stringValue)'\(parent)")
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return WireFormatError("\(path(context)): \(context.debugDescription)")
            @unknown default:
                return WireFormatError("\(error)")
            }
        }
        return WireFormatError("\(error)")
    }
}
