import Foundation
import Synchronization

/// A flag a thread loop polls to know it should finish what it holds and return.
public final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    public var isRequested: Bool { requested.load(ordering: .acquiring) }

    public func request() { requested.store(true, ordering: .releasing) }

    /// Waits `duration`, or less if a stop is requested meanwhile (looked at every 50 ms).
    public func sleep(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while !isRequested, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
    }
}
