public import Foundation

/// The authenticator data of a WebAuthn assertion (WebAuthn Level 2, §6.1): the SHA-256 of the relying
/// party's id, the flags, and the signature counter; extensions may follow and are not read.
///
/// Written by hand because no library here reads it: the fixed head is 37 bytes, and an assertion
/// (unlike a registration) carries no attested credential data, so no CBOR is needed. Bytes from a
/// browser Herald does not control: any input gives a value or nil, never a trap (a fuzz target,
/// `Fuzz/AuthenticatorData`, and property tests hold it to that).
public struct AuthenticatorData: Equatable, Sendable {
    /// SHA-256 of the RP id the credential is scoped to.
    public let rpIDHash: Data
    public let flags: UInt8
    /// The authenticator's signature counter (big-endian); 0 for authenticators that keep none.
    public let signCount: UInt32

    public static let headLength = 37

    /// UP: a person touched or otherwise confirmed presence.
    public var isUserPresent: Bool { flags & 0x01 != 0 }
    /// UV: the authenticator verified the person (biometrics or PIN).
    public var isUserVerified: Bool { flags & 0x04 != 0 }
    /// AT: attested credential data follows (a registration's, never an assertion's).
    public var hasAttestedCredentialData: Bool { flags & 0x40 != 0 }
    /// ED: extension data follows.
    public var hasExtensions: Bool { flags & 0x80 != 0 }

    /// Nil for fewer than 37 bytes, for attested credential data (refused in an assertion), or for bytes
    /// after the head without the extension flag.
    public init?(_ bytes: Data) {
        let bytes = Array(bytes)
        guard bytes.count >= Self.headLength else { return nil }
        let flags = bytes[32]
        guard flags & 0x40 == 0, bytes.count == Self.headLength || flags & 0x80 != 0 else { return nil }
        rpIDHash = Data(bytes[0..<32])
        self.flags = flags
        signCount = bytes[33..<37].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}
