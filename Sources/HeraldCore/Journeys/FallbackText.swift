/// What a customer receives outside the app (SMS or e-mail) when a secure item waits for them: that
/// there is a message in the app, and the item's reference, shown next to it there, so they can match
/// the two. Nothing else: a text that holds a link, a phone number, or a variable other than
/// `{{reference}}` is refused, so that this channel, which criminals copy perfectly, never carries
/// anything worth copying. Herald sends no content and nothing to tap or call.
public struct FallbackText: Equatable, Sendable {
    /// The text as written, with `{{reference}}` where the reference goes.
    public let template: String

    public static let maxCharacters = 320
    public static let maxBytes = 1_024
    public static let placeholder = "{{reference}}"
    /// Digits in a row (spaces, dots, dashes, slashes and parentheses between them count as the same run)
    /// from which a text reads as holding a phone number.
    static let phoneDigits = 5

    /// Checks `text`; every problem is added to `problems` under `field`.
    /// - Parameter requiresReference: the message's text must hold the reference; an e-mail's subject need not.
    public static func read(_ text: String, field: String, requiresReference: Bool, into problems: inout [FieldProblem]) -> FallbackText? {
        var found: [FieldProblem] = []
        if text.isEmpty || text.unicodeScalars.count > maxCharacters || text.utf8.count > maxBytes {
            found.append(FieldProblem(field: field, reason: .invalidValue, detail: "1 to \(maxCharacters) characters (\(maxBytes) bytes of UTF-8)"))
        }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || LinkDetector.isInvisible($0) }) {
            found.append(FieldProblem(field: field, reason: .invalidValue, detail: "no control or invisible characters"))
        }
        let withoutReference = text.replacingOccurrences(of: placeholder, with: " ")
        // Checked as sent too (a reference is four digits): `bank{{reference}}.com` is a domain and
        // `0800 {{reference}}` a number once the digits are in.
        let asSent = text.replacingOccurrences(of: placeholder, with: "0000")
        if withoutReference.contains("{{") || withoutReference.contains("}}") {
            found.append(FieldProblem(field: field, reason: .invalidValue, detail: "no variable but {{reference}}"))
        }
        let occurrences = text.components(separatedBy: placeholder).count - 1
        if requiresReference, occurrences != 1 {
            found.append(FieldProblem(field: field, reason: .invalidValue, detail: "{{reference}} exactly once"))
        }
        if !LinkDetector.links(in: withoutReference).isEmpty || !LinkDetector.links(in: asSent).isEmpty {
            found.append(FieldProblem(field: field, reason: .linkNotAllowed, detail: "no link of any kind: the customer opens the app themselves"))
        }
        if holdsPhoneNumber(withoutReference) || holdsPhoneNumber(asSent) {
            found.append(FieldProblem(field: field, reason: .invalidValue, detail: "no phone number: the customer contacts the bank the way they know"))
        }
        problems += found
        return found.isEmpty ? FallbackText(template: text) : nil
    }

    private init(template: String) {
        self.template = template
    }

    /// Whether a name shown beside the text (an e-mail's sender name, an SMS sender id) is plain: no
    /// link, no phone number, no control or invisible character, none of the characters that make an
    /// address of a name (`,` `;` `:` `<` `>` `@` `"` `\\`).
    public static func isPlainName(_ name: String) -> Bool {
        !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || LinkDetector.isInvisible($0) })
            && !name.contains(where: { ",;:<>@\"\\".contains($0) }) && LinkDetector.links(in: name).isEmpty && !holdsPhoneNumber(name)
    }

    /// The text with the item's reference in place.
    public func render(reference: String) -> String {
        template.replacingOccurrences(of: Self.placeholder, with: reference)
    }

    /// Whether `text` holds `phoneDigits` digits in one run (separators between them allowed), or a `+`
    /// directly before a digit: the forms a number to call is written in.
    static func holdsPhoneNumber(_ text: String) -> Bool {
        var digits = 0
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            if scalar.properties.numericType != nil {
                if previous == "+" { return true }
                digits += 1
                if digits >= phoneDigits { return true }
            } else if !" .-/()\u{00A0}".unicodeScalars.contains(scalar) {
                digits = 0
            }
            previous = scalar
        }
        return false
    }
}
