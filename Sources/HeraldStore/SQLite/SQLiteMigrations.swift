import GRDB

/// The schema, as named append-only migrations. Never edit a migration once merged: a fix is a new
/// one. They speak SQL schema, not current Swift types.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("create app and token key tables") { db in
            try db.create(table: "app") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("apiKeyID", .text).notNull().unique()
                t.column("apiKeyHash", .blob).notNull()
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "tokenKey") { t in
                t.primaryKey("kid", .text)
                t.column("appID", .text).notNull().indexed().references("app", onDelete: .cascade)
                t.column("sealedSecret", .blob).notNull()
                t.column("createdAt", .integer).notNull()
            }
        }
        migrator.registerMigration("create user table") { db in
            try db.create(table: "user") { t in
                t.column("appID", .text).notNull().references("app", onDelete: .cascade)
                t.column("id", .text).notNull()
                t.column("name", .text)
                t.column("locale", .text)
                t.column("timezone", .text)
                t.column("metadata", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
                t.primaryKey(["appID", "id"])
            }
        }
        migrator.registerMigration("create channel and member tables") { db in
            try db.create(table: "channel") { t in
                t.primaryKey("id", .text)
                t.column("appID", .text).notNull().references("app", onDelete: .cascade)
                t.column("type", .text).notNull()
                t.column("name", .text)
                t.column("directKey", .text)
                t.column("lastSeq", .integer).notNull().defaults(to: 0)
                t.column("lastActivityAt", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.uniqueKey(["appID", "directKey"])
            }
            try db.create(table: "channelMember") { t in
                t.column("channelID", .text).notNull().references("channel", onDelete: .cascade)
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("lastReadSeq", .integer).notNull().defaults(to: 0)
                t.column("joinedAt", .integer).notNull()
                t.primaryKey(["channelID", "userID"])
            }
            try db.create(index: "channelMember_on_appID_userID", on: "channelMember", columns: ["appID", "userID"])
        }
        migrator.registerMigration("create message table") { db in
            try db.create(table: "message") { t in
                t.primaryKey("id", .text)
                t.column("channelID", .text).notNull().references("channel", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("sender", .text)
                t.column("text", .text).notNull()
                t.column("data", .text)
                t.column("createdAt", .integer).notNull()
                t.column("editedAt", .integer)
                t.column("deletedAt", .integer)
                t.uniqueKey(["channelID", "seq"])
            }
        }
        migrator.registerMigration("create idempotency table") { db in
            try db.create(table: "idempotencyKey") { t in
                t.column("appID", .text).notNull()
                t.column("scope", .text).notNull()
                t.column("key", .text).notNull()
                t.column("fingerprint", .blob).notNull()
                t.column("messageID", .text).notNull()
                t.column("createdAt", .integer).notNull().indexed()
                t.primaryKey(["appID", "scope", "key"])
            }
        }
        migrator.registerMigration("add signing keys, settings and message signatures") { db in
            try db.create(table: "signingKey") { t in
                t.primaryKey("kid", .text)
                t.column("appID", .text).notNull().indexed().references("app", onDelete: .cascade)
                t.column("sealedPrivateKey", .blob).notNull()
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "appSettings") { t in
                t.primaryKey("appID", .text).references("app", onDelete: .cascade)
                t.column("settings", .text).notNull()
                t.column("updatedAt", .integer).notNull()
            }
            try db.alter(table: "message") { t in
                t.add(column: "jws", .text)
            }
        }
        migrator.registerMigration("create template table") { db in
            try db.create(table: "template") { t in
                t.column("appID", .text).notNull().references("app", onDelete: .cascade)
                t.column("key", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("definition", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.primaryKey(["appID", "key", "version"])
            }
        }
        return migrator
    }
}
