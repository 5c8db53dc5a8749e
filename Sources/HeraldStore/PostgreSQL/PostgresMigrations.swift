import PostgresNIO

/// PostgreSQL's schema, as named append-only migrations (never edit one once merged: a fix is a new one).
///
/// Tables and columns are those of the embedded store (`SQLiteMigrations`), so `herald store copy` moves
/// rows as they are; identifiers are unquoted, so PostgreSQL folds them to lower case, and `"user"`
/// is quoted because it is a reserved word. Times are milliseconds since 1970 in `bigint`, sealed values
/// `bytea`.
///
/// Nodes starting at once take an advisory lock, so exactly one of them applies each migration.
enum PostgresMigrations {
    struct Migration {
        var name: String
        var statements: [String]
    }

    /// Held (per transaction) while migrations run; an arbitrary constant of this schema.
    static let lockID: Int64 = 0x6865_7261_6c64

    static func migrate(_ database: PostgresDatabase, _ migrations: [Migration] = content) async throws {
        try await database.transaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(lockID))")
            try await connection.execute("CREATE TABLE IF NOT EXISTS heraldMigration (name text PRIMARY KEY, appliedAt timestamptz NOT NULL DEFAULT now())")
            let applied = Set(try await connection.values("SELECT name FROM heraldMigration", as: String.self))
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.execute(PostgresQuery(unsafeSQL: statement))
                }
                try await connection.execute("INSERT INTO heraldMigration (name) VALUES (\(migration.name))")
            }
        }
    }

    /// The content database.
    static let content: [Migration] = [
        Migration(
            name: "create schema",
            statements: [
                """
                CREATE TABLE app (position bigserial UNIQUE, id text PRIMARY KEY, name text NOT NULL, apiKeyID text NOT NULL UNIQUE, apiKeyHash bytea NOT NULL,
                    createdAt bigint NOT NULL)
                """,
                """
                CREATE TABLE tokenKey (kid text PRIMARY KEY, appID text NOT NULL REFERENCES app ON DELETE CASCADE, sealedSecret bytea NOT NULL,
                    createdAt bigint NOT NULL)
                """,
                "CREATE INDEX tokenKey_on_appID ON tokenKey (appID, createdAt)",
                """
                CREATE TABLE "user" (appID text NOT NULL REFERENCES app ON DELETE CASCADE, id text NOT NULL, sealed bytea, locale text,
                    timezone text, preferences text, createdAt bigint NOT NULL, updatedAt bigint NOT NULL, PRIMARY KEY (appID, id))
                """,
                """
                CREATE TABLE userTag (appID text NOT NULL, userID text NOT NULL, tag bytea NOT NULL, PRIMARY KEY (appID, tag, userID))
                """,
                "CREATE INDEX userTag_on_appID_userID ON userTag (appID, userID)",
                """
                CREATE TABLE channel (id text PRIMARY KEY, appID text NOT NULL REFERENCES app ON DELETE CASCADE, type text NOT NULL, name text,
                    directKey text, lastSeq bigint NOT NULL DEFAULT 0, lastActivityAt bigint NOT NULL, createdAt bigint NOT NULL,
                    UNIQUE (appID, directKey))
                """,
                """
                CREATE TABLE channelMember (channelID text NOT NULL REFERENCES channel ON DELETE CASCADE, appID text NOT NULL, userID text NOT NULL,
                    lastReadSeq bigint NOT NULL DEFAULT 0, joinedAt bigint NOT NULL, PRIMARY KEY (channelID, userID))
                """,
                "CREATE INDEX channelMember_on_appID_userID ON channelMember (appID, userID)",
                """
                CREATE TABLE message (id text PRIMARY KEY, channelID text NOT NULL REFERENCES channel ON DELETE CASCADE, seq bigint NOT NULL,
                    sender text, sealed bytea, createdAt bigint NOT NULL, editedAt bigint, deletedAt bigint, UNIQUE (channelID, seq))
                """,
                "CREATE INDEX message_on_createdAt ON message (createdAt)",
                """
                CREATE TABLE idempotencyKey (appID text NOT NULL, scope text NOT NULL, key text NOT NULL, fingerprint bytea NOT NULL,
                    resultID text NOT NULL, createdAt bigint NOT NULL, PRIMARY KEY (appID, scope, key))
                """,
                "CREATE INDEX idempotencyKey_on_createdAt ON idempotencyKey (createdAt)",
                """
                CREATE TABLE signingKey (position bigserial UNIQUE, kid text PRIMARY KEY, appID text NOT NULL REFERENCES app ON DELETE CASCADE, sealedPrivateKey bytea NOT NULL,
                    createdAt bigint NOT NULL)
                """,
                "CREATE INDEX signingKey_on_appID ON signingKey (appID)",
                """
                CREATE TABLE appSettings (appID text PRIMARY KEY REFERENCES app ON DELETE CASCADE, settings text NOT NULL, updatedAt bigint NOT NULL)
                """,
                """
                CREATE TABLE template (appID text NOT NULL REFERENCES app ON DELETE CASCADE, key text NOT NULL, version bigint NOT NULL,
                    definition text NOT NULL, createdAt bigint NOT NULL, PRIMARY KEY (appID, key, version))
                """,
                """
                CREATE TABLE consentChange (appID text NOT NULL, userID text NOT NULL, consent text NOT NULL, granted boolean NOT NULL,
                    at bigint NOT NULL)
                """,
                "CREATE INDEX consentChange_on_appID_at ON consentChange (appID, at)",
                """
                CREATE TABLE notification (id text PRIMARY KEY, appID text NOT NULL REFERENCES app ON DELETE CASCADE, category text NOT NULL,
                    templateKey text, templateVersion bigint, audience text NOT NULL, sealed bytea, sendAt bigint, expiresAt bigint,
                    status text NOT NULL, audienceSize bigint, leaseUntil bigint, createdAt bigint NOT NULL, completedAt bigint)
                """,
                "CREATE INDEX notification_on_appID ON notification (appID)",
                "CREATE INDEX notification_on_status_sendAt ON notification (status, sendAt)",
                """
                CREATE TABLE inboxItem (position bigserial PRIMARY KEY, id text NOT NULL UNIQUE, appID text NOT NULL, userID text NOT NULL,
                    notificationID text NOT NULL REFERENCES notification ON DELETE CASCADE, category text NOT NULL, sealed bytea,
                    sealedInput bytea, createdAt bigint NOT NULL, releasedAt bigint, expiresAt bigint, deliveredAt bigint, readAt bigint,
                    archivedAt bigint, actionID text, actedAt bigint, UNIQUE (notificationID, userID))
                """,
                "CREATE INDEX inboxItem_on_owner_order ON inboxItem (appID, userID, createdAt, position)",
                "CREATE INDEX inboxItem_unreleased ON inboxItem (createdAt) WHERE releasedAt IS NULL",
                "CREATE INDEX inboxItem_on_appID_createdAt ON inboxItem (appID, createdAt)",
                """
                CREATE TABLE outbox (id bigserial PRIMARY KEY, appID text NOT NULL, kind text NOT NULL, userID text, subjectID text, payload text,
                    availableAt bigint NOT NULL, attempts bigint NOT NULL DEFAULT 0, lastError text, createdAt bigint NOT NULL)
                """,
                "CREATE INDEX outbox_on_kind_availableAt ON outbox (kind, availableAt)",
                "CREATE INDEX outbox_on_subjectID ON outbox (subjectID)",
                """
                CREATE TABLE device (id text PRIMARY KEY, appID text NOT NULL REFERENCES app ON DELETE CASCADE, userID text NOT NULL,
                    platform text NOT NULL, token text NOT NULL, subscription text, stepUpKey text, createdAt bigint NOT NULL,
                    updatedAt bigint NOT NULL, UNIQUE (appID, platform, token))
                """,
                "CREATE INDEX device_on_appID_userID ON device (appID, userID)",
                """
                CREATE TABLE actionChallenge (challenge text PRIMARY KEY, appID text NOT NULL, userID text NOT NULL, itemID text NOT NULL,
                    actionID text NOT NULL, expiresAt bigint NOT NULL, usedAt bigint)
                """,
                "CREATE INDEX actionChallenge_on_expiresAt ON actionChallenge (expiresAt)",
                """
                CREATE TABLE webhook (appID text PRIMARY KEY REFERENCES app ON DELETE CASCADE, url text NOT NULL, events text NOT NULL,
                    sealedSecret bytea NOT NULL, createdAt bigint NOT NULL)
                """,
                """
                CREATE TABLE webhookDelivery (id bigserial PRIMARY KEY, appID text NOT NULL, messageID text NOT NULL, event text NOT NULL,
                    attempt bigint NOT NULL, url text NOT NULL, statusCode bigint, error text, durationMilliseconds bigint NOT NULL,
                    at bigint NOT NULL, outcome text NOT NULL)
                """,
                "CREATE INDEX webhookDelivery_on_appID_id ON webhookDelivery (appID, id)",
                """
                CREATE TABLE pushCredential (appID text NOT NULL REFERENCES app ON DELETE CASCADE, provider text NOT NULL, sealed bytea NOT NULL,
                    updatedAt bigint NOT NULL, PRIMARY KEY (appID, provider))
                """,
                """
                CREATE TABLE pushDelivery (id bigserial PRIMARY KEY, appID text NOT NULL, userID text NOT NULL, deviceID text NOT NULL,
                    platform text NOT NULL, subject text NOT NULL, subjectID text NOT NULL, attempt bigint NOT NULL, outcome text NOT NULL,
                    statusCode bigint, reason text, at bigint NOT NULL)
                """,
                "CREATE INDEX pushDelivery_on_appID_userID_id ON pushDelivery (appID, userID, id)",
                "CREATE INDEX pushDelivery_on_appID_id ON pushDelivery (appID, id)",
                """
                CREATE TABLE auditEvent (id bigserial PRIMARY KEY, chain text NOT NULL, seq bigint NOT NULL, at bigint NOT NULL, actor text NOT NULL,
                    action text NOT NULL, target text NOT NULL, prevHash bytea NOT NULL, hash bytea NOT NULL, UNIQUE (chain, seq))
                """,
            ]),
        Migration(
            name: "seal outbox payloads in a column of their own",
            statements: [
                // SQLite keeps a sealed payload as a blob in `payload`; PostgreSQL's columns have one type.
                "ALTER TABLE outbox ADD COLUMN sealedPayload bytea",
                "CREATE INDEX notification_due ON notification (createdAt) WHERE status IN ('scheduled', 'sending')",
            ]),
        Migration(
            name: "key idempotency fingerprints and record their customer",
            statements: [
                // Rows written before held the request itself: they wait in a table of their own until a
                // node, which has the keys, replaces each by its keyed hash (`PostgresStore.upgradeIdempotencyKeys`).
                "CREATE TABLE idempotencyKeyLegacy AS SELECT * FROM idempotencyKey",
                "DELETE FROM idempotencyKey",
                "ALTER TABLE idempotencyKey ADD COLUMN userID text",
                "CREATE INDEX idempotencyKey_on_appID_userID ON idempotencyKey (appID, userID)",
            ]),
        Migration(
            name: "give step-up keys a state, pending until the business activates them",
            statements: [
                "ALTER TABLE device ADD COLUMN stepUpState text, ADD COLUMN stepUpActivatedAt bigint, ADD COLUMN stepUpTag bytea",
                // Keys registered before could have come from any holder of a user token: none is trusted.
                "UPDATE device SET stepUpState = 'pending' WHERE stepUpKey IS NOT NULL",
            ]),
        Migration(
            name: "create user token epochs",
            statements: ["CREATE TABLE userTokenEpoch (appID text NOT NULL, userID text NOT NULL, epoch text NOT NULL, PRIMARY KEY (appID, userID))"]),
        Migration(name: "seal channel names", statements: ["ALTER TABLE channel ADD COLUMN sealedName bytea"]),
        Migration(
            name: "store shared notification content once",
            statements: [
                """
                CREATE TABLE notificationContent (notificationID text NOT NULL REFERENCES notification ON DELETE CASCADE, locale text NOT NULL,
                    appID text NOT NULL, sealed bytea NOT NULL, PRIMARY KEY (notificationID, locale))
                """,
                "CREATE INDEX notificationContent_on_appID ON notificationContent (appID)",
                "ALTER TABLE inboxItem ADD COLUMN locale text, ADD COLUMN binding bytea, ADD COLUMN signature bytea, ADD COLUMN signedBy text",
                "ALTER TABLE notification ADD COLUMN fanOutAfter bytea, ADD COLUMN fanOutSeen bigint",
                // A fan-out pages through the audience in byte order (as SQLite does), whatever the database's collation.
                "CREATE INDEX user_on_appID_id_bytes ON \"user\" (appID, id COLLATE \"C\")",
            ]),
        Migration(
            name: "create journeys, customer events and journey runs",
            statements: [
                """
                CREATE TABLE journey (appID text NOT NULL, key text NOT NULL, version bigint NOT NULL, definition text NOT NULL, createdAt bigint NOT NULL,
                    PRIMARY KEY (appID, key, version))
                """,
                """
                CREATE TABLE customerEvent (id text PRIMARY KEY, appID text NOT NULL, userID text NOT NULL, name text NOT NULL, sealed bytea NOT NULL,
                    recordedAt bigint NOT NULL)
                """,
                "CREATE INDEX customerEvent_on_appID_userID ON customerEvent (appID, userID)",
                "CREATE INDEX customerEvent_on_age ON customerEvent (appID, recordedAt)",
                """
                CREATE TABLE journeyRun (id text PRIMARY KEY, appID text NOT NULL, journeyKey text NOT NULL, version bigint NOT NULL, userID text NOT NULL,
                    status text NOT NULL, step bigint NOT NULL, dueAt bigint, deadline bigint, waitEvent text, waitNotification text,
                    sealedContext bytea, triggerEventID text, revision bigint NOT NULL, enteredAt bigint NOT NULL, endedAt bigint, failure text,
                    leaseUntil bigint, UNIQUE (appID, journeyKey, userID, triggerEventID))
                """,
                "CREATE INDEX journeyRun_due ON journeyRun (dueAt) WHERE dueAt IS NOT NULL",
                "CREATE INDEX journeyRun_on_owner ON journeyRun (appID, userID, journeyKey, enteredAt)",
                "CREATE INDEX journeyRun_on_journey ON journeyRun (appID, journeyKey, status)",
                "CREATE INDEX journeyRun_on_waitNotification ON journeyRun (waitNotification) WHERE waitNotification IS NOT NULL",
                "CREATE INDEX journeyRun_on_age ON journeyRun (appID, endedAt) WHERE sealedContext IS NOT NULL AND endedAt IS NOT NULL",
                """
                CREATE TABLE journeyStep (runID text NOT NULL, step text NOT NULL, appID text NOT NULL, journeyKey text NOT NULL, outcome text NOT NULL,
                    notificationID text, at bigint NOT NULL, PRIMARY KEY (runID, step))
                """,
                "CREATE INDEX journeyStep_on_journey ON journeyStep (appID, journeyKey)",
                """
                CREATE TABLE fallbackDelivery (id bigserial PRIMARY KEY, appID text NOT NULL, userID text NOT NULL, itemID text NOT NULL, channel text NOT NULL,
                    attempt bigint NOT NULL, outcome text NOT NULL, statusCode bigint, reason text, at bigint NOT NULL)
                """,
                "CREATE INDEX fallbackDelivery_on_appID ON fallbackDelivery (appID, id)",
                "CREATE INDEX fallbackDelivery_on_appID_userID ON fallbackDelivery (appID, userID)",
                """
                CREATE TABLE fallbackClaim (appID text NOT NULL, itemID text NOT NULL, channel text NOT NULL, userID text NOT NULL, outboxID bigint NOT NULL,
                    PRIMARY KEY (appID, itemID, channel))
                """,
                "CREATE INDEX fallbackClaim_on_appID_userID ON fallbackClaim (appID, userID)",
                // As on SQLite: a run waiting on an item is due at once when the item changes, and its
                // revision moves, so a worker that decided on the item as it was cannot write over the wake.
                """
                CREATE FUNCTION herald_wake_journeys() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE journeyRun SET dueAt = 0, leaseUntil = NULL, revision = revision + 1
                    WHERE waitNotification = NEW.notificationID AND userID = NEW.userID AND appID = NEW.appID AND status = 'waiting';
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER inboxItem_wakes_journeys AFTER UPDATE OF deliveredAt, readAt, actedAt ON inboxItem FOR EACH ROW
                WHEN (OLD.deliveredAt IS DISTINCT FROM NEW.deliveredAt OR OLD.readAt IS DISTINCT FROM NEW.readAt OR OLD.actedAt IS DISTINCT FROM NEW.actedAt)
                EXECUTE FUNCTION herald_wake_journeys()
                """,
                // As on SQLite: item events for apps with a journey that names one, as outbox rows written
                // in the transaction that changed (or wrote, for an expiry) the item.
                "CREATE TABLE journeyItemEvents (appID text NOT NULL, state text NOT NULL, PRIMARY KEY (appID, state))",
                """
                CREATE TABLE journeyDigest (id text PRIMARY KEY, appID text NOT NULL, userID text NOT NULL, template text NOT NULL, category text NOT NULL,
                    journeyKey text NOT NULL, status text NOT NULL, windowEnd bigint NOT NULL, notificationID text, createdAt bigint NOT NULL)
                """,
                "CREATE UNIQUE INDEX journeyDigest_open ON journeyDigest (appID, userID, template) WHERE status = 'open'",
                "CREATE INDEX journeyDigest_on_appID_userID ON journeyDigest (appID, userID)",
                "CREATE INDEX journeyDigest_on_age ON journeyDigest (appID, createdAt) WHERE status IN ('sent', 'failed')",
                """
                CREATE TABLE journeyDigestEntry (position bigserial PRIMARY KEY, digestID text NOT NULL, runID text NOT NULL, step text NOT NULL,
                    appID text NOT NULL, userID text NOT NULL, sealed bytea NOT NULL, at bigint NOT NULL, UNIQUE (digestID, runID, step))
                """,
                "CREATE INDEX journeyDigestEntry_on_appID_userID ON journeyDigestEntry (appID, userID)",
                "ALTER TABLE notification ADD COLUMN journeyKey text",
                """
                CREATE FUNCTION herald_record_item_events() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    wanted text[];
                BEGIN
                    SELECT array_agg(state) INTO wanted FROM journeyItemEvents WHERE appID = NEW.appID;
                    IF wanted IS NULL THEN RETURN NULL; END IF;
                    IF TG_OP = 'INSERT' THEN
                        IF NEW.expiresAt IS NOT NULL AND 'expired' = ANY(wanted) THEN
                            INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                            VALUES (NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'expired', NEW.expiresAt, NEW.createdAt);
                        END IF;
                        RETURN NULL;
                    END IF;
                    IF OLD.deliveredAt IS NULL AND NEW.deliveredAt IS NOT NULL AND 'delivered' = ANY(wanted) THEN
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        VALUES (NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'delivered', NEW.deliveredAt, NEW.deliveredAt);
                    END IF;
                    IF OLD.readAt IS NULL AND NEW.readAt IS NOT NULL AND 'read' = ANY(wanted) THEN
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        VALUES (NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'read', NEW.readAt, NEW.readAt);
                    END IF;
                    IF OLD.actedAt IS NULL AND NEW.actedAt IS NOT NULL AND 'acted' = ANY(wanted) THEN
                        INSERT INTO outbox (appID, kind, userID, subjectID, payload, availableAt, createdAt)
                        VALUES (NEW.appID, '\(OutboxKind.itemEvent.rawValue)', NEW.userID, NEW.id, 'acted', NEW.actedAt, NEW.actedAt);
                    END IF;
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER inboxItem_records_item_events AFTER UPDATE OF deliveredAt, readAt, actedAt ON inboxItem FOR EACH ROW
                WHEN (OLD.deliveredAt IS DISTINCT FROM NEW.deliveredAt OR OLD.readAt IS DISTINCT FROM NEW.readAt OR OLD.actedAt IS DISTINCT FROM NEW.actedAt)
                EXECUTE FUNCTION herald_record_item_events()
                """,
                """
                CREATE TRIGGER inboxItem_records_expiry AFTER INSERT ON inboxItem FOR EACH ROW WHEN (NEW.expiresAt IS NOT NULL)
                EXECUTE FUNCTION herald_record_item_events()
                """,
            ]),
    ]

    /// The key database (`PostgresKeyRing`), apart from the content it protects.
    static let keys: [Migration] = [
        Migration(
            name: "create key tables",
            statements: [
                "CREATE TABLE meta (name text PRIMARY KEY, value bytea NOT NULL)",
                "CREATE TABLE appKey (appID text PRIMARY KEY, wrapped bytea NOT NULL, createdAt bigint NOT NULL)",
                "CREATE TABLE dataKey (appID text NOT NULL, owner text NOT NULL, wrapped bytea NOT NULL, createdAt bigint NOT NULL, PRIMARY KEY (appID, owner))",
            ]),
    ]
}
