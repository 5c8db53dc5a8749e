import Foundation
import HeraldCore
import Testing

@Suite("Credentials and secrets")
struct CredentialTests {
    @Test("An API key parses back and matches only its own hash")
    func apiKeyRoundTrip() throws {
        let key = APIKey.generate()
        let other = APIKey.generate()

        let parsed = try #require(APIKey(token: key.token))
        #expect(parsed.matches(hash: key.secretHash))
        #expect(!parsed.matches(hash: other.secretHash))
        #expect(key.secret.count >= 43)
    }

    @Test("Strings that are not API keys are not parsed as one", arguments: ["", "hk_", "hk_abc", "Bearer x", "hk_0123456789abcdef", "sk_0123456789abcdef_x"])
    func notAPIKeys(token: String) {
        #expect(APIKey(token: token) == nil)
    }

    @Test("Constant-time comparison compares whole contents")
    func constantTime() {
        #expect(ConstantTime.isEqual([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.isEqual([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.isEqual([1, 2, 3], [1, 2]))
    }

    @Test("Sealed secrets open only with the same key and context")
    func sealing() throws {
        let key = MasterKey.generate()
        let sealed = try key.seal(Data("secret".utf8), context: "row:1")

        #expect(try key.open(sealed, context: "row:1") == Data("secret".utf8))
        #expect(throws: (any Error).self) { try key.open(sealed, context: "row:2") }
        #expect(throws: (any Error).self) { try MasterKey.generate().open(sealed, context: "row:1") }
        #expect(try MasterKey(base64: key.base64).open(sealed, context: "row:1") == Data("secret".utf8))
    }

    @Test("A token bucket allows the burst, then the rate")
    func tokenBucket() {
        var bucket = TokenBucket(rate: 10, burst: 3)

        let taken = [0, 0, 0, 0, 0.1, 0.1, 10].map { bucket.take(at: $0) }

        #expect(taken == [true, true, true, false, true, false, true])
    }
}
