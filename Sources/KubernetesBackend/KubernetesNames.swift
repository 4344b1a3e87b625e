import Foundation

/// Kubernetes' rules for names, label values and variable names, and the names the backend gives.
enum KubernetesNames {
    /// The Job (and, for a gang, its headless Service) of a job's stage: `am-<uuid hex>-s<stage>`,
    /// and `-a<attempt>` after it from the second attempt on. The whole uuid keeps it collision-free;
    /// at most 47 characters (stage and attempt ≤ 9999), so a pod's host name `<job>-<index>`
    /// stays within the 63 a DNS label allows.
    static func job(_ jobID: UUID, stage: Int, attempt: Int) -> String {
        "am-" + jobID.uuidString.lowercased().replacingOccurrences(of: "-", with: "") + "-s\(stage)" + (attempt > 0 ? "-a\(attempt)" : "")
    }

    /// RFC 1123 label: lower-case alphanumerics and '-', alphanumeric at both ends, 1...63 characters.
    static func isDNSLabel(_ text: String) -> Bool {
        guard (1...63).contains(text.utf8.count), let first = text.utf8.first, let last = text.utf8.last,
            isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        return text.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// A label value: empty, or up to 63 of [A-Za-z0-9-_.] starting and ending alphanumeric.
    static func isLabelValue(_ text: String) -> Bool {
        if text.isEmpty { return true }
        guard text.utf8.count <= 63, let first = text.utf8.first, let last = text.utf8.last, isAlphanumeric(first), isAlphanumeric(last)
        else { return false }
        return text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// An environment variable name as every Kubernetes version accepts it: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
    static func isVariableName(_ text: String) -> Bool {
        guard let first = text.utf8.first, !isDigit(first) else { return false }
        return text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || (0x61...0x7A).contains(byte) }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool { isLowerAlphanumeric(byte) || (0x41...0x5A).contains(byte) }
}
