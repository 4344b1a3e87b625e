import Foundation

/// Runs a blocking loop (rabbitmq-c and libpq calls block) on its own thread and lets async code
/// await its end, so blocking I/O never occupies the Swift concurrency pool.
func runOnDedicatedThread(named name: String, _ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let thread = Thread {
            body()
            continuation.resume()
        }
        thread.name = name
        thread.start()
    }
}

func sleep(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
}
