import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time and peak memory of processes, read from /proc (Linux only).
enum ProcessStats {
    static let clockTicks: Double = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()

    /// Fields of /proc/PID/stat after the command name: index 0 is field 3 (state).
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// utime + stime in seconds (and, with `children`, cutime + cstime of reaped children).
    static func cpuSeconds(_ pid: Int32, children: Bool = false) -> Double? {
        guard let fields = statFields(pid), fields.count > 14 else { return nil }
        // field 14 utime, 15 stime, 16 cutime, 17 cstime → indices 11, 12, 13, 14
        var ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        if children { ticks += (Double(fields[13]) ?? 0) + (Double(fields[14]) ?? 0) }
        return ticks / clockTicks
    }

    static func parentPID(_ pid: Int32) -> Int32? {
        guard let fields = statFields(pid), fields.count > 1 else { return nil }
        return Int32(fields[1])
    }

    static func command(_ pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// VmHWM (peak resident set) in MiB.
    static func peakRSSMiB(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Double(parts[1]) { return kib / 1024 }
        }
        return nil
    }

    static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// CPU seconds of a process tree rooted at `root` (PostgreSQL: the postmaster, its backends
    /// and background workers, plus what exited backends consumed, which the postmaster reaps).
    static func treeCPUSeconds(root: Int32) -> Double {
        var total = cpuSeconds(root, children: true) ?? 0
        for pid in allPIDs() where pid != root && parentPID(pid) == root {
            total += cpuSeconds(pid) ?? 0
        }
        return total
    }

    /// The first process with this command name (e.g. beam.smp) when no pid is given.
    static func find(command name: String) -> Int32? {
        allPIDs().sorted().first { command($0) == name }
    }

    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}
