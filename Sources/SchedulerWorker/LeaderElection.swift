import Foundation
import Logging
import Postgres

/// Which scheduler replica decides. Leadership is a PostgreSQL session advisory lock held on a
/// dedicated connection (released the moment that process or connection dies) plus an epoch in
/// `scheduler_leader` bumped on every takeover. Each round checks the epoch under a row lock, so a
/// replica that lost the lock without noticing cannot commit a decision.
final class LeaderElection {
    static let lockKey: Int64 = 0x4147_4D47_5343  // "AGMGSC"

    let databaseURL: String
    let identity: String
    let logger: Logger
    private var session: PostgresConnection?
    private(set) var epoch: Int64?

    init(databaseURL: String, identity: String, logger: Logger) {
        self.databaseURL = databaseURL
        self.identity = identity
        self.logger = logger
    }

    var isLeader: Bool { epoch != nil && session?.isBroken == false }

    /// Tries once to become leader; returns the new epoch when it did.
    func tryAcquire() throws -> Int64? {
        if session == nil || session?.isBroken == true {
            session = try PostgresConnection(url: databaseURL, applicationName: "agentmgr-scheduler-leader")
            epoch = nil
        }
        guard let session else { return nil }
        let locked = try session.query("SELECT pg_try_advisory_lock($1)", [Self.lockKey])[0].decode(0, as: Bool.self)
        guard locked else { return nil }
        let epoch = try session.query(
            "UPDATE scheduler_leader SET epoch = epoch + 1, holder = $1, acquired_at = now() RETURNING epoch", [identity]
        )[0].decode(0, as: Int64.self)
        self.epoch = epoch
        logger.info("became scheduler leader", metadata: ["epoch": "\(epoch)", "holder": "\(identity)"])
        return epoch
    }

    /// Gives leadership up (on shutdown, or when a round found a newer epoch).
    func resign() {
        if let session, !session.isBroken { _ = try? session.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        session?.close()
        session = nil
        epoch = nil
    }

    /// Pings the lock's session so a dead connection is noticed.
    func checkSession() {
        guard let session else { return }
        if (try? session.query("SELECT 1")) == nil {
            logger.warning("leader session lost; giving up leadership")
            resign()
        }
    }
}
