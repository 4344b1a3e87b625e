import Foundation
import Postgres

/// Applies the versioned SQL files in `Migrations/` exactly once each, in order, under a
/// PostgreSQL advisory lock so that many workers starting at once do not race.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public let version: Int
        public let name: String
        public let sql: String

        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }

        /// `0001_event_log`, as the file is named.
        public var id: String { String(format: "%04d_", version) + name }
        /// Detects an applied file that was edited afterwards (a mistake: add a new file instead).
        public var checksum: String { String(format: "%08x", sql.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }) }
    }

    /// Arbitrary constant shared by every process: the advisory lock's key.
    static let lockKey: Int64 = 0x4147_4D47_5201

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations shipped with this build (resources of the AgentCore module).
    public static func bundled() throws -> Migrator {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError(reason: "the Migrations resource folder is missing from this build")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
        let migrations = try files.map { file -> Migration in
            let stem = String(file.dropLast(4))
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw MigrationError(reason: "migration file \(file) must be named NNNN_name.sql")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
        }
        if Set(migrations.map(\.version)).count != migrations.count {
            throw MigrationError(reason: "two migration files share a version number")
        }
        return Migrator(migrations: migrations)
    }

    /// Applies what is missing; returns the versions applied now (empty when up to date).
    @discardableResult
    public func migrate(_ pool: PostgresPool, log: (String) -> Void = { _ in }) throws -> [Int] {
        try pool.withConnection { connection in
            // Up to date needs no lock and no DDL, so workers running as least-privilege roles
            // (which cannot create tables) start fine once the owner has migrated.
            if try isUpToDate(connection) { return [] }
            try connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
            defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
            try connection.execute(script: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            var applied: [Int: String] = [:]
            for row in try connection.query("SELECT version, checksum FROM schema_migrations") {
                applied[try row.decode(0, as: Int.self)] = try row.decode(1, as: String.self)
            }
            var appliedNow: [Int] = []
            for migration in migrations {
                if let checksum = applied[migration.version] {
                    guard checksum == migration.checksum else {
                        throw MigrationError(
                            reason: "migration \(migration.id) was changed after it was applied")
                    }
                    continue
                }
                log("applying migration \(migration.id)")
                guard try canCreateTables(connection) else {
                    throw MigrationError(
                        reason: "migration \(migration.id) is not applied and this role cannot apply it: run `agentctl migrate` as the database owner first")
                }
                try apply(migration, on: connection)
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
    }
}

extension Migrator {
    /// One migration in its own transaction. Roles belong to the whole server, and the advisory
    /// lock only serializes one database's migrators: another database migrating at the same
    /// moment may be creating the same role. Its commit can make this transaction's CREATE ROLE
    /// collide, or a GRANT miss a role that exists by then; the migration is then applied again
    /// from the start (it rolled back entirely), a few times at most.
    func apply(_ migration: Migration, on connection: PostgresConnection) throws {
        let raceStates: Set<String> = ["42704", "42710", "23505"]  // undefined_object, duplicate_object, unique_violation
        for attempt in 1... {
            try connection.execute(script: "BEGIN")
            do {
                try connection.execute(script: migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
                try connection.execute(script: "COMMIT")
                return
            } catch {
                try? connection.execute(script: "ROLLBACK")
                if attempt < 4, let failure = error as? PostgresError, let state = failure.sqlState, raceStates.contains(state) {
                    Thread.sleep(forTimeInterval: 0.2 * Double(attempt))
                    continue
                }
                throw MigrationError(reason: "migration \(migration.id) failed: \(error)")
            }
        }
    }

    /// Every migration applied, with the checksum it was applied with.
    func isUpToDate(_ connection: PostgresConnection) throws -> Bool {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].decode(0, as: Bool.self)
        guard exists else { return false }
        var applied: [Int: String] = [:]
        for row in try connection.query("SELECT version, checksum FROM schema_migrations") {
            applied[try row.decode(0, as: Int.self)] = try row.decode(1, as: String.self)
        }
        return migrations.allSatisfy { applied[$0.version] == $0.checksum }
    }

    func canCreateTables(_ connection: PostgresConnection) throws -> Bool {
        try connection.query("SELECT has_schema_privilege('public', 'CREATE')")[0].decode(0, as: Bool.self)
    }
}

public struct MigrationError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
