import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func putUser(_ id: UserID, profile: UserProfile, in app: AppID) async throws -> (user: User, created: Bool) {
        let time = nowMilliseconds()
        return try await pool.write { db in
            let existing = try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": id.rawValue])
            let record = UserRecord(
                appID: app.rawValue, id: id.rawValue, name: profile.name, locale: profile.locale, timezone: profile.timezone,
                metadata: JSONColumn.encode(profile.metadata), createdAt: existing?.createdAt ?? time, updatedAt: time)
            try record.save(db)
            return (record.user, existing == nil)
        }
    }

    public func user(_ id: UserID, in app: AppID) async throws -> User? {
        try await pool.read { db in try UserRecord.fetchOne(db, key: ["appID": app.rawValue, "id": id.rawValue]) }?.user
    }
}
