import AMQP
import AgentCore
import Foundation
import Postgres

/// Frees the capacity that earlier bench runs hold: the simulated cluster has no node agent yet,
/// so nothing ever finishes a bench job. For every job of the bench tenants that is still pending
/// or scheduled (and not of this run), publishes the `job.finished` event the node agent will
/// send, and waits until the scheduler has released them all. Not part of any measurement.
enum ReleasePrevious {
    static func run(
        tenants: String, keepLike: String, url: AMQPURL, topology: Topology, database: PostgresConnection,
        timeout: Double, log: (String) -> Void
    ) throws {
        let query = """
            SELECT s.job_id::text, j.tenant FROM sched_jobs s JOIN jobs j ON j.id = s.job_id
            WHERE j.tenant = ANY(string_to_array($1, ',')) AND s.state IN ('pending', 'scheduled') AND j.idempotency_key NOT LIKE $2
            """
        let rows = try database.query(query, [tenants, keepLike])
        guard !rows.isEmpty else { return }
        log("releasing \(rows.count) jobs of earlier bench runs (job.finished, as the node agent will send)")
        let connection = try AMQPConnection(url: url)
        defer { connection.close() }
        try connection.enableConfirms()
        var messages: [AMQPOutgoingMessage] = []
        for row in rows {
            guard let jobID = try row.text(0), let tenant = try row.text(1) else { continue }
            let event = EventEnvelope(
                type: "job.finished", producer: "e2e-bench", tenant: tenant, subjects: ["job": jobID],
                payload: .object(["job_id": .string(jobID), "outcome": .string("succeeded")]))
            messages.append(
                AMQPOutgoingMessage(
                    exchange: topology.eventsExchange, routingKey: "job.finished",
                    properties: AMQPProperties(
                        contentType: "application/json", messageID: event.id.uuidString.lowercased(), type: "job.finished", appID: "e2e-bench"),
                    body: try event.encoded()))
        }
        for start in stride(from: 0, to: messages.count, by: 500) {
            try connection.publish(Array(messages[start..<min(start + 500, messages.count)]))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let left = try database.query(
                """
                SELECT count(*) FROM sched_jobs s JOIN jobs j ON j.id = s.job_id
                WHERE j.tenant = ANY(string_to_array($1, ',')) AND s.state IN ('pending', 'scheduled') AND j.idempotency_key NOT LIKE $2
                """, [tenants, keepLike])
            let count = Int(try left[0].text(0) ?? "0") ?? 0
            log("releasing: \(count) left")
            if count == 0 { return }
            Thread.sleep(forTimeInterval: 1)
        }
        log("some earlier bench jobs were not released in time; measuring anyway")
    }
}
