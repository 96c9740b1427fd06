import Foundation
import GRDB
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import WireFormat
import WireSchema

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// How a delivery reaches a receiver: an HTTP POST (`URLSession` in production, a recorder in tests).
public protocol WebhookTransport: Sendable {
    /// Posts `body` with `headers`; the receiver's status and its `retry-after` seconds, if any.
    /// Throws when no answer came (refused, timed out).
    func post(url: URL, headers: [String: String], body: [UInt8], timeout: TimeInterval) async throws -> (status: Int, retryAfter: Int?)
}

/// The production transport. Redirects are not followed (a receiver answers where it was registered).
public final class URLSessionWebhookTransport: NSObject, WebhookTransport, URLSessionTaskDelegate, @unchecked Sendable {
    private lazy var session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 8
        configuration.httpShouldSetCookies = false
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }()
    private let lock = NSLock()

    public override init() {}

    public func post(url: URL, headers: [String: String], body: [UInt8], timeout: TimeInterval) async throws -> (
        status: Int, retryAfter: Int?
    ) {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "POST"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body)
        let session = lock.withLock { self.session }
        let (_, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return (http.statusCode, http.value(forHTTPHeaderField: "retry-after").flatMap { Int($0) })
    }

    public func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// Delivers every reminder sent to every webhook that wants it (its kinds and recipients), by the
/// Standard Webhooks convention, and records each attempt on `crm.webhooks.v1`. Each webhook has
/// a worker of its own, so a slow or dead receiver delays only its own deliveries; within a
/// worker, up to `concurrency` deliveries are under way at once. Failures are retried with
/// exponential backoff (from `webhookRetryBase`, doubling, at most an hour apart, with jitter)
/// until `webhookRetryWindow` has passed since the first attempt; `410 Gone` disables the webhook.
///
/// What a receiver already has is on the topic, so a restart or rebuild resumes where the
/// deliveries stood; an attempt cut short by a crash is repeated with the same `webhook-id`.
struct WebhookDeliverer: ServiceLifecycle.Service {
    let context: SchedulerContext
    let logger: Logger
    /// Between two looks for new webhooks (and deliveries, in each worker): at most `interval`, or
    /// sooner after the projector applies something (a registration, a reminder sent), but not
    /// before `pause`.
    var interval: Duration = .seconds(1)
    var pause: Duration = .milliseconds(200)
    static let concurrency = 8
    static let batch = 200

    func run() async throws {
        let running = RunningWorkers()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                // Counted before the look: what is applied while it runs wakes the next one at once.
                let commits = context.status.commitCount
                if context.status.isReady, let webhooks = try? await context.read({ db in try WebhookRow.active(db) }) {
                    for webhook in webhooks where running.ids.withLock({ $0.insert(webhook.id).inserted }) {
                        group.addTask { [interval, pause] in
                            await WebhookWorker(context: context, logger: logger, webhook: webhook, interval: interval, pause: pause).run()
                            _ = running.ids.withLock { $0.remove(webhook.id) }
                        }
                    }
                    await updateQueueDepth()
                }
                await context.waitForCommit(after: commits, pause: pause, timeout: interval)
            }
            group.cancelAll()
        }
    }

    private func updateQueueDepth() async {
        let realNow = Date()
        let depth = try? await context.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM webhook_delivery WHERE outcome = 'retrying' AND next_attempt_at <= ?",
                arguments: [Timestamp.format(realNow)]) ?? 0
        }
        if let depth { SchedulerMetrics.webhookQueueDepth.record(depth) }
    }
}

/// The webhooks whose workers run.
final class RunningWorkers: Sendable {
    let ids = Mutex<Set<String>>([])
}

/// A registered webhook as the deliverer needs it.
struct WebhookRow: Sendable {
    var id: String
    var url: String
    var kinds: [String]?
    var recipientIds: [String]?
    var secret: String
    var registeredAt: String

