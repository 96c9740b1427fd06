import EventStore
import Foundation
import Hummingbird
import Prometheus

/// `GET /health/live`, `GET /health/ready`, `GET /metrics`.
struct HealthController {
    let status: ProjectorStatus
    let registry: PrometheusCollectorRegistry?
    let serviceName: String

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
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry?.emit(into: &buffer)
            buffer += Array(projectorMetrics().utf8)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
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
            "# HELP crm_consumer_lag Records not yet applied, per partition.",
            "# TYPE crm_consumer_lag gauge",
        ]
        for (tp, lag) in status.lag.sorted(by: { $0.key < $1.key }) {
            lines.append("crm_consumer_lag{\(service),topic=\"\(tp.topic)\",partition=\"\(tp.partition)\"} \(lag)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
