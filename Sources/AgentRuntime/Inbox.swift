import Postgres

/// The consumer's record of what it has applied, and of how often a message failed.
enum Inbox {
    /// Inserts inbox rows for `ids` in one statement; returns those that were new. An id whose row
    /// exists (or is being inserted by another replica's open transaction, which we wait for) was
    /// already applied and must be skipped.
    static func claim(_ ids: [String], consumer: String, in db: PostgresConnection) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try db.query(
            """
            INSERT INTO inbox (consumer, message_id)
            SELECT $1, id FROM unnest($2::text[]) AS t(id)
            ON CONFLICT DO NOTHING
            RETURNING message_id
            """, [consumer, ids])
        return Set(try rows.map { try $0.decode(0, as: String.self) })
    }

    /// Of `ids`, those whose handler already failed `maxAttempts` times (they were dead-lettered),
    /// with the count and the last error.
    static func exhausted(
        _ ids: [String], consumer: String, maxAttempts: Int, in db: PostgresConnection
    ) throws -> [String: (attempts: Int, error: String)] {
        var found: [String: (attempts: Int, error: String)] = [:]
        for row in try db.query(
            """
            SELECT message_id, attempts, last_error FROM inbox_failures
            WHERE consumer = $1 AND message_id = ANY($2::text[]) AND attempts >= $3
            """, [consumer, ids, maxAttempts])
        {
            found[try row.decode(0, as: String.self)] = (try row.decode(1, as: Int.self), try row.decode(2, as: String.self))
        }
        return found
    }

    /// Counts one more failed attempt; returns the total so far.
    static func recordFailure(_ id: String, consumer: String, error: String, in db: PostgresConnection) throws -> Int {
        let rows = try db.query(
            """
            INSERT INTO inbox_failures (consumer, message_id, attempts, last_error) VALUES ($1, $2, 1, $3)
            ON CONFLICT (consumer, message_id) DO UPDATE
                SET attempts = inbox_failures.attempts + 1, last_error = EXCLUDED.last_error, updated_at = now()
            RETURNING attempts
            """, [consumer, id, String(error.prefix(2_000))])
        return try rows[0].decode(0, as: Int.self)
    }
}
