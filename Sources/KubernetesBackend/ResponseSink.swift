import CCurl
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a transfer's body goes. In memory (bounded), or, for a log stream, appended to a file
/// once the status says it is the log and not an error.
final class ResponseSink {
    private(set) var body = Data()
    /// Why receiving stopped (the body too large, the file not writable); the transfer fails with it.
    private(set) var failure: String?
    /// Bytes appended to the file.
    private(set) var appended = 0

    private let limit: Int
    private let file: FileAppender?
    private var skip: Int
    private let handle: UnsafeMutableRawPointer?
    private var toFile: Bool?

    /// Keeps at most `limit` bytes in memory.
    init(limit: Int = 64 << 20) {
        self.limit = limit
        file = nil
        skip = 0
        handle = nil
    }

    /// A 2xx body is appended to `file`, less its first `skip` bytes; any other body is kept
    /// in memory for the error. `handle` tells the status when the first bytes arrive.
    init(appendingTo file: FileAppender, skip: Int, handle: CurlHandle) {
        limit = 1 << 20
        self.file = file
        self.skip = skip
        self.handle = handle.pointer
    }

    /// false stops the transfer.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if let file {
            if toFile == nil { toFile = (200..<300).contains(agentmgr_curl_response_code(handle)) }
            if toFile == true {
                let skipped = min(skip, bytes.count)
                skip -= skipped
                let rest = UnsafeRawBufferPointer(rebasing: bytes[skipped...])
                if let error = file.append(rest) {
                    failure = error
                    return false
                }
                appended += rest.count
                return true
            }
        }
        guard body.count + bytes.count <= limit else {
            failure = "response larger than \(limit) bytes"
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }
}

/// A file opened for appending (O_APPEND: each write lands at the end, whoever else writes).
final class FileAppender {
    let path: String
    private let descriptor: Int32

    init(path: String) throws(KubernetesError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw KubernetesError(kind: .transport, request: "open \(path)", message: String(cString: strerror(errno)))
        }
    }

    deinit { close(descriptor) }

    /// nil when everything was written, else why not.
    func append(_ bytes: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return "cannot write \(path): \(String(cString: strerror(errno)))"
            }
            offset += written
        }
        return nil
    }
}
