/// The events a business can receive at its webhook.
public enum WebhookEvent: String, Codable, CaseIterable, Sendable {
    /// A customer performed an action on an inbox item (with its input and whether it was stepped up).
    case actionPerformed = "action.performed"
    /// A notification's fan-out finished: every recipient has their item.
    case notificationSent = "notification.sent"
    /// A customer's app registered a step-up key; it approves nothing until the business activates it.
    /// A bank that did not expect it warns the customer through another channel.
    case deviceStepUpPending = "device.step_up_pending"
    /// The business activated a device's step-up key.
    case deviceStepUpActivated = "device.step_up_activated"
    /// A device was removed (by the customer's app, the business, or a push provider that dropped it).
    case deviceRemoved = "device.removed"
    /// Every token of a customer was revoked.
    case userTokensRevoked = "user.tokens_revoked"
}
