import AgentCore
import Foundation
import Postgres

/// Writes emitted events and messages in the handler's transaction, and hands committed ones to
/// the relay. Each write is one statement per batch, not per message.
enum OutboxStore {
    /// Channel the relay LISTENs on; NOTIFY is delivered only when the transaction commits.
    static let notifyChannel = "agentmgr_outbox"

    static func write(events: [EventEnvelope], messages: [OutboxMessage], in db: PostgresConnection) throws {
        if !events.isEmpty {
            // Empty strings stand for NULL inside the arrays (NULLIF below).
            try db.query(
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
                    events.map(\.id), events.map(\.type), events.map(\.schemaVersion), events.map(\.occurredAt),
                    events.map(\.producer), events.map { $0.tenant ?? "" },
                    events.map { String(decoding: JSONValue.object($0.subjects.mapValues { .string($0) }).serialized(), as: UTF8.self) },
                    events.map { $0.correlationID?.uuidString ?? "" }, events.map { $0.causationID?.uuidString ?? "" },
                    events.map { String(decoding: $0.payload.serialized(), as: UTF8.self) },
                ])
        }
        if !messages.isEmpty {
            try db.query(
                """
                INSERT INTO outbox (exchange, routing_key, message_id, properties, body)
                SELECT exchange, routing_key, message_id, properties::jsonb, body
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                     AS m(exchange, routing_key, message_id, properties, body)
                """,
                [
                    messages.map(\.exchange), messages.map(\.routingKey), messages.map(\.messageID),
                    try messages.map { try jsonText($0.properties) }, messages.map(\.body),
                ])
            try db.query("SELECT pg_notify($1, '')", [notifyChannel])
        }
    }

    /// Locks up to `limit` unsent messages, oldest first, skipping rows another relay holds.
    static func claim(limit: Int, in db: PostgresConnection) throws -> [(seq: Int64, message: OutboxMessage)] {
        let rows = try db.query(
            """
            SELECT seq, exchange, routing_key, message_id, properties::text, body
            FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
            """, [limit])
        return try rows.map { row in
            let properties = try JSONCoding.decoder.decode(
                OutboxMessage.Properties.self, from: Data(try row.decode(4, as: String.self).utf8))
            return (
                try row.decode(0, as: Int64.self),
                OutboxMessage(
                    exchange: try row.decode(1), routingKey: try row.decode(2), messageID: try row.decode(3),
                    properties: properties, body: try row.decode(5))
            )
        }
    }

    /// Moves a row that can never be published out of the way, keeping it for inspection.
    static func quarantine(_ seq: Int64, reason: String, in db: PostgresConnection) throws {
        try db.query(
            """
            WITH moved AS (DELETE FROM outbox WHERE seq = $1 RETURNING *)
            INSERT INTO outbox_failed (seq, exchange, routing_key, message_id, properties, body, created_at, reason)
            SELECT seq, exchange, routing_key, message_id, properties, body, created_at, $2 FROM moved
            """, [seq, reason])
    }

    static func delete(_ seqs: [Int64], in db: PostgresConnection) throws {
        try db.query("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", [seqs])
    }

    private static func jsonText(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }
}
