public import Foundation
import GRDB
public import HeraldCore

extension SQLiteStore {
    public func putJourney(_ key: JourneyKey, document: Data, in app: AppID) async throws -> Journey {
        let time = nowMilliseconds()
        let text = String(decoding: document, as: UTF8.self)
        return try await pool.write { db in
            let latest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM journey WHERE appID = ? AND key = ?", arguments: [app, key]) ?? 0
            let record = JourneyRecord(appID: app, key: key, version: latest + 1, definition: text, createdAt: time)
            try record.insert(db)
            for state in JourneyRules.itemEventStates(named: text) {
                try db.execute(sql: "INSERT OR IGNORE INTO journeyItemEvents (appID, state) VALUES (?, ?)", arguments: [app, state])
            }
            return try record.journey()
        }
    }

    public func journey(sent notification: NotificationID, in app: AppID) async throws -> JourneyKey? {
        try await pool.read { db in
            try JourneyKey.fetchOne(db, sql: "SELECT journeyKey FROM notification WHERE id = ? AND appID = ?", arguments: [notification, app])
        }
    }

    public func journey(_ key: JourneyKey, version: Int?, in app: AppID) async throws -> Journey? {
        try await pool.read { db in
            try JourneyRecord.fetchOne(
                db, sql: "SELECT * FROM journey WHERE appID = ? AND key = ? AND (? IS NULL OR version = ?) ORDER BY version DESC LIMIT 1",
                arguments: [app, key, version, version])
        }?.journey()
    }

    public func journeys(in app: AppID) async throws -> [Journey] {
        try await pool.read { db in
            try JourneyRecord.fetchAll(
                db,
                sql: """
                    SELECT j.* FROM journey j
                    WHERE j.appID = ? AND j.version = (SELECT MAX(version) FROM journey WHERE appID = j.appID AND key = j.key)
                    ORDER BY j.key
                    """, arguments: [app])
        }.map { try $0.journey() }
    }

    public func recordEvent(_ event: CustomerEvent, app: AppID, idempotency: IdempotencyKey?) async throws -> (event: CustomerEvent, isReplay: Bool) {
        guard let key = try keys.key(.user(event.user), in: app) else { throw JourneyRules.unknownUser(event.user) }
        let appKey = try await keys.existingOrNewKey(.app, in: app)
        let record = try CustomerEventRecord(event, app: app, key: key)
        let time = nowMilliseconds()
        let keys = keys
        return try await pool.write { db in
            guard try UserRecord.exists(db, key: ["appID": app.rawValue, "id": event.user.rawValue]) else { throw JourneyRules.unknownUser(event.user) }
            if let idempotency, let existing = try IdempotencyRecord.fetchOne(db, key: ["appID": app.rawValue, "scope": idempotency.scope, "key": idempotency.key.rawValue]) {
                if idempotency.requiresSameRequest, !idempotency.matches(existing.fingerprint, appKey: appKey) { throw IdempotencyKey.conflict }
                if let first = try CustomerEventRecord.fetchOne(db, key: existing.resultID), let opened = try first.event(key: try keys.key(.user(first.userID), in: app)) { return (opened, true) }
            }
            try record.insert(db)
            if let idempotency {
                try IdempotencyRecord(idempotency, app: app, appKey: appKey, resultID: record.id.rawValue, createdAt: time).save(db)
            }
            try Self.insert([JourneyRules.outboxEntry(for: event)], app: app, now: time, keys: keys, db: db)
            return (event, false)
        }
    }

    public func customerEvent(_ id: EventID, in app: AppID) async throws -> CustomerEvent? {
        let record = try await pool.read { db in
            try CustomerEventRecord.fetchOne(db, sql: "SELECT * FROM customerEvent WHERE id = ? AND appID = ?", arguments: [id, app])
        }
        guard let record else { return nil }
        return try record.event(key: try keys.key(.user(record.userID), in: app))
    }

