import Crypto
import Foundation
import HeraldCore
import PropertyBased
import Testing

/// Passkey approvals (WebAuthn assertions with ES256), checked against a software authenticator that
/// does what a browser's does: every check of `PasskeyAssertion.verify`, each shown to refuse what it
/// must, and any single changed byte refused.
@Suite("Passkey assertions")
struct PasskeyAssertionTests {
    static let origin = "https://app.acme-bank.example"
    static let rpID = "acme-bank.example"
    static let item = InboxItemID.generate()
    static let message = StepUpProof.message(item: item, action: "approve", challenge: "c1", payloadHash: "p", inputHash: "")

    /// A software authenticator: its key, and assertions made the way a browser and a passkey make them.
    struct Authenticator {
        let key = P256.Signing.PrivateKey()

        func assert(
            message: Data = PasskeyAssertionTests.message, origin: String = PasskeyAssertionTests.origin, rpID: String = PasskeyAssertionTests.rpID,
            flags: UInt8 = 0x05, counter: UInt32 = 7, type: String = "webauthn.get", crossOrigin: Bool = false, extensions: Data = Data()
        ) throws -> PasskeyAssertion {
            let challenge = PasskeyAssertion.challenge(for: message).base64URLEncodedString()
            let client = Data(#"{"type":"\#(type)","challenge":"\#(challenge)","origin":"\#(origin)","crossOrigin":\#(crossOrigin)}"#.utf8)
            var data = Data(SHA256.hash(data: Data(rpID.utf8)))
            data.append(flags)
            data.append(contentsOf: [UInt8(counter >> 24), UInt8(counter >> 16 & 0xff), UInt8(counter >> 8 & 0xff), UInt8(counter & 0xff)])
            data.append(extensions)
            let signature = try key.signature(for: data + Data(SHA256.hash(data: client)))
            return PasskeyAssertion(authenticatorData: data, clientDataJSON: client, signature: signature.derRepresentation)
        }
    }

    static func expectation(uv: Bool = true, stored: UInt32 = 6, message: Data = Self.message) -> PasskeyAssertion.Expectation {
        PasskeyAssertion.Expectation(message: message, allowedOrigins: [origin], rpID: rpID, requiresUserVerification: uv, storedSignCount: stored)
    }

    @Test("A passkey's assertion for the action shown verifies and gives the counter to store")
    func verifies() throws {
        let authenticator = Authenticator()
        #expect(try authenticator.assert().verify(Self.expectation(), publicKey: authenticator.key.publicKey) == .success(7))
        // Extensions after the head are allowed; authenticators without a counter say 0 every time.
        #expect(try authenticator.assert(flags: 0x85, extensions: Data([0xa0])).verify(Self.expectation(), publicKey: authenticator.key.publicKey) == .success(7))
        #expect(try authenticator.assert(counter: 0).verify(Self.expectation(stored: 0), publicKey: authenticator.key.publicKey) == .success(0))
    }

