import Dispatch
import Foundation
import Postgres
import Testing

@Suite struct PoolTests {
    @Test func blocksWhenExhaustedThenProceeds() throws {
        let pool = try TestDatabase.pool(maxConnections: 2)
        defer { pool.close() }
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holders = startThreads(2) { _ in
            try pool.withConnection { connection in
                try connection.query("SELECT 1")
                holding.signal()
                _ = release.wait(timeout: .now() + .seconds(20))
            }
        }
        for _ in 0..<2 {
            #expect(holding.wait(timeout: .now() + .seconds(10)) == .success)
        }
        let acquired = Shared(false)
        let waiter = startThreads(1) { _ in
            try pool.withConnection { connection in
                try connection.query("SELECT 1")
                acquired.withLock { $0 = true }
            }
        }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!acquired.value, "a third caller got a connection while both were in use")
        release.signal()
        try waiter.join(timeout: .seconds(10))
        #expect(acquired.value)
        release.signal()
        try holders.join()
    }

    @Test func timesOutWithAPoolError() throws {
        let pool = try TestDatabase.pool(maxConnections: 1, acquireTimeout: .milliseconds(200))
        defer { pool.close() }
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = startThreads(1) { _ in
            try pool.withConnection { _ in
                holding.signal()
                _ = release.wait(timeout: .now() + .seconds(20))
            }
        }
        #expect(holding.wait(timeout: .now() + .seconds(10)) == .success)
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: PostgresError.self) { try pool.withConnection { _ in } }
        #expect(error.kind == .pool)
        #expect(clock.now - start >= .milliseconds(190))
        release.signal()
        try holder.join()
        try pool.withConnection { _ in }  // free again
    }

    @Test func neverSharesAConnectionBetweenThreads() throws {
        let maxConnections = 4
        let pool = try TestDatabase.pool(maxConnections: maxConnections)
        defer { pool.close() }
        struct Tally: Sendable {
            var inUse: Set<ObjectIdentifier> = []
            var mostAtOnce = 0
            var sharedUses = 0
            var backends: Set<Int32> = []
            var queries = 0
            var wrongAnswers = 0
        }
        let tally = Shared(Tally())
        try runOnThreads(12) { thread in
            for iteration in 0..<40 {
                try pool.withConnection { connection in
                    let id = ObjectIdentifier(connection)
                    tally.withLock { tally in
                        if !tally.inUse.insert(id).inserted { tally.sharedUses += 1 }
                        tally.mostAtOnce = max(tally.mostAtOnce, tally.inUse.count)
                    }
                    defer { tally.withLock { _ = $0.inUse.remove(id) } }
                    let token = thread * 1000 + iteration
                    let row = try connection.query("SELECT pg_backend_pid(), $1::int", [token])[0]
                    let pid = try row.decode(0, as: Int32.self)
                    let echoed = try row.decode(1, as: Int.self)
                    tally.withLock { tally in
                        tally.backends.insert(pid)
                        tally.queries += 1
                        if echoed != token { tally.wrongAnswers += 1 }
                    }
                }
            }
        }
        let result = tally.value
        #expect(result.queries == 12 * 40)
        #expect(result.sharedUses == 0)
        #expect(result.wrongAnswers == 0)
        #expect(result.mostAtOnce <= maxConnections)
        #expect(result.backends.count <= maxConnections, "backends: \(result.backends.count)")
    }

    @Test func discardsABrokenConnection() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let firstPID = try pool.withConnection { connection in
            let pid = try connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
            let error = try #require(throws: PostgresError.self) {
                try connection.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            #expect(error.isConnectionFailure, "\(error)")
            return pid
        }
        let secondPID = try pool.withConnection {
            try $0.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        }
        #expect(secondPID != firstPID)
    }

    @Test func closedPoolRefusesCheckout() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        try pool.withConnection { try $0.query("SELECT 1") }
        pool.close()
        let error = try #require(throws: PostgresError.self) { try pool.withConnection { _ in } }
        #expect(error.kind == .pool)
    }
}
