import CLibCrypto
import Foundation

/// Standard Webhooks signing: `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with
/// the bytes the `whsec_` secret encodes.
public enum WebhookSignature {
    static let secretPrefix = "whsec_"

    /// A new secret: 32 random bytes.
    static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return secretPrefix + Data(bytes).base64EncodedString()
    }

    /// The HMAC key of a secret, or nil when it is not `whsec_` + base64.
    public static func key(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix(secretPrefix), let data = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))) else {
            return nil
        }
        return Array(data)
    }

    public static func sign(id: String, timestamp: Int64, body: [UInt8], key: [UInt8]) -> String {
        let content = Array("\(id).\(timestamp).".utf8) + body
        return "v1," + Data(hmacSHA256(key: key, content)).base64EncodedString()
    }

    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                _ = HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count, &digest, &length)
            }
        }
        return Array(digest.prefix(Int(length)))
    }

    static func sha256(_ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        message.withUnsafeBufferPointer { message in
            _ = EVP_Digest(message.baseAddress, message.count, &digest, &length, EVP_sha256(), nil)
        }
        return Array(digest.prefix(Int(length)))
    }
}