    @Test("Each check refuses what it must: type, challenge (another item, action or input), origin, frame, RP id, presence, verification, counter, key")
    func refuses() throws {
        let authenticator = Authenticator()
        let key = authenticator.key.publicKey
        let other = StepUpProof.message(item: Self.item, action: "decline", challenge: "c1", payloadHash: "p", inputHash: "")
        let cases: [(PasskeyAssertion, PasskeyAssertion.Expectation, PasskeyAssertion.Failure)] = [
            (try authenticator.assert(type: "webauthn.create"), Self.expectation(), .wrongType),
            (try authenticator.assert(message: other), Self.expectation(), .wrongChallenge),
            (try authenticator.assert(), Self.expectation(message: other), .wrongChallenge),
            (try authenticator.assert(origin: "https://acme-bank.example.evil.example"), Self.expectation(), .wrongOrigin),
            (try authenticator.assert(origin: "http://app.acme-bank.example"), Self.expectation(), .wrongOrigin),
            (try authenticator.assert(crossOrigin: true), Self.expectation(), .crossOrigin),
            (try authenticator.assert(rpID: "evil.example"), Self.expectation(), .wrongRelyingParty),
            (try authenticator.assert(flags: 0x04), Self.expectation(), .userNotPresent),
            (try authenticator.assert(flags: 0x01), Self.expectation(), .userNotVerified),
            (try authenticator.assert(counter: 6), Self.expectation(), .counterNotIncreased),
            (try authenticator.assert(counter: 0), Self.expectation(stored: 6), .counterNotIncreased),
            (try authenticator.assert(flags: 0x45), Self.expectation(), .malformedAuthenticatorData),
        ]
        for (assertion, expectation, failure) in cases {
            #expect(assertion.verify(expectation, publicKey: key) == .failure(failure), "\(failure)")
        }
        // The challenge's bytes spelt another way (padding, the standard alphabet) are not the challenge.
        var padded = try authenticator.assert()
        let text = PasskeyAssertion.challenge(for: Self.message).base64URLEncodedString()
        padded.clientDataJSON = Data(String(decoding: padded.clientDataJSON, as: UTF8.self).replacingOccurrences(of: text, with: text + "=").utf8)
        #expect(padded.verify(Self.expectation(), publicKey: key) == .failure(.wrongChallenge))
        // An http origin, even one the app allows for its realtime connections, is no secure context.
        var insecure = Self.expectation()
        insecure.allowedOrigins.append("http://app.acme-bank.example")
        #expect(try authenticator.assert(origin: "http://app.acme-bank.example").verify(insecure, publicKey: key) == .failure(.wrongOrigin))
        // A client data with the challenge twice does not parse.
        var doubled = try authenticator.assert()
        doubled.clientDataJSON = Data(String(decoding: doubled.clientDataJSON, as: UTF8.self).replacingOccurrences(of: #""type""#, with: #""challenge":"x","type""#).utf8)
        #expect(doubled.verify(Self.expectation(), publicKey: key) == .failure(.malformedClientData))
        // A counter that did not move, on an assertion the passkey did not sign, is a bad signature, never a clone.
        #expect(try authenticator.assert(counter: 6).verify(Self.expectation(), publicKey: P256.Signing.PrivateKey().publicKey) == .failure(.badSignature))
        // Presence without verification is enough where none is asked.
        #expect(try authenticator.assert(flags: 0x01).verify(Self.expectation(uv: false), publicKey: key) == .success(7))
        #expect(try authenticator.assert().verify(Self.expectation(), publicKey: P256.Signing.PrivateKey().publicKey) == .failure(.badSignature))
        var garbled = try authenticator.assert()
        garbled.signature = Data([0x30, 0x02, 0x01])
        #expect(garbled.verify(Self.expectation(), publicKey: key) == .failure(.malformedSignature))
        garbled = try authenticator.assert()
        garbled.clientDataJSON = Data("not json".utf8)
        #expect(garbled.verify(Self.expectation(), publicKey: key) == .failure(.malformedClientData))
    }

    @Test("Any one byte changed, anywhere in the assertion, and it is refused")
    func anyChangeIsRefused() async throws {
        let authenticator = Authenticator()
        let assertion = try authenticator.assert()
        let key = authenticator.key.publicKey
        await propertyCheck(count: 1_000, input: Gen.int(in: 0...2), Gen.int(in: 0...10_000), Gen.int(in: 1...255)) { part, position, xor in
            var changed = assertion
            switch part {
            case 0: changed.authenticatorData[position % changed.authenticatorData.count] ^= UInt8(xor)
            case 1: changed.clientDataJSON[position % changed.clientDataJSON.count] ^= UInt8(xor)
            default: changed.signature[position % changed.signature.count] ^= UInt8(xor)
            }
            if case .success = changed.verify(Self.expectation(), publicKey: key) { Issue.record("accepted with byte \(position) of part \(part) changed") }
        }
    }

    @Test("Authenticator data: any bytes read as a value or nil, never a trap; the head read as written")
    func authenticatorDataReads() async {
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...255).array(of: 0...80)) { numbers in
            let bytes = Data(numbers.map(UInt8.init))
            guard let parsed = AuthenticatorData(bytes) else {
                #expect(bytes.count < 37 || bytes[32] & 0x40 != 0 || (bytes.count > 37 && bytes[32] & 0x80 == 0))
                return
            }
            #expect(parsed.rpIDHash == bytes.prefix(32) && parsed.flags == bytes[32])
            #expect(parsed.signCount == bytes[33..<37].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
    }

    @Test("An RP id is the origin's host or a parent domain of it, never another site or a bare suffix")
    func relyingPartyIDs() {
        #expect(PasskeyAssertion.isRelyingPartyID("acme-bank.example", for: Self.origin))
        #expect(PasskeyAssertion.isRelyingPartyID("app.acme-bank.example", for: Self.origin))
        #expect(!PasskeyAssertion.isRelyingPartyID("example", for: Self.origin), "a bare top-level label")
        #expect(!PasskeyAssertion.isRelyingPartyID("bank.example", for: Self.origin), "not on a label boundary")
        #expect(!PasskeyAssertion.isRelyingPartyID("evil.example", for: Self.origin))
        #expect(!PasskeyAssertion.isRelyingPartyID("Acme-Bank.example", for: Self.origin))
        #expect(!PasskeyAssertion.isRelyingPartyID("acme-bank.example", for: "https://acme-bank.example.evil.example"))
        #expect(!PasskeyAssertion.isRelyingPartyID("0.0.5", for: "https://10.0.0.5"), "an address only as itself")
        #expect(PasskeyAssertion.isRelyingPartyID("10.0.0.5", for: "https://10.0.0.5"))
        #expect(!PasskeyAssertion.isRelyingPartyID("acme-bank.example", for: "http://app.acme-bank.example"), "not a secure context")
        #expect(PasskeyAssertion.isRelyingPartyID("localhost", for: "http://localhost:3000"), "a developer's page")
    }
}

/// Enrolment of a passkey: what `navigator.credentials.create` returned, read with every problem named.
@Suite("Passkey credentials")
struct PasskeyCredentialTests {
    static let origins = ["https://app.acme-bank.example"]

