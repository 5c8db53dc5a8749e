import Foundation
import HTTPTypes
import HeraldCore
import HeraldServer
import Hummingbird
import HummingbirdTesting
import JWTKit
import Testing

/// The payload of a business message's JWS, read by JWTKit: an independent check of Herald's signing.
struct SignedMessageClaims: JWTPayload, Equatable {
    var kind: String
    var appId: String
    var id: String
    var channelId: String
    var text: String
    var createdAt: String

    func verify(using algorithm: some JWTAlgorithm) throws {}
}

@Suite("Verified sender")
struct VerifiedSenderTests {
    /// Verifies `jws` with JWTKit against the key set exactly as the server publishes it.
    static func verifyIndependently<Claims: JWTPayload>(_ jws: String, publishedKeys: String, as type: Claims.Type) async throws -> Claims {
        let keys = try await JWTKeyCollection().add(jwksJSON: publishedKeys)
        return try await keys.verify(jws, as: Claims.self)
    }

    @Test("A message the business sends as itself carries a JWS that verifies with the published key set")
    func businessMessageIsSigned() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let sent = try await client.request(.post, "/v1/channels/\(channel.id)/messages", auth: harness.apiKey, body: #"{"text":"Your card was blocked"}"#)
                    .decode(Message.self)
                let published = try await client.request(.get, "/v1/apps/\(harness.app)/keys").text

                let claims = try await Self.verifyIndependently(try #require(sent.jws), publishedKeys: published, as: SignedMessageClaims.self)

                #expect(claims == SignedMessageClaims(
                    kind: "message", appId: harness.app.rawValue, id: sent.id.rawValue, channelId: channel.id.rawValue, text: "Your card was blocked",
                    createdAt: WireTime.format(sent.createdAt)))
                let keySet = try WireJSON.decoder().decode(JWKSet.self, from: Data(published.utf8))
                #expect(SignedPayload.verify(sent.jws!, keys: keySet) == sent.signedPayload(app: harness.app))
            }
        }
    }

    @Test("Messages from users are not signed by the business")
    func userMessagesAreNotSigned() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run { client in
                let fromUser = try await client.request(.post, "/v1/channels/\(channel.id)/messages", auth: token, body: #"{"text":"hi"}"#)
                let asMember = try await client.request(.post, "/v1/channels/\(channel.id)/messages", auth: harness.apiKey, body: #"{"text":"hi","sender":"ben"}"#)

                #expect(try fromUser.decode(Message.self).jws == nil)
                #expect(try asMember.decode(Message.self).jws == nil)
            }
        }
    }

    @Test("After a rotation new content is signed with the new key and old signatures still verify")
    func rotationKeepsOldKeysPublished() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let path = "/v1/channels/\(channel.id)/messages"
                let before = try await client.request(.post, path, auth: harness.apiKey, body: #"{"text":"one"}"#).decode(Message.self)

                let rotation = try await client.request(.post, "/v1/signing-keys/rotate", auth: harness.apiKey)
                let after = try await client.request(.post, path, auth: harness.apiKey, body: #"{"text":"two"}"#).decode(Message.self)
                let published = try await client.request(.get, "/v1/apps/\(harness.app)/keys").text

                #expect(rotation.status == .created)
                let keySet = try WireJSON.decoder().decode(JWKSet.self, from: Data(published.utf8))
                #expect(keySet.keys.count == 2)
                #expect(keySet.keys.allSatisfy { $0.kty == "OKP" && $0.crv == "Ed25519" })
                _ = try await Self.verifyIndependently(try #require(before.jws), publishedKeys: published, as: SignedMessageClaims.self)
                _ = try await Self.verifyIndependently(try #require(after.jws), publishedKeys: published, as: SignedMessageClaims.self)
                let header = try #require(Data(base64URLEncoded: String(after.jws!.split(separator: ".")[0])))
                #expect(String(decoding: header, as: UTF8.self).contains(keySet.keys[0].kid))
            }
        }
    }

    @Test("A tampered signature or payload does not verify")
    func tamperingIsDetected() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            try await harness.run { client in
                let sent = try await client.request(.post, "/v1/channels/\(channel.id)/messages", auth: harness.apiKey, body: #"{"text":"Pay 10 EUR"}"#)
                    .decode(Message.self)
                let keySet = try await client.request(.get, "/v1/apps/\(harness.app)/keys").decode(JWKSet.self)
                var parts = try #require(sent.jws).split(separator: ".").map(String.init)
                let forged = sent.signedPayload(app: harness.app).base64URLEncodedString().replacingOccurrences(of: "MTA", with: "OTk")
                parts[1] = forged

                #expect(SignedPayload.verify(parts.joined(separator: "."), keys: keySet) == nil)
                #expect(SignedPayload.verify(sent.jws!, keys: JWKSet(keys: [])) == nil)
            }
        }
    }

    @Test("The key set of an unknown app is 404; credentials are ignored on this public route")
    func publicKeySetRoute() async throws {
        try await TestHarness.with { harness in
            try await harness.run { client in
                let unknown = try await client.request(.get, "/v1/apps/app_00000000000000000000000000/keys")
                let withBadKey = try await client.request(.get, "/v1/apps/\(harness.app)/keys", auth: "hk_0000000000000000_bad")

                #expect(unknown.status == .notFound)
                #expect(withBadKey.status == .ok)
            }
        }
    }

    @Test("A business message with a link outside the allowed domains is refused with link_not_allowed")
    func businessMessageLinkPolicy() async throws {
        try await TestHarness.with { harness in
            let channel = try await harness.group(["ana", "ben"])
            let token = try await harness.token(for: "ana")
            try await harness.run { client in
                let path = "/v1/channels/\(channel.id)/messages"
                let body = #"{"text":"Please verify at acme-bank.example/login"}"#

                let refused = try await client.request(.post, path, auth: harness.apiKey, body: body)
                let fromCustomer = try await client.request(.post, path, auth: token, body: body)
                let settings = try await client.request(.put, "/v1/settings", auth: harness.apiKey, body: #"{"linkPolicy":{"allowedDomains":["acme-bank.example"]}}"#)
                let allowed = try await client.request(.post, path, auth: harness.apiKey, body: body)

                #expect(refused.status == .unprocessableContent)
                #expect(refused.problem?.errors?.map(\.field) == ["text"])
                #expect(refused.problem?.errors?.map(\.reason) == [.linkNotAllowed])
                #expect(fromCustomer.status == .created, "customers' own words are not the business's")
                #expect(settings.status == .ok)
                #expect(allowed.status == .created)
                let page = try await client.request(.get, path, auth: harness.apiKey).decode(MessagePage.self)
                #expect(page.messages.count == 2, "the refused send stored nothing")
            }
        }
    }
}
