/// What a fallback sends and on which channel: the part that a journey's fallback step and a category's
/// fallback policy (`AppSettings.FallbackPolicy`) share, read and checked in this one place.
public struct FallbackMessage: Equatable, Sendable {
    public let channel: JourneyDefinition.FallbackChannel
    public let text: FallbackText
    /// An e-mail's subject (required for `email`, refused for `sms`), checked like the text.
    public let subject: FallbackText?

    /// Reads `channel`, `text` and `subject` from `reader`, reporting every problem to it.
    public static func read(_ reader: inout ObjectReader) -> FallbackMessage? {
        let channelText = reader.string("channel", required: true)
        let channel = channelText.flatMap(JourneyDefinition.FallbackChannel.init(rawValue:))
        if channelText != nil, channel == nil { reader.report("channel", .invalidValue, detail: "sms or email") }
        var found: [FieldProblem] = []
        let text = reader.string("text", required: true).flatMap { FallbackText.read($0, field: "text", requiresReference: true, into: &found) }
        var subject: FallbackText?
        if let subjectText = reader.string("subject") {
            if channel == .sms { reader.report("subject", .invalidValue, detail: "an SMS has no subject") }
            subject = FallbackText.read(subjectText, field: "subject", requiresReference: false, into: &found)
        } else if channel == .email {
            reader.report("subject", .required, detail: "an e-mail's subject")
        }
        for problem in found { reader.report(problem.field, problem.reason, detail: problem.detail) }
        guard let channel, let text, found.isEmpty, channel == .sms || subject != nil else { return nil }
        return FallbackMessage(channel: channel, text: text, subject: channel == .sms ? nil : subject)
    }

    /// The texts as they go out for the item with `reference`.
    public struct Rendered: Equatable, Sendable {
        public var text: String
        public var subject: String?

        public init(text: String, subject: String?) {
            self.text = text
            self.subject = subject
        }
    }

    public func rendered(reference: String) -> Rendered {
        Rendered(text: text.render(reference: reference), subject: subject?.render(reference: reference))
    }

    /// The outbox payload that sends it for the item with `reference`: the channel and the texts with
    /// the reference in place, and nothing else.
    public func payload(reference: String) -> [String: JSONValue] {
        let rendered = rendered(reference: reference)
        var payload: [String: JSONValue] = ["channel": .string(channel.rawValue), "text": .string(rendered.text)]
        if let subject = rendered.subject { payload["subject"] = .string(subject) }
        return payload
    }
}
