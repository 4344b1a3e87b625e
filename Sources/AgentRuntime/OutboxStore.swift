import AgentCore
import Foundation
import Postgres

/// Writes emitted events and messages in the handler's transaction, and hands committed ones to
/// the relay. Each write is one statement per batch, not per message.
enum OutboxStore {
    /// Channel the relay LISTENs on; NOTIFY is delivered only when the transaction commits.
    static let notifyChannel = "agentmgr_outbox"

    /// Writes the events to the log and the messages (events packed into batches) to the outbox,
    /// after `along` (statements of the caller's own, in the same round trip): one pipeline.
    /// `relay`: the worker whose relay should publish the rows (the NOTIFY's payload: only that
    /// worker's relays wake for them); empty for any relay (producers without one, like agentctl).
    /// Each event comes with its encoding: the log's payload and subjects columns take its texts.
    static func write(
        events: [(event: EventEnvelope, encoded: EncodedEvent)], messages: [OutboxMessage], along: [PostgresStatement] = [],
        relay: String = "", in db: PostgresConnection
    ) throws {
        try db.pipeline(along + statements(events: events, messages: messages, relay: relay))
    }

    static func statements(
        events: [(event: EventEnvelope, encoded: EncodedEvent)], messages: [OutboxMessage], relay: String = ""
    ) throws -> [PostgresStatement] {
        let messages = OutboxMessage.packingEvents(messages)
        var statements: [PostgresStatement] = []
        if !events.isEmpty {
            // Empty strings stand for NULL inside the arrays (NULLIF below). Closures rather than
            // key paths throughout the hot stores: key-path projection was 3-4% of a worker's CPU.
            statements.append(
                PostgresStatement(
                    """
                    INSERT INTO events (id, type, schema_version, occurred_at, producer, tenant, subjects,
                                        correlation_id, causation_id, payload)
                    SELECT id, type, version, occurred_at, producer, NULLIF(tenant, ''), subjects::jsonb,
                           NULLIF(correlation_id, '')::uuid, NULLIF(causation_id, '')::uuid, payload::jsonb
                    FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::text[],
                                $7::text[], $8::text[], $9::text[], $10::text[])
                         AS e(id, type, version, occurred_at, producer, tenant, subjects, correlation_id, causation_id, payload)
                    """,
                    [
                        events.map { $0.event.id }, events.map { $0.event.type }, events.map { $0.event.schemaVersion },
                        events.map { $0.event.occurredAt }, events.map { $0.event.producer }, events.map { $0.event.tenant ?? "" },
                        events.map { $0.encoded.subjects },
                        events.map { $0.event.correlationID?.lowercaseText ?? "" }, events.map { $0.event.causationID?.lowercaseText ?? "" },
                        events.map { $0.encoded.payload },
                    ]))
        }
        if !messages.isEmpty {
            statements.append(
                PostgresStatement(
                    """
                    INSERT INTO outbox (exchange, routing_key, message_id, properties, body)
                    SELECT exchange, routing_key, message_id, properties::jsonb, body
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                         AS m(exchange, routing_key, message_id, properties, body)
                    """,
                    [
                        messages.map { $0.exchange }, messages.map { $0.routingKey }, messages.map { $0.messageID },
                        try messages.map { try jsonText($0.properties) }, messages.map { $0.body },
                    ]))
            statements.append(PostgresStatement("SELECT pg_notify($1, $2)", [notifyChannel, relay]))
        }
        return statements
    }

    /// Takes up to `limit` unsent messages, oldest first, skipping rows another relay holds: one
    /// statement deletes and returns them. The caller publishes them before committing; a rollback
    /// (failed publish, crash) puts them back. (`= ANY(ARRAY(subquery))` makes the subquery run
    /// once and the delete go by primary key; `IN (subquery)` was planned as a join, 30× slower.)
    ///
    /// The transaction commits without waiting for its WAL to reach disk (`synchronous_commit =
    /// off` for it alone): should the database crash before the WAL writer flushes it, the rows
    /// come back and are published again, which at-least-once delivery already allows (consumers
    /// deduplicate). The state changes that wrote the rows committed durably; only their removal
    /// is lazy. It spares the relay a disk flush per batch, one commit in two under load.
    static func take(limit: Int, in db: PostgresConnection) throws -> [(seq: Int64, message: OutboxMessage, createdAt: Date)] {
        let rows = try db.pipeline([
            PostgresStatement("SET LOCAL synchronous_commit = off"),
            PostgresStatement(
                """
                DELETE FROM outbox WHERE seq = ANY(ARRAY(SELECT seq FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED))
                RETURNING seq, exchange, routing_key, message_id, properties::text, body, created_at
                """, [limit]),
        ])[1]
        return try rows.map { row in
            let properties = try JSONCoding.decoder.decode(
                OutboxMessage.Properties.self, from: Data(try row.decode(4, as: String.self).utf8))
            return (
                try row.decode(0, as: Int64.self),
                OutboxMessage(
                    exchange: try row.decode(1), routingKey: try row.decode(2), messageID: try row.decode(3),
                    properties: properties, body: try row.decode(5)),
                try row.decode(6, as: Date.self)
            )
        }.sorted { $0.seq < $1.seq }  // RETURNING has no order; publish in commit order
    }

    /// Keeps a taken message that can never be published, for inspection, instead of retrying it forever.
    static func quarantine(
        _ row: (seq: Int64, message: OutboxMessage, createdAt: Date), reason: String, in db: PostgresConnection
    ) throws {
        try db.query(
            """
            INSERT INTO outbox_failed (seq, exchange, routing_key, message_id, properties, body, created_at, reason)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
            """,
            [
                row.seq, row.message.exchange, row.message.routingKey, row.message.messageID,
                try jsonText(row.message.properties), row.message.body, row.createdAt, reason,
            ])
    }


    private static func jsonText(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }
}
