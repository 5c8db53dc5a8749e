import Foundation
import PropertyBased
import Testing

@testable import HeraldServer

/// The bearer credential is trimmed by hand (`AuthenticationMiddleware.trimmingBlanks`) where
/// Foundation's `trimmingCharacters(in: .whitespaces)` did it: the same result for every string, so
/// no token that authenticated before is refused now, nor the reverse.
@Suite("Credential trimming")
struct CredentialTrimTests {
    static let pieces = [
        " ", "\t", "\u{A0}", "\u{2003}", "\u{3000}", "\u{202F}", "\n", "\r", "\u{200B}", "\u{FEFF}", "a", "hk_", "eyJ", ".", "é", "e\u{301}", " \u{301}",
        "😀", "=",
    ]

    @Test("Every Unicode scalar, alone and around a token: trimmed exactly when Foundation trims it")
    func everyScalar() {
        var differences: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(scalar) + "tok" + String(scalar)
            if AuthenticationMiddleware.trimmingBlanks(Substring(text)) != text.trimmingCharacters(in: .whitespaces) { differences.append(value) }
        }
        #expect(differences.isEmpty, "\(differences.prefix(20).map { String($0, radix: 16) })")
    }

    @Test("Generated strings of blanks, line breaks and token characters: the same as trimmingCharacters(in: .whitespaces)")
    func sameAsFoundation() async {
        await propertyCheck(count: 3_000, input: Gen.uint64()) { seed in
            var state = seed | 1
            func next() -> UInt64 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return state
            }
            let text = (0..<Int(next() % 8)).map { _ in Self.pieces[Int(next() % UInt64(Self.pieces.count))] }.joined()
            let ours = AuthenticationMiddleware.trimmingBlanks(Substring(text))
            #expect(ours == text.trimmingCharacters(in: .whitespaces), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }
}
