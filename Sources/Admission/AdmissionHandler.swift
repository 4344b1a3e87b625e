import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres
import Synchronization

/// The admission worker: decides each job request (admit with a job row and `job.admitted`, or
/// reject with every reason and `job.rejected`) and answers on `reply_to`. The same idempotency
/// key always gets the first decision.
public final class AdmissionHandler: MessageHandler {
    public static let workerName = "admission"

    /// The flavor and pool tables change rarely: read them at most once a few seconds.
    private let catalogCache = Mutex<(catalog: Catalog, readAt: ContinuousClock.Instant)?>(nil)
    private let catalogTTL: Duration

    public init(catalogTTL: Duration = .seconds(5)) {
        self.catalogTTL = catalogTTL
    }

    /// The requests queues: one quorum queue per priority class (`….requests.critical` …
    /// `….requests.batch`), consumed highest lane first. A request published with the bare
    /// `job.submit` key lands in the normal lane.
    public static func inputQueue(_ topology: Topology) -> InputQueue {
        InputQueue(
            name: topology.queueName("admission.requests"), bindings: [AdmissionRequest.routingKey], source: .requests, type: .quorum,
            lanes: PriorityClass.allCases.sorted(by: >).map(\.rawValue), defaultLane: PriorityClass.normal.rawValue)
    }

    public func decode(_ delivery: AMQPDelivery) throws -> AdmissionRequest {
        try AdmissionRequest.decode(delivery)
    }

    /// Requests submitted together arrive as one batch message (docs/amqp-contract.md, "Batch
    /// submission"): each is decided, deduplicated, answered and dead-lettered on its own.
    public var splitsBatches: Bool { true }

    /// A resubmission with the same key but a new correlation id must be answered again, so the
    /// inbox key includes the correlation id; a broker redelivery repeats both and is skipped.
    /// Keys belong to the tenant named in the request.
    public func messageID(of message: AdmissionRequest, delivery: AMQPDelivery) -> String? {
        message.inboxKey
    }

    /// A request nobody waits to hear about (no `reply_to`) needs no inbox row: its decision,
    /// recorded once per tenant and key under the key's lock, is its deduplication record, and a
    /// copy finds it and does nothing. With a `reply_to` the inbox keeps a redelivered copy from
    /// answering twice.
    public func needsInbox(_ request: AdmissionRequest) -> Bool {
        !(request.replyTo ?? "").isEmpty
    }

    /// Decisions lock their tenant's row (budget and quota) and their key; one order avoids deadlocks.
    public func lockKey(of message: AdmissionRequest) -> String? {
        // Tenant first (its row lock), then the key (its advisory lock): one order on every replica.
        "\(message.spec.tenant)\u{1}\(message.idempotencyKey)"
    }

    public func handle(_ request: AdmissionRequest, context: HandlerContext) throws {
        try handleBatch([request], context: context)
    }

    /// Decides a batch in three round trips whatever its size: lock the keys and read earlier
    /// decisions; lock and read the tenants, read agent versions and dependencies; decide each
    /// request in order in memory (later requests see what earlier ones reserved); write the
    /// decisions. (The runtime's outbox write and COMMIT follow.)
    public func handleBatch(_ requests: [AdmissionRequest], context: HandlerContext) throws {
        let db = context.db
        let now = Date()
        let keys = requests.map { AdmissionStore.TenantKey(tenant: $0.spec.tenant, key: $0.idempotencyKey) }
        var decided = try AdmissionStore.lockAndReadDecisions(keys, in: db)
        let undecided = requests.indices.filter { decided[keys[$0]] == nil }.map { requests[$0] }
        // The rest of what the decisions read, in one more round trip (versions of an unknown
        // tenant's agents are read too, and found to be none).
        let read = try AdmissionStore.context(
            tenants: Set(undecided.map { $0.spec.tenant }),
            agents: Set(undecided.map { AdmissionStore.TenantKey(tenant: $0.spec.tenant, key: $0.spec.agent) }),
            defaultsOf: Set(undecided.filter { $0.spec.agentVersion.isEmpty }.map { AdmissionStore.TenantKey(tenant: $0.spec.tenant, key: $0.spec.agent) }),
            dependencies: Set(undecided.flatMap { $0.spec.dependsOn }), now: now, in: db)
        var tenants = read.tenants
        let (versions, defaults) = (read.versions, read.defaults)
        var dependencies = read.dependencies
        let catalog = try catalog(db)

        var decisions = AdmissionStore.Decisions()
        for (index, request) in requests.enumerated() {
            do {
                if let earlier = decided[keys[index]] {
                    try reply(earlier, to: request, context: context)
                    continue
                }
                let spec = request.spec
                let tenant = tenants[spec.tenant]
                let admissionContext = AdmissionContext(
                    tenant: tenant?.record, agentVersions: versions[AdmissionStore.TenantKey(tenant: spec.tenant, key: spec.agent)] ?? [],
                    catalog: catalog, cohortNominal: tenant?.cohortNominal ?? [:], reservedThisMonth: tenant?.reservedThisMonth ?? 0,
                    reservedTotal: tenant?.reservedTotal ?? 0, dependencies: dependencies,
                    defaultVersion: defaults[AdmissionStore.TenantKey(tenant: spec.tenant, key: spec.agent)])
                let decision = AdmissionPolicy.decide(spec: spec, problems: request.problems, context: admissionContext, jobID: .timeOrdered())
                let answer = try announce(decision, for: request, now: now, context: context)
                var repeated = answer
                repeated.duplicate = true
                decided[keys[index]] = repeated  // the same key again in this batch gets this decision
                switch decision {
                case .admitted(let job):
                    decisions.admitted.append((job, request.idempotencyKey, request.submittedAt))
                    tenants[spec.tenant]?.reservedThisMonth += job.projectedCost
                    tenants[spec.tenant]?.reservedTotal += job.projectedCost
                    dependencies[job.id] = spec.tenant
                case .rejected(let reasons):
                    decisions.rejected.append((keys[index], spec.priorityClass, reasons))
                }
            } catch {
                throw MessageFailure(index: index, error: error)
            }
        }
        try AdmissionStore.record(decisions, now: now, in: db)
    }

