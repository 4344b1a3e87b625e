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
    let background: [BackgroundTask]
    let logger: Logger

    public init(name: String, loops: [ConsumerLoop<Handler>], relay: OutboxRelay, background: [BackgroundTask] = [], logger: Logger) {
        self.name = name
        self.loops = loops
        self.relay = relay
        self.background = background
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
                        for task in background {
                            consumers.addTask {
                                await runOnDedicatedThread(named: "\(name)-\(task.name)") { task.run(consumersStop) }
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

/// A blocking loop a worker runs beside its consumers (the scheduler's decision loop, say). It
/// must return soon after its `StopSignal` is requested; the relay then publishes what it committed.
public struct BackgroundTask: Sendable {
    public let name: String
    public let run: @Sendable (StopSignal) -> Void

    public init(name: String, run: @escaping @Sendable (StopSignal) -> Void) {
        self.name = name
        self.run = run
    }
}
