import AMQP
import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import Logging
import Postgres
import Testing

@Suite("Least privilege: a worker's database role reaches only its slice")
struct LeastPrivilegeTests {
    @Test("demo-worker runs as a member of agentmgr_demo_worker; that role cannot touch other slices or the schema")
    func demoWorkerRole() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        _ = try env.demoQueue()
        let role = "test_worker_\(UUID().uuidString.prefix(8).lowercased())"
        let password = UUID().uuidString
        try env.pool.withConnection { db in
            // DDL takes no parameters: let the server quote the generated name and password.
            let statement = try db.query(
                "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE agentmgr_demo_worker', $1::text, $2::text)", [role, password]
            )[0].decode(0, as: String.self)
            try db.execute(script: statement)
        }
        defer {
            try? env.pool.withConnection { db in
                let drop = try db.query("SELECT format('DROP ROLE IF EXISTS %I', $1::text)", [role])[0].decode(0, as: String.self)
                try db.execute(script: drop)
            }
        }
        var components = URLComponents(string: env.databaseURL)!
        components.user = role
        components.password = password
        let roleURL = components.string!

        let restricted = try PostgresConnection(url: roleURL)
        defer { restricted.close() }
        for statement in ["INSERT INTO tenants (name) VALUES ('evil')", "UPDATE nodes SET state = 'lost'", "CREATE TABLE sneaky (i int)",
                          "DELETE FROM events", "SELECT * FROM admission_requests"] {
            let error = #expect(throws: PostgresError.self, "\(statement)") { try restricted.query(statement) }
            #expect(error?.sqlState == "42501", "\(statement): \(error.map { "\($0)" } ?? "no error")")
        }

        // The worker itself runs fine with that role: migrations are up to date, so it needs no DDL.
        try EventRecorder.record(demoTasks(50), topology: env.topology, pool: env.pool)
        let worker = try WorkerProcess(
            executable: "demo-worker", environment: env.processEnvironment(["AGENTMGR_DATABASE_URL": roleURL]))
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "relay"))
        _ = try relay.drain()
        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") == 50 }, "worker log:\n\(worker.log.suffix(1_500))")
        #expect(try eventually { try env.count("SELECT count(*) FROM events WHERE type = 'demo.applied'") == 50 })
        #expect(try eventually { try env.count("SELECT count(*) FROM outbox") == 0 }, "its relay could publish")
        #expect(worker.terminate() == 0)
        #expect(!worker.log.contains("permission denied"))
    }
}
