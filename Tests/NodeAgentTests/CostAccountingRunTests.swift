import AMQP
import Admission
import AgentCore
import AgentTestSupport
import CostAccountant
import Foundation
import Postgres
import SchedulerWorker
import Testing

/// The cost accountant metering real runs of the example agent on node agents: the ledger against
/// what the node agents measured, through a SIGKILL and redeliveries; and a tenant that spends its
/// budget while its job runs.
@Suite("Cost accountant: metering real runs, budgets enforced")
struct CostAccountingRunTests {
    /// The accountant's queue exists before anything is published (events sent to no queue are lost).
    static func declareQueue(_ env: RuntimeTestEnvironment) throws -> String {
        let queue = CostHandler.inputQueue(env.topology)
        env.track(queue: queue.name)
        env.track(queue: env.topology.deadLetterQueueName(queue.name))
        let connection = try AMQPConnection(url: env.amqpURL)
        defer { connection.close() }
        try env.topology.declare(queue, on: connection)
        return queue.name
    }

    static func accountant(_ env: RuntimeTestEnvironment) throws -> WorkerProcess {
        try WorkerProcess(executable: "cost-accountant", environment: env.processEnvironment(["AGENTMGR_BUDGET_CHECK_SECONDS": "1"]))
    }

    /// Every replica's runtime as its node agent recorded it, and what the accountant metered.
    struct Metered {
        var runID: UUID
        var runtime: Double
        var seconds: Double
        var cost: Decimal
        var ratePerHour: Decimal
        var ledgerCost: Decimal
    }

    static func metered(_ env: RuntimeTestEnvironment) throws -> [Metered] {
        try env.pool.withConnection {
            try $0.query(
                """
                SELECT r.run_id, extract(epoch FROM r.finished_at - r.started_at)::float8, c.seconds::float8, c.cost, c.rate_per_hour,
                       (SELECT sum(l.cost) FROM cost_ledger l WHERE l.run_id = r.run_id)
                FROM runs r JOIN cost_runs c ON c.run_id = r.run_id WHERE r.started_at IS NOT NULL ORDER BY r.run_id
                """
            ).map {
                Metered(
                    runID: try $0.decode(0), runtime: try $0.decode(1), seconds: try $0.decode(2), cost: try $0.decode(3), ratePerHour: try $0.decode(4),
                    ledgerCost: try $0.decode(5))
            }
        }
    }

