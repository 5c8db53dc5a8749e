import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

/// `herald keys rotate`: a new master key, every key under it re-wrapped, no content re-encrypted.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the keys of encryption at rest.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate the master key: re-wraps every app and data key (no content is re-encrypted).",
            discussion: """
                Stop the server first (the command refuses a directory in use). With DIR/master.key, a new key is written
                to DIR/master.key.next, the key store is re-wrapped in one transaction, and the new key then replaces
                master.key; a rotation interrupted at any point is completed or undone at the next start. Each app also
                gets a fresh key-encryption key. With HERALD_MASTER_KEY, set HERALD_NEW_MASTER_KEY to the new key
                (32 random bytes, base64, e.g. `openssl rand -base64 32`) and switch to it once this succeeds.
                With --database (PostgreSQL), stop every node first; the current key comes from HERALD_MASTER_KEY or
                --master-key-file, the new one from HERALD_NEW_MASTER_KEY; restart every node with the new key.
                """)

        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print {\"apps\": N, \"dataKeys\": N}.") var json = false

        func run() async throws {
            if let url = try store.databaseURL() { return try await rotateOnPostgres(url) }
            let directory = DataDirectory(path: store.dataDirectory)
            try directory.requireExisting()
            let environment = ProcessInfo.processInfo.environment
            let lock = try directory.lock()
            defer { withExtendedLifetime(lock) {} }
            let prepared = try directory.prepare(environmentKey: environment["HERALD_MASTER_KEY"])
            // Opened first: this also finishes or undoes an earlier rotation that was interrupted.
            let keys = try directory.openKeyRing(prepared)
            let newKey: MasterKey
            if prepared.fromEnvironment {
                guard let text = environment["HERALD_NEW_MASTER_KEY"], let key = try? MasterKey(base64: text) else {
                    FileHandle.standardError.write(Data("error: HERALD_MASTER_KEY is set: put the new key (32 bytes, base64) in HERALD_NEW_MASTER_KEY\n".utf8))
                    throw ExitCode.failure
                }
                newKey = key
            } else {
                newKey = MasterKey.generate()
                try directory.writeNextMasterKey(newKey)
            }
            let counts = try await keys.rewrap(to: newKey)
            try keys.close()
            if !prepared.fromEnvironment {
                try directory.completeRotation()
            }
            let rotated = try KeyRing(path: directory.keysURL.path, masterKeys: [newKey])
            let opened = try SQLiteStore(path: directory.databaseURL.path, masterKey: newKey, keys: rotated)
            try await run(opened) { try await StoreOptions.audit($0, "keys.rotate", target: "\(counts.apps) app keys, \(counts.dataKeys) data keys") }
            if json {
                print(try JSONOutput.line(["apps": counts.apps, "dataKeys": counts.dataKeys]))
            } else {
                print("rotated the master key: re-wrapped \(counts.apps) app keys and \(counts.dataKeys) data keys")
                if prepared.fromEnvironment { print("Now set HERALD_MASTER_KEY to the new key; the old one no longer opens this directory.") }
            }
        }

        /// The key database re-wrapped in one transaction; the nodes are the operator's to stop and restart.
        private func rotateOnPostgres(_ url: PostgresURL) async throws {
            let environment = ProcessInfo.processInfo.environment
            let current = try SharedMasterKey.load(environmentKey: environment["HERALD_MASTER_KEY"], file: store.masterKeyFilePath)
            guard let text = environment["HERALD_NEW_MASTER_KEY"], let newKey = try? MasterKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw ValidationError("with --database, put the new master key (32 bytes, base64) in HERALD_NEW_MASTER_KEY")
            }
            let opened = try await PostgresStore.open(url: url, keysURL: try store.keysDatabaseURL(), masterKeys: [current], maximumConnections: 2)
            let counts: (apps: Int, dataKeys: Int)
            do {
                counts = try await opened.keys.rewrap(to: newKey)
                try await opened.close()
            } catch {
                try? await opened.close()
                throw error
            }
            let rotated = try await PostgresStore.open(url: url, keysURL: try store.keysDatabaseURL(), masterKeys: [newKey], maximumConnections: 2)
            try await run(rotated) { try await StoreOptions.audit($0, "keys.rotate", target: "\(counts.apps) app keys, \(counts.dataKeys) data keys") }
            if json {
                print(try JSONOutput.line(["apps": counts.apps, "dataKeys": counts.dataKeys]))
            } else {
                print("rotated the master key: re-wrapped \(counts.apps) app keys and \(counts.dataKeys) data keys")
                print("Now restart every node with the new key (HERALD_MASTER_KEY or --master-key-file); the old one no longer opens the key database.")
            }
        }
    }
}
