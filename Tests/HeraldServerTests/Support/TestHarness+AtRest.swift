import Foundation
import HeraldStore

extension TestHarness {
    /// Every file the store keeps on disk, as a disk or backup thief would read it: on SQLite the data
    /// directory (database, WAL, shared memory, key store); on PostgreSQL, after a checkpoint, the
    /// database's own files and the WAL segments written since `since` (older ones hold other tests').
    func filesAtRest(since: Date) throws -> [(name: String, bytes: Data)] {
        guard let databaseURL else {
            return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map { name in
                (name, try Data(contentsOf: directory.appendingPathComponent(name)))
            }
        }
        _ = try Self.psql(databaseURL, "CHECKPOINT")
        let lines = try Self.psql(databaseURL, "SELECT current_setting('data_directory') || '|' || oid FROM pg_database WHERE datname = current_database()")
        let parts = lines.split(separator: "|").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        let dataDirectory = URL(fileURLWithPath: parts[0])
        var files: [(String, Data)] = []
        for folder in ["base/\(parts[1])", "pg_wal"] {
            let url = dataDirectory.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() {
                let file = url.appendingPathComponent(name)
                // The server removes and recycles files as it goes (relation caches, WAL segments): one gone
                // between the listing and the read held nothing of this test's.
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path), attributes[.type] as? FileAttributeType == .typeRegular
                else { continue }
                if folder == "pg_wal", let modified = attributes[.modificationDate] as? Date, modified < since.addingTimeInterval(-2) { continue }
                guard let bytes = try? Data(contentsOf: file) else { continue }
                files.append(("\(folder)/\(name)", bytes))
            }
        }
        return files
    }

    /// Runs `sql` with the psql tool (the test cluster's user is its superuser) and returns what it printed.
    static func psql(_ url: PostgresURL, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-h", url.host, "-p", "\(url.port)", "-U", url.username, "-d", url.database, "-At", "-c", sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The names of the files that hold `marker` in clear.
    func filesHolding(_ marker: String, since: Date) throws -> [String] {
        let needle = Data(marker.utf8)
        return try filesAtRest(since: since).filter { $0.bytes.range(of: needle) != nil }.map(\.name)
    }
}

extension TestHarness {
    /// Runs `sql` on the content database behind the server's back, as someone who can write the database
    /// (but holds no master key) would: with the sqlite3 tool on SQLite, psql on PostgreSQL.
    func writeDatabase(_ sql: String) throws {
        guard let databaseURL else {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sqlite3", "-cmd", ".timeout 10000", directory.appendingPathComponent("herald.sqlite").path, sql]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw WriteFailed(sql: sql) }
            return
        }
        _ = try Self.psql(databaseURL, sql)
    }

    struct WriteFailed: Error {
        var sql: String
    }
}