    @Test("Each run's ledger equals its measured runtime × rate within a second, through a SIGKILL of the accountant and redeliveries")
    func ledgerMatchesRuntime() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try GridworldJobs.register(world, cpu: 4)
        let queue = try Self.declareQueue(env)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 2, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let usage = ["AGENTMGR_USAGE_SECONDS": "0.5"]
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes, agentEnvironment: [nodes[0]: usage, nodes[1]: usage])
        defer { pipeline.stop() }
        let first = try Self.accountant(env)
        defer { _ = first.terminate() }

        // A normal job, a batch job (discounted) and a gang of two replicas.
        try GridworldJobs.submit(world, key: "meter-normal")
        try GridworldJobs.submit(world, key: "meter-batch", fields: ["priority_class": "batch"], priority: .batch)
        try GridworldJobs.submit(world, key: "meter-gang", fields: ["replicas": 2])
        // Mid-run, once it has metered something: SIGKILL, then two replicas take over.
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM cost_runs WHERE seconds > 0") >= 2 })
        first.kill()
        Thread.sleep(forTimeInterval: 1)
        let replicas = [try Self.accountant(env), try Self.accountant(env)]
        defer { for replica in replicas { _ = replica.terminate() } }

        #expect(try eventually(timeout: .seconds(120)) {
            try env.count("SELECT count(*) FROM runs WHERE state NOT IN ('starting', 'running')") == 4
                && env.count("SELECT count(*) FROM cost_runs WHERE ended_at IS NOT NULL") == 4
                && env.count("SELECT count(*) FROM cost_jobs WHERE ended_at IS NOT NULL") == 3
        })
        let before = try Self.metered(env)
        #expect(before.count == 4)

        // Redeliveries: every event the accountant takes, twice more with its own id and once more
        // as a new event. Each is applied again (reports skip the inbox); the ledger's values,
        // recomputed from the reports, do not move.
        let events = try env.pool.withConnection { db in
            try db.query(
                """
                SELECT id, type, occurred_at, producer, tenant, subjects::text, correlation_id, payload::text FROM events
                WHERE type = ANY($1::text[]) ORDER BY seq
                """, [CostHandler.inputQueue(env.topology).bindings]
            ).map { row -> EventEnvelope in
                let subjects = try JSONValue.parse(Data(try row.decode(5, as: String.self).utf8))
                var names: [String: String] = [:]
                if case .object(let object) = subjects { for (key, value) in object { if case .string(let text) = value { names[key] = text } } }
                return EventEnvelope(
                    id: try row.decode(0), type: try row.decode(1), occurredAt: try row.decode(2), producer: try row.decode(3),
                    tenant: try row.decodeIfPresent(4, as: String.self), subjects: names, correlationID: try row.decodeIfPresent(6, as: UUID.self),
                    payload: try JSONValue.parse(Data(try row.decode(7, as: String.self).utf8)))
            }
        }
        #expect(events.filter { $0.type == "node.usage" }.count >= 2)
        var copies: [AMQPOutgoingMessage] = []
        var freshIDs: [String] = []
        for event in events {
            for _ in 0..<2 {
                copies.append(
                    AMQPOutgoingMessage(
                        exchange: "", routingKey: queue, properties: AMQPProperties(messageID: event.id.uuidString.lowercased(), type: event.type),
                        body: try event.encoded()))
            }
            var fresh = event
            fresh.id = UUID()
            freshIDs.append(fresh.id.uuidString.lowercased())
            copies.append(
                AMQPOutgoingMessage(
                    exchange: "", routingKey: queue, properties: AMQPProperties(messageID: freshIDs.last!, type: event.type), body: try fresh.encoded()))
        }
        let publisher = try AMQPConnection(url: env.amqpURL)
        try publisher.enableConfirms()
        try publisher.publish(copies.shuffled())
        publisher.close()
        // Reports are not kept in the inbox (the ledger is their deduplication record): a last,
        // malformed message marks the end; once it is dead-lettered and nothing waits in the
        // queue, everything has been received, and the last batches commit soon after.
        let deadLetters = env.topology.deadLetterQueueName(queue)
        let marker = try AMQPConnection(url: env.amqpURL)
        try marker.enableConfirms()
        try marker.publish(
            AMQPOutgoingMessage(
                exchange: "", routingKey: queue, properties: AMQPProperties(messageID: "end-marker", type: "job.started"),
                body: Data("not json".utf8)))
        #expect(try eventually(timeout: .seconds(60)) {
            try marker.messageCount(queue: deadLetters) == 1 && marker.messageCount(queue: queue) == 0
        })
        marker.close()
        Thread.sleep(forTimeInterval: 2)  // the other replica's last batch
        #expect(freshIDs.count == events.count)
        let after = try Self.metered(env)
        #expect(after.map(\.cost) == before.map(\.cost))
        #expect(after.map(\.seconds) == before.map(\.seconds))

        let cpuPrice = Decimal(string: "0.04")!
        for run in after {
            // Measured by the node agent vs metered: within one second of runtime, at the run's rate.
            #expect(abs(run.seconds - run.runtime) <= 1.0, "run \(run.runID): metered \(run.seconds) s, ran \(run.runtime) s")
            let expected = Decimal(run.runtime) * run.ratePerHour / 3600
            #expect(abs(run.cost - expected) <= run.ratePerHour / 3600, "run \(run.runID): cost \(run.cost), runtime × rate \(expected)")
            #expect(run.ledgerCost == run.cost)
            #expect(run.ratePerHour == 4 * cpuPrice || run.ratePerHour == 4 * cpuPrice * Decimal(string: "0.7")!)
        }
        #expect(after.filter { $0.ratePerHour < 4 * cpuPrice }.count == 1)  // the batch job's one replica

        // The tenant's spend rows add up to the ledger, and every reservation was released.
        let ledgerTotal = after.reduce(Decimal(0)) { $0 + $1.cost }
        let spend = try env.pool.withConnection {
            try $0.query("SELECT metered, released FROM cost_spend WHERE tenant = 'acme' AND period = 'total'")[0]
        }
        #expect(try spend.decode(0, as: Decimal.self) == ledgerTotal)
        let projected = try env.pool.withConnection {
            try $0.query("SELECT sum(projected_cost) FROM jobs WHERE tenant = 'acme'")[0].decode(0, as: Decimal.self)
        }
        #expect(try spend.decode(1, as: Decimal.self) == projected)
        // agentctl cost report: per job, the same money.
        let report = try env.pool.withConnection { try CostQueries.report(tenant: "acme", by: .job, since: Date().addingTimeInterval(-86_400), in: $0) }
        #expect(report.count == 3)
        #expect(report.reduce(Decimal(0)) { $0 + $1.cost } == ledgerTotal)
        #expect(report.first { $0.runs == 2 }?.agent == "gridworld")
    }

    @Test("A tenant that spends its budget: warning, then exceeded; its job stops after a checkpoint and waits; new jobs are refused; raised, it resumes")
    func hardLimit() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        // cpu-local costs $3.60 per core-hour: 8 cores spend a cent every 1.25 s.
        try world.registry.setQuota(tenant: "acme", flavor: "cpu-local", nominal: 64)
        try world.registry.registerVersion(
            tenant: "acme", agent: "gridworld", version: "1.0", image: nil,
            command: "python3 \(GridworldJobs.train) --steps 40000 --checkpoint-every 2000 --report-every 500 --report-delay 0.25",
            framework: .custom, defaults: ResourceOverrides(flavor: "cpu-local", gpus: 0, cpu: 8, memoryGiB: 8), checkpoints: true)
        _ = try Self.declareQueue(env)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "local", flavor: "cpu-local", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes, agentEnvironment: [nodes[0]: ["AGENTMGR_USAGE_SECONDS": "0.5"]])
        defer { pipeline.stop() }
        let accountant = try Self.accountant(env)
        defer { _ = accountant.terminate() }

        try GridworldJobs.submit(world, key: "spender", fields: ["checkpoint_interval": "1m"])
        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM cost_spend WHERE tenant = 'acme' AND period = 'total' AND metered >= 0.005") == 1
        })
        // Finance cuts the budget to a few cents while the job runs.
        try world.registry.setBudget(tenant: "acme", monthly: Decimal(string: "0.06")!, total: 100_000, warnAtPercent: 50)
        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'budget.exceeded' AND tenant = 'acme'") == 1
        })
        let jobID = try env.pool.withConnection { try $0.query("SELECT id FROM jobs WHERE idempotency_key = 'spender'")[0].decode(0, as: UUID.self) }
        let job = jobID.uuidString.lowercased()
        #expect(try eventually(timeout: .seconds(30)) {
            try env.count("SELECT count(*) FROM runs WHERE job_id = $1 AND state = 'stopped' AND stop_reason = 'budget_exceeded'", [jobID]) == 1
        })
        let types = try env.pool.withConnection {
            try $0.query(
                "SELECT type, coalesce(payload->>'outcome', payload->>'reason', payload->>'policy', '') FROM events WHERE tenant = 'acme' AND type LIKE 'budget.%' OR subjects->>'job' = $1 ORDER BY seq",
                [job]
            ).map { "\(try $0.decode(0, as: String.self)):\(try $0.decode(1, as: String.self))" }
        }
        let warning = try #require(types.firstIndex { $0.hasPrefix("budget.warning") })
        let exceeded = try #require(types.firstIndex(of: "budget.exceeded:stop"))
        #expect(warning < exceeded)
        // Stopped after a checkpoint it wrote once asked, and requeued (not failed).
        let finished = try #require(types.firstIndex(of: "job.finished:budget_exceeded"))
        #expect(types[exceeded..<finished].contains("job.checkpointed:"))
        #expect(try eventually {
            try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND state = 'pending' AND reason_code = 'budget'", [jobID]) == 1
        })

        // New work is refused while the budget is spent.
        try GridworldJobs.submit(world, key: "one-more")
        #expect(try eventually {
            try env.count(
                "SELECT count(*) FROM admission_requests WHERE idempotency_key = 'one-more' AND decision = 'rejected' AND reasons::text LIKE '%budget_exhausted%'")
                == 1
        })

        // Budget raised: restored, and the job resumes from its checkpoint to the end.
        try world.registry.setBudget(tenant: "acme", monthly: 20_000, total: 100_000)
        #expect(try eventually(timeout: .seconds(90)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1 AND payload->>'outcome' = 'succeeded'", [job])
                == 1
        })
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'budget.restored' AND tenant = 'acme'") == 1)
        #expect(try env.count(
            "SELECT count(*) FROM events WHERE type = 'job.requeued' AND subjects->>'job' = $1 AND payload->>'reason' = 'budget_exceeded'", [job]) == 1)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.failed' AND subjects->>'job' = $1", [job]) == 0)
        let resumed = try env.pool.withConnection {
            try $0.query("SELECT resumed_from FROM runs WHERE job_id = $1 AND attempt = 1", [jobID])[0].decodeIfPresent(0, as: String.self)
        }
        #expect(resumed != nil)
    }

    @Test("A run over midnight and a month's end is charged to both days and months, exactly; a malformed report is dead-lettered and changes nothing")
    func acrossMonthsAndMalformed() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try GridworldJobs.register(world, cpu: 4)
        let queue = try Self.declareQueue(env)
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        try GridworldJobs.submit(world, key: "midnight", fields: ["priority_class": "batch"], priority: .batch)
        #expect(try eventually { try env.count("SELECT count(*) FROM jobs WHERE idempotency_key = 'midnight'") == 1 })
        let jobID = try env.pool.withConnection { try $0.query("SELECT id FROM jobs WHERE idempotency_key = 'midnight'")[0].decode(0, as: UUID.self) }
        let accountant = try Self.accountant(env)
        defer { _ = accountant.terminate() }

        let job = JSONValue.string(jobID.uuidString.lowercased())
        let run = UUID()
        let start = try #require(ISO8601.date(from: "2026-11-30T23:59:30Z"))
        let end = start.addingTimeInterval(75)
        let events = [
            EventEnvelope(
                type: "node.usage", occurredAt: start.addingTimeInterval(10), producer: "tests",
                payload: ["node": "n1", "runs": "not a list"]),
            EventEnvelope(
                type: "job.started", occurredAt: start, producer: "tests", tenant: "acme",
                payload: ["job_id": job, "run_id": .string(run.uuidString.lowercased()), "node": "n1", "rank": 0, "started_at": .string(ISO8601.string(from: start))]),
            EventEnvelope(
                type: "node.usage", occurredAt: start.addingTimeInterval(60), producer: "tests",
                payload: ["node": "n1", "runs": [["job_id": job, "run_id": .string(run.uuidString.lowercased()), "started_at": .string(ISO8601.string(from: start))]]]),
            EventEnvelope(
                type: "job.finished", occurredAt: end, producer: "tests", tenant: "acme",
                payload: ["job_id": job, "run_id": .string(run.uuidString.lowercased()), "rank": 0, "outcome": "succeeded"]),
        ]
        let publisher = try AMQPConnection(url: env.amqpURL)
        try publisher.enableConfirms()
        try publisher.publish(
            try events.map {
                AMQPOutgoingMessage(
                    exchange: "", routingKey: queue, properties: AMQPProperties(messageID: $0.id.uuidString.lowercased(), type: $0.type),
                    body: try $0.encoded())
            })
        #expect(try eventually { try env.count("SELECT count(*) FROM cost_jobs WHERE job_id = $1 AND ended_at IS NOT NULL", [jobID]) == 1 })
        #expect(try eventually { try publisher.messageCount(queue: env.topology.deadLetterQueueName(queue)) == 1 })
        publisher.close()

        // 4 cores of cpu at $0.04, batch (30% off): $0.112 an hour. 30 s in November, 45 s in December.
        let ledger = try env.pool.withConnection {
            try $0.query("SELECT day::text, seconds, cost FROM cost_ledger WHERE run_id = $1 ORDER BY day", [run]).map {
                "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Decimal.self)) s $\(try $0.decode(2, as: Decimal.self))"
            }
        }
        #expect(ledger == ["2026-11-30 30 s $0.00093333", "2026-12-01 45 s $0.0014"])
        let spend = try env.pool.withConnection {
            try $0.query("SELECT period, metered FROM cost_spend WHERE tenant = 'acme' ORDER BY period").map {
                "\(try $0.decode(0, as: String.self)) $\(try $0.decode(1, as: Decimal.self))"
            }
        }
        #expect(spend.contains("2026-11 $0.00093333"))
        #expect(spend.contains("2026-12 $0.0014"))
        #expect(spend.contains("total $0.00233333"))
        // The job ended: its whole reservation is released.
        #expect(try env.count("SELECT count(*) FROM cost_jobs WHERE job_id = $1 AND released = projected", [jobID]) == 1)
    }
}
