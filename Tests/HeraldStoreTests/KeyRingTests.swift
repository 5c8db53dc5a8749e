import Foundation
import GRDB
import HeraldCore
@testable import HeraldStore
import Testing

@Suite("Key store")
struct KeyRingTests {
    private static func temporaryPath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("keys.sqlite").path
    }

    private let app = AppID.generate()
    private let ana = UserID(rawValue: "ana")!

    @Test("A key seals and opens only with its own context; another user's key does not open it")
    func sealedValuesAreBoundToTheirRow() async throws {
        let keys = try KeyRing(path: Self.temporaryPath(), masterKeys: [.generate()])
        let anaKey = try await keys.existingOrNewKey(.user(ana), in: app)
        let benKey = try await keys.existingOrNewKey(.user(UserID(rawValue: "ben")!), in: app)
        let sealed = try anaKey.seal(Data("card 4242".utf8), context: "message|ch_1|msg_1")

        #expect(try anaKey.open(sealed, context: "message|ch_1|msg_1") == Data("card 4242".utf8))
        #expect(throws: (any Error).self) { try anaKey.open(sealed, context: "message|ch_1|msg_2") }
        #expect(throws: (any Error).self) { try benKey.open(sealed, context: "message|ch_1|msg_1") }
        #expect(sealed.range(of: Data("4242".utf8)) == nil)
        #expect(try await keys.existingOrNewKey(.user(ana), in: app).rawBytes == anaKey.rawBytes, "asking again gives the same key")
        try keys.close()
    }

    @Test("Another master key does not open the store; a destroyed key is gone from the file")
    func wrongMasterKeyAndDestroyedKeys() async throws {
        let path = try Self.temporaryPath()
        let master = MasterKey.generate()
        let keys = try KeyRing(path: path, masterKeys: [master])
        let anaKey = try await keys.existingOrNewKey(.user(ana), in: app)
        try keys.close()
        #expect(throws: KeyRing.Failure.self) { try KeyRing(path: path, masterKeys: [.generate()]) }

        let reopened = try KeyRing(path: path, masterKeys: [master])
        #expect(try reopened.key(.user(ana), in: app)?.rawBytes == anaKey.rawBytes)
        try await reopened.destroyKey(of: ana, in: app)
        #expect(try reopened.key(.user(ana), in: app) == nil)
        try reopened.close()
        let rows = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dataKey WHERE owner = 'user:ana'") }
        #expect(rows == 0)
    }

    @Test("Re-wrapping under a new master key keeps every data key; only the new master key opens the store afterwards")
    func rewrap() async throws {
        let path = try Self.temporaryPath()
        let old = MasterKey.generate()
        let new = MasterKey.generate()
        let keys = try KeyRing(path: path, masterKeys: [old])
        let anaKey = try await keys.existingOrNewKey(.user(ana), in: app)
        let appKey = try await keys.existingOrNewKey(.app, in: app)
        let auditKey = try keys.auditKey()

        let counts = try await keys.rewrap(to: new)
        try keys.close()

        #expect(counts.apps == 1 && counts.dataKeys == 2)
        #expect(throws: KeyRing.Failure.self) { try KeyRing(path: path, masterKeys: [old]) }
        let rotated = try KeyRing(path: path, masterKeys: [old, new])
        #expect(rotated.masterKeyIndex == 1, "of the two candidates, the new key opens the store")
        #expect(try rotated.key(.user(ana), in: app)?.rawBytes == anaKey.rawBytes)
        #expect(try rotated.key(.app, in: app)?.rawBytes == appKey.rawBytes)
        #expect(try rotated.auditKey().rawBytes == auditKey.rawBytes)
        try rotated.close()
    }

    @Test("The cache keeps at most its limit, dropping the oldest entries first")
    func boundedCache() {
        let cache = BoundedCache<Int, Int>(limit: 4)
        for value in 0..<5 { cache.insert(value, for: value) }
        #expect(cache.count <= 4)
        #expect(cache[4] == 4 && cache[0] == nil)
        cache.remove(4)
        #expect(cache[4] == nil)
    }
}
