import AMQP
import AgentCore
import ArgumentParser
import Foundation

struct DeadLetters: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Show what a worker dead-lettered, with each reason (the messages stay in the queue).")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The worker whose dead-letter queue to read (e.g. demo-worker).")
    var worker: String

    @Option(help: "Most messages to show.")
    var limit: Int = 20

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000") }
    }

    func run() throws {
        let config = try options.load()
        try failing {
            let topology = Topology(prefix: config.topologyPrefix)
            let queue = topology.deadLetterQueueName(topology.queueName(worker))
            let letters = try DeadLetterReader(url: try AMQPURL(parsing: config.amqpURL)).peek(queue: queue, limit: limit)
            if options.output == .json {
                for letter in letters {
                    let data = try JSONSerialization.data(withJSONObject: letter.json, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                }
                return
            }
            guard !letters.isEmpty else {
                print("no dead letters in \(queue)")
                return
            }
            var table = TextTable("MESSAGE ID", "ATTEMPTS", "DEAD-LETTERED AT", "REASON")
            for letter in letters {
                table.add(letter.messageID, letter.attempts, letter.time, letter.reason)
            }
            print(table.render())
        }
    }
}

/// Reads dead letters without removing them: consume, then close without acknowledging, which
/// hands every message back to the queue.
struct DeadLetterReader {
    let url: AMQPURL

    struct Letter {
        let messageID: String
        let reason: String
        let attempts: String
        let time: String
        let body: String

        var json: [String: Any] {
            ["message_id": messageID, "reason": reason, "attempts": attempts, "dead_lettered_at": time, "body": body]
        }
    }

    func peek(queue: String, limit: Int) throws -> [Letter] {
        let connection = try AMQPConnection(url: url)
        defer { connection.close() }
        let available = try connection.messageCount(queue: queue)
        guard available > 0 else { return [] }
        try connection.setPrefetch(UInt16(clamping: limit))
        try connection.consume(queue: queue)
        var letters: [Letter] = []
        while letters.count < min(limit, available), let delivery = try connection.nextDelivery(timeout: .seconds(2)) {
            let headers = delivery.properties.headers
            letters.append(
                Letter(
                    messageID: delivery.properties.messageID ?? "-",
                    reason: headers["x-agentmgr-reason"]?.description ?? "(rejected by the broker: no reason header)",
                    attempts: headers["x-agentmgr-attempts"]?.description ?? "-",
                    time: headers["x-agentmgr-dead-lettered-at"]?.description ?? "-",
                    body: String(decoding: delivery.body.prefix(500), as: UTF8.self)))
        }
        return letters
    }
}
