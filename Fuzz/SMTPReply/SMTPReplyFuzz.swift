// libFuzzer target for the SMTP client's reply reader (`scripts/fuzz-smtp.sh` builds and runs it).
//
// Compiled with `SMTPReply.swift` alone. For any bytes a server could send: reading them never traps;
// reading them in two pieces (cut where the first byte says) gives the same replies, or the same
// failure, as reading them at once; every reply has a code from 200 to 599 and at most 64 lines; and
// what stays held for more is bounded.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTPReply(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: bytes, count: count))
    var whole = SMTPReply.Reader()
    let atOnce = Result { () throws(SMTPReply.Reader.Failure) in try whole.read(input) }
    let cut = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
    var pieces = SMTPReply.Reader()
    let inPieces = Result { () throws(SMTPReply.Reader.Failure) in try pieces.read(input[..<cut]) + pieces.read(input[cut...]) }
    switch (atOnce, inPieces) {
    case (.success(let a), .success(let b)):
        precondition(a == b, "pieces read differently")
        for reply in a {
            precondition((200...599).contains(reply.code), "code out of range")
            precondition(!reply.lines.isEmpty && reply.lines.count <= SMTPReply.Reader.maxLines, "lines out of bounds")
        }
    case (.failure(let a), .failure(let b)):
        precondition(a == b, "pieces failed differently")
    default:
        preconditionFailure("one way failed, the other did not")
    }
    return 0
}
