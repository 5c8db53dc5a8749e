public import Crypto
public import Foundation

/// The browser's side of RFC 8291, written independently of Herald's `WebPushEncryption` (plain
/// HMAC-SHA-256 steps as RFC 8291 §3.4 and RFC 8188 §2 spell them), so a test that decrypts what
/// Herald sent proves the format, not just that the code agrees with itself.
public enum WebPushDecryption {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static func hmac(_ key: some ContiguousBytes, _ data: Data) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    public static func decrypt(_ message: Data, receiverKey: P256.KeyAgreement.PrivateKey, auth: Data) throws -> Data {
        let bytes = [UInt8](message)
        guard bytes.count >= 86 + 17 else { throw Failure(description: "too short") }
        let salt = Data(bytes[0..<16])
        let recordSize = bytes[16..<20].reduce(0) { $0 << 8 | UInt32($1) }
        let idLength = Int(bytes[20])
        guard idLength == 65, recordSize >= 18 else { throw Failure(description: "header") }
        let senderPublic = Data(bytes[21..<86])
        let ciphertext = Data(bytes[86...])
        guard ciphertext.count <= Int(recordSize) else { throw Failure(description: "more than one record") }
        let shared = try receiverKey.sharedSecretFromKeyAgreement(with: try P256.KeyAgreement.PublicKey(x963Representation: senderPublic))
        let ecdhSecret = shared.withUnsafeBytes { Data($0) }
        let prkKey = hmac(auth, ecdhSecret)
        let keyInfo = Data("WebPush: info".utf8) + [0] + receiverKey.publicKey.x963Representation + senderPublic
        let ikm = hmac(prkKey, keyInfo + [1])
        let prk = hmac(salt, ikm)
        let cek = hmac(prk, Data("Content-Encoding: aes128gcm".utf8) + [0, 1]).prefix(16)
        let nonce = hmac(prk, Data("Content-Encoding: nonce".utf8) + [0, 1]).prefix(12)
        let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: ciphertext.dropLast(16), tag: ciphertext.suffix(16))
        var record = [UInt8](try AES.GCM.open(box, using: SymmetricKey(data: cek)))
        while record.last == 0 { record.removeLast() }
        guard record.last == 2 else { throw Failure(description: "not the last record") }
        return Data(record.dropLast())
    }
}