    /// Emits the decision's event and answers the sender; returns the answer.
    private func announce(_ decision: AdmissionDecision, for request: AdmissionRequest, now: Date, context: HandlerContext) throws
        -> AdmissionReply
    {
        let correlation = request.correlationID.flatMap(UUID.init(uuidString:))
        let answer: AdmissionReply
        switch decision {
        case .admitted(let job):
            let event = EventEnvelope(
                type: "job.admitted", producer: Self.workerName, tenant: job.spec.tenant,
                subjects: ["job": job.id.lowercaseText, "agent": "\(job.spec.agent)@\(job.spec.agentVersion)"],
                correlationID: correlation ?? job.id, payload: try JobAdmittedPayload(job, request: request).jsonValue())
            try context.emit(event, priority: job.spec.priorityClass.messagePriority)
            answer = AdmissionReply(
                idempotencyKey: request.idempotencyKey, decision: .admitted, jobID: job.id.lowercaseText,
                tenant: job.spec.tenant, priorityClass: job.spec.priorityClass.rawValue, projectedCost: job.projectedCostText,
                decidedAt: now)
        case .rejected(let reasons):
            try emitRejected(key: request.idempotencyKey, tenant: request.spec.tenant, reasons: reasons, correlation: correlation, context: context)
            answer = AdmissionReply(
                idempotencyKey: request.idempotencyKey, decision: .rejected, tenant: request.spec.tenant,
                priorityClass: request.spec.priorityClass.rawValue, reasons: reasons, decidedAt: now)
        }
        try reply(answer, to: request, context: context)
        return answer
    }

    /// Malformed requests are dead-lettered by the runtime; the sender still gets a rejection.
    public func malformed(_ delivery: AMQPDelivery, reason: String, context: HandlerContext) throws {
        var problems: [FieldProblem]
        do {
            _ = try AdmissionRequest.decode(delivery)
            problems = [FieldProblem(field: "(message)", message: reason)]
        } catch let error as MalformedRequest {
            problems = error.problems
        }
        let reasons = problems.map { Rejection(.malformedRequest, field: $0.field, "\($0.field) \($0.message)") }
        // A request of a batch is known by its own key if its body has one, else by `<batch id>#<index>`.
        let ownKey = AdmissionRequest.batchIndex(delivery) == nil ? nil : AdmissionRequest.keyInBody(delivery.body)
        let key = ownKey ?? delivery.properties.messageID ?? ""
        let correlation = AdmissionRequest.replyCorrelationID(of: delivery)
        try emitRejected(
            key: key, tenant: nil, reasons: reasons, correlation: delivery.properties.correlationID.flatMap(UUID.init(uuidString:)),
            context: context)
        guard let replyTo = delivery.properties.replyTo, AdmissionRequest.isAllowedReplyQueue(replyTo) else { return }
        let answer = AdmissionReply(idempotencyKey: key, decision: .rejected, reasons: reasons)
        try context.send(replyMessage(answer, replyTo: replyTo, correlationID: correlation, inboxKey: "malformed-" + StableID.hex("\(key.utf8.count):\(key)\(correlation ?? "")")))
    }

    private func emitRejected(key: String, tenant: String?, reasons: [Rejection], correlation: UUID?, context: HandlerContext) throws {
        try context.emit(
            EventEnvelope(
                type: "job.rejected", producer: Self.workerName, tenant: tenant, subjects: ["request": key], correlationID: correlation,
                payload: .object(["idempotency_key": .string(key), "reasons": try JSONValue(encoding: reasons)])))
    }

