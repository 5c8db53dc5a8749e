public import Foundation
public import HeraldCore
import JWTKit

/// The Google service account an app gives Herald for FCM (`PUT /v1/push/fcm`), as Google's JSON
/// file has it. Stored sealed with the app's data key; the private key never leaves Herald.
public struct FCMServiceAccount: Codable, Equatable, Sendable {
    public var projectId: String
    public var clientEmail: String
    public var privateKeyId: String?
    /// PEM (PKCS#8) RSA private key.
    public var privateKey: String
    public var tokenURI: String

    enum CodingKeys: String, CodingKey {
        case projectId = "project_id", clientEmail = "client_email", privateKeyId = "private_key_id", privateKey = "private_key", tokenURI = "token_uri"
    }

    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    public init(projectId: String, clientEmail: String, privateKeyId: String?, privateKey: String, tokenURI: String = Self.defaultTokenURI) {
        self.projectId = projectId
        self.clientEmail = clientEmail
        self.privateKeyId = privateKeyId
        self.privateKey = privateKey
        self.tokenURI = tokenURI
    }

    /// Parses and checks a `PUT /v1/push/fcm` body, `{"serviceAccount": {...}}`. Unknown fields of
    /// Google's file (`type`, `client_id`, `auth_uri`, ...) are accepted and not kept.
    /// - Throws: `HeraldError.invalid` naming every bad field.
    public init(body: Data) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        guard let value = reader.value("serviceAccount") else { throw .invalid(field: "serviceAccount", .required) }
        guard var account = try? ObjectReader(value, path: "serviceAccount.") else {
            throw .invalid(field: "serviceAccount", .wrongType, detail: "expected an object")
        }
        let type = account.string("type")
        if let type, type != "service_account" { account.report("type", .invalidValue, detail: "service_account") }
        let projectId = account.string("project_id", required: true, maxLength: 100, minLength: 1)
        let clientEmail = account.string("client_email", required: true, maxLength: 320, minLength: 3)
        let privateKeyId = account.string("private_key_id", maxLength: 100)
        let privateKey = account.string("private_key", required: true, maxLength: 8_192)
        let tokenURI = account.string("token_uri", maxLength: 2_048) ?? Self.defaultTokenURI
        if URL(string: tokenURI)?.scheme?.lowercased() != "https" { account.report("token_uri", .invalidValue, detail: "an https URL") }
        if let projectId, !projectId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
            account.report("project_id", .invalidValue, detail: "letters, digits and hyphens")
        }
        if let privateKey, (try? Insecure.RSA.PrivateKey(pem: privateKey)) == nil {
            account.report("private_key", .invalidValue, detail: "a PEM RSA private key of at least 2048 bits")
        }
        account.ignoreUnreadFields()
        reader.absorb(account)
        try reader.finish()
        self.init(projectId: projectId!, clientEmail: clientEmail!, privateKeyId: privateKeyId, privateKey: privateKey!, tokenURI: tokenURI)
    }

    /// What `GET /v1/push/fcm` shows: everything but the key.
    public var summary: [String: String] {
        ["projectId": projectId, "clientEmail": clientEmail, "tokenUri": tokenURI]
    }
}
