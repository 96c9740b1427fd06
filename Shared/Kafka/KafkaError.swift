import CRdKafka

/// A librdkafka error with its numeric code (`rd_kafka_resp_err_t`) and a readable message.
public struct KafkaError: Error, Sendable, CustomStringConvertible, Equatable {
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(_ err: rd_kafka_resp_err_t, context: String) {
        self.code = err.rawValue
        self.message = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    public var description: String { message }

}

/// Builds a librdkafka configuration object from properties, failing on the first one it rejects.
func makeNativeConfiguration(_ properties: [String: String]) throws -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else {
        throw KafkaError(code: -1, message: "rd_kafka_conf_new failed")
    }
    var errorBuffer = [CChar](repeating: 0, count: 512)
    for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
        let result = rd_kafka_conf_set(conf, name, value, &errorBuffer, errorBuffer.count)
        if result != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(code: -1, message: "Kafka property '\(name)' rejected: \(reason)")
        }
    }
    return conf
}

func makeClient(type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
    var errorBuffer = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
        // rd_kafka_new only takes ownership of conf on success.
        rd_kafka_conf_destroy(conf)
        let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw KafkaError(code: -1, message: "cannot create Kafka client: \(reason)")
    }
    return handle
}
