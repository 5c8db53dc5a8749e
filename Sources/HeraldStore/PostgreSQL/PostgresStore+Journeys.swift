public import Foundation
public import HeraldCore
import PostgresNIO

extension PostgresStore {
    public func putJourney(_ key: JourneyKey, document: Data, in app: AppID) async throws -> Journey {
        let time = nowMilliseconds()
        let text = String(decoding: document, as: UTF8.self)
        return try await database.transaction { connection in
            // The next version is numbered under the app's lock, so two nodes cannot number the same one.
            try await Self.lockApp(app, on: connection)
            let latest = try await connection.value("SELECT COALESCE(MAX(version), 0) FROM journey WHERE appID = \(app) AND key = \(key)", as: Int.self) ?? 0
            let record = JourneyRecord(appID: app, key: key, version: latest + 1, definition: text, createdAt: time)
            try await connection.execute(
                """
                INSERT INTO journey (appID, key, version, definition, createdAt)
                VALUES (\(record.appID), \(record.key), \(record.version), \(record.definition), \(record.createdAt))
                """)
            for state in JourneyRules.itemEventStates(named: text) {
                try await connection.execute("INSERT INTO journeyItemEvents (appID, state) VALUES (\(app), \(state)) ON CONFLICT DO NOTHING")
            }
            return try record.journey()
        }
    }

    public func journey(sent notification: NotificationID, in app: AppID) async throws -> JourneyKey? {
        try await database.values(
            "SELECT journeyKey FROM notification WHERE id = \(notification) AND appID = \(app)", as: Optional<JourneyKey>.self
        ).first ?? nil
    }

    public func journey(_ key: JourneyKey, version: Int?, in app: AppID) async throws -> Journey? {
        let version = version.map(Int64.init)
        return try await database.rows(
            """
            SELECT \(unescaped: JourneyRecord.postgresColumns) FROM journey WHERE appID = \(app) AND key = \(key)
            AND (\(version)::bigint IS NULL OR version = \(version)) ORDER BY version DESC LIMIT 1
            """
        ).first.map(JourneyRecord.init(postgres:))?.journey()
    }

    public func journeys(in app: AppID) async throws -> [Journey] {
        try await database.rows(
            """
            SELECT DISTINCT ON (key COLLATE "C") \(unescaped: JourneyRecord.postgresColumns) FROM journey WHERE appID = \(app)
            ORDER BY key COLLATE "C", version DESC
            """
        ).map { try JourneyRecord(postgres: $0).journey() }
    }

