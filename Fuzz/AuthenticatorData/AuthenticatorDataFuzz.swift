import Foundation

/// libFuzzer target for `AuthenticatorData` (HeraldCore), compiled with it into one module by
/// `scripts/fuzz-webauthn.sh`: any bytes give a value or nil without a trap, and a value read back is
/// what the bytes say.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Data(bytes: start, count: count)
    guard let parsed = AuthenticatorData(bytes) else {
        precondition(count < AuthenticatorData.headLength || bytes[32] & 0x40 != 0 || (count > AuthenticatorData.headLength && bytes[32] & 0x80 == 0))
        return 0
    }
    precondition(parsed.rpIDHash == bytes.prefix(32))
    precondition(parsed.flags == bytes[32])
    precondition(parsed.signCount == UInt32(bytes[33]) << 24 | UInt32(bytes[34]) << 16 | UInt32(bytes[35]) << 8 | UInt32(bytes[36]))
    return 0
}
