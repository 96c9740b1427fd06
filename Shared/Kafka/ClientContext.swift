import CRdKafka
import Logging
import Synchronization

/// State a librdkafka client hands to its C callbacks through the single `opaque` slot.
final class ClientContext: Sendable {
    let logger: Logger
    let name: String
    /// A group member's rebalance: (assigned, partitions); the partitions are revoked when not assigned.
    let rebalance: (@Sendable (Bool, [TopicPartition]) -> Void)?

    init(name: String, logger: Logger, rebalance: (@Sendable (Bool, [TopicPartition]) -> Void)? = nil) {
        self.name = name
        self.logger = logger
        self.rebalance = rebalance
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientContext? {
        opaque.map { Unmanaged<ClientContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// Installs the error and log callbacks that route librdkafka's messages into swift-log, and the
/// context they need. The caller must release the returned pointer after destroying the client.
func installCallbacks(on conf: OpaquePointer, context: ClientContext) -> UnsafeMutableRawPointer {
    let opaque = Unmanaged.passRetained(context).toOpaque()
    rd_kafka_conf_set_opaque(conf, opaque)
    rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
        guard let context = ClientContext.from(opaque) else { return }
        let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(err)))
        // Transport errors are routine while a broker restarts; librdkafka reconnects by itself.
        context.logger.warning("kafka client error", metadata: ["client": "\(context.name)", "error": "\(text)"])
    }
    rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
        guard let rk, let context = ClientContext.from(rd_kafka_opaque(rk)) else { return }
        let text = message.map { String(cString: $0) } ?? ""
        let fac = facility.map { String(cString: $0) } ?? ""
        let metadata: Logger.Metadata = ["client": "\(context.name)", "facility": "\(fac)"]
        switch level {
        case 0...3: context.logger.error("\(text)", metadata: metadata)
        case 4: context.logger.warning("\(text)", metadata: metadata)
        case 5, 6: context.logger.info("\(text)", metadata: metadata)
        default: context.logger.debug("\(text)", metadata: metadata)
        }
    }
    return opaque
}

/// Creates a librdkafka client from properties with our callbacks installed; `configure` may add
/// more to the configuration first (the producer's delivery callback). The caller owns both results:
/// destroy the handle, then release the context.
func makeClient(
    type: rd_kafka_type_t, properties: [String: String], name: String, logger: Logger,
    configure: (OpaquePointer) -> Void = { _ in }, rebalance: (@Sendable (Bool, [TopicPartition]) -> Void)? = nil
) throws -> (handle: OpaquePointer, context: UnsafeMutableRawPointer) {
    let conf = try makeNativeConfiguration(properties)
    let context = installCallbacks(on: conf, context: ClientContext(name: name, logger: logger, rebalance: rebalance))
    configure(conf)
    do {
        return (try makeClient(type: type, conf: conf), context)
    } catch {
        releaseContext(context)
        throw error
    }
}

func releaseContext(_ opaque: UnsafeMutableRawPointer) {
    Unmanaged<ClientContext>.fromOpaque(opaque).release()
}

func errorString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A librdkafka handle crossing into a thread closure; librdkafka clients are thread-safe.
struct SendableHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A flag a worker thread polls to know when to stop.
final class RunFlag: Sendable {
    private let value = Atomic<Bool>(true)
    var isRunning: Bool { value.load(ordering: .acquiring) }
    func stop() { value.store(false, ordering: .releasing) }
}
