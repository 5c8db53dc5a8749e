public import Foundation
public import HeraldCore

/// What registering a device did, for the caller to audit and report.
public struct DeviceRegistration: Sendable, Equatable {
    public var device: Device
    /// A new device (201) rather than the same token registered again by the same user (200).
    public var created: Bool
    /// A step-up key was enrolled now (it is `pending`): the bank is told (webhook, audit).
    public var enrolledStepUpKey: Bool
    /// The push token was another customer's (their device had no step-up key) and moved to this one.
    public var tookPushTokenFrom: UserID?

    public init(device: Device, created: Bool, enrolledStepUpKey: Bool, tookPushTokenFrom: UserID?) {
        self.device = device
        self.created = created
        self.enrolledStepUpKey = enrolledStepUpKey
        self.tookPushTokenFrom = tookPushTokenFrom
    }
}

/// The rules of device registration and step-up activation, written once for both backends (each
/// runs them inside its own transaction, under its own locking).
enum DeviceRules {
    /// What to write for a registration, given the device that already holds the same push token.
    enum Decision: Equatable {
        /// The same user's device, its subscription refreshed and, when it had no key and gets one now
        /// (`enrolsKey`), its key set pending; tagged.
        case update(DeviceRecord, enrolsKey: Bool)
        /// A new device, its key (if any) pending; tagged. `replacing` is another customer's device without
        /// a step-up key that held the token: it is removed and the token moves here.
        case insert(DeviceRecord, replacing: DeviceRecord?)
    }

    /// - Parameter id: the id a new device gets.
    /// - Throws: `conflictBecause(step_up_key_exists)` when the user's device already has another key (a
    ///   key never changes: delete the device first); `conflictBecause(push_token_in_use)` when the token
    ///   belongs to another customer's device that holds a step-up key, which a registration never deletes.
    static func decide(
        _ new: NewDevice, id: DeviceID, for user: UserID, in app: AppID, existing: DeviceRecord?, appKey: DataKey, at time: Int64
    ) throws -> Decision {
        let subscription = try new.subscription.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let stepUpKey = try new.stepUpKey.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let inserted = tagged(
            DeviceRecord(
                id: id, appID: app, userID: user, platform: new.platform, token: new.token, subscription: subscription,
                stepUpKey: stepUpKey, stepUpState: stepUpKey == nil ? nil : .pending, stepUpActivatedAt: nil, createdAt: time,
                updatedAt: time),
            appKey: appKey)
        guard var existing else { return .insert(inserted, replacing: nil) }
        guard existing.userID == user else {
            if existing.stepUpKey != nil {
                throw HeraldError.conflictBecause(
                    FieldProblem(
                        field: "token", reason: .pushTokenInUse,
                        detail: "This push token belongs to another customer's device, which holds a step-up key; that device must be removed first."))
            }
            return .insert(inserted, replacing: existing)
        }
        // Re-signed below: first back to what Herald vouched for, so that a state written outside Herald
        // (an "active" without a valid tag) is never made genuine by a re-registration.
        if existing.stepUpKey != nil, !hasValidTag(existing, appKey: appKey) {
            existing.stepUpState = .pending
            existing.stepUpActivatedAt = nil
        }
        var enrolsKey = false
        // Keys are compared as keys, not as the JSON text they were stored in (member order may differ).
        let currentKey = try existing.stepUpKey.map { try JSONDecoder().decode(StepUpKey.self, from: Data($0.utf8)) }
        switch (currentKey, new.stepUpKey) {
        case (nil, .some):
            enrolsKey = true
            existing.stepUpKey = stepUpKey
            existing.stepUpState = .pending
        case (.some(let current), .some(let requested)) where current != requested:
            throw HeraldError.conflictBecause(
                FieldProblem(field: "stepUpKey", reason: .stepUpKeyExists, detail: "This device already has a step-up key, which never changes; delete the device first."))
        default:
            break
        }
        existing.subscription = subscription
        existing.updatedAt = time
        return .update(tagged(existing, appKey: appKey), enrolsKey: enrolsKey)
    }

    /// Refuses a new device when the user has `Limits.devicesPerUser` already (counted by the backend
    /// inside its transaction, after removing the device a `replacing` decision takes the token from).
    static func checkRoom(devicesOfUser count: Int) throws(HeraldError) {
        guard count < Limits.devicesPerUser else {
            throw .conflict(detail: "A user may register at most \(Limits.devicesPerUser) devices; remove one first.")
        }
    }

    /// What a written decision answers, and the effects (webhooks) to write with it: a registration
    /// that enrols a step-up key tells the business, which must activate it.
    static func outcome(
        of decision: Decision, appKey: DataKey, effects: (Device) -> [OutboxEntry]
    ) throws -> (registration: DeviceRegistration, effects: [OutboxEntry]) {
        switch decision {
        case .update(let record, let enrolsKey):
            let device = try record.device(appKey: appKey)
            return (DeviceRegistration(device: device, created: false, enrolledStepUpKey: enrolsKey, tookPushTokenFrom: nil), enrolsKey ? effects(device) : [])
        case .insert(let record, let replacing):
            let device = try record.device(appKey: appKey)
            let enrols = record.stepUpKey != nil
            return (DeviceRegistration(device: device, created: true, enrolledStepUpKey: enrols, tookPushTokenFrom: replacing?.userID), enrols ? effects(device) : [])
        }
    }

    /// The device after activation of its key, tagged.
    /// - Throws: `conflictBecause(invalid_value)` for a device without a step-up key.
    static func activated(_ record: DeviceRecord, at time: Int64, appKey: DataKey) throws(HeraldError) -> DeviceRecord {
        guard record.stepUpKey != nil else {
            throw .conflictBecause(FieldProblem(field: "deviceId", reason: .invalidValue, detail: "This device has no step-up key to activate."))
        }
        // Active with a valid tag: nothing to do. Marked active without one (written outside Herald), the
        // business's activation is what makes it trusted now.
        if record.stepUpState == .active, hasValidTag(record, appKey: appKey) { return record }
        var record = record
        record.stepUpState = .active
        record.stepUpActivatedAt = time
        record.updatedAt = time
        return tagged(record, appKey: appKey)
    }

    /// The HMAC, under the app's data key, of the app, user, device, key, state and activation time.
    static func stepUpTag(_ record: DeviceRecord, appKey: DataKey) -> Data? {
        guard let key = record.stepUpKey, let state = record.stepUpState else { return nil }
        let fields = [record.appID.rawValue, record.userID.rawValue, record.id.rawValue, key, state.rawValue, record.stepUpActivatedAt.map(String.init) ?? ""]
        return appKey.tag(Data(fields.joined(separator: "\u{1F}").utf8), purpose: "device.stepUp")
    }

    static func hasValidTag(_ record: DeviceRecord, appKey: DataKey) -> Bool {
        guard let stored = record.stepUpTag, let expected = stepUpTag(record, appKey: appKey) else { return false }
        return ConstantTime.isEqual(stored, expected)
    }

    /// The record with its tag computed for what it holds now.
    static func tagged(_ record: DeviceRecord, appKey: DataKey) -> DeviceRecord {
        var record = record
        record.stepUpTag = stepUpTag(record, appKey: appKey)
        return record
    }

    /// Sorted keys: the same key is always stored as the same text.
    private static let encoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}
