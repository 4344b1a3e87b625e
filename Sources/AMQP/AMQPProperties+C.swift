import CRabbitMQ

extension AMQPProperties {
    /// Builds the C struct; every pointer in it is owned by `allocations`.
    func cProperties(_ allocations: CAllocations) -> amqp_basic_properties_t {
        var props = amqp_basic_properties_t()
        var flags: UInt32 = 0
        func set(_ value: String?, _ flag: Int32, _ assign: (amqp_bytes_t) -> Void) {
            guard let value else { return }
            assign(allocations.bytes(value))
            flags |= UInt32(flag)
        }
        set(contentType, AMQP_BASIC_CONTENT_TYPE_FLAG) { props.content_type = $0 }
        set(messageID, AMQP_BASIC_MESSAGE_ID_FLAG) { props.message_id = $0 }
        set(correlationID, AMQP_BASIC_CORRELATION_ID_FLAG) { props.correlation_id = $0 }
        set(replyTo, AMQP_BASIC_REPLY_TO_FLAG) { props.reply_to = $0 }
        set(type, AMQP_BASIC_TYPE_FLAG) { props.type = $0 }
        set(appID, AMQP_BASIC_APP_ID_FLAG) { props.app_id = $0 }
        set(expiration, AMQP_BASIC_EXPIRATION_FLAG) { props.expiration = $0 }
        if let priority {
            props.priority = priority
            flags |= UInt32(AMQP_BASIC_PRIORITY_FLAG)
        }
        if let timestamp {
            props.timestamp = timestamp
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        props.delivery_mode = persistent ? 2 : 1
        flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        if !headers.isEmpty {
            props.headers = allocations.table(headers)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        props._flags = amqp_flags_t(flags)
        return props
    }

    /// Copies the received C struct into Swift values.
    init(_ props: amqp_basic_properties_t) {
        let flags = UInt32(props._flags)
        func get(_ flag: Int32, _ bytes: amqp_bytes_t) -> String? {
            flags & UInt32(flag) != 0 ? bytes.string : nil
        }
        self.init(
            contentType: get(AMQP_BASIC_CONTENT_TYPE_FLAG, props.content_type),
            messageID: get(AMQP_BASIC_MESSAGE_ID_FLAG, props.message_id),
            correlationID: get(AMQP_BASIC_CORRELATION_ID_FLAG, props.correlation_id),
            replyTo: get(AMQP_BASIC_REPLY_TO_FLAG, props.reply_to),
            type: get(AMQP_BASIC_TYPE_FLAG, props.type),
            appID: get(AMQP_BASIC_APP_ID_FLAG, props.app_id),
            priority: flags & UInt32(AMQP_BASIC_PRIORITY_FLAG) != 0 ? props.priority : nil,
            timestamp: flags & UInt32(AMQP_BASIC_TIMESTAMP_FLAG) != 0 ? props.timestamp : nil,
            persistent: flags & UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG) != 0 && props.delivery_mode == 2,
            expiration: get(AMQP_BASIC_EXPIRATION_FLAG, props.expiration),
            headers: flags & UInt32(AMQP_BASIC_HEADERS_FLAG) != 0 ? props.headers.swiftTable : [:]
        )
    }
}
