public import Foundation

/// The optional body of `POST /v1/users/{userId}/tokens`.
public struct TokenRequest: Equatable, Sendable {
    public var ttlSeconds: Int64

    public init(ttlSeconds: Int64 = Limits.defaultTokenTTLSeconds) { self.ttlSeconds = ttlSeconds }

    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        ttlSeconds = reader.integer("ttlSeconds", range: 60...Limits.maxTokenTTLSeconds) ?? Limits.defaultTokenTTLSeconds
        try reader.finish()
    }
}
