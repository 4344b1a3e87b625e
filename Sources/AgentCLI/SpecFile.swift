import AgentCore
import Foundation
import Yams

/// Reads job spec files: YAML or JSON, one spec per file or several (a JSON array, or YAML
/// documents separated by `---`). Each becomes the JSON body the queue contract expects.
enum SpecFile {
    struct ReadError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "\(path): \(reason)" }
    }

    static func bodies(at path: String) throws -> [Data] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReadError(path: path, reason: "cannot read the file") }
        let text = String(decoding: data, as: UTF8.self)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if path.hasSuffix(".json") || trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            guard let value = try? JSONCoding.decoder.decode(JSONValue.self, from: data) else {
                // Let admission report exactly what is wrong: the body goes as written.
                return [data]
            }
            if case .array(let items) = value { return try items.map { try JSONCoding.encoder.encode($0) } }
            return [data]
        }
        do {
            return try Yams.load_all(yaml: text).map { try JSONCoding.encoder.encode(try jsonValue($0, path: path)) }
        } catch let error as ReadError {
            throw error
        } catch {
            throw ReadError(path: path, reason: "not valid YAML: \(error)")
        }
    }

    private static func jsonValue(_ any: Any?, path: String) throws -> JSONValue {
        switch any {
        case nil, is NSNull: return .null
        case let bool as Bool: return .bool(bool)
        case let int as Int: return .number(Double(int))
        case let double as Double: return .number(double)
        case let string as String: return .string(string)
        case let array as [Any?]: return .array(try array.map { try jsonValue($0, path: path) })
        case let dictionary as [String: Any?]: return .object(try dictionary.mapValues { try jsonValue($0, path: path) })
        case let date as Date: return .string(ISO8601.string(from: date))
        default: throw ReadError(path: path, reason: "unsupported YAML value \(String(describing: any))")
        }
    }
}
