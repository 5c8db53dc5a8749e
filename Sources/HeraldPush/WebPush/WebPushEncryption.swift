public import Crypto
public import Foundation

/// Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188).
///
/// Written here because no library on this platform does it; swift-crypto supplies every primitive
/// (P-256 ECDH, HKDF-SHA-256, AES-128-GCM). The push service sees only ciphertext: the browser holds
/// the private half of `p256dh` and the `auth` secret. The whole payload is one record (Herald's
/// payloads are small), so the record size is fixed at 4096 and the record is marked last.
public enum WebPushEncryption {
    public enum Failure: Error, Equatable {
        case invalidSubscriptionKey
        case invalidAuthSecret
        case payloadTooLarge
        case malformedMessage
    }

    /// The most plaintext one 4096-byte record holds (record size minus the tag and the delimiter).
    public static let maxPlaintext = 4096 - 16 - 1
    static let recordSize: UInt32 = 4096

    /// Encrypts `plaintext` for the subscription's `p256dh` (65-byte uncompressed point) and `auth`
    /// (16 bytes). `senderKey` and `salt` are fresh for every message unless a test fixes them.
    public static func encrypt(
        _ plaintext: Data, p256dh: Data, auth: Data, senderKey: P256.KeyAgreement.PrivateKey = .init(), salt: Data = randomSalt()
    ) throws -> Data {
        guard auth.count == 16 else { throw Failure.invalidAuthSecret }
        guard let receiver = try? P256.KeyAgreement.PublicKey(x963Representation: p256dh) else { throw Failure.invalidSubscriptionKey }
        guard plaintext.count <= maxPlaintext else { throw Failure.payloadTooLarge }
        let senderPublic = senderKey.publicKey.x963Representation
        let shared = try senderKey.sharedSecretFromKeyAgreement(with: receiver)
        let (key, nonce) = contentKeys(shared: shared, auth: auth, receiverPublic: p256dh, senderPublic: senderPublic, salt: salt)
        var record = plaintext
        record.append(0x02)  // the last (and only) record's delimiter; no padding
        let sealed = try AES.GCM.seal(record, using: key, nonce: AES.GCM.Nonce(data: nonce))
        var message = header(salt: salt, keyID: senderPublic)
        message.append(sealed.ciphertext)
        message.append(sealed.tag)
        return message
    }

    /// The browser's half: decrypts a message with the subscription's private key and `auth`.
    /// Herald never needs it; tests and the loopback receivers use it to prove the round trip.
    public static func decrypt(_ message: Data, receiverKey: P256.KeyAgreement.PrivateKey, auth: Data) throws -> Data {
        let bytes = [UInt8](message)
        guard bytes.count > 21 else { throw Failure.malformedMessage }
        let salt = Data(bytes[0..<16])
        let idLength = Int(bytes[20])
        guard bytes.count > 21 + idLength + 16 else { throw Failure.malformedMessage }
        let senderPublic = Data(bytes[21..<(21 + idLength)])
        let body = Data(bytes[(21 + idLength)...])
        guard let sender = try? P256.KeyAgreement.PublicKey(x963Representation: senderPublic) else { throw Failure.malformedMessage }
        let shared = try receiverKey.sharedSecretFromKeyAgreement(with: sender)
        let (key, nonce) = contentKeys(
            shared: shared, auth: auth, receiverPublic: receiverKey.publicKey.x963Representation, senderPublic: senderPublic, salt: salt)
        let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: body.dropLast(16), tag: body.suffix(16))
        var record = [UInt8](try AES.GCM.open(box, using: key))
        while record.last == 0 { record.removeLast() }
        guard record.last == 0x02 else { throw Failure.malformedMessage }
        return Data(record.dropLast())
    }

    public static func randomSalt() -> Data {
        Data(SymmetricKey(size: .init(bitCount: 128)).withUnsafeBytes { Array($0) })
    }

    /// RFC 8291 §3.4 then RFC 8188 §2.2: the input keying material from the ECDH secret and `auth`,
    /// then the content-encryption key and nonce from the salt.
    static func contentKeys(shared: SharedSecret, auth: Data, receiverPublic: Data, senderPublic: Data, salt: Data) -> (SymmetricKey, Data) {
        var keyInfo = Data("WebPush: info".utf8)
        keyInfo.append(0)
        keyInfo.append(receiverPublic)
        keyInfo.append(senderPublic)
        let ikm = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: auth, sharedInfo: keyInfo, outputByteCount: 32)
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: ikm, salt: salt)
        let key = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Data("Content-Encoding: aes128gcm\u{0}".utf8), outputByteCount: 16)
        let nonce = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Data("Content-Encoding: nonce\u{0}".utf8), outputByteCount: 12)
        return (key, nonce.withUnsafeBytes { Data($0) })
    }

    /// salt (16) ‖ record size (4, big-endian) ‖ key id length (1) ‖ key id (the sender's public key).
    static func header(salt: Data, keyID: Data) -> Data {
        var header = salt
        withUnsafeBytes(of: recordSize.bigEndian) { header.append(contentsOf: $0) }
        header.append(UInt8(keyID.count))
        header.append(keyID)
        return header
    }
}
