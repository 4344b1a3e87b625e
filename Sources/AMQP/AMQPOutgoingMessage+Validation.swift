extension AMQPOutgoingMessage {
    /// AMQP 0-9-1 short strings (names, routing keys and most properties) hold at most 255 bytes;
    /// rabbitmq-c refuses longer ones only once it is writing the frame. Checked before anything is
    /// sent, so one bad message never breaks a connection or a batch.
    public var validationError: String? {
        let shortStrings: [(String, String?)] = [
            ("exchange", exchange), ("routing key", routingKey), ("message_id", properties.messageID),
            ("correlation_id", properties.correlationID), ("reply_to", properties.replyTo), ("type", properties.type),
            ("app_id", properties.appID), ("content_type", properties.contentType), ("expiration", properties.expiration),
        ]
        for (name, value) in shortStrings {
            if let value, value.utf8.count > 255 {
                return "\(name) is \(value.utf8.count) bytes; AMQP allows at most 255"
            }
        }
        for key in properties.headers.keys where key.utf8.count > 128 {
            return "header name \(key.prefix(40))... is longer than 128 bytes"
        }
        return nil
    }
}