    private func read(_ object: [String: JSONValue]) -> (PasskeyCredential?, [String]) {
        guard var reader = try? ObjectReader(.object(object)) else { return (nil, ["not an object"]) }
        let credential = PasskeyCredential.read(&reader, allowedOrigins: Self.origins)
        do {
            try reader.finish()
            return (credential, [])
        } catch {
            guard case .invalid(let problems) = error else { return (credential, ["\(error)"]) }
            return (credential, problems.map(\.field))
        }
    }

    private func body(id: Data = Data(repeating: 7, count: 32), key: Data? = nil, algorithm: Double = -7, rpID: String = "acme-bank.example") -> [String: JSONValue] {
        [
            "credentialId": .string(id.base64URLEncodedString()),
            "publicKey": .string((key ?? P256.Signing.PrivateKey().publicKey.derRepresentation).base64URLEncodedString()),
            "algorithm": .number(algorithm), "rpId": .string(rpID),
        ]
    }

    @Test("A credential as the browser gives it reads, its key the one the assertions verify with")
    func reads() throws {
        let key = P256.Signing.PrivateKey()
        let (credential, problems) = read(body(key: key.publicKey.derRepresentation))
        #expect(problems.isEmpty)
        #expect(credential?.publicKey == StepUpKey(publicKey: key.publicKey))
        #expect(credential?.rpID == "acme-bank.example" && credential?.credentialID.count == 32)
    }

    @Test("A short id, a key that is not a P-256 SPKI (a raw point, RSA-sized garbage), another algorithm, another site's RP id: each named")
    func refuses() {
        let raw = P256.Signing.PrivateKey().publicKey.rawRepresentation
        #expect(read(body(id: Data(count: 8))).1 == ["credentialId"])
        #expect(read(body(key: raw)).1 == ["publicKey"])
        #expect(read(body(key: Data(repeating: 0x30, count: 300))).1 == ["publicKey"])
        #expect(read(body(algorithm: -257)).1 == ["algorithm"])
        #expect(read(body(rpID: "evil.example")).1 == ["rpId"])
        #expect(read(body(rpID: "example")).1 == ["rpId"])
        #expect(read([:]).1.sorted() == ["algorithm", "credentialId", "publicKey", "rpId"])
    }
}
