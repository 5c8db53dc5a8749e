import CoreMetrics
import Foundation
import HeraldPush

/// Per-provider push metrics, exported on `/metrics`: `herald_push_sent_total`,
/// `herald_push_failed_total` (with the provider's reason) and `herald_push_duration_seconds`.
/// Labels carry the provider and the reason only: never an app, user or device id.
struct PushMetrics: Sendable {
    let factory: any MetricsFactory

    func record(_ result: PushResult, provider: String, duration: Duration) {
        Timer(label: "herald_push_duration_seconds", dimensions: [("provider", provider)], factory: factory).recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        switch result.outcome {
        case .accepted:
            Counter(label: "herald_push_sent_total", dimensions: [("provider", provider)], factory: factory).increment()
        case .unregistered, .retry, .failed:
            Counter(label: "herald_push_failed_total", dimensions: [("provider", provider), ("reason", Self.reasonLabel(result))], factory: factory)
                .increment()
        }
    }

    /// A bounded label: the provider's reason word when it is one, else the outcome.
    static func reasonLabel(_ result: PushResult) -> String {
        if let reason = result.reason, reason.count <= 40, reason.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { return reason }
        if let status = result.statusCode { return "http_\(status)" }
        return result.outcome.rawValue
    }
}
