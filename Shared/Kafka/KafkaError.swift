import CRdKafka

/// A librdkafka error with its code and a readable message.
public struct KafkaError: Error, Sendable, CustomStringConvertible, Equatable {
    public let code: KafkaErrorCode
    public let message: String

    public init(code: KafkaErrorCode = .unknown, message: String) {
        self.code = code
        self.message = message
    }

    init(_ err: rd_kafka_resp_err_t, context: String) {
        self.code = KafkaErrorCode(err)
        self.message = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    public var description: String { message }
}

/// A librdkafka error code (`rd_kafka_resp_err_t`: negative for errors of the client itself,
/// positive for the broker's), named where this project acts on it.
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    init(_ err: rd_kafka_resp_err_t) { rawValue = err.rawValue }

    /// No more specific code applies (also used for this project's own failures around a client).
    public static let unknown = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN)
    /// The consumer's offset is outside the log and `auto.offset.reset` is `error`.
    public static let autoOffsetReset = KafkaErrorCode(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
    /// The broker has no record at the offset fetched (the log start moved past it).
    public static let offsetOutOfRange = KafkaErrorCode(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
    public static let timedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__TIMED_OUT)
    public static let badMessage = KafkaErrorCode(RD_KAFKA_RESP_ERR__BAD_MSG)
    public static let unknownTopicOrPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)

    public var description: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue))) }
}

/// Builds a librdkafka configuration object from properties, failing on the first one it rejects.
func makeNativeConfiguration(_ properties: [String: String]) throws -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else {
        throw KafkaError(message: "rd_kafka_conf_new failed")
    }
    var errorBuffer = [CChar](repeating: 0, count: 512)
    for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
        let result = rd_kafka_conf_set(conf, name, value, &errorBuffer, errorBuffer.count)
        if result != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(message: "Kafka property '\(name)' rejected: \(reason)")
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
        throw KafkaError(message: "cannot create Kafka client: \(reason)")
    }
    return handle
}
