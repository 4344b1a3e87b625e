import CRabbitMQ
import Foundation

extension AMQPConnection {
    /// Puts the channel in publisher-confirm mode; `publish` then returns only once the broker
    /// confirmed every message. Kept across channel reopening.
    public func enableConfirms() throws {
        try ensureChannel()
        guard !confirmsRequested else { return }
        amqp_confirm_select(state, channel)
        try checkReply("confirm.select")
        confirmsRequested = true
    }

    /// Publishes one message; with confirms enabled, waits for the broker's confirm.
    public func publish(_ message: AMQPOutgoingMessage, confirmTimeout: Duration = .seconds(30)) throws {
        try publish([message], confirmTimeout: confirmTimeout)
    }

    /// Publishes messages in order. With confirms enabled, returns only once the broker has confirmed
    /// all of them (waiting once per window, not per message); throws if any was nacked, the
    /// connection failed, or confirms did not arrive in time. A throw means "maybe not delivered":
    /// callers publish again, and consumers deduplicate by message id.
    public func publish(
        _ messages: [AMQPOutgoingMessage], confirmTimeout: Duration = .seconds(30), window: Int = 1_000
    ) throws {
        try ensureChannel()
        for message in messages {
            if let problem = message.validationError { throw AMQPError(.usage, "cannot publish to \(message.exchange)/\(message.routingKey): \(problem)") }
        }
        var start = 0
        while start < messages.count {
            let end = min(start + window, messages.count)
            let firstTag = lastPublishedTag + 1
            // rabbitmq-c sends each message as its own TCP segment; corked, the window leaves in
            // full segments, and the broker parses many messages per read instead of one.
            var corked = end - start > 1 && setCork(true)
            defer { if corked { _ = setCork(false) } }  // a failed publish must not leave it corked
            for message in messages[start..<end] {
                try basicPublish(message)
            }
            if corked { corked = !setCork(false) }
            if confirmsRequested {
                try waitForConfirms(from: firstTag, through: lastPublishedTag, timeout: confirmTimeout)
            }
            start = end
        }
    }

    /// TCP_CORK on the connection's socket; false if it could not be set (the publish goes on
    /// uncorked). Uncorking sends what is queued at once.
    private func setCork(_ on: Bool) -> Bool {
        guard isOpen else { return false }  // a failed publish destroyed the state (markBroken)
        let socket = amqp_get_sockfd(state)
        guard socket >= 0 else { return false }
        var value: Int32 = on ? 1 : 0
        return setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    private func basicPublish(_ message: AMQPOutgoingMessage) throws {
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        var properties = message.properties.cProperties(allocations)
        let status = amqp_basic_publish(
            state, channel, allocations.bytes(message.exchange), allocations.bytes(message.routingKey),
            0, 0, &properties, allocations.bytes(message.body))
        guard status == AMQP_STATUS_OK.rawValue else {
            markBroken()
            throw AMQPError.status(status, "basic.publish to \(message.exchange)/\(message.routingKey)")
        }
        lastPublishedTag += 1
    }

    /// Reads frames until every delivery tag in `first...last` is acked or nacked.
    private func waitForConfirms(from first: UInt64, through last: UInt64, timeout: Duration) throws {
        guard first <= last else { return }
        var pending = Set(first...last)
        var nacked = 0
        let deadline = ContinuousClock.now + timeout
        while !pending.isEmpty {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                markBroken()
                throw AMQPError(.timeout, "\(pending.count) publisher confirms did not arrive within \(timeout)")
            }
            var frame = amqp_frame_t()
            var tv = remaining.timeval
            let status = amqp_simple_wait_frame_noblock(state, &frame, &tv)
            if status == AMQP_STATUS_TIMEOUT.rawValue { continue }
            guard status == AMQP_STATUS_OK.rawValue else {
                markBroken()
                throw AMQPError.status(status, "waiting for publisher confirms")
            }
            guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { continue }
            let method = frame.payload.method
            switch method.id {
            case AMQP_BASIC_ACK_METHOD:
                let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
                settle(&pending, tag: ack.delivery_tag, multiple: ack.multiple != 0)
            case AMQP_BASIC_NACK_METHOD:
                let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
                nacked += settle(&pending, tag: nack.delivery_tag, multiple: nack.multiple != 0)
            case AMQP_CHANNEL_CLOSE_METHOD, AMQP_CONNECTION_CLOSE_METHOD:
                throw serverClose(method: method, context: "waiting for publisher confirms")
            default:
                continue  // basic.return and others are not used by this client
            }
        }
        if nacked > 0 {
            throw AMQPError(.publishNacked, "broker refused \(nacked) of \(last - first + 1) messages (nack)")
        }
    }

    @discardableResult
    private func settle(_ pending: inout Set<UInt64>, tag: UInt64, multiple: Bool) -> Int {
        guard multiple else { return pending.remove(tag) == nil ? 0 : 1 }
        let settled = pending.filter { $0 <= tag }
        pending.subtract(settled)
        return settled.count
    }

    func markBroken() {
        // The connection state after a socket error is unknown: never reuse it.
        channelOpen = false
        closeAfterFailure()
    }
}

extension Duration {
    var timeval: Glibc.timeval {
        let (seconds, attoseconds) = components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

extension AMQPConnection {
    /// Lets rabbitmq-c answer and send heartbeats on a connection that is otherwise idle (it only
    /// does so inside its own calls), so the broker does not drop an idle publisher.
    public func serviceHeartbeats() {
        guard isOpen else { return }
        var frame = amqp_frame_t()
        var tv = Duration.zero.timeval
        let status = amqp_simple_wait_frame_noblock(state, &frame, &tv)
        if status != AMQP_STATUS_OK.rawValue && status != AMQP_STATUS_TIMEOUT.rawValue {
            markBroken()
        } else if status == AMQP_STATUS_OK.rawValue, frame.frame_type == UInt8(AMQP_FRAME_METHOD),
            frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD || frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD
        {
            _ = serverClose(method: frame.payload.method, context: "idle")
        }
    }
}
