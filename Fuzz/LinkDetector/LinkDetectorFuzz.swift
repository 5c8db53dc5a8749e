// libFuzzer target for the link detector (`scripts/fuzz-links.sh` builds and runs it).
//
// Compiled together with HeraldCore's Links sources into one module, so it reaches the internal
// `LinkDetector`. Checks, for any bytes: no trap; every host is ASCII lower case without a trailing dot;
// and a disallowed domain appended after a space is always found, whatever came before it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLinkDetector(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    for link in LinkDetector.links(in: text) {
        guard let host = link.host, !host.hasPrefix("[") else { continue }
        precondition(host.unicodeScalars.allSatisfy { $0.isASCII && !("A"..."Z").contains($0) }, "host not normalized: \(host)")
        precondition(!host.hasSuffix("."), "host with a trailing dot: \(host)")
    }
    for suffix in [" evil.example", " “evil.example”", " Visit:evil.example"] {
        precondition(LinkDetector.links(in: text + suffix).contains { $0.host == "evil.example" }, "missed the domain after \(text.debugDescription)")
    }
    return 0
}
