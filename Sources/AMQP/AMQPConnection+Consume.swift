import CRabbitMQ
import Foundation

extension AMQPConnection {
    /// How many unacknowledged messages the broker may push to this channel's consumers.
    public func setPrefetch(_ count: UInt16) throws {
        try ensureChannel()
        amqp_basic_qos(state, channel, 0, count, 0)
        try checkReply("basic.qos")
    }

    /// Starts consuming with manual acknowledgement; returns the consumer tag.
    @discardableResult
    public func consume(queue: String, consumerTag: String = "", exclusive: Bool = false, arguments: AMQPTable = [:])
        throws -> String
    {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        let ok = amqp_basic_consume(
            state, channel, allocations.bytes(queue), allocations.bytes(consumerTag), 0, 0, exclusive ? 1 : 0,
            allocations.table(arguments))
        try checkReply("basic.consume \(queue)")
        return ok?.pointee.consumer_tag.string ?? consumerTag
    }

    /// Stops a consumer; deliveries already sent to it must still be settled.
    public func cancel(consumerTag: String) throws {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        amqp_basic_cancel(state, channel, allocations.bytes(consumerTag))
        try checkReply("basic.cancel")
    }

    /// The next delivery, or nil if none arrived within `timeout` (zero polls what is buffered).
    public func nextDelivery(timeout: Duration) throws -> AMQPDelivery? {
        guard isOpen else { throw AMQPError(.connectionClosed, "connection to \(url.redacted) is closed") }
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var tv = timeout.timeval
        let reply = amqp_consume_message(state, &envelope, &tv, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            defer { amqp_destroy_envelope(&envelope) }
            return AMQPDelivery(
                deliveryTag: envelope.delivery_tag, redelivered: envelope.redelivered != 0,
                exchange: envelope.exchange.string, routingKey: envelope.routing_key.string,
                consumerTag: envelope.consumer_tag.string,
                properties: AMQPProperties(envelope.message.properties), body: envelope.message.body.data)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            try handleNonDeliveryFrame()
            return nil
        default:
            try check(reply, "consuming")
            return nil
        }
    }

    /// A frame other than basic.deliver arrived while consuming: a close from the broker or a
    /// consumer cancellation (queue deleted) are errors; anything else is ignored.
    private func handleNonDeliveryFrame() throws {
        var frame = amqp_frame_t()
        let status = amqp_simple_wait_frame(state, &frame)
        guard status == AMQP_STATUS_OK.rawValue else {
            markBroken()
            throw AMQPError.status(status, "reading a frame while consuming")
        }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        switch frame.payload.method.id {
        case AMQP_CHANNEL_CLOSE_METHOD, AMQP_CONNECTION_CLOSE_METHOD:
            throw serverClose(method: frame.payload.method, context: "consuming")
        case AMQP_BASIC_CANCEL_METHOD:
            throw AMQPError(.channelClosed, code: 0, "consumer cancelled by broker (queue deleted or failed over)")
        default:
            return
        }
    }

    public func ack(_ deliveryTag: UInt64, multiple: Bool = false) throws {
        try ensureChannel()
        let status = amqp_basic_ack(state, channel, deliveryTag, multiple ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            markBroken()
            throw AMQPError.status(status, "basic.ack")
        }
    }

    /// Negative acknowledgement; `requeue: false` sends the message to the queue's dead-letter exchange.
    public func nack(_ deliveryTag: UInt64, multiple: Bool = false, requeue: Bool) throws {
        try ensureChannel()
        let status = amqp_basic_nack(state, channel, deliveryTag, multiple ? 1 : 0, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            markBroken()
            throw AMQPError.status(status, "basic.nack")
        }
    }

    public func reject(_ deliveryTag: UInt64, requeue: Bool) throws {
        try ensureChannel()
        let status = amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            markBroken()
            throw AMQPError.status(status, "basic.reject")
        }
    }
}