    public func recordEvent(_ event: CustomerEvent, app: AppID, idempotency: IdempotencyKey?) async throws -> (event: CustomerEvent, isReplay: Bool) {
        guard let key = try await keys.key(.user(event.user), in: app) else { throw JourneyRules.unknownUser(event.user) }
        let appKey = try await keys.existingOrNewKey(.app, in: app)
        let record = try CustomerEventRecord(event, app: app, key: key)
        let outbox = try await sealedOutboxRows([JourneyRules.outboxEntry(for: event)], app: app)
        let time = nowMilliseconds()
        return try await database.transaction { connection in
            // Held until the commit: an erasure waits for this event (and then deletes it), or comes first
            // and the event finds no customer.
            guard try await connection.value("SELECT 1 FROM \"user\" WHERE appID = \(app) AND id = \(event.user) FOR KEY SHARE", as: Int.self) != nil else {
                throw JourneyRules.unknownUser(event.user)
            }
            if let idempotency {
                // Claimed first: the same key through another node waits for that node's commit, then replays.
                let fingerprint = idempotency.fingerprint(appKey: appKey)
                while true {
                    let claimed = try await connection.rows(
                        """
                        INSERT INTO idempotencyKey (appID, scope, key, fingerprint, resultID, createdAt, userID)
                        VALUES (\(app), \(idempotency.scope), \(idempotency.key), \(fingerprint), \(record.id), \(time), \(idempotency.user))
                        ON CONFLICT DO NOTHING RETURNING 1
                        """)
                    if !claimed.isEmpty { break }
                    guard
                        let (stored, resultID) = try await connection.rows(
                            "SELECT fingerprint, resultID FROM idempotencyKey WHERE appID = \(app) AND scope = \(idempotency.scope) AND key = \(idempotency.key)"
                        ).first?.decode((Data, String).self)
                    else { continue }
                    if idempotency.requiresSameRequest, !idempotency.matches(stored, appKey: appKey) { throw IdempotencyKey.conflict }
                    if let first = try await connection.rows(
                        "SELECT \(unescaped: CustomerEventRecord.postgresColumns) FROM customerEvent WHERE id = \(resultID) AND appID = \(app)"
                    ).first.map(CustomerEventRecord.init(postgres:)), let opened = try first.event(key: try await keys.key(.user(first.userID), in: app)) {
                        return (opened, true)
                    }
                    try await connection.execute(
                        """
                        UPDATE idempotencyKey SET resultID = \(record.id), fingerprint = \(fingerprint), createdAt = \(time), userID = \(idempotency.user)
                        WHERE appID = \(app) AND scope = \(idempotency.scope) AND key = \(idempotency.key)
                        """)
                    break
                }
            }
            try await connection.execute(
                """
                INSERT INTO customerEvent (id, appID, userID, name, sealed, recordedAt)
                VALUES (\(record.id), \(record.appID), \(record.userID), \(record.name), \(record.sealed), \(record.recordedAt))
                """)
            try await Self.insertOutbox(outbox, app: app, now: time, on: connection)
            return (event, false)
        }
    }

    public func customerEvent(_ id: EventID, in app: AppID) async throws -> CustomerEvent? {
        guard
            let record = try await database.rows(
                "SELECT \(unescaped: CustomerEventRecord.postgresColumns) FROM customerEvent WHERE id = \(id) AND appID = \(app)"
            ).first.map(CustomerEventRecord.init(postgres:))
        else { return nil }
        return try record.event(key: try await keys.key(.user(record.userID), in: app))
    }

    public func startJourneyRun(_ run: JourneyRun, entry: JourneyDefinition.Entry) async throws -> Bool {
        guard let key = try await keys.key(.user(run.user), in: run.app) else { return false }
        let record = try JourneyRunRecord(run, key: key)
        return try await database.transaction { connection in
            // The customer's row is the lock: two events of theirs processed on two nodes at once check
            // the entry rule one after the other.
            guard try await connection.value("SELECT 1 FROM \"user\" WHERE appID = \(run.app) AND id = \(run.user) FOR UPDATE", as: Int.self) != nil
            else { return false }
            guard
                let (lastEnteredAt, inside, sameTrigger) = try await connection.rows(
                    """
                    SELECT MAX(enteredAt), COUNT(*) FILTER (WHERE status IN \(unescaped: JourneyEntryRule.activeStatuses)),
                        COUNT(*) FILTER (WHERE triggerEventID = \(run.trigger))
                    FROM journeyRun WHERE appID = \(run.app) AND userID = \(run.user) AND journeyKey = \(run.journey)
                    """
                ).first?.decode((Int64?, Int64, Int64).self)
            else { return false }
            guard sameTrigger == 0, JourneyEntryRule.allows(entry, lastEnteredAt: lastEnteredAt, isInside: inside > 0, now: record.enteredAt) else {
                return false
            }
            try await connection.execute(
                """
                INSERT INTO journeyRun (\(unescaped: JourneyRunRecord.postgresColumns))
                VALUES (\(record.id), \(record.appID), \(record.journeyKey), \(record.version), \(record.userID), \(record.status), \(record.step),
                    \(record.dueAt), \(record.deadline), \(record.waitEvent), \(record.waitNotification), \(record.sealedContext), \(record.triggerEventID),
                    \(record.revision), \(record.enteredAt), \(record.endedAt), \(record.failure))
                """)
            return true
        }
    }

