import AgentCore
import Postgres

extension OutboxMessage {
    /// An event once more for each distinct node, through the placements exchange with the node
    /// id as routing key (what a node agent's queue is bound with): the scheduler's placements,
    /// and a node agent's stage advances and gang ends, reach exactly the nodes of the job.
    /// `body`: the event already encoded, when the caller has it (a round encodes each placement once).
    public static func placementCopies(
        of event: EventEnvelope, nodes: [String], topology: Topology, body: String? = nil
    ) throws -> [OutboxMessage] {
        let body = body ?? event.encodedParts().body
        var seen: Set<String> = []
        return nodes.filter { seen.insert($0).inserted }.map { node in
            var copy = OutboxMessage(
                exchange: topology.placementsExchange, routingKey: node, messageID: event.id.lowercaseText,
                properties: .init(type: event.type, correlationID: event.correlationID?.lowercaseText), body: body)
            copy.packable = true  // copies for one node next to each other travel as one batch
            return copy
        }
    }

    /// `copies` with each node's next to each other, in their order otherwise (stable): the copies
    /// of a round's placements then reach each node as one batch message, not one per job.
    public static func groupedByNode(_ copies: [OutboxMessage]) -> [OutboxMessage] {
        copies.indices.sorted { (copies[$0].routingKey, $0) < (copies[$1].routingKey, $1) }.map { copies[$0] }
    }
}
