import AMQP
import AgentCore
import Logging
import Postgres
import ServiceLifecycle

/// Runs a worker's consumer threads and its outbox relay as one `Service`. On graceful shutdown
/// (SIGTERM, SIGINT) the consumers stop taking messages and finish the batch in hand; then the
/// relay publishes what those batches committed, and `run` returns.
public struct WorkerService<Handler: MessageHandler>: Service {
    let name: String
    let loops: [ConsumerLoop<Handler>]
    let relay: OutboxRelay
    let logger: Logger

    public init(name: String, loops: [ConsumerLoop<Handler>], relay: OutboxRelay, logger: Logger) {
        self.name = name
        self.loops = loops
        self.relay = relay
        self.logger = logger
    }

    public func run() async throws {
        let consumersStop = StopSignal()
        let relayStop = StopSignal()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await runOnDedicatedThread(named: "\(name)-relay") { relay.run(until: relayStop) }
                    }
                    await withTaskGroup(of: Void.self) { consumers in
                        for (index, loop) in loops.enumerated() {
                            consumers.addTask {
                                await runOnDedicatedThread(named: "\(name)-consumer-\(index)") { loop.run(until: consumersStop) }
                            }
                        }
                    }
                    relayStop.request()
                }
            } onCancel: {
                consumersStop.request()
            }
        } onGracefulShutdown: {
            logger.info("shutdown requested: draining")
            consumersStop.request()
        }
    }
}
