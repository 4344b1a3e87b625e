import Foundation
import CLibPQ

extension PostgresError {
    /// The error carried by a failed `PGresult`, with the server's fields when it sent them.
    init(result: OpaquePointer, connection: OpaquePointer) {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field("C")
        let libpqMessage = String(cString: PQresultErrorMessage(result))
        let kind: Kind
        if sqlState != nil {
            kind = .server
        } else if PQstatus(connection) != CONNECTION_OK {
            kind = .connection
        } else {
            kind = .usage
        }
        self.init(
            kind: kind, sqlState: sqlState,
            message: field("M") ?? Self.clean(libpqMessage, fallback: "unknown error"),
            detail: field("D"), constraint: field("n"))
    }

    /// libpq's connection-level message (`PQerrorMessage`), e.g. after a lost connection.
    static func connection(_ connection: OpaquePointer?, redacting secrets: [String] = [])
        -> PostgresError
    {
        var message = connection.map { String(cString: PQerrorMessage($0)) } ?? ""
        for secret in secrets where !secret.isEmpty {
            message = message.replacingOccurrences(of: secret, with: "***")
        }
        return PostgresError(
            kind: .connection, message: clean(message, fallback: "connection failed"))
    }

    /// Puts libpq's multi-line message on one line: indented continuation lines are joined with
    /// a space, separate messages (e.g. one per host tried) with "; ".
    static func clean(_ message: String, fallback: String) -> String {
        var text = ""
        for line in message.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if !text.isEmpty { text += line.first!.isWhitespace ? " " : "; " }
            text += trimmed
        }
        return text.isEmpty ? fallback : text
    }
}
