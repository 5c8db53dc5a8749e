import Foundation
import GRDB
import HeraldCore

// The stored shapes of journeys, events and runs, shared by both backends (each decodes them by column
// name), with the one place where their sealed parts are sealed and opened.

extension JourneyKey: StoredText {}
extension EventID: StoredText {}
extension JourneyRunID: StoredText {}
extension JourneyDigestID: StoredText {}
extension JourneyRun.Status: StoredText {}

struct JourneyRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "journey"
    static let postgresColumns = "appID, key, version, definition, createdAt"
    var appID: AppID
    var key: JourneyKey
    var version: Int
    /// The declaration as canonical JSON. Not sealed: like a template, it is the business's own text
    /// (names of events and templates, conditions), not a customer's.
    var definition: String
    var createdAt: Int64

    func journey() throws -> Journey {
        do {
            return try Journey(key: key, version: version, createdAt: WireTime.date(milliseconds: createdAt), document: Data(definition.utf8))
        } catch {
            throw StoreCorruption(table: "journey", id: "\(key) version \(version)")
        }
    }
}

/// An event; its properties and time sealed with the customer's key (`SealingContext.customerEvent`).
struct CustomerEventRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "customerEvent"
    static let postgresColumns = "id, appID, userID, name, sealed, recordedAt"
    var id: EventID
    var appID: AppID
    var userID: UserID
    var name: String
    var sealed: Data
    var recordedAt: Int64

    private struct Sealed: Codable {
        var properties: [String: JSONValue]
        var occurredAt: Int64
    }

    init(_ event: CustomerEvent, app: AppID, key: DataKey) throws {
        id = event.id
        appID = app
        userID = event.user
        name = event.name
        sealed = try key.seal(
            json: Sealed(properties: event.properties, occurredAt: WireTime.milliseconds(event.occurredAt)),
            context: SealingContext.customerEvent(app: app, id: event.id))
        recordedAt = WireTime.milliseconds(event.recordedAt)
    }

    /// - Parameter key: the customer's data key; nil when it is gone (erased), and then so is the event.
    func event(key: DataKey?) throws -> CustomerEvent? {
        guard let key else { return nil }
        let opened = try key.open(json: sealed, as: Sealed.self, context: SealingContext.customerEvent(app: appID, id: id))
        return CustomerEvent(
            id: id, user: userID, name: name, properties: opened.properties, occurredAt: WireTime.date(milliseconds: opened.occurredAt),
            recordedAt: WireTime.date(milliseconds: recordedAt))
    }
}

/// A run; its context (the events it acted on, what it sent) sealed with the customer's key.
struct JourneyRunRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "journeyRun"
    static let postgresColumns = """
        id, appID, journeyKey, version, userID, status, step, dueAt, deadline, waitEvent, waitNotification, sealedContext, triggerEventID, \
        revision, enteredAt, endedAt, failure
        """
    var id: JourneyRunID
    var appID: AppID
    var journeyKey: JourneyKey
    var version: Int
    var userID: UserID
    var status: JourneyRun.Status
    var step: Int
    var dueAt: Int64?
    var deadline: Int64?
    var waitEvent: String?
    var waitNotification: NotificationID?
    /// Nil once retention shredded the context of a run that had ended.
    var sealedContext: Data?
    var triggerEventID: EventID?
    var revision: Int64
    var enteredAt: Int64
    var endedAt: Int64?
    var failure: String?

    enum Columns {
        static let id = Column(CodingKeys.id)
    }

    init(_ run: JourneyRun, key: DataKey) throws {
        id = run.id
        appID = run.app
        journeyKey = run.journey
        version = run.version
        userID = run.user
        status = run.status
        step = run.step
        dueAt = run.dueAt.map(WireTime.milliseconds)
        deadline = run.deadline.map(WireTime.milliseconds)
        waitEvent = run.waitEvent
        waitNotification = run.waitNotification
        sealedContext = try key.seal(run.context.json.canonicalData(), context: SealingContext.journeyRun(app: run.app, id: run.id))
        triggerEventID = run.trigger
        revision = run.revision
        enteredAt = WireTime.milliseconds(run.enteredAt)
        endedAt = run.endedAt.map(WireTime.milliseconds)
        failure = run.failure
    }

    /// - Parameter key: the customer's data key; nil when it is gone (erased), and then so is the run.
    func run(key: DataKey?) throws -> JourneyRun? {
        guard let key else { return nil }
        let context: JourneyRun.Context
        if let sealedContext {
            let opened = try key.open(sealedContext, context: SealingContext.journeyRun(app: appID, id: id))
            guard let json = try? JSONValue.parse(opened), let read = JourneyRun.Context(json: json) else {
                throw StoreCorruption(table: "journeyRun", id: id.rawValue)
            }
            context = read
        } else {
            // Shredded by retention: only an ended run may have lost its context.
            guard status.hasEnded else { throw StoreCorruption(table: "journeyRun", id: id.rawValue) }
            context = JourneyRun.Context(event: .null)
        }
        return JourneyRun(
            id: id, app: appID, journey: journeyKey, version: version, user: userID, status: status, step: step, dueAt: dueAt.map { WireTime.date(milliseconds: $0) },
            deadline: deadline.map { WireTime.date(milliseconds: $0) }, waitEvent: waitEvent, waitNotification: waitNotification, context: context, trigger: triggerEventID,
            revision: revision, enteredAt: WireTime.date(milliseconds: enteredAt), endedAt: endedAt.map { WireTime.date(milliseconds: $0) }, failure: failure)
    }
}

/// The entry rules of `JourneyDefinition.Entry`, decided from what the store found about the customer's
/// earlier runs of the journey (any version).
enum JourneyEntryRule {
    /// - Parameters:
    ///   - lastEnteredAt: the latest entry, nil when the customer never entered.
    ///   - isInside: whether a run of theirs has not ended.
    static func allows(_ entry: JourneyDefinition.Entry, lastEnteredAt: Int64?, isInside: Bool, now: Int64) -> Bool {
        if isInside { return false }
        switch entry {
        case .onceEver: return lastEnteredAt == nil
        case .oncePer(let seconds):
            guard let lastEnteredAt else { return true }
            let (window, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
            let (elapsed, past) = now.subtractingReportingOverflow(lastEnteredAt)
            return !overflow && !past && elapsed >= window
        case .always: return true
        }
    }

    /// The statuses of a run that has not ended, as SQL (both dialects).
    static let activeStatuses = "('ready', 'waiting')"
}
