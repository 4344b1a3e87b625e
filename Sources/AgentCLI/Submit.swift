import AMQP
import Admission
import AgentCore
import ArgumentParser
import Foundation

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit job specs (YAML or JSON) through the requests queue and print each decision.",
        discussion: """
            Each spec is published to the requests exchange (docs/amqp-contract.md) with its \
            idempotency_key as message_id (a new one is made if the spec has none); specs of one \
            priority class go up to --batch per message. Exit status: 0 \
            when every job was admitted, 3 when any was rejected, 1 on errors or when a decision did \
            not arrive in time (is the admission worker running?).
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "Job spec files.")
    var files: [String]

    @Option(help: "Seconds to wait for the decisions.")
    var timeout: Int = 30

    @Option(help: "Most requests sent in one message (same priority class; 1 sends each alone; at most AGENTMGR_EVENT_BATCH_MAX).")
    var batch: Int = 100

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one job spec file") }
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second") }
        guard (1...1_000).contains(batch) else { throw ValidationError("--batch must be 1...1000, got \(batch)") }
    }

    func run() throws {
        let config = try options.load()
        let results = try failing { () throws -> [(file: String, request: SubmissionClient.Request, reply: AdmissionReply?)] in
            var requests: [(file: String, request: SubmissionClient.Request)] = []
            for file in files {
                for body in try SpecFile.bodies(at: file) { requests.append((file, SubmissionClient.Request(json: body))) }
            }
            let client = try SubmissionClient(url: try AMQPURL(parsing: config.amqpURL), topology: Topology(prefix: config.topologyPrefix))
            let correlations = try client.publish(requests.map(\.request), batch: batch)
            let decisions = try client.awaitDecisions(for: Set(correlations), timeout: .seconds(timeout))
            return zip(requests, correlations).map { ($0.file, $0.request, decisions[$1]) }
        }
        switch options.output {
        case .json:
            for result in results {
                var object: [String: Any] = ["file": result.file, "idempotency_key": result.request.idempotencyKey]
                if let reply = result.reply, let data = try? JSONCoding.encoder.encode(reply) {
                    object["decision"] = try JSONSerialization.jsonObject(with: data)
                } else {
                    object["decision"] = NSNull()
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
        case .table:
            var table = TextTable("FILE", "DECISION", "JOB / KEY", "DETAILS")
            for result in results {
                let file = (result.file as NSString).lastPathComponent
                guard let reply = result.reply else {
                    table.add(file, "no answer", result.request.idempotencyKey, "no decision within \(timeout) s: is the admission worker running?")
                    continue
                }
                let again = reply.duplicate ? " (repeat of an earlier decision)" : ""
                if reply.decision == .admitted {
                    table.add(file, "admitted", reply.jobID ?? "-", "\(reply.priorityClass ?? "") · projected cost $\(reply.projectedCost ?? "?")\(again)")
                } else {
                    for (index, reason) in reply.reasons.enumerated() {
                        table.add(index == 0 ? file : "", index == 0 ? "rejected" : "", index == 0 ? reply.idempotencyKey : "", "\(reason.code.rawValue): \(reason.message)\(index == 0 ? again : "")")
                    }
                }
            }
            print(table.render())
        }
        if results.contains(where: { $0.reply == nil }) { throw ExitCode.failure }
        if results.contains(where: { $0.reply?.decision == .rejected }) { throw ExitCode(3) }
    }
}
