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
    /// What to do with a registration, given the device that already holds the same push token.
    enum Decision: Equatable {
        /// No device has the token: insert one (its key, if any, pending).
        case insert
        /// The same user's device: refresh its subscription; `enrolsKey` when it had no key and gets one now.
        case update(enrolsKey: Bool)
        /// Another user's device without a step-up key: it is removed and the token moves here.
        case takeOver
    }

    /// - Throws: `conflictBecause(step_up_key_exists)` when the user's device already has another key (a
    ///   key never changes: delete the device first); `conflictBecause(push_token_in_use)` when the token
    ///   belongs to another customer's device that holds a step-up key, which a registration never deletes.
    static func decide(existing: DeviceRecord?, user: UserID, stepUpKey: String?) throws(HeraldError) -> Decision {
        guard let existing else { return .insert }
        guard existing.userID == user.rawValue else {
            if existing.stepUpKey != nil {
                throw .conflictBecause(
                    FieldProblem(
                        field: "token", reason: .pushTokenInUse,
                        detail: "This push token belongs to another customer's device, which holds a step-up key; that device must be removed first."))
            }
            return .takeOver
        }
        switch (existing.stepUpKey, stepUpKey) {
        case (nil, .some): return .update(enrolsKey: true)
        case (.some(let current), .some(let new)) where current != new:
            throw .conflictBecause(
                FieldProblem(field: "stepUpKey", reason: .stepUpKeyExists, detail: "This device already has a step-up key, which never changes; delete the device first."))
        default: return .update(enrolsKey: false)
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
        if record.stepUpState == Device.StepUpState.active.rawValue, hasValidTag(record, appKey: appKey) { return record }
        var record = record
        record.stepUpState = Device.StepUpState.active.rawValue
        record.stepUpActivatedAt = time
        record.updatedAt = time
        return tagged(record, appKey: appKey)
    }

    /// The HMAC, under the app's data key, of the app, user, device, key, state and activation time.
    static func stepUpTag(_ record: DeviceRecord, appKey: DataKey) -> Data? {
        guard let key = record.stepUpKey, let state = record.stepUpState else { return nil }
        let fields = [record.appID, record.userID, record.id, key, state, record.stepUpActivatedAt.map(String.init) ?? ""]
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

    static let encoder = JSONEncoder()

    static func encoded(_ key: StepUpKey?) throws -> String? {
        try key.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    }
}
