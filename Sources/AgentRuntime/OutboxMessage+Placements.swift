import AgentCore

extension OutboxMessage {
    /// An event once more for each distinct node, through the placements exchange with the node
    /// id as routing key (what a node agent's queue is bound with): the scheduler's placements,
    /// and a node agent's stage advances and gang ends, reach exactly the nodes of the job.
    public static func placementCopies(of event: EventEnvelope, nodes: [String], topology: Topology) throws -> [OutboxMessage] {
        let body = String(decoding: try event.encoded(), as: UTF8.self)
        var seen: Set<String> = []
        return nodes.filter { seen.insert($0).inserted }.map { node in
            OutboxMessage(
                exchange: topology.placementsExchange, routingKey: node, messageID: event.id.uuidString.lowercased(),
                properties: .init(type: event.type, correlationID: event.correlationID?.uuidString.lowercased()), body: body)
        }
    }
}
