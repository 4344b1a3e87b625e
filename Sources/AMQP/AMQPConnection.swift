import CRabbitMQ
import Foundation

/// One AMQP connection with one channel, owning the rabbitmq-c connection state.
///
/// rabbitmq-c connections are not thread-safe, so an `AMQPConnection` must be used by one thread at a
/// time: each worker loop, relay or publisher opens its own. That contract is why the class can be
/// `@unchecked Sendable` (it may be handed to the thread that will own it).
public final class AMQPConnection: @unchecked Sendable {
    public let url: AMQPURL
    let state: amqp_connection_state_t
    let channel: amqp_channel_t = 1
    var channelOpen = false
    /// False once the socket failed or the broker closed the connection; make a new connection then.
    public private(set) var isOpen = false
    /// The C state is freed exactly once, whatever closed the connection.
    private var destroyed = false

    // Publisher-confirm bookkeeping (see AMQPConnection+Publish.swift).
    var confirmsRequested = false
    var lastPublishedTag: UInt64 = 0

    /// Opens the TCP connection, logs in and opens channel 1.
    public init(url: AMQPURL) throws {
        self.url = url
        guard let state = amqp_new_connection() else {
            throw AMQPError(.connection, "could not allocate an AMQP connection")
        }
        self.state = state
        // From here on, a throw runs deinit, whose close() frees the state (exactly once).
        guard let socket = amqp_tcp_socket_new(state) else {
            throw AMQPError(.connection, "could not allocate a TCP socket")
        }
        var timeout = timeval(tv_sec: url.connectTimeout, tv_usec: 0)
        let opened = url.host.withCString { amqp_socket_open_noblock(socket, $0, Int32(url.port), &timeout) }
        guard opened == AMQP_STATUS_OK.rawValue else {
            let text = String(cString: amqp_error_string2(opened))
            throw AMQPError(.connection, code: Int(opened), "cannot connect to \(url.host):\(url.port): \(text)")
        }
        var rpcTimeout = timeval(tv_sec: 30, tv_usec: 0)
        amqp_set_rpc_timeout(state, &rpcTimeout)
        let login = url.vhost.withCString { vhost in
            url.user.withCString { user in
                url.password.withCString { password in
                    agentmgr_amqp_login_plain(state, vhost, 0, 131_072, Int32(url.heartbeat), user, password)
                }
            }
        }
        guard login.reply_type == AMQP_RESPONSE_NORMAL else {
            throw Self.describeLoginFailure(login, url: url)
        }
        isOpen = true
        try openChannel()
    }

    deinit {
        close()
    }

    /// Closes the channel and the connection politely when still open, and frees the C state;
    /// harmless to call twice.
    public func close() {
        guard !destroyed else { return }
        if isOpen {
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            amqp_set_rpc_timeout(state, &timeout)
            if channelOpen { _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS)) }
            _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        isOpen = false
        channelOpen = false
        destroyed = true
        amqp_destroy_connection(state)
    }

    /// Reopens channel 1 if the broker closed it (for example after a failed passive declare).
    func ensureChannel() throws {
        guard isOpen else { throw AMQPError(.connectionClosed, "connection to \(url.redacted) is closed") }
        if !channelOpen { try openChannel() }
    }

    private func openChannel() throws {
        amqp_channel_open(state, channel)
        try checkReply("channel.open")
        channelOpen = true
        lastPublishedTag = 0
        if confirmsRequested {
            amqp_confirm_select(state, channel)
            try checkReply("confirm.select")
        }
    }

    /// Turns the last RPC reply into a Swift error, answering the broker's close so the
    /// connection stays in a known state.
    func checkReply(_ context: String) throws {
        try check(amqp_get_rpc_reply(state), context)
    }

    func check(_ reply: amqp_rpc_reply_t, _ context: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            isOpen = false
            throw AMQPError.status(reply.library_error, context)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            throw serverClose(method: reply.reply, context: context)
        default:
            isOpen = false
            throw AMQPError(.library, "\(context): no reply from broker")
        }
    }

    /// Handles a channel.close or connection.close method from the broker and returns its error.
    func serverClose(method: amqp_method_t, context: String) -> AMQPError {
        switch method.id {
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            var ok = amqp_channel_close_ok_t()
            amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
            channelOpen = false
            return AMQPError(.channelClosed, code: Int(close.reply_code), "\(context): \(close.reply_text.string)")
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t()
            amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
            isOpen = false
            channelOpen = false
            return AMQPError(.connectionClosed, code: Int(close.reply_code), "\(context): \(close.reply_text.string)")
        default:
            isOpen = false
            return AMQPError(.library, "\(context): unexpected method \(method.id) from broker")
        }
    }

    private static func describeLoginFailure(_ reply: amqp_rpc_reply_t, url: AMQPURL) -> AMQPError {
        if reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD {
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return AMQPError(
                .connection, code: Int(close.reply_code),
                "login to \(url.redacted) refused: \(close.reply_text.string)")
        }
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION {
            let text = String(cString: amqp_error_string2(reply.library_error))
            // The broker drops the socket on bad credentials (ACCESS_REFUSED) before a close method.
            return AMQPError(
                .connection, code: Int(reply.library_error),
                "login to \(url.redacted) failed: \(text) (check user, password and vhost)")
        }
        return AMQPError(.connection, "login to \(url.redacted) failed")
    }
}

extension AMQPConnection {
    /// Releases the socket without the close handshake (which would block on a dead peer).
    func closeAfterFailure() {
        guard !destroyed else { return }
        isOpen = false
        channelOpen = false
        destroyed = true
        amqp_destroy_connection(state)
    }
}
