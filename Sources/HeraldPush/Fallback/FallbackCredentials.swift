public import Foundation
public import HeraldCore

/// An app's SMS gateway for the journeys' fallback (`PUT /v1/fallback/sms`): Twilio's Messages API,
/// the de-facto HTTP interface of SMS gateways, at `baseUrl` (Twilio's own by default; any gateway
/// that speaks it). Stored sealed with the app's data key; `authToken` never leaves Herald.
public struct SMSCredentials: Codable, Equatable, Sendable {
    public var accountSid: String
    public var authToken: String
    /// The sender: an E.164 number, or an alphanumeric sender id (1–11 letters, digits and spaces).
    public var from: String
    public var baseUrl: String

    public static let twilio = "https://api.twilio.com"

    public init(accountSid: String, authToken: String, from: String, baseUrl: String = SMSCredentials.twilio) {
        self.accountSid = accountSid
        self.authToken = authToken
        self.from = from
        self.baseUrl = baseUrl
    }

    /// Parses and checks a body. `baseUrl` must be `https` unless the operator allows private targets.
    public init(body: Data, allowsPrivateTargets: Bool) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let accountSid = reader.string("accountSid", required: true, maxLength: 64, minLength: 1)
        let authToken = reader.string("authToken", required: true, maxLength: 256, minLength: 1)
        let from = reader.string("from", required: true, maxLength: 16, minLength: 1)
        let baseUrl = reader.string("baseUrl", maxLength: 512) ?? Self.twilio
        if let accountSid, !accountSid.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
            reader.report("accountSid", .invalidValue, detail: "letters and digits, as the gateway shows it")
        }
        if let authToken, !authToken.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) {
            reader.report("authToken", .invalidValue, detail: "printable ASCII")
        }
        if let from, PhoneNumber(from) == nil, !Self.isSenderID(from) {
            reader.report("from", .invalidValue, detail: "an E.164 number or a sender id of 1 to 11 letters, digits and spaces, with no link or number to call")
        }
        if !Self.isAcceptable(baseUrl, allowsPrivateTargets: allowsPrivateTargets) {
            reader.report("baseUrl", .targetNotAllowed, detail: "an https URL of a public host (plain http and private hosts need --allow-private-targets)")
        }
        try reader.finish()
        guard let accountSid, let authToken, let from else { throw .invalid([FieldProblem(field: "accountSid", reason: .required)]) }
        self.init(accountSid: accountSid, authToken: authToken, from: from, baseUrl: baseUrl)
    }

    static func isSenderID(_ text: String) -> Bool {
        (1...11).contains(text.count) && text.first != " " && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " ") }
            && text.contains(where: \.isLetter) && FallbackText.isPlainName(text)
    }

    static func isAcceptable(_ text: String, allowsPrivateTargets: Bool) -> Bool {
        guard let url = URL(string: text), let host = url.host, !host.isEmpty, url.user == nil, url.query == nil, url.fragment == nil else { return false }
        if allowsPrivateTargets { return url.scheme == "https" || url.scheme == "http" }
        return url.scheme == "https" && !TargetPolicy.isPrivateLiteral(host)
    }

    /// What `GET /v1/fallback/sms` shows: everything but the token.
    public var summary: [String: String] {
        ["accountSid": accountSid, "from": from, "baseUrl": baseUrl]
    }
}

/// An app's SMTP submission server for the journeys' e-mail fallback (`PUT /v1/fallback/email`).
/// Herald always upgrades with STARTTLS before it authenticates or sends (a server that does not offer
/// it is refused), and checks the server's certificate. `password` never leaves Herald.
public struct EmailCredentials: Codable, Equatable, Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String
    public var from: EmailAddress
    /// Shown as the sender's name (`"Acme Bank" <notices@acme.example>`).
    public var fromName: String?

    public init(host: String, port: Int = 587, username: String, password: String, from: EmailAddress, fromName: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.from = from
        self.fromName = fromName
    }

    public init(body: Data, allowsPrivateTargets: Bool) throws(HeraldError) {
        var reader = try ObjectReader(body: body)
        let host = reader.string("host", required: true, maxLength: 253, minLength: 1)
        let port = reader.integer("port", range: 1...65_535) ?? 587
        let username = reader.string("username", required: true, maxLength: 256, minLength: 1)
        let password = reader.string("password", required: true, maxLength: 256, minLength: 1)
        let fromText = reader.string("from", required: true, maxLength: 254)
        let from = fromText.flatMap(EmailAddress.init)
        let fromName = reader.string("fromName", maxLength: 64)
        if fromText != nil, from == nil { reader.report("from", .invalidValue, detail: "an address such as notices@acme.example") }
        if let host, !EmailAddress.isDomain(ArraySlice(host.utf8)), TargetPolicy.isPublic(host) == nil {
            reader.report("host", .invalidValue, detail: "a host name or an IP address")
        } else if let host, !allowsPrivateTargets, TargetPolicy.isPrivateLiteral(host) || host == "localhost" {
            reader.report("host", .targetNotAllowed, detail: "a public host (private hosts need --allow-private-targets)")
        }
        for (field, value) in [("username", username), ("password", password), ("fromName", fromName)] {
            if let value, value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                reader.report(field, .invalidValue, detail: "no control characters")
            }
        }
        if let fromName, !FallbackText.isPlainName(fromName) {
            reader.report("fromName", .invalidValue, detail: "a plain name: no link, no number to call, none of , ; : < > @ \" \\")
        }
        try reader.finish()
        guard let host, let username, let password, let from else { throw .invalid([FieldProblem(field: "host", reason: .required)]) }
        self.init(host: host, port: Int(port), username: username, password: password, from: from, fromName: fromName)
    }

    /// What `GET /v1/fallback/email` shows: everything but the password.
    public var summary: [String: String] {
        var summary = ["host": host, "port": String(port), "username": username, "from": from.text]
        if let fromName { summary["fromName"] = fromName }
        return summary
    }
}

/// What became of one attempt to send a fallback.
public enum FallbackAttempt: Equatable, Sendable {
    /// The provider took it.
    case sent(status: Int)
    /// Try again later (a timeout, no connection, 429, 5xx from the gateway, a 4xx SMTP reply).
    case retry(status: Int?, reason: String)
    /// Refused for good.
    case failed(status: Int?, reason: String)
}
