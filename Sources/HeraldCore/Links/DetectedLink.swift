/// A link found in text: something a phone or mail client would make tappable.
public struct DetectedLink: Equatable, Sendable, CustomStringConvertible {
    /// The link as written, with invisible characters removed (what the customer would see).
    public var text: String
    /// The host it leads to, in ASCII (`xn--` for IDN), lower case, without a trailing dot; nil for
    /// schemes with no host (`tel:`, `javascript:`), which no allow-list can permit.
    public var host: String?
    /// Zero-width, bidi or other invisible characters were inside the link: a trick to hide it.
    public var hasHiddenCharacters: Bool

    public init(text: String, host: String?, hasHiddenCharacters: Bool = false) {
        self.text = text
        self.host = host
        self.hasHiddenCharacters = hasHiddenCharacters
    }

    public var description: String { text }
}
