import Foundation
import HeraldCore
import HeraldStore

/// Performs actions on inbox items: checks the input, verifies step-up proofs, records the action once,
/// and queues its effects (the `action.performed` webhook, the template's follow-up) in the same commit.
final class ActionService: Sendable {
    /// The answer to a performed action; a later attempt gets the first one again.
    struct Result: Encodable, Equatable {
        var status = "accepted"
        var itemId: InboxItemID
        var actionId: String
        var input: JSONValue?
        var performedAt: Date
    }

    struct Challenge: Encodable {
        var challenge: String
        var expiresAt: Date
    }

    private let store: any ActionStore & DeviceStore & InboxStore & NotificationStore & TemplateStore
    private let webhooks: WebhookEvents
    private let now: @Sendable () -> Date

    init(store: any ActionStore & DeviceStore & InboxStore & NotificationStore & TemplateStore, webhooks: WebhookEvents, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.webhooks = webhooks
        self.now = now
    }

    /// A one-time nonce for a step-up action, valid `Limits.challengeSeconds`.
    func challenge(item id: InboxItemID, action actionID: String, user: UserID, app: AppID) async throws -> Challenge {
        let (item, action) = try await requireAction(actionID, on: id, user: user, app: app)
        guard action.stepUp else { throw HeraldError.invalid(field: "actionId", .invalidValue, detail: "this action needs no step-up") }
        let challenge = Challenge(challenge: RandomToken.base64URL(byteCount: 32), expiresAt: WireTime.truncated(now()).addingTimeInterval(Limits.challengeSeconds))
        try await store.createChallenge(challenge.challenge, item: item.id, action: action.id, user: user, app: app, expiresAt: challenge.expiresAt)
        return challenge
    }

    /// - Throws: `notFound` (item or action), `gone` (expired item), `invalid` (input), `forbidden` (step-up proof).
    func perform(item id: InboxItemID, action actionID: String, body: Data, user: UserID, app: AppID) async throws -> Result {
        let (item, action) = try await requireAction(actionID, on: id, user: user, app: app)
        let request = try ActionRequest(body: body, action: action)
        if action.stepUp { try await verify(request.proof, input: request.input, item: item, action: action, user: user, app: app) }
        let performed = InboxItem.PerformedAction(actionId: action.id, input: request.input, performedAt: WireTime.truncated(now()))
        var effects: [OutboxEntry] = []
        if let followUp = try await followUp(for: item, action: action, app: app) {
            let payload = JSONValue.object([
                "itemId": .string(item.id.rawValue), "notificationId": .string(item.notificationId.rawValue), "template": .string(followUp.rawValue),
            ])
            effects.append(OutboxEntry(kind: OutboxKind.followUp, user: user, subject: item.id.rawValue, payload: payload.compactString, availableAt: performed.performedAt))
        }
        effects += try await webhooks.entries(
            for: .actionPerformed, app: app, user: user,
            data: [
                "itemId": .string(item.id.rawValue), "notificationId": .string(item.notificationId.rawValue), "userId": .string(user.rawValue),
                "actionId": .string(action.id), "input": request.input ?? .null, "stepUp": .bool(action.stepUp),
                "deviceId": request.proof.map { .string($0.deviceID.rawValue) } ?? .null, "performedAt": .string(WireTime.format(performed.performedAt)),
            ], at: performed.performedAt)
        let (recorded, _) = try await store.recordAction(performed, on: item.id, of: user, in: app, effects: effects)
        let first = recorded.performed!
        return Result(itemId: item.id, actionId: first.actionId, input: first.input, performedAt: first.performedAt)
    }

    private func requireAction(_ actionID: String, on id: InboxItemID, user: UserID, app: AppID) async throws -> (InboxItem, NotificationAction) {
        let item = try await store.requireLiveInboxItem(id, of: user, in: app, now: now())
        guard let action = item.actions?.first(where: { $0.id == actionID }) else { throw HeraldError.notFound(resource: "action") }
        return (item, action)
    }

    /// The device's signature must cover this item, this action, a fresh challenge issued for them,
    /// the hash of the payload the customer was shown and the hash of the input sent, with a key the
    /// business activated. Every failure is a 403; a pending key says so (`step_up_key_not_active`), so
    /// the app can tell its customer to finish enrolment with the bank.
    private func verify(_ proof: StepUpProof?, input: JSONValue?, item: InboxItem, action: NotificationAction, user: UserID, app: AppID) async throws {
        guard let proof else { throw HeraldError.forbidden(reason: "This action needs a step-up signature.") }
        let outcome = try await store.consumeChallenge(proof.challenge, item: item.id, action: action.id, user: user, app: app)
        guard outcome == .valid else { throw HeraldError.forbidden(reason: "The challenge is unknown, already used or expired.") }
        guard let device = try await store.device(proof.deviceID, of: user, in: app), device.stepUpKey != nil else {
            throw HeraldError.forbidden(reason: "The device has no step-up key.")
        }
        guard let key = device.activeStepUpKey else {
            throw HeraldError.forbiddenBecause(
                FieldProblem(field: "deviceId", reason: .stepUpKeyNotActive, detail: "The device's step-up key is pending: the business has not activated it."))
        }
        // The payload the customer was shown: the signed one, or for a shared item not signed yet, the
        // payload its signature will cover (the same bytes, built from the same fields).
        let signed = item.jws.isEmpty ? item.signedPayload(app: app) : SignedPayload.payload(of: item.jws)
        guard let payload = signed else { throw HeraldError.forbidden(reason: "The item carries no signed payload.") }
        let message = StepUpProof.message(
            item: item.id, action: action.id, challenge: proof.challenge, payloadHash: SignedPayload.hash(of: payload), inputHash: StepUpProof.inputHash(of: input))
        guard key.isValidSignature(proof.signature, for: message) else { throw HeraldError.forbidden(reason: "The step-up signature does not verify.") }
    }

    private func followUp(for item: InboxItem, action: NotificationAction, app: AppID) async throws -> TemplateKey? {
        guard let notification = try await store.notification(item.notificationId, in: app), let key = notification.templateKey,
            let template = try await store.template(key, version: notification.templateVersion, in: app)
        else { return nil }
        return template.definition.followUps[action.id]
    }
}

/// The kinds of outbox rows and who drains them.
extension JSONValue {
    /// Compact JSON with sorted keys.
    var compactString: String { String(decoding: canonicalData(), as: UTF8.self) }
}
