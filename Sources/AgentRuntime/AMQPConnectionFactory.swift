import AMQP

enum AMQPConnectionFactory {
    /// A new connection in publisher-confirm mode.
    static func confirmed(_ url: AMQPURL) throws -> AMQPConnection {
        let connection = try AMQPConnection(url: url)
        try connection.enableConfirms()
        return connection
    }
}