    private func reply(_ answer: AdmissionReply, to request: AdmissionRequest, context: HandlerContext) throws {
        guard let replyTo = request.replyTo, !replyTo.isEmpty else { return }
        try context.send(
            replyMessage(
                answer, replyTo: replyTo, correlationID: request.replyCorrelationID,
                inboxKey: request.inboxKey))
    }

    /// Through the default exchange to the sender's queue. Its message id is derived from the
    /// request (hashed: keys may be long), so a reply published twice is recognisably the same answer.
    private func replyMessage(_ answer: AdmissionReply, replyTo: String, correlationID: String?, inboxKey: String) -> OutboxMessage {
        let body = (try? JSONCoding.encoder.encode(answer)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return OutboxMessage(
            exchange: "", routingKey: replyTo, messageID: "decision-\(StableID.hex(inboxKey))",
            properties: .init(type: "job.decision", correlationID: correlationID), body: body)
    }

    private func catalog(_ db: PostgresConnection) throws -> Catalog {
        let now = ContinuousClock.now
        if let cached = catalogCache.withLock({ $0 }), now - cached.readAt < catalogTTL { return cached.catalog }
        let catalog = try Catalog.read(from: db)
        catalogCache.withLock { $0 = (catalog, now) }
        return catalog
    }
}

/// The payload of `job.admitted`: the job as it will be scheduled.
struct JobAdmittedPayload: Encodable {
    /// Built field by field: going through JSONEncoder and back was a tenth of admission's CPU.
    /// The keys are the CodingKeys below (a test compares the two).
    func jsonValue() throws -> JSONValue {
        var object: [String: JSONValue] = [
            "job_id": .string(jobID), "idempotency_key": .string(idempotencyKey), "agent": .string(agent),
            "agent_version": .string(agentVersion), "priority_class": .string(priorityClass), "replicas": .number(Double(replicas)),
            "resources": .object([
                "flavor": .string(resources.flavor), "gpus": .number(Double(resources.gpus)), "cpu": .number(Double(resources.cpu)),
                "memory_gib": .number(Double(resources.memoryGiB)),
            ]),
            "max_runtime_seconds": .number(Double(maxRuntimeSeconds)),
            "retry": .object(
                [
                    "max_attempts": .number(Double(retry.maxAttempts)), "backoff_seconds": .number(Double(retry.backoffSeconds)),
                    "retry_on": .array(retry.retryOn.map { .string($0.rawValue) }),
                ].merging(retry.stallTimeoutSeconds.map { ["stall_timeout_seconds": .number(Double($0))] } ?? [:]) { $1 }),
            "curriculum": curriculum.isEmpty ? .array([]) : try JSONValue(encoding: curriculum),
            "depends_on": .array(dependsOn.map { .string($0.uuidString) }),
            "labels": .object(labels.mapValues { .string($0) }), "same_zone": .bool(sameZone),
            "projected_cost": .string(projectedCost), "submitted_at": .string(ISO8601.string(from: submittedAt)),
        ]
        if let name { object["name"] = .string(name) }
        if let checkpointIntervalSeconds { object["checkpoint_interval_seconds"] = .number(Double(checkpointIntervalSeconds)) }
        return .object(object)
    }

    let jobID: String
    let idempotencyKey: String
    let name: String?
    let agent: String
    let agentVersion: String
    let priorityClass: String
    let replicas: Int
    let resources: Resources
    let maxRuntimeSeconds: Int
    let checkpointIntervalSeconds: Int?
    let retry: RetryPolicy
    let curriculum: [CurriculumStage]
    let dependsOn: [UUID]
    let labels: [String: String]
    let sameZone: Bool
    let projectedCost: String
    let submittedAt: Date

    init(_ job: AdmittedJob, request: AdmissionRequest) {
        jobID = job.id.lowercaseText
        idempotencyKey = request.idempotencyKey
        name = job.spec.name
        agent = job.spec.agent
        agentVersion = job.spec.agentVersion
        priorityClass = job.spec.priorityClass.rawValue
        replicas = job.spec.replicas
        resources = job.resources
        maxRuntimeSeconds = job.spec.maxRuntimeSeconds
        checkpointIntervalSeconds = job.spec.checkpointIntervalSeconds
        retry = job.spec.retry
        curriculum = job.spec.curriculum
        dependsOn = job.spec.dependsOn
        labels = job.spec.labels
        sameZone = job.spec.sameZone
        projectedCost = job.projectedCostText
        submittedAt = request.submittedAt
    }

    enum CodingKeys: String, CodingKey {
        case name, agent, replicas, resources, retry, curriculum, labels
        case jobID = "job_id"
        case idempotencyKey = "idempotency_key"
        case agentVersion = "agent_version"
        case priorityClass = "priority_class"
        case maxRuntimeSeconds = "max_runtime_seconds"
        case checkpointIntervalSeconds = "checkpoint_interval_seconds"
        case dependsOn = "depends_on"
        case sameZone = "same_zone"
        case projectedCost = "projected_cost"
        case submittedAt = "submitted_at"
    }
}
