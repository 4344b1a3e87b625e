import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import Logging
import Testing

@Suite("Prometheus /metrics and /healthz on a worker")
struct MetricsEndpointTests {
    @Test("A worker started with AGENTMGR_METRICS_PORT serves its counters, latency histogram and gauges")
    func workerServesMetrics() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        _ = try env.demoQueue()
        let port = Int.random(in: 20_000...29_999)
        let worker = try WorkerProcess(
            executable: "demo-worker", environment: env.processEnvironment(["AGENTMGR_METRICS_PORT": "\(port)"]))
        try EventRecorder.record(demoTasks(30), topology: env.topology, pool: env.pool)
        _ = try OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "relay")).drain()
        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") == 30 })

        var metrics = ""
        #expect(eventually(timeout: .seconds(15)) {
            metrics = (try? httpGet(port: port, path: "/metrics")) ?? ""
            return metrics.contains("agentmgr_messages_applied_total{worker=\"demo-worker\"} 30")
                && metrics.contains("agentmgr_queue_depth{worker=\"demo-worker\"} 0")
        }, "metrics:\n\(metrics)")
        #expect(metrics.contains("# TYPE agentmgr_handler_seconds histogram"))
        #expect(metrics.contains("agentmgr_handler_seconds_count{worker=\"demo-worker\"} 30"))
        // The 30 tasks were recorded together: one message (an event batch) on the broker, one ack.
        #expect(metrics.contains("agentmgr_messages_consumed_total{worker=\"demo-worker\"} 1"))
        #expect(metrics.contains("agentmgr_messages_acked_total{worker=\"demo-worker\"} 1"))
        #expect(metrics.contains("agentmgr_outbox_backlog{worker=\"demo-worker\"}"))
        #expect(try httpGet(port: port, path: "/healthz").hasPrefix("HTTP/1.1 200"))
        #expect(try httpGet(port: port, path: "/other").hasPrefix("HTTP/1.1 404"))
        #expect(worker.terminate() == 0)
    }

    /// One plain HTTP/1.1 request over loopback; returns the whole response.
    func httpGet(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8_192)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }
}
