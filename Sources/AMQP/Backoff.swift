import Foundation

/// Exponential backoff with full jitter, for reconnecting after a broker or database restart.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt; grows ×2 each call up to `maximum`.
    public mutating func next() -> Duration {
        let factor = 1 << min(attempt, 16)
        attempt += 1
        let ceiling = min(initial * factor, maximum)
        let millis = max(1, Int(ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000))
        return .milliseconds(Int.random(in: millis / 2...millis))
    }

    public mutating func reset() { attempt = 0 }
}

extension AMQPConnection {
    /// Connects, retrying with backoff until it succeeds or `shouldStop` says to give up.
    /// `onRetry` is told each failure and the delay before the next try (for logging).
    public static func connect(
        url: AMQPURL, backoff: Backoff = Backoff(), shouldStop: () -> Bool = { false },
        onRetry: (AMQPError, Duration) -> Void = { _, _ in }
    ) throws -> AMQPConnection {
        var backoff = backoff
        while true {
            do {
                return try AMQPConnection(url: url)
            } catch let error as AMQPError {
                if shouldStop() { throw error }
                let delay = backoff.next()
                onRetry(error, delay)
                Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
            }
        }
    }
}
