import HeraldCore
import Testing

@Suite("Outgoing request targets (SSRF)")
struct TargetPolicyTests {
    @Test("Private, loopback, link-local and metadata addresses are refused; public ones pass", arguments: [
        ("127.0.0.1", false), ("10.1.2.3", false), ("172.16.0.1", false), ("172.31.255.255", false), ("192.168.1.1", false),
        ("169.254.169.254", false), ("100.64.0.1", false), ("0.0.0.0", false), ("224.0.0.1", false), ("255.255.255.255", false),
        ("::1", false), ("::", false), ("fe80::1", false), ("fd00::1", false), ("::ffff:127.0.0.1", false), ("::ffff:10.0.0.1", false),
        ("[::1]", false), ("2001:db8::1", false), ("8.8.8.8", true), ("172.32.0.1", true), ("93.184.216.34", true), ("2606:4700::1111", true),
        ("::ffff:8.8.8.8", true),
    ] as [(String, Bool)])
    func classification(address: String, isPublic: Bool) {
        #expect(TargetPolicy.isPublic(address) == isPublic)
    }

    @Test("Names are not addresses")
    func names() {
        #expect(TargetPolicy.isPublic("hooks.acme.example") == nil)
        #expect(TargetPolicy.isPublic("1.2.3") == nil)
        #expect(TargetPolicy.isPublic("1:2:3:4:5:6:7:8:9") == nil)
    }
}