    public func journeyRuns(of user: UserID, in app: AppID) async throws -> [JourneyRun] {
        let records = try await database.rows(
            """
            SELECT \(unescaped: JourneyRunRecord.postgresColumns) FROM journeyRun
            WHERE appID = \(app) AND userID = \(user) AND status IN \(unescaped: JourneyEntryRule.activeStatuses) ORDER BY enteredAt, id
            """
        ).map(JourneyRunRecord.init(postgres:))
        return try await opened(records)
    }

    public func journeyRun(_ id: JourneyRunID, in app: AppID) async throws -> JourneyRun? {
        let records = try await database.rows(
            "SELECT \(unescaped: JourneyRunRecord.postgresColumns) FROM journeyRun WHERE id = \(id) AND appID = \(app)"
        ).map(JourneyRunRecord.init(postgres:))
        return try await opened(records).first
    }

    /// `SKIP LOCKED`: nodes claiming at once each take other runs; the lease keeps them apart until it runs out.
    public func claimDueJourneyRuns(now: Date, lease: TimeInterval, limit: Int) async throws -> [JourneyRun] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let leaseUntil = WireTime.milliseconds(now.addingTimeInterval(lease))
        let records = try await database.rows(
            """
            UPDATE journeyRun SET leaseUntil = \(leaseUntil) WHERE id IN (
                SELECT id FROM journeyRun WHERE dueAt IS NOT NULL AND dueAt <= \(nowMilliseconds)
                    AND (leaseUntil IS NULL OR leaseUntil <= \(nowMilliseconds))
                ORDER BY dueAt, id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: JourneyRunRecord.postgresColumns)
            """
        ).map(JourneyRunRecord.init(postgres:))
        return try await opened(records).sorted { ($0.dueAt ?? .distantPast, $0.id) < ($1.dueAt ?? .distantPast, $1.id) }
    }

    public func updateJourneyRun(_ run: JourneyRun, log: JourneyStepRecord?, effects: [OutboxEntry], digest: DigestEntry?) async throws -> Bool {
        guard let key = try await keys.key(.user(run.user), in: run.app) else { return false }
        let outbox = try await sealedOutboxRows(effects, app: run.app)
        var next = run
        next.revision += 1
        let record = try JourneyRunRecord(next, key: key)
        return try await JourneyRules.refusingMovedRuns {
            try await database.transaction { connection in
                if let log {
                    let inserted = try await connection.rows(
                        """
                        INSERT INTO journeyStep (runID, step, appID, journeyKey, outcome, notificationID, at)
                        VALUES (\(log.run), \(log.step), \(run.app), \(run.journey), \(log.outcome), \(log.notification), \(WireTime.milliseconds(log.at)))
                        ON CONFLICT (runID, step) DO NOTHING RETURNING 1
                        """)
                    guard !inserted.isEmpty else { return false }
                }
                let updated = try await connection.rows(
                    """
                    UPDATE journeyRun SET status = \(record.status), step = \(record.step), dueAt = \(record.dueAt), deadline = \(record.deadline),
                        waitEvent = \(record.waitEvent), waitNotification = \(record.waitNotification), sealedContext = \(record.sealedContext),
                        revision = \(record.revision), endedAt = \(record.endedAt), failure = \(record.failure), leaseUntil = NULL
                    WHERE id = \(record.id) AND revision = \(run.revision) RETURNING 1
                    """)
                // A move that did not happen takes its log line back with it.
                guard !updated.isEmpty else { throw JourneyRules.RunMoved() }
                let time = WireTime.milliseconds(log?.at ?? Date())
                try await Self.insertOutbox(outbox, app: run.app, now: time, on: connection)
                if let digest { try await Self.add(digest, for: run, at: time, key: key, on: connection) }
                return true
            }
        }
    }

    /// Adds the entry to the customer's open digest of its template, opening one (and its outbox row) if
    /// there is none. The open digest is held (`FOR SHARE`) until the commit, so a worker closing it waits
    /// for the entry, and then sends it with the rest; a digest closed first is not matched, and the
    /// entry opens the next one.
    private static func add(_ entry: DigestEntry, for run: JourneyRun, at time: Int64, key: DataKey, on connection: PostgresConnection) async throws {
        func open() async throws -> JourneyDigestID? {
            try await connection.values(
                """
                SELECT id FROM journeyDigest WHERE appID = \(run.app) AND userID = \(run.user) AND template = \(entry.template)
                    AND status = \(JourneyRules.openDigest) FOR SHARE
                """, as: JourneyDigestID.self
            ).first
        }
        var id = try await open()
        if id == nil {
            let new = JourneyDigestID.generate(at: WireTime.date(milliseconds: time))
            let windowEnd = JourneyRules.windowEnd(from: time, entry)
            let inserted = try await connection.rows(
                """
                INSERT INTO journeyDigest (id, appID, userID, template, category, journeyKey, status, windowEnd, createdAt)
                VALUES (\(new), \(run.app), \(run.user), \(entry.template), \(entry.category.rawValue), \(run.journey), \(JourneyRules.openDigest),
                    \(windowEnd), \(time))
                ON CONFLICT DO NOTHING RETURNING 1
                """)
            if inserted.isEmpty {
                // Another transaction opened one meanwhile: join it.
                id = try await open()
            } else {
                let outbox = JourneyRules.digestOutbox(new, user: run.user, windowEnd: windowEnd)
                try await insertOutbox([OutboxRow(entry: outbox, sealed: nil)], app: run.app, now: time, on: connection)
                id = new
            }
        }
        guard let id else { throw JourneyRules.RunMoved() }
        let sealed = try JourneyRules.sealDigestEntry(entry, digest: id, run: run, key: key)
        try await connection.execute(
            """
            INSERT INTO journeyDigestEntry (digestID, runID, step, appID, userID, sealed, at)
            VALUES (\(id), \(run.id), \(entry.step), \(run.app), \(run.user), \(sealed), \(time)) ON CONFLICT DO NOTHING
            """)
    }

    public func closeDigest(_ id: JourneyDigestID, in app: AppID) async throws -> ClosedDigest? {
        let found = try await database.transaction { connection -> JourneyRules.StoredDigest? in
            // The update waits for steps holding the open digest, whose entries are then read below.
            guard
                let (user, template, category, journey, status) = try await connection.rows(
                    """
                    UPDATE journeyDigest SET status = CASE WHEN status = \(JourneyRules.openDigest) THEN 'closed' ELSE status END
                    WHERE id = \(id) AND appID = \(app) RETURNING userID, template, category, journeyKey, status
                    """
                ).first?.decode((UserID, TemplateKey, String, JourneyKey, String).self)
            else { return nil }
            let count = try await connection.value("SELECT COUNT(*) FROM journeyDigestEntry WHERE digestID = \(id)", as: Int.self) ?? 0
            let entries = try await connection.rows(
                "SELECT runID, step, sealed FROM journeyDigestEntry WHERE digestID = \(id) \(unescaped: JourneyRules.digestEntriesSQL)"
            ).map { row in
                let (run, step, sealed) = try row.decode((JourneyRunID, String, Data).self)
                return (run: run, step: step, sealed: sealed)
            }
            return JourneyRules.StoredDigest(user: user, template: template, category: category, journey: journey, status: status, count: count, entries: entries)
        }
        guard let found, let key = try await keys.key(.user(found.user), in: app) else { return nil }
        return try found.opened(id, app: app, key: key)
    }

    public func finishDigest(_ id: JourneyDigestID, notification: NotificationID?, in app: AppID) async throws {
        try await database.transaction { connection in
            try await connection.execute(
                """
                UPDATE journeyDigest SET status = \(notification == nil ? "failed" : "sent"), notificationID = \(notification)
                WHERE id = \(id) AND appID = \(app)
                """)
            try await connection.execute("DELETE FROM journeyDigestEntry WHERE digestID = \(id) AND appID = \(app)")
        }
    }

    public func journeyItemState(of notification: NotificationID, user: UserID, in app: AppID) async throws -> JourneyItemState? {
        guard
            let (item, deliveredAt, readAt, actedAt, action) = try await database.rows(
                """
                SELECT id, deliveredAt, readAt, actedAt, actionID FROM inboxItem
                WHERE notificationID = \(notification) AND userID = \(user) AND appID = \(app)
                """
            ).first?.decode((InboxItemID, Int64?, Int64?, Int64?, String?).self)
        else { return nil }
        return JourneyItemState.of(item: item, deliveredAt: deliveredAt, readAt: readAt, actedAt: actedAt, action: action)
    }

    public func journeyReport(_ key: JourneyKey, in app: AppID) async throws -> JourneyReport {
        let statuses = try await database.rows(
            "SELECT status, COUNT(*) FROM journeyRun WHERE appID = \(app) AND journeyKey = \(key) GROUP BY status"
        ).map { row in
            let (status, runs) = try row.decode((String, Int64).self)
            return (status, Int(runs))
        }
        let steps = try await database.rows(
            """
            SELECT s.step, s.outcome, COUNT(*), COUNT(i.deliveredAt), COUNT(i.readAt), COUNT(i.actedAt)
            FROM journeyStep s JOIN journeyRun r ON r.id = s.runID
            LEFT JOIN inboxItem i ON i.notificationID = s.notificationID AND i.userID = r.userID
            WHERE s.appID = \(app) AND s.journeyKey = \(key) GROUP BY s.step, s.outcome
            """
        ).map { row in
            let (step, outcome, runs, delivered, read, acted) = try row.decode((String, String, Int64, Int64, Int64, Int64).self)
            return JourneyRules.StepCount(step: step, outcome: outcome, runs: Int(runs), delivered: Int(delivered), read: Int(read), acted: Int(acted))
        }
        return JourneyRules.report(key, statuses: statuses, steps: steps)
    }

    /// Not for a customer erased meanwhile (the customer's row is held while the line is written).
    public func recordFallbackDelivery(_ delivery: FallbackDelivery, app: AppID) async throws {
        try await database.execute(
            """
            INSERT INTO fallbackDelivery (appID, userID, itemID, channel, attempt, outcome, statusCode, reason, at)
            SELECT \(app), \(delivery.user), \(delivery.item), \(delivery.channel.rawValue), \(Int64(delivery.attempt)), \(delivery.outcome.rawValue),
                \(delivery.statusCode.map(Int64.init)), \(delivery.reason), \(WireTime.milliseconds(delivery.at))
            WHERE EXISTS (SELECT 1 FROM "user" WHERE appID = \(app) AND id = \(delivery.user) FOR KEY SHARE)
            """)
    }

    public func claimFallback(for item: InboxItemID, of user: UserID, channel: JourneyDefinition.FallbackChannel, job: Int64, in app: AppID) async throws -> Bool {
        try await database.transaction { connection in
            try await connection.execute(
                """
                INSERT INTO fallbackClaim (appID, itemID, channel, userID, outboxID) VALUES (\(app), \(item), \(channel.rawValue), \(user), \(job))
                ON CONFLICT DO NOTHING
                """)
            return try await connection.value(
                "SELECT outboxID FROM fallbackClaim WHERE appID = \(app) AND itemID = \(item) AND channel = \(channel.rawValue)", as: Int64.self) == job
        }
    }

    public func fallbackDeliveries(of app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: FallbackDelivery)] {
        try await database.rows(
            """
            SELECT id, userID, itemID, channel, attempt, outcome, statusCode, reason, at FROM fallbackDelivery
            WHERE appID = \(app) AND (\(before)::bigint IS NULL OR id < \(before)) ORDER BY id DESC LIMIT \(Int64(limit))
            """
        ).map { row in
            let (id, user, item, channel, attempt, outcome, statusCode, reason, at) = try row.decode(
                (Int64, UserID, InboxItemID, String, Int64, String, Int64?, String?, Int64).self)
            return (id, try JourneyRules.fallbackDelivery(
                user: user, item: item, channel: channel, attempt: Int(attempt), outcome: outcome, statusCode: statusCode.map(Int.init), reason: reason, at: at))
        }
    }

    public func journeyActivity(of user: UserID, in app: AppID) async throws -> UserExport.JourneyActivity {
        let key = try await keys.key(.user(user), in: app)
        let events = try await database.rows(
            "SELECT \(unescaped: CustomerEventRecord.postgresColumns) FROM customerEvent WHERE appID = \(app) AND userID = \(user) ORDER BY id"
        ).compactMap { try CustomerEventRecord(postgres: $0).event(key: key) }
        let runs = try await database.rows(
            "SELECT \(unescaped: JourneyRunRecord.postgresColumns) FROM journeyRun WHERE appID = \(app) AND userID = \(user) ORDER BY enteredAt, id"
        ).map { JourneyRules.exportEntry(try JourneyRunRecord(postgres: $0)) }
        let deliveries = try await database.rows(
            """
            SELECT id, userID, itemID, channel, attempt, outcome, statusCode, reason, at FROM fallbackDelivery
            WHERE appID = \(app) AND userID = \(user) ORDER BY id
            """
        ).map { row in
            let (_, user, item, channel, attempt, outcome, statusCode, reason, at) = try row.decode(
                (Int64, UserID, InboxItemID, String, Int64, String, Int64?, String?, Int64).self)
            return try JourneyRules.fallbackDelivery(
                user: user, item: item, channel: channel, attempt: Int(attempt), outcome: outcome, statusCode: statusCode.map(Int.init), reason: reason, at: at)
        }
        var binds = PostgresBindings()
        binds.append(app.rawValue)
        binds.append(user.rawValue)
        let digestEntries = try await database.rows(
            PostgresQuery(unsafeSQL: JourneyRules.pendingDigestEntriesSQL(app: "$1", user: "$2"), binds: binds)
        ).compactMap { row -> UserExport.DigestEntry? in
            guard let key else { return nil }
            let (digest, run, step, sealed, at, template) = try row.decode((JourneyDigestID, JourneyRunID, String, Data, Int64, TemplateKey).self)
            return try JourneyRules.exportDigestEntry(digest: digest, run: run, step: step, sealed: sealed, at: at, template: template, app: app, key: key)
        }
        return UserExport.JourneyActivity(events: events, journeys: runs, fallbackDeliveries: deliveries, digestEntries: digestEntries)
    }

    public func itemCount(of user: UserID, in app: AppID, category: NotificationCategory, since: Date) async throws -> Int {
        Int(
            try await database.value(
                "SELECT COUNT(*) FROM inboxItem WHERE appID = \(app) AND userID = \(user) AND createdAt >= \(WireTime.milliseconds(since)) AND category = \(category)",
                as: Int64.self) ?? 0)
    }

    public func readTimes(of user: UserID, in app: AppID, since: Date, limit: Int) async throws -> [Date] {
        try await database.values(
            """
            SELECT DISTINCT readAt FROM inboxItem WHERE appID = \(app) AND userID = \(user) AND readAt >= \(WireTime.milliseconds(since))
            ORDER BY readAt DESC LIMIT \(Int64(limit))
            """, as: Int64.self
        ).map { WireTime.date(milliseconds: $0) }
    }

    /// The runs whose customer still has a key (an erasure in progress leaves none to open).
    private func opened(_ records: [JourneyRunRecord]) async throws -> [JourneyRun] {
        var runs: [JourneyRun] = []
        for record in records {
            if let run = try record.run(key: try await keys.key(.user(record.userID), in: record.appID)) { runs.append(run) }
        }
        return runs
    }
}
