/// The events a business can receive at its webhook.
public enum WebhookEvent: String, Codable, CaseIterable, Sendable {
    /// A customer performed an action on an inbox item (with its input and whether it was stepped up).
    case actionPerformed = "action.performed"
    /// A notification's fan-out finished: every recipient has their item.
    case notificationSent = "notification.sent"
}
