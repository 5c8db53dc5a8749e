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
        migrator.registerMigration("create notification, inbox and outbox tables") { db in
            try db.alter(table: "user") { t in
                t.add(column: "preferences", .text)
            }
            try db.execute(sql: "ALTER TABLE idempotencyKey RENAME COLUMN messageID TO resultID")
            try db.create(table: "consentChange") { t in
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("consent", .text).notNull()
                t.column("granted", .boolean).notNull()
                t.column("at", .integer).notNull()
            }
            try db.create(index: "consentChange_on_appID_at", on: "consentChange", columns: ["appID", "at"])
            try db.create(table: "notification") { t in
                t.primaryKey("id", .text)
                t.column("appID", .text).notNull().indexed().references("app", onDelete: .cascade)
                t.column("category", .text).notNull()
                t.column("templateKey", .text)
                t.column("templateVersion", .integer)
                t.column("source", .text).notNull()
                t.column("audience", .text).notNull()
                t.column("data", .text)
                t.column("actions", .text)
                t.column("sendAt", .integer)
                t.column("expiresAt", .integer)
                t.column("status", .text).notNull()
                t.column("audienceSize", .integer)
                t.column("leaseUntil", .integer)
                t.column("createdAt", .integer).notNull()
                t.column("completedAt", .integer)
            }
            try db.create(index: "notification_on_status_sendAt", on: "notification", columns: ["status", "sendAt"])
            try db.create(table: "inboxItem") { t in
                t.autoIncrementedPrimaryKey("position")
                t.column("id", .text).notNull().unique()
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("notificationID", .text).notNull().references("notification", onDelete: .cascade)
                t.column("category", .text).notNull()
                t.column("title", .text).notNull()
                t.column("body", .text).notNull()
                t.column("data", .text)
                t.column("actions", .text)
                t.column("jws", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("releasedAt", .integer)
                t.column("expiresAt", .integer)
                t.column("deliveredAt", .integer)
                t.column("readAt", .integer)
                t.column("archivedAt", .integer)
                t.column("actionID", .text)
                t.column("actionInput", .text)
                t.column("actedAt", .integer)
                t.uniqueKey(["notificationID", "userID"])
            }
            try db.create(index: "inboxItem_on_owner_order", on: "inboxItem", columns: ["appID", "userID", "createdAt", "position"])
            try db.execute(sql: "CREATE INDEX inboxItem_unreleased ON inboxItem(createdAt) WHERE releasedAt IS NULL")
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("appID", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("userID", .text)
                t.column("subjectID", .text)
                t.column("payload", .text)
                t.column("availableAt", .integer).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("lastError", .text)
                t.column("createdAt", .integer).notNull()
            }
            try db.create(index: "outbox_on_kind_availableAt", on: "outbox", columns: ["kind", "availableAt"])
            try db.create(index: "outbox_on_subjectID", on: "outbox", columns: ["subjectID"])
        }
        migrator.registerMigration("create device and action challenge tables") { db in
            try db.create(table: "device") { t in
                t.primaryKey("id", .text)
                t.column("appID", .text).notNull().references("app", onDelete: .cascade)
                t.column("userID", .text).notNull()
                t.column("platform", .text).notNull()
                t.column("token", .text).notNull()
                t.column("subscription", .text)
                t.column("stepUpKey", .text)
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
                t.uniqueKey(["appID", "platform", "token"])
            }
            try db.create(index: "device_on_appID_userID", on: "device", columns: ["appID", "userID"])
            try db.create(table: "actionChallenge") { t in
                t.primaryKey("challenge", .text)
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("itemID", .text).notNull()
                t.column("actionID", .text).notNull()
                t.column("expiresAt", .integer).notNull().indexed()
                t.column("usedAt", .integer)
            }
        }
        migrator.registerMigration("create webhook tables") { db in
            try db.create(table: "webhook") { t in
                t.primaryKey("appID", .text).references("app", onDelete: .cascade)
                t.column("url", .text).notNull()
                t.column("events", .text).notNull()
                t.column("sealedSecret", .blob).notNull()
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "webhookDelivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("appID", .text).notNull()
                t.column("messageID", .text).notNull()
                t.column("event", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("url", .text).notNull()
                t.column("statusCode", .integer)
                t.column("error", .text)
                t.column("durationMilliseconds", .integer).notNull()
                t.column("at", .integer).notNull()
                t.column("outcome", .text).notNull()
            }
            try db.create(index: "webhookDelivery_on_appID_id", on: "webhookDelivery", columns: ["appID", "id"])
        }
        migrator.registerMigration("create push credential and delivery tables") { db in
            try db.create(table: "pushCredential") { t in
                t.column("appID", .text).notNull().references("app", onDelete: .cascade)
                t.column("provider", .text).notNull()
                t.column("sealed", .blob).notNull()
                t.column("updatedAt", .integer).notNull()
                t.primaryKey(["appID", "provider"])
            }
            try db.create(table: "pushDelivery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("deviceID", .text).notNull()
                t.column("platform", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("subjectID", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("outcome", .text).notNull()
                t.column("statusCode", .integer)
                t.column("reason", .text)
                t.column("at", .integer).notNull()
            }
            try db.create(index: "pushDelivery_on_appID_userID_id", on: "pushDelivery", columns: ["appID", "userID", "id"])
            try db.create(index: "pushDelivery_on_appID_id", on: "pushDelivery", columns: ["appID", "id"])
        }
        migrator.registerMigration("index messages and inbox items by age for retention") { db in
            try db.create(index: "message_on_createdAt", on: "message", columns: ["createdAt"])
            try db.create(index: "inboxItem_on_appID_createdAt", on: "inboxItem", columns: ["appID", "createdAt"])
        }
        migrator.registerMigration("seal content at rest") { db in
            // Content written before encryption at rest cannot be sealed here (the keys live in the key
            // store, not in this database): such a directory is refused rather than half converted.
            for table in ["message", "user", "inboxItem", "notification"] where try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)")! > 0 {
                throw DatabaseError(message: "this data directory was written by a build without encryption at rest; export its data and start from a new directory")
            }
            try db.alter(table: "message") { t in
                t.add(column: "sealed", .blob)
                t.drop(column: "text")
                t.drop(column: "data")
                t.drop(column: "jws")
            }
            try db.alter(table: "user") { t in
                t.add(column: "sealed", .blob)
                t.drop(column: "name")
                t.drop(column: "metadata")
            }
            // Segment sends match metadata without opening it: one keyed hash per top-level key and value.
            try db.create(table: "userTag") { t in
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("tag", .blob).notNull()
                t.primaryKey(["appID", "tag", "userID"])
            }
            try db.create(index: "userTag_on_appID_userID", on: "userTag", columns: ["appID", "userID"])
            try db.alter(table: "inboxItem") { t in
                t.add(column: "sealed", .blob)
                t.add(column: "sealedInput", .blob)
                t.drop(column: "title")
                t.drop(column: "body")
                t.drop(column: "data")
                t.drop(column: "actions")
                t.drop(column: "jws")
                t.drop(column: "actionInput")
            }
            try db.alter(table: "notification") { t in
                t.add(column: "sealed", .blob)
                t.drop(column: "source")
                t.drop(column: "data")
                t.drop(column: "actions")
            }
        }
        migrator.registerMigration("create audit table") { db in
            try db.create(table: "auditEvent") { t in
                t.primaryKey("id", .integer)
                t.column("chain", .text).notNull()
                t.column("seq", .integer).notNull()
                t.column("at", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text).notNull()
                t.column("prevHash", .blob).notNull()
                t.column("hash", .blob).notNull()
                t.uniqueKey(["chain", "seq"])
            }
        }
        migrator.registerMigration("key idempotency fingerprints and record their customer") { db in
            // Rows written before held the request itself: they wait in a table of their own until the
            // store, which has the keys, replaces each by its keyed hash (`SQLiteStore.upgradeIdempotencyKeys`).
            try db.execute(sql: "CREATE TABLE idempotencyKeyLegacy AS SELECT * FROM idempotencyKey")
            try db.execute(sql: "DELETE FROM idempotencyKey")
            try db.alter(table: "idempotencyKey") { t in
                t.add(column: "userID", .text)
            }
            try db.create(index: "idempotencyKey_on_appID_userID", on: "idempotencyKey", columns: ["appID", "userID"])
        }
        migrator.registerMigration("give step-up keys a state, pending until the business activates them") { db in
            try db.alter(table: "device") { t in
                t.add(column: "stepUpState", .text)
                t.add(column: "stepUpActivatedAt", .integer)
            }
            // Keys registered before could have come from any holder of a user token: none is trusted.
            try db.execute(sql: "UPDATE device SET stepUpState = 'pending' WHERE stepUpKey IS NOT NULL")
            // The HMAC that lets only Herald (with the app's key) mark a key active.
            try db.alter(table: "device") { t in
                t.add(column: "stepUpTag", .blob)
            }
        }
        migrator.registerMigration("create user token epochs") { db in
            try db.create(table: "userTokenEpoch") { t in
                t.column("appID", .text).notNull()
                t.column("userID", .text).notNull()
                t.column("epoch", .text).notNull()
                t.primaryKey(["appID", "userID"])
            }
        }
        migrator.registerMigration("seal channel names") { db in
            // Names written before stay in `name` until the store, which has the keys, seals them (`upgradeClearContent`).
            try db.alter(table: "channel") { t in
                t.add(column: "sealedName", .blob)
            }
        }
        migrator.registerMigration("store shared notification content once") { db in
            // A notification to many users stores its content once per locale; their items reference it.
            try db.create(table: "notificationContent") { t in
                t.column("notificationID", .text).notNull().references("notification", onDelete: .cascade)
                t.column("locale", .text).notNull()
                t.column("appID", .text).notNull()
                t.column("sealed", .blob).notNull()
                t.primaryKey(["notificationID", "locale"])
            }
            try db.create(index: "notificationContent_on_appID", on: "notificationContent", columns: ["appID"])
            try db.alter(table: "inboxItem") { t in
                t.add(column: "locale", .text)
                t.add(column: "binding", .blob)
                t.add(column: "signature", .blob)
                t.add(column: "signedBy", .text)
            }
            try db.alter(table: "notification") { t in
                t.add(column: "fanOutAfter", .blob)
                t.add(column: "fanOutSeen", .integer)
            }
        }
        migrator.registerMigration("create journeys, customer events and journey runs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE journey (appID TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL,
                        createdAt INTEGER NOT NULL, PRIMARY KEY (appID, key, version));
                    CREATE TABLE customerEvent (id TEXT PRIMARY KEY, appID TEXT NOT NULL, userID TEXT NOT NULL, name TEXT NOT NULL, sealed BLOB NOT NULL,
                        recordedAt INTEGER NOT NULL);
                    CREATE INDEX customerEvent_on_appID_userID ON customerEvent (appID, userID);
                    CREATE INDEX customerEvent_on_age ON customerEvent (appID, recordedAt);
                    CREATE TABLE journeyRun (id TEXT PRIMARY KEY, appID TEXT NOT NULL, journeyKey TEXT NOT NULL, version INTEGER NOT NULL,
                        userID TEXT NOT NULL, status TEXT NOT NULL, step INTEGER NOT NULL, dueAt INTEGER, deadline INTEGER, waitEvent TEXT,
                        waitNotification TEXT, sealedContext BLOB, triggerEventID TEXT, revision INTEGER NOT NULL, enteredAt INTEGER NOT NULL,
                        endedAt INTEGER, failure TEXT, leaseUntil INTEGER, UNIQUE (appID, journeyKey, userID, triggerEventID));
                    CREATE INDEX journeyRun_due ON journeyRun (dueAt) WHERE dueAt IS NOT NULL;
                    CREATE INDEX journeyRun_on_owner ON journeyRun (appID, userID, journeyKey, enteredAt);
                    CREATE INDEX journeyRun_on_journey ON journeyRun (appID, journeyKey, status);
                    CREATE INDEX journeyRun_on_waitNotification ON journeyRun (waitNotification) WHERE waitNotification IS NOT NULL;
                    CREATE INDEX journeyRun_on_age ON journeyRun (appID, endedAt) WHERE sealedContext IS NOT NULL AND endedAt IS NOT NULL;
                    CREATE TABLE journeyStep (runID TEXT NOT NULL, step TEXT NOT NULL, appID TEXT NOT NULL, journeyKey TEXT NOT NULL,
                        outcome TEXT NOT NULL, notificationID TEXT, at INTEGER NOT NULL, PRIMARY KEY (runID, step));
                    CREATE INDEX journeyStep_on_journey ON journeyStep (appID, journeyKey);
                    CREATE TABLE fallbackDelivery (id INTEGER PRIMARY KEY AUTOINCREMENT, appID TEXT NOT NULL, userID TEXT NOT NULL, itemID TEXT NOT NULL,
                        channel TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL, statusCode INTEGER, reason TEXT, at INTEGER NOT NULL);
                    CREATE INDEX fallbackDelivery_on_appID ON fallbackDelivery (appID, id);
                    CREATE INDEX fallbackDelivery_on_appID_userID ON fallbackDelivery (appID, userID);
                    CREATE TABLE fallbackClaim (appID TEXT NOT NULL, itemID TEXT NOT NULL, channel TEXT NOT NULL, userID TEXT NOT NULL,
                        outboxID INTEGER NOT NULL, PRIMARY KEY (appID, itemID, channel));
                    CREATE INDEX fallbackClaim_on_appID_userID ON fallbackClaim (appID, userID);
                    -- A run waiting on an item is due at once when the item changes: the worker then reads the
                    -- item (JourneyWorker), so no path that reads, acts on or delivers an item has to know. The
                    -- revision moves too, so a worker that decided on the item as it was cannot write over the wake.
                    CREATE TRIGGER inboxItem_wakes_journeys AFTER UPDATE OF deliveredAt, readAt, actedAt ON inboxItem
                    WHEN OLD.deliveredAt IS NOT NEW.deliveredAt OR OLD.readAt IS NOT NEW.readAt OR OLD.actedAt IS NOT NEW.actedAt
                    BEGIN
                        UPDATE journeyRun SET dueAt = 0, leaseUntil = NULL, revision = revision + 1
                        WHERE waitNotification = NEW.notificationID AND userID = NEW.userID AND appID = NEW.appID AND status = 'waiting';
                    END;
                    -- Item events (item.delivered, item.read, item.acted, item.expired), each for apps with a
                    -- journey that names it (journeyItemEvents, written with such a journey): an outbox row in
                    -- the transaction that changed the item, turned into a sealed event by the journey worker.
                    -- An expiry is known when the item is written: its row is due when the item expires.
                    CREATE TABLE journeyItemEvents (appID TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (appID, state));
                    ALTER TABLE notification ADD COLUMN journeyKey TEXT;
                    CREATE TRIGGER inboxItem_records_item_events AFTER UPDATE OF deliveredAt, readAt, actedAt ON inboxItem
                    WHEN EXISTS (SELECT 1 FROM journeyItemEvents WHERE appID = NEW.appID)
                    BEGIN
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        SELECT NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'delivered', NEW.deliveredAt, NEW.deliveredAt
                        WHERE OLD.deliveredAt IS NULL AND NEW.deliveredAt IS NOT NULL
                        AND EXISTS (SELECT 1 FROM journeyItemEvents WHERE appID = NEW.appID AND state = 'delivered');
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        SELECT NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'read', NEW.readAt, NEW.readAt
                        WHERE OLD.readAt IS NULL AND NEW.readAt IS NOT NULL
                        AND EXISTS (SELECT 1 FROM journeyItemEvents WHERE appID = NEW.appID AND state = 'read');
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        SELECT NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'acted', NEW.actedAt, NEW.actedAt
                        WHERE OLD.actedAt IS NULL AND NEW.actedAt IS NOT NULL
                        AND EXISTS (SELECT 1 FROM journeyItemEvents WHERE appID = NEW.appID AND state = 'acted');
                    END;
                    CREATE TRIGGER inboxItem_records_expiry AFTER INSERT ON inboxItem
                    WHEN NEW.expiresAt IS NOT NULL AND EXISTS (SELECT 1 FROM journeyItemEvents WHERE appID = NEW.appID AND state = 'expired')
                    BEGIN
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        VALUES (NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'expired', NEW.expiresAt, NEW.createdAt);
                    END;
                    -- Digests: one open per customer and template; entries sealed with the customer's key,
                    -- deleted once the digest's message is sent.
                    CREATE TABLE journeyDigest (id TEXT PRIMARY KEY, appID TEXT NOT NULL, userID TEXT NOT NULL, template TEXT NOT NULL,
                        category TEXT NOT NULL, journeyKey TEXT NOT NULL, status TEXT NOT NULL, windowEnd INTEGER NOT NULL, notificationID TEXT, createdAt INTEGER NOT NULL);
                    CREATE UNIQUE INDEX journeyDigest_open ON journeyDigest (appID, userID, template) WHERE status = 'open';
                    CREATE INDEX journeyDigest_on_appID_userID ON journeyDigest (appID, userID);
                    CREATE INDEX journeyDigest_on_age ON journeyDigest (appID, createdAt) WHERE status IN ('sent', 'failed');
                    CREATE TABLE journeyDigestEntry (position INTEGER PRIMARY KEY AUTOINCREMENT, digestID TEXT NOT NULL, runID TEXT NOT NULL,
                        step TEXT NOT NULL, appID TEXT NOT NULL, userID TEXT NOT NULL, sealed BLOB NOT NULL, at INTEGER NOT NULL, UNIQUE (digestID, runID, step));
                    CREATE INDEX journeyDigestEntry_on_appID_userID ON journeyDigestEntry (appID, userID);
                    """)
        }
        return migrator
    }
}