    static func active(_ db: Database) throws -> [WebhookRow] {
        try Row.fetchAll(db, sql: "SELECT id, url, kinds, recipient_ids, secret, registered_at FROM webhook WHERE state = 'active'").map {
            row in
            WebhookRow(
                id: row[0], url: row[1], kinds: try (row[2] as String?).map { try WireDecoder.decode([String].self, from: Array($0.utf8)) },
                recipientIds: try (row[3] as String?).map { try WireDecoder.decode([String].self, from: Array($0.utf8)) },
                secret: row[4], registeredAt: row[5])
        }
    }

    static func isActive(_ db: Database, _ id: String) throws -> Bool {
        try String.fetchOne(db, sql: "SELECT state FROM webhook WHERE id = ?", arguments: [id]) == "active"
    }
}

/// One webhook's deliveries.
struct WebhookWorker {
    let context: SchedulerContext
    let logger: Logger
    let webhook: WebhookRow
    let interval: Duration
    let pause: Duration

    private var settings: SchedulerSettings { context.settings }

    /// A reminder to deliver, and its delivery so far.
    struct Pending: Sendable {
        var reminderId: String
        var body: [UInt8]
        var attempts: Int
        var firstAttemptAt: Date?
    }

    func run() async {
        guard let url = URL(string: webhook.url), let key = WebhookSignature.key(webhook.secret) else {
            logger.error("webhook cannot be delivered to", metadata: ["webhook": "\(webhook.id)", "url": "\(webhook.url)"])
            return
        }
        var cursor = 0
        while !Task.isCancelled {
            do {
                let commits = context.status.commitCount
                guard try await context.read({ db in try WebhookRow.isActive(db, webhook.id) }) else { return }
                let (pending, next) = try await context.read { [cursor] db in try candidates(db, after: cursor) }
                cursor = next
                if pending.isEmpty {
                    // Until a reminder is sent (or the webhook changes), or a retry may be due.
                    let retryBase = Duration.seconds(settings.webhookRetryBase)
                    _ = await context.status.waitForCommit(after: commits, pause: min(pause, retryBase), timeout: min(interval, retryBase))
                    try Task.checkCancellation()
                    continue
                }
                let results = await withTaskGroup(of: AttemptResult.self) { group in
                    var results: [AttemptResult] = []
                    for (index, delivery) in pending.enumerated() {
                        if index >= WebhookDeliverer.concurrency, let result = await group.next() { results.append(result) }
                        if results.contains(.gone) { break }
                        group.addTask { await attempt(delivery, url: url, key: key) }
                    }
                    for await result in group { results.append(result) }
                    return results
                }
                if results.contains(.gone) { return }
                // An attempt the topic did not take is looked for again from the start (the delivery
                // table says which reminders this webhook already has).
                if results.contains(.unrecorded) {
                    cursor = 0
                    try await Task.sleep(for: .seconds(1))
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("webhook deliveries failed; retrying", metadata: ["webhook": "\(webhook.id)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Retries that are due, then reminders sent since the webhook was registered (and within the
    /// retry window) that it has not had yet, after `cursor` (`reminder_sent.seq`).
    private func candidates(_ db: Database, after cursor: Int) throws -> ([Pending], Int) {
        let realNow = Date()
        var pending = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT d.reminder_id, r.record, d.attempts, d.first_attempt_at FROM webhook_delivery d
                    JOIN reminder_sent r ON r.id = d.reminder_id
                    WHERE d.webhook_id = ? AND d.outcome = 'retrying' AND d.next_attempt_at <= ?
                    ORDER BY d.next_attempt_at LIMIT ?
                    """), arguments: [webhook.id, Timestamp.format(realNow), WebhookDeliverer.batch]
        ).map { row in
            Pending(reminderId: row[0], body: Array((row[1] as String).utf8), attempts: row[2], firstAttemptAt: Timestamp.parse(row[3]))
        }
        var filters = ""
        var arguments: StatementArguments = [
            cursor, webhook.registeredAt, Timestamp.format(realNow.addingTimeInterval(-settings.webhookRetryWindow)), webhook.id,
        ]
        if let kinds = webhook.kinds {
            filters += " AND r.kind IN (\(kinds.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(kinds)
        }
        if let recipients = webhook.recipientIds {
            filters += " AND r.recipient_id IN (\(recipients.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(recipients)
        }
        arguments += [WebhookDeliverer.batch]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT r.id, r.record, r.seq FROM reminder_sent r
                WHERE r.seq > ? AND r.published_at >= ? AND r.published_at >= ?
                    AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.webhook_id = ? AND d.reminder_id = r.id)\(filters)
                ORDER BY r.seq LIMIT ?
                """, arguments: arguments)
        pending += rows.map { Pending(reminderId: $0[0], body: Array(($0[1] as String).utf8), attempts: 0, firstAttemptAt: nil) }
        // Past the last row looked at; a full batch means more may follow at once.
        return (pending, rows.last.map { $0[2] } ?? cursor)
    }

    enum AttemptResult: Sendable, Equatable {
        case recorded
        /// 410: the webhook is disabled.
        case gone
        /// Made, but its record did not reach the topic.
        case unrecorded
    }

    /// One attempt, recorded on the topic.
    private func attempt(_ delivery: Pending, url: URL, key: [UInt8]) async -> AttemptResult {
        let attemptedAt = Date()
        let timestamp = Int64(attemptedAt.timeIntervalSince1970)
        let headers = [
            "content-type": "application/json",
            "user-agent": "crm-scheduler",
            "webhook-id": delivery.reminderId,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": WebhookSignature.sign(id: delivery.reminderId, timestamp: timestamp, body: delivery.body, key: key),
        ]
        var status: Int?
        var retryAfter: Int?
        var failure: String?
        do {
            (status, retryAfter) = try await settings.webhookTransport.post(
                url: url, headers: headers, body: delivery.body, timeout: settings.webhookTimeout)
        } catch {
            failure =
                (error as? URLError).map { "\($0.code == .timedOut ? "timed out" : "no answer") (\($0.localizedDescription))" }
                ?? "\(error)"
        }
        let finishedAt = Date()
        let number = delivery.attempts + 1
        var outcome = WebhookDeliveryAttempt.Outcome.retrying
        var nextAttemptAt: Date?
        switch status {
        case let code? where (200..<300).contains(code): outcome = .delivered
        case 410: outcome = .gone
        default:
            let backoff = min(settings.webhookRetryBase * pow(2, Double(number - 1)), 3600) * Double.random(in: 0.8...1.2)
            let next = finishedAt.addingTimeInterval(max(backoff, TimeInterval(min(retryAfter ?? 0, 3600))))
            if next.timeIntervalSince(delivery.firstAttemptAt ?? attemptedAt) > settings.webhookRetryWindow {
                outcome = .failed
            } else {
                nextAttemptAt = next
            }
        }
        let record = WebhookDeliveryAttempt(
            webhookId: webhook.id, reminderId: delivery.reminderId, attempt: number, attemptedAt: attemptedAt, status: status,
            error: failure ?? status.flatMap { (200..<300).contains($0) ? nil : "HTTP \($0)" },
            durationMs: Int(finishedAt.timeIntervalSince(attemptedAt) * 1000), outcome: outcome, nextAttemptAt: nextAttemptAt)
        if outcome == .delivered { SchedulerMetrics.webhookDeliveries.increment() } else { SchedulerMetrics.webhookFailures.increment() }
        do {
            try await context.publish(WebhookEvent.deliveryAttempted(record), by: SchedulerContext.serviceActor)
            if outcome == .gone {
                try await context.publish(
                    WebhookEvent.disabled(WebhookReference(id: webhook.id, reason: "the receiver answered 410 Gone")),
                    by: SchedulerContext.serviceActor)
                logger.warning("webhook disabled: its receiver answered 410 Gone", metadata: ["webhook": "\(webhook.id)"])
            }
        } catch {
            logger.error("a webhook delivery attempt was not recorded", metadata: ["webhook": "\(webhook.id)", "error": "\(error)"])
            return .unrecorded
        }
        return outcome == .gone ? .gone : .recorded
    }
}
