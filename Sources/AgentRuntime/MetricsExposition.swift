import Foundation

extension ConsumerMetrics {
    /// The Prometheus text exposition of this worker's metrics.
    public func prometheusText(worker: String) -> String {
        let labels = "worker=\"\(worker)\""
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ value: Int) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            lines.append("\(name){\(labels)} \(value)")
        }
        metric("agentmgr_messages_consumed_total", "counter", "Messages taken from the input queue (an event batch is one).", consumed.current)
        metric("agentmgr_messages_acked_total", "counter", "Messages acknowledged after their effects committed.", acked.current)
        metric("agentmgr_messages_nacked_total", "counter", "Messages returned to the queue after a handler failure.", nacked.current)
        metric("agentmgr_messages_dead_lettered_total", "counter", "Messages sent to the dead-letter queue.", deadLettered.current)
        metric("agentmgr_messages_duplicate_total", "counter", "Redeliveries skipped by the inbox.", duplicates.current)
        metric("agentmgr_messages_applied_total", "counter", "Events and requests whose handler ran and committed (decisions; each event of a batch counts).", applied.current)
        metric("agentmgr_outbox_published_total", "counter", "Outbox messages published with confirms.", published.current)
        metric("agentmgr_reconnects_total", "counter", "Broker or database reconnections.", reconnects.current)
        metric("agentmgr_queue_depth", "gauge", "Messages ready in the input queues (queue lag), as last sampled.", queueDepth.current)
        metric("agentmgr_outbox_backlog", "gauge", "Outbox rows waiting to be published, as last sampled.", outboxBacklog.current)
        lines.append("# HELP agentmgr_handler_seconds Time of the transaction that applied each message.")
        lines.append("# TYPE agentmgr_handler_seconds histogram")
        lines += handlerLatency.exposition(name: "agentmgr_handler_seconds", labels: labels)
        return lines.joined(separator: "\n") + "\n" + extraText
    }
}
