public import Crypto
public import Foundation
public import HeraldCore

/// The device-bound key that approves step-up actions (``HeraldClient/perform(_:on:input:signer:)``).
///
/// It signs with ECDSA P-256/SHA-256 the bytes the server gives it to sign, after whatever check the
/// platform offers (a biometric prompt). The private key never leaves the device.
public protocol StepUpSigner: Sendable {
    /// The public key registered with the device (`stepUpKey`).
    var publicKey: StepUpKey { get }
    /// The raw r‖s signature (64 bytes) of `message`.
    func sign(_ message: Data) async throws -> Data
}

/// A software P-256 key, for Linux, tests and command-line tools. On phones use a hardware-backed
/// signer (``SecureEnclaveStepUpSigner`` on Apple platforms).
public struct SoftwareStepUpSigner: StepUpSigner {
    public let key: P256.Signing.PrivateKey

    public init(key: P256.Signing.PrivateKey = .init()) {
        self.key = key
    }

    public var publicKey: StepUpKey { StepUpKey(publicKey: key.publicKey) }

    public func sign(_ message: Data) async throws -> Data {
        try key.signature(for: message).rawRepresentation
    }
}

#if canImport(CryptoKit) && canImport(LocalAuthentication)
import CryptoKit
import LocalAuthentication
import Security

/// A key in the Secure Enclave that signs only after the user passes Face ID, Touch ID or the
/// passcode (`.userPresence`). Keep `dataRepresentation` (an opaque, device-bound handle, not the
/// key) in the Keychain to use the same key after a restart.
@available(iOS 13.0, macOS 10.15, *)
public struct SecureEnclaveStepUpSigner: StepUpSigner {
    public let key: SecureEnclave.P256.Signing.PrivateKey

    /// A new key protected by user presence.
    public init() throws {
        var error: Unmanaged<CFError>?
        guard
            let access = SecAccessControlCreateWithFlags(
                nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, [.privateKeyUsage, .userPresence], &error)
        else { throw error!.takeRetainedValue() as Error }
        key = try SecureEnclave.P256.Signing.PrivateKey(accessControl: access)
    }

    /// The key whose handle was saved earlier.
    public init(dataRepresentation: Data) throws {
        key = try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: dataRepresentation)
    }

    public var publicKey: StepUpKey {
        StepUpKey(publicKey: try! P256.Signing.PublicKey(rawRepresentation: key.publicKey.rawRepresentation))
    }

    /// Signing shows the system's biometric prompt.
    public func sign(_ message: Data) async throws -> Data {
        try key.signature(for: message).rawRepresentation
    }
}
#endif
