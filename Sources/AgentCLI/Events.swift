import AgentCore
import ArgumentParser
import Foundation
import Postgres

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the event log of record (newest last).")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Only events of this type (e.g. demo.applied).")
    var type: String?

    @Option(help: "Only events of this correlation id (one request and all its consequences).")
    var correlation: String?

    @Option(help: "How many of the most recent events to show.")
    var limit: Int = 20

    func validate() throws {
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 100000") }
        if let correlation, UUID(uuidString: correlation) == nil {
            throw ValidationError("--correlation must be a UUID, got \(correlation)")
        }
    }

    func run() throws {
        let config = try options.load()
        try failing {
            let pool = PostgresPool(url: config.databaseURL, maxConnections: 1, applicationName: "agentctl")
            defer { pool.close() }
            let rows = try pool.withConnection { db in
                try db.query(
                    """
                    SELECT * FROM (
                        SELECT seq, id::text, type, occurred_at, producer, coalesce(tenant, ''),
                               coalesce(correlation_id::text, ''), payload::text
                        FROM events
                        WHERE ($1::text IS NULL OR type = $1) AND ($2::uuid IS NULL OR correlation_id = $2::uuid)
                        ORDER BY seq DESC LIMIT $3
                    ) recent ORDER BY seq
                    """, [type, correlation, limit])
            }
            switch options.output {
            case .json:
                for row in rows {
                    let object: [String: Any] = [
                        "seq": try row.decode(0, as: Int.self), "id": try row.decode(1, as: String.self),
                        "type": try row.decode(2, as: String.self),
                        "occurred_at": ISO8601.string(from: try row.decode(3, as: Date.self)),
                        "producer": try row.decode(4, as: String.self), "tenant": try row.decode(5, as: String.self),
                        "correlation_id": try row.decode(6, as: String.self),
                        "payload": (try? JSONSerialization.jsonObject(with: Data(try row.decode(7, as: String.self).utf8))) ?? NSNull(),
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                }
            case .table:
                var table = TextTable("SEQ", "TIME", "TYPE", "PRODUCER", "TENANT", "PAYLOAD")
                for row in rows {
                    let payload = try row.decode(7, as: String.self)
                    table.add(
                        String(try row.decode(0, as: Int.self)), ISO8601.string(from: try row.decode(3, as: Date.self)),
                        try row.decode(2, as: String.self), try row.decode(4, as: String.self),
                        try row.decode(5, as: String.self), payload.count > 80 ? String(payload.prefix(77)) + "..." : payload)
                }
                print(rows.isEmpty ? "no events" : table.render())
            }
        }
    }
}
