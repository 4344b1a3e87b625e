import Foundation
import Postgres
import Testing

@Suite struct NotificationTests {
    @Test func receivesNotifyFromAnotherConnection() throws {
        let listener = try TestDatabase.connect()
        let sender = try TestDatabase.connect()
        let channel = TestDatabase.uniqueName("chan")
        try listener.execute(script: "LISTEN \(channel)")
        try sender.query("SELECT pg_notify($1, $2)", [channel, "payload 'x'"])
        #expect(try listener.waitForNotification(timeout: .seconds(5)) == channel)

        try sender.query("SELECT pg_notify($1, $2)", [channel, "second"])
        let notification = try #require(try listener.nextNotification(timeout: .seconds(5)))
        #expect(notification.channel == channel)
        #expect(notification.payload == "second")
        #expect(try listener.waitForNotification(timeout: .milliseconds(50)) == nil)
    }

    @Test func wakesUpWhenNotifiedWhileWaiting() throws {
        let listener = try TestDatabase.connect()
        let channel = TestDatabase.uniqueName("chan")
        try listener.execute(script: "LISTEN \(channel)")
        let url = try TestDatabase.url()
        let sender = Thread {
            Thread.sleep(forTimeInterval: 0.3)
            let connection = try? PostgresConnection(url: url)
            _ = try? connection?.query("SELECT pg_notify($1, '')", [channel])
        }
        sender.start()
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try listener.waitForNotification(timeout: .seconds(20)) == channel)
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "took \(elapsed)")
    }

    @Test func returnsNilOnTimeout() throws {
        let listener = try TestDatabase.connect()
        try listener.execute(script: "LISTEN \(TestDatabase.uniqueName("chan"))")
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try listener.waitForNotification(timeout: .milliseconds(200)) == nil)
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(2), "took \(elapsed)")
    }

    @Test func reportsALostConnectionWhileWaiting() throws {
        let listener = try TestDatabase.connect()
        let admin = try TestDatabase.connect()
        try listener.execute(script: "LISTEN \(TestDatabase.uniqueName("chan"))")
        let pid = try listener.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        try TestDatabase.terminateBackend(pid, using: admin)
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: PostgresError.self) {
            try listener.waitForNotification(timeout: .seconds(10))
        }
        #expect(error.isConnectionFailure)
        #expect(listener.isBroken)
        #expect(clock.now - start < .seconds(5))
    }
}
