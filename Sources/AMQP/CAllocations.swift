import CRabbitMQ
import Foundation

/// Owns C memory handed to rabbitmq-c for the duration of one call (strings, bodies, field tables),
/// so that no pointer outlives the Swift value it was made from. Freed all at once on deinit.
final class CAllocations {
    private var pointers: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in pointers { free(pointer) }
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        bytes(Array(string.utf8))
    }

    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        guard !data.isEmpty, let pointer = malloc(data.count) else { return amqp_empty_bytes }
        data.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
        pointers.append(pointer)
        return amqp_bytes_t(len: data.count, bytes: pointer)
    }

    func bytes(_ data: Data) -> amqp_bytes_t {
        guard !data.isEmpty, let pointer = malloc(data.count) else { return amqp_empty_bytes }
        data.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
        pointers.append(pointer)
        return amqp_bytes_t(len: data.count, bytes: pointer)
    }

    func table(_ table: AMQPTable) -> amqp_table_t {
        guard !table.isEmpty else { return amqp_empty_table }
        let raw = malloc(MemoryLayout<amqp_table_entry_t>.stride * table.count)!
        pointers.append(raw)
        let entries = raw.bindMemory(to: amqp_table_entry_t.self, capacity: table.count)
        for (index, (key, value)) in table.sorted(by: { $0.key < $1.key }).enumerated() {
            var entry = amqp_table_entry_t()
            entry.key = bytes(key)
            entry.value = fieldValue(value)
            entries[index] = entry
        }
        return amqp_table_t(num_entries: Int32(table.count), entries: entries)
    }

    private func fieldValue(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let string):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(string)
        case .int(let int):
            field.kind = UInt8(AMQP_FIELD_KIND_I32.rawValue)
            field.value.i32 = int
        case .long(let long):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = long
        case .bool(let bool):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = bool ? 1 : 0
        case .double(let double):
            field.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            field.value.f64 = double
        case .unsupported:
            field.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return field
    }
}

extension amqp_bytes_t {
    /// Copies the bytes into a Swift string (invalid UTF-8 is repaired, never trusted).
    var string: String {
        guard len > 0, let bytes else { return "" }
        let buffer = UnsafeRawBufferPointer(start: bytes, count: len)
        return String(decoding: buffer, as: UTF8.self)
    }

    var data: Data {
        guard len > 0, let bytes else { return Data() }
        return Data(bytes: bytes, count: len)
    }
}

extension amqp_table_t {
    /// Copies a received field table into Swift values.
    var swiftTable: AMQPTable {
        var result: AMQPTable = [:]
        guard num_entries > 0, let entries else { return result }
        for index in 0..<Int(num_entries) {
            let entry = entries[index]
            result[entry.key.string] = entry.value.swiftValue
        }
        return result
    }
}

extension amqp_field_value_t {
    var swiftValue: AMQPFieldValue {
        switch Int(kind) {
        case Int(AMQP_FIELD_KIND_UTF8.rawValue), Int(AMQP_FIELD_KIND_BYTES.rawValue): .string(value.bytes.string)
        case Int(AMQP_FIELD_KIND_I8.rawValue): .int(Int32(value.i8))
        case Int(AMQP_FIELD_KIND_U8.rawValue): .int(Int32(value.u8))
        case Int(AMQP_FIELD_KIND_I16.rawValue): .int(Int32(value.i16))
        case Int(AMQP_FIELD_KIND_U16.rawValue): .int(Int32(value.u16))
        case Int(AMQP_FIELD_KIND_I32.rawValue): .int(value.i32)
        case Int(AMQP_FIELD_KIND_U32.rawValue): .long(Int64(value.u32))
        case Int(AMQP_FIELD_KIND_I64.rawValue): .long(value.i64)
        case Int(AMQP_FIELD_KIND_U64.rawValue), Int(AMQP_FIELD_KIND_TIMESTAMP.rawValue): .long(Int64(bitPattern: value.u64))
        case Int(AMQP_FIELD_KIND_BOOLEAN.rawValue): .bool(value.boolean != 0)
        case Int(AMQP_FIELD_KIND_F32.rawValue): .double(Double(value.f32))
        case Int(AMQP_FIELD_KIND_F64.rawValue): .double(value.f64)
        default: .unsupported(kind: kind)
        }
    }
}
