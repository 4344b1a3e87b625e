#if canImport(Glibc)
import Glibc
#endif

/// This machine's name, from gethostname(2) (ProcessInfo.hostName may wait on a DNS lookup).
public enum HostName {
    public static let current: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