    public func startJourneyRun(_ run: JourneyRun, entry: JourneyDefinition.Entry) async throws -> Bool {
        guard let key = try keys.key(.user(run.user), in: run.app) else { return false }
        let record = try JourneyRunRecord(run, key: key)
        let now = WireTime.milliseconds(run.enteredAt)
        return try await pool.write { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT MAX(enteredAt) AS lastEnteredAt, COUNT(CASE WHEN status IN \(JourneyEntryRule.activeStatuses) THEN 1 END) AS inside,
                        COUNT(CASE WHEN triggerEventID = ? THEN 1 END) AS sameTrigger
                    FROM journeyRun WHERE appID = ? AND userID = ? AND journeyKey = ?
                    """, arguments: [run.trigger, run.app, run.user, run.journey])
            let lastEnteredAt: Int64? = try row?.decode(forColumn: "lastEnteredAt")
            let inside: Int = try row?.decode(forColumn: "inside") ?? 0
            let sameTrigger: Int = try row?.decode(forColumn: "sameTrigger") ?? 0
            guard sameTrigger == 0, JourneyEntryRule.allows(entry, lastEnteredAt: lastEnteredAt, isInside: inside > 0, now: now) else { return false }
            try record.insert(db)
            return true
        }
    }

    public func journeyRuns(of user: UserID, in app: AppID) async throws -> [JourneyRun] {
        let records = try await pool.read { db in
            try JourneyRunRecord.fetchAll(
                db, sql: "SELECT * FROM journeyRun WHERE appID = ? AND userID = ? AND status IN \(JourneyEntryRule.activeStatuses) ORDER BY enteredAt, id",
                arguments: [app, user])
        }
        return try opened(records)
    }

    public func journeyRun(_ id: JourneyRunID, in app: AppID) async throws -> JourneyRun? {
        let records = try await pool.read { db in
            try JourneyRunRecord.fetchAll(db, sql: "SELECT * FROM journeyRun WHERE id = ? AND appID = ?", arguments: [id, app])
        }
        return try opened(records).first
    }

    /// The runs whose customer still has a key (an erasure in progress leaves none to open).
    private func opened(_ records: [JourneyRunRecord]) throws -> [JourneyRun] {
        var runs: [JourneyRun] = []
        for record in records {
            if let run = try record.run(key: try keys.key(.user(record.userID), in: record.appID)) { runs.append(run) }
        }
        return runs
    }

    public func claimDueJourneyRuns(now: Date, lease: TimeInterval, limit: Int) async throws -> [JourneyRun] {
        let nowMilliseconds = WireTime.milliseconds(now)
        let leaseUntil = WireTime.milliseconds(now.addingTimeInterval(lease))
        let records: [JourneyRunRecord] = try await pool.write { db in
            let records = try JourneyRunRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM journeyRun WHERE dueAt IS NOT NULL AND dueAt <= ? AND (leaseUntil IS NULL OR leaseUntil <= ?)
                    ORDER BY dueAt, id LIMIT ?
                    """, arguments: [nowMilliseconds, nowMilliseconds, limit])
            for record in records {
                try db.execute(sql: "UPDATE journeyRun SET leaseUntil = ? WHERE id = ?", arguments: [leaseUntil, record.id])
            }
            return records
        }
        return try opened(records)
    }

    public func updateJourneyRun(_ run: JourneyRun, log: JourneyStepRecord?, effects: [OutboxEntry], digest: DigestEntry?) async throws -> Bool {
        guard let key = try keys.key(.user(run.user), in: run.app) else { return false }
        var next = run
        next.revision += 1
        let record = try JourneyRunRecord(next, key: key)
        let (pool, keys) = (pool, keys)
        return try await JourneyRules.refusingMovedRuns { () async throws -> Bool in
            try await pool.write { (db: Database) throws -> Bool in
            if let log {
                let inserted = try Row.fetchOne(
                    db,
                    sql: """
                        INSERT INTO journeyStep (runID, step, appID, journeyKey, outcome, notificationID, at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (runID, step) DO NOTHING RETURNING 1
                        """, arguments: [log.run, log.step, run.app, run.journey, log.outcome, log.notification, WireTime.milliseconds(log.at)])
                guard inserted != nil else { return false }
            }
            try db.execute(
                sql: """
                    UPDATE journeyRun SET status = ?, step = ?, dueAt = ?, deadline = ?, waitEvent = ?, waitNotification = ?, sealedContext = ?,
                        revision = ?, endedAt = ?, failure = ?, leaseUntil = NULL
                    WHERE id = ? AND revision = ?
                    """,
                arguments: [
                    record.status, record.step, record.dueAt, record.deadline, record.waitEvent, record.waitNotification, record.sealedContext,
                    record.revision, record.endedAt, record.failure, record.id, run.revision,
                ])
            // A move that did not happen takes its log line back with it.
            guard db.changesCount == 1 else { throw JourneyRules.RunMoved() }
            let time = WireTime.milliseconds(log?.at ?? Date())
            try Self.insert(effects, app: run.app, now: time, keys: keys, db: db)
            if let digest { try Self.add(digest, for: run, at: time, key: key, keys: keys, db: db) }
            return true
            }
        }
    }

    /// Adds the entry to the customer's open digest of its template, opening one (and its outbox row) if
    /// there is none.
    private static func add(_ entry: DigestEntry, for run: JourneyRun, at time: Int64, key: DataKey, keys: KeyRing, db: Database) throws {
        let open = "SELECT id FROM journeyDigest WHERE appID = ? AND userID = ? AND template = ? AND status = '\(JourneyRules.openDigest)'"
        var id = try JourneyDigestID.fetchOne(db, sql: open, arguments: [run.app, run.user, entry.template])
        if id == nil {
            let new = JourneyDigestID.generate(at: WireTime.date(milliseconds: time))
            let windowEnd = JourneyRules.windowEnd(from: time, entry)
            try db.execute(
                sql: """
                    INSERT INTO journeyDigest (id, appID, userID, template, category, journeyKey, status, windowEnd, createdAt)
                    VALUES (?, ?, ?, ?, ?, ?, '\(JourneyRules.openDigest)', ?, ?)
                    """, arguments: [new, run.app, run.user, entry.template, entry.category, run.journey, windowEnd, time])
            try insert([JourneyRules.digestOutbox(new, user: run.user, windowEnd: windowEnd)], app: run.app, now: time, keys: keys, db: db)
            id = new
        }
        guard let id else { return }
        try db.execute(
            sql: "INSERT INTO journeyDigestEntry (digestID, runID, step, appID, userID, sealed, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [id, run.id, entry.step, run.app, run.user, try JourneyRules.sealDigestEntry(entry, digest: id, run: run, key: key), time])
    }

    public func closeDigest(_ id: JourneyDigestID, in app: AppID) async throws -> ClosedDigest? {
        // Closed and read in the writer; opened after it, so the writer is not held by the decryption.
        let found = try await pool.write { db -> JourneyRules.StoredDigest? in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT userID, template, category, journeyKey, status FROM journeyDigest WHERE id = ? AND appID = ?", arguments: [id, app])
            else { return nil }
            var status: String = try row.decode(forColumn: "status")
            if status == JourneyRules.openDigest {
                try db.execute(sql: "UPDATE journeyDigest SET status = 'closed' WHERE id = ?", arguments: [id])
                status = "closed"
            }
            let entries = try Row.fetchAll(
                db, sql: "SELECT runID, step, sealed FROM journeyDigestEntry WHERE digestID = ? \(JourneyRules.digestEntriesSQL)", arguments: [id]
            ).map { entry in
                (run: try entry.decode(JourneyRunID.self, forColumn: "runID"), step: try entry.decode(String.self, forColumn: "step"),
                 sealed: try entry.decode(Data.self, forColumn: "sealed"))
            }
            return JourneyRules.StoredDigest(
                user: try row.decode(forColumn: "userID"), template: try row.decode(forColumn: "template"), category: try row.decode(forColumn: "category"),
                journey: try row.decode(forColumn: "journeyKey"), status: status,
                count: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journeyDigestEntry WHERE digestID = ?", arguments: [id]) ?? 0, entries: entries)
        }
        guard let found, let key = try keys.key(.user(found.user), in: app) else { return nil }
        return try found.opened(id, app: app, key: key)
    }

    public func finishDigest(_ id: JourneyDigestID, notification: NotificationID?, in app: AppID) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE journeyDigest SET status = ?, notificationID = ? WHERE id = ? AND appID = ?",
                arguments: [notification == nil ? "failed" : "sent", notification, id, app])
            try db.execute(sql: "DELETE FROM journeyDigestEntry WHERE digestID = ? AND appID = ?", arguments: [id, app])
        }
    }

    public func journeyItemState(of notification: NotificationID, user: UserID, in app: AppID) async throws -> JourneyItemState? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT id, deliveredAt, readAt, actedAt, actionID FROM inboxItem WHERE notificationID = ? AND userID = ? AND appID = ?",
                    arguments: [notification, user, app])
            else { return nil }
            return JourneyItemState.of(
                item: try row.decode(forColumn: "id"), deliveredAt: try row.decode(forColumn: "deliveredAt"), readAt: try row.decode(forColumn: "readAt"),
                actedAt: try row.decode(forColumn: "actedAt"), action: try row.decode(forColumn: "actionID"))
        }
    }

    public func journeyReport(_ key: JourneyKey, in app: AppID) async throws -> JourneyReport {
        try await pool.read { db in
            let statuses = try Row.fetchAll(
                db, sql: "SELECT status, COUNT(*) AS runs FROM journeyRun WHERE appID = ? AND journeyKey = ? GROUP BY status", arguments: [app, key]
            ).map { (try $0.decode(String.self, forColumn: "status"), try $0.decode(Int.self, forColumn: "runs")) }
            let steps = try Row.fetchAll(
                db,
                sql: """
                    SELECT s.step, s.outcome, COUNT(*) AS runs, COUNT(i.deliveredAt) AS delivered, COUNT(i.readAt) AS read, COUNT(i.actedAt) AS acted
                    FROM journeyStep s JOIN journeyRun r ON r.id = s.runID
                    LEFT JOIN inboxItem i ON i.notificationID = s.notificationID AND i.userID = r.userID
                    WHERE s.appID = ? AND s.journeyKey = ? GROUP BY s.step, s.outcome
                    """, arguments: [app, key]
            ).map {
                JourneyRules.StepCount(
                    step: try $0.decode(forColumn: "step"), outcome: try $0.decode(forColumn: "outcome"), runs: try $0.decode(forColumn: "runs"),
                    delivered: try $0.decode(forColumn: "delivered"), read: try $0.decode(forColumn: "read"), acted: try $0.decode(forColumn: "acted"))
            }
            return JourneyRules.report(key, statuses: statuses, steps: steps)
        }
    }

    /// Not for a customer erased meanwhile: a send in flight during an erasure leaves no line of them.
    public func recordFallbackDelivery(_ delivery: FallbackDelivery, app: AppID) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO fallbackDelivery (appID, userID, itemID, channel, attempt, outcome, statusCode, reason, at)
                    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM user WHERE appID = ? AND id = ?)
                    """,
                arguments: [
                    app, delivery.user, delivery.item, delivery.channel.rawValue, delivery.attempt, delivery.outcome.rawValue, delivery.statusCode,
                    delivery.reason, WireTime.milliseconds(delivery.at), app, delivery.user,
                ])
        }
    }

    public func claimFallback(for item: InboxItemID, of user: UserID, channel: JourneyDefinition.FallbackChannel, job: Int64, in app: AppID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO fallbackClaim (appID, itemID, channel, userID, outboxID) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [app, item, channel.rawValue, user, job])
            return try Int64.fetchOne(
                db, sql: "SELECT outboxID FROM fallbackClaim WHERE appID = ? AND itemID = ? AND channel = ?", arguments: [app, item, channel.rawValue]) == job
        }
    }

    public func fallbackDeliveries(of app: AppID, limit: Int, before: Int64?) async throws -> [(id: Int64, delivery: FallbackDelivery)] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM fallbackDelivery WHERE appID = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
                arguments: [app, before, before, limit]
            ).map { row in
                (try row.decode(forColumn: "id"), try JourneyRules.fallbackDelivery(
                    user: row.decode(forColumn: "userID"), item: row.decode(forColumn: "itemID"), channel: row.decode(forColumn: "channel"),
                    attempt: row.decode(forColumn: "attempt"), outcome: row.decode(forColumn: "outcome"), statusCode: row.decode(forColumn: "statusCode"),
                    reason: row.decode(forColumn: "reason"), at: row.decode(forColumn: "at")))
            }
        }
    }

    public func journeyActivity(of user: UserID, in app: AppID) async throws -> UserExport.JourneyActivity {
        let key = try keys.key(.user(user), in: app)
        return try await pool.read { db in
            let events = try CustomerEventRecord.fetchAll(
                db, sql: "SELECT * FROM customerEvent WHERE appID = ? AND userID = ? ORDER BY id", arguments: [app, user]
            ).compactMap { try $0.event(key: key) }
            let runs = try JourneyRunRecord.fetchAll(
                db, sql: "SELECT * FROM journeyRun WHERE appID = ? AND userID = ? ORDER BY enteredAt, id", arguments: [app, user]
            ).map(JourneyRules.exportEntry)
            let deliveries = try Row.fetchAll(
                db, sql: "SELECT * FROM fallbackDelivery WHERE appID = ? AND userID = ? ORDER BY id", arguments: [app, user]
            ).map { row in
                try JourneyRules.fallbackDelivery(
                    user: row.decode(forColumn: "userID"), item: row.decode(forColumn: "itemID"), channel: row.decode(forColumn: "channel"),
                    attempt: row.decode(forColumn: "attempt"), outcome: row.decode(forColumn: "outcome"), statusCode: row.decode(forColumn: "statusCode"),
                    reason: row.decode(forColumn: "reason"), at: row.decode(forColumn: "at"))
            }
            let digestEntries = try Row.fetchAll(db, sql: JourneyRules.pendingDigestEntriesSQL(app: "?", user: "?"), arguments: [app, user]).compactMap {
                row -> UserExport.DigestEntry? in
                guard let key else { return nil }
                return try JourneyRules.exportDigestEntry(
                    digest: row.decode(forColumn: "digestID"), run: row.decode(forColumn: "runID"), step: row.decode(forColumn: "step"),
                    sealed: row.decode(forColumn: "sealed"), at: row.decode(forColumn: "at"), template: row.decode(forColumn: "template"), app: app, key: key)
            }
            return UserExport.JourneyActivity(events: events, journeys: runs, fallbackDeliveries: deliveries, digestEntries: digestEntries)
        }
    }

    public func itemCount(of user: UserID, in app: AppID, category: NotificationCategory, since: Date) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM inboxItem WHERE appID = ? AND userID = ? AND createdAt >= ? AND category = ?",
                arguments: [app, user, WireTime.milliseconds(since), category]) ?? 0
        }
    }

    public func readTimes(of user: UserID, in app: AppID, since: Date, limit: Int) async throws -> [Date] {
        try await pool.read { db in
            try Int64.fetchAll(
                db, sql: "SELECT DISTINCT readAt FROM inboxItem WHERE appID = ? AND userID = ? AND readAt >= ? ORDER BY readAt DESC LIMIT ?",
                arguments: [app, user, WireTime.milliseconds(since), limit])
        }.map { WireTime.date(milliseconds: $0) }
    }
}
