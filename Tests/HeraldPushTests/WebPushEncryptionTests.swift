import Crypto
import Foundation
import HeraldCore
import HeraldPush
import JWTKit
import Testing

@Suite("Web Push encryption and VAPID")
struct WebPushEncryptionTests {
    /// RFC 8291 Appendix A, every value as the RFC prints it.
    enum Vector {
        static let plaintext = "When I grow up, I want to be a watermelon"
        static let senderPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
        static let senderPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
        static let receiverPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
        static let receiverPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        static let salt = "DGv6ra1nlYgDCS1FRnbzlw"
        static let auth = "BTBZMqHH6r4Tts7J_aSIgg"
        static let message =
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
    }

    static func bytes(_ base64URL: String) throws -> Data { try #require(Data(base64URLEncoded: base64URL)) }

    @Test("The RFC 8291 Appendix A example is reproduced byte for byte")
    func reproducesTheRFCExample() throws {
        let sender = try P256.KeyAgreement.PrivateKey(rawRepresentation: try Self.bytes(Vector.senderPrivate))
        #expect(sender.publicKey.x963Representation.base64URLEncodedString() == Vector.senderPublic)

        let message = try WebPushEncryption.encrypt(
            Data(Vector.plaintext.utf8), p256dh: try Self.bytes(Vector.receiverPublic), auth: try Self.bytes(Vector.auth), senderKey: sender,
            salt: try Self.bytes(Vector.salt))

        #expect(message.base64URLEncodedString() == Vector.message)
    }

    @Test("The receiver's half decrypts the RFC's message and a fresh one; a wrong auth secret fails")
    func decrypts() throws {
        let receiver = try P256.KeyAgreement.PrivateKey(rawRepresentation: try Self.bytes(Vector.receiverPrivate))
        let auth = try Self.bytes(Vector.auth)
        #expect(try WebPushEncryption.decrypt(try Self.bytes(Vector.message), receiverKey: receiver, auth: auth) == Data(Vector.plaintext.utf8))

        let fresh = try WebPushEncryption.encrypt(Data("ünïcode ✓".utf8), p256dh: receiver.publicKey.x963Representation, auth: auth)
        #expect(try WebPushEncryption.decrypt(fresh, receiverKey: receiver, auth: auth) == Data("ünïcode ✓".utf8))
        #expect(throws: (any Error).self) { try WebPushEncryption.decrypt(fresh, receiverKey: receiver, auth: Data(repeating: 7, count: 16)) }
    }

    @Test("Bad subscription keys and oversized payloads are refused before anything is sent")
    func refusesBadInput() throws {
        let receiver = P256.KeyAgreement.PrivateKey()
        #expect(throws: WebPushEncryption.Failure.invalidSubscriptionKey) {
            try WebPushEncryption.encrypt(Data("x".utf8), p256dh: Data(repeating: 4, count: 65), auth: Data(count: 16))
        }
        #expect(throws: WebPushEncryption.Failure.invalidAuthSecret) {
            try WebPushEncryption.encrypt(Data("x".utf8), p256dh: receiver.publicKey.x963Representation, auth: Data(count: 15))
        }
        #expect(throws: WebPushEncryption.Failure.payloadTooLarge) {
            try WebPushEncryption.encrypt(
                Data(count: WebPushEncryption.maxPlaintext + 1), p256dh: receiver.publicKey.x963Representation, auth: Data(count: 16))
        }
    }

    struct VAPIDClaims: JWTPayload {
        var aud: String
        var exp: ExpirationClaim
        var sub: String
        func verify(using algorithm: some JWTAlgorithm) throws { try exp.verifyNotExpired() }
    }

    @Test("The VAPID header carries a JWT for the push service's origin, signed by the key it names, valid under 24 hours")
    func vapidHeader() async throws {
        let vapid = VAPID(key: P256.Signing.PrivateKey(), subject: "mailto:ops@acme.example")
        let now = Date()

        let header = try await vapid.authorization(for: URL(string: "https://push.example.net:8443/send/abc?x=1")!, now: now)

        let parts = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(parts.count == 2)
        let token = try #require(parts.first?.hasPrefix("vapid t=") == true ? String(parts[0].dropFirst("vapid t=".count)) : nil)
        let key = try #require(parts.last?.hasPrefix("k=") == true ? String(parts[1].dropFirst(2)) : nil)
        #expect(key == vapid.publicKeyBase64URL)
        let publicKey = try P256.Signing.PublicKey(x963Representation: try Self.bytes(key))
        let claims = try await JWTKeyCollection().add(ecdsa: ES256PublicKey(backing: publicKey)).verify(token, as: VAPIDClaims.self)
        #expect(claims.aud == "https://push.example.net:8443")
        #expect(claims.sub == "mailto:ops@acme.example")
        #expect(claims.exp.value.timeIntervalSince(now) <= 24 * 3600)
        #expect(claims.exp.value > now)
    }
}
