public import Foundation
public import HeraldCore

/// Sends an SMS through Twilio's Messages API (`POST {baseUrl}/2010-04-01/Accounts/{sid}/Messages.json`,
/// form-encoded `To`, `From` and `Body`, HTTP Basic with the account sid and token): the interface
/// Twilio defined and other gateways copy. Through the shared client, so the SSRF guard and the
/// operator's trust roots apply.
public struct SMSGatewayClient: Sendable {
    let http: PushHTTPClient

    public init(http: PushHTTPClient) {
        self.http = http
    }

    public func send(_ text: String, to number: PhoneNumber, with credentials: SMSCredentials) async -> FallbackAttempt {
        let base = credentials.baseUrl.hasSuffix("/") ? String(credentials.baseUrl.dropLast()) : credentials.baseUrl
        guard let url = URL(string: "\(base)/2010-04-01/Accounts/\(credentials.accountSid)/Messages.json") else {
            return .failed(status: nil, reason: "the gateway's URL does not read")
        }
        let basic = Data("\(credentials.accountSid):\(credentials.authToken)".utf8).base64EncodedString()
        let body = Self.form([("To", number.text), ("From", credentials.from), ("Body", text)])
        do {
            let response = try await http.send(
                .POST, url, headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: Data(body.utf8))
            switch response.status {
            case 200..<300: return .sent(status: response.status)
            case 429, 500...: return .retry(status: response.status, reason: Self.reason(response.body) ?? "the gateway is busy")
            default: return .failed(status: response.status, reason: Self.reason(response.body) ?? "refused by the gateway")
            }
        } catch let refused as OutboundTargetGuard.Refused {
            return .failed(status: nil, reason: refused.description)
        } catch {
            return .retry(status: nil, reason: "no answer from the gateway")
        }
    }

    /// `application/x-www-form-urlencoded`: everything but unreserved characters percent-encoded.
    static func form(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return fields.map { name, value in "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }

    /// The gateway's error code (Twilio's `code`), never its message, which may quote the request.
    static func reason(_ body: Data) -> String? {
        guard case .object(let object)? = try? JSONValue.parse(body), case .number(let code)? = object["code"], code.isFinite, abs(code) < 1e9 else {
            return nil
        }
        return "gateway error \(Int(code))"
    }
}
