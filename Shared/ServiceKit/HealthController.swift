import EventStore
import Foundation
import Hummingbird
import Prometheus

/// `GET /health/live`, `GET /health/ready`, `GET /health/status`, `GET /metrics`.
struct HealthController {
    let status: ProjectorStatus
    let registry: PrometheusCollectorRegistry?
    let serviceName: String
    let storePath: String
    let started = Date()

    func addRoutes(to router: Router<CRMRequestContext>) {
        router.get("/health/live") { _, _ in
            try jsonResponse(["status": "live"])
        }
        router.get("/health/ready") { _, _ in
            if status.isReady { return try jsonResponse(["status": "ready"]) }
            if let failure = status.failure { throw Problem.unavailable("not ready: \(failure)") }
            let behind = status.lag.values.reduce(0, +)
            throw Problem.unavailable("not ready: catching up with the topics (\(behind) records behind)")
        }
        router.get("/health/status") { _, _ in
            try jsonResponse(operatorStatus())
        }
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry?.emit(into: &buffer)
            buffer += Array(projectorMetrics().utf8)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// What an operator checks of one process (`crmctl status` shows it for every service).
    struct OperatorStatus: Encodable {
        var service: String
        var ready: Bool
        /// `ready`, `catching-up` (replaying, or a bulk load) or `failed`.
        var state: String
        var failure: String?
        var startedAt: Date
        var appliedRecords: Int64
        var deadLetters: Int64
        /// Records not yet applied, per topic (the sum over its partitions).
        var lag: [String: Int64]
        /// `active`, or `paused` while the consumer, idle, only peeks for new records.
        var fetching: String
        var storePath: String
        /// The SQLite file and its write-ahead log.
        var storeBytes: Int64
        var residentMemoryBytes: Int64?
    }

    func operatorStatus() -> OperatorStatus {
        var lagByTopic: [String: Int64] = [:]
        for (partition, lag) in status.lag { lagByTopic[partition.topic, default: 0] += lag }
        let ready = status.isReady
        let failure = status.failure
        let files = [storePath, storePath + "-wal"]
        let storeBytes = files.reduce(Int64(0)) { sum, path in
            sum + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0)
        }
        return OperatorStatus(
            service: serviceName, ready: ready, state: ready ? "ready" : failure == nil ? "catching-up" : "failed", failure: failure,
            startedAt: started, appliedRecords: status.appliedCount, deadLetters: status.deadLetterCount, lag: lagByTopic,
            fetching: status.isFetchPaused ? "paused" : "active",
            storePath: storePath, storeBytes: storeBytes, residentMemoryBytes: Self.residentMemoryBytes())
    }

    /// Resident set size from `/proc/self/statm` (Linux); nil elsewhere.
    static func residentMemoryBytes() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return nil }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Projector figures, read from its status at scrape time (exact, no double counting).
    func projectorMetrics() -> String {
        let service = "service=\"\(serviceName)\""
        var lines = [
            "# HELP crm_records_applied_total Events applied to the store by this process.",
            "# TYPE crm_records_applied_total counter",
            "crm_records_applied_total{\(service)} \(status.appliedCount)",
            "# HELP crm_dead_letters_total Records sent to crm.deadletter.v1 by this process.",
            "# TYPE crm_dead_letters_total counter",
            "crm_dead_letters_total{\(service)} \(status.deadLetterCount)",
            "# HELP crm_ready 1 when caught up with the topics and healthy.",
            "# TYPE crm_ready gauge",
            "crm_ready{\(service)} \(status.isReady ? 1 : 0)",
            "# HELP crm_consumer_fetch_paused 1 while the consumer, idle, has stopped fetching and only peeks for new records.",
            "# TYPE crm_consumer_fetch_paused gauge",
            "crm_consumer_fetch_paused{\(service)} \(status.isFetchPaused ? 1 : 0)",
            "# HELP crm_consumer_lag Records not yet applied, per partition.",
            "# TYPE crm_consumer_lag gauge",
        ]
        for (tp, lag) in status.lag.sorted(by: { $0.key < $1.key }) {
            lines.append("crm_consumer_lag{\(service),topic=\"\(tp.topic)\",partition=\"\(tp.partition)\"} \(lag)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
