import Foundation
import HeraldCore
import Testing

@Suite("App settings: realtime origins")
struct AppSettingsTests {
    static let settings = try! AppSettings().merging(body: Data(#"{"realtime":{"allowedOrigins":["https://App.Acme.example:443","http://localhost:3000"]}}"#.utf8))

    @Test("Allowed origins are normalized; a bad one is named and nothing changes")
    func normalization() throws {
        #expect(Self.settings.realtime.allowedOrigins == ["http://localhost:3000", "https://app.acme.example"])
        #expect(throws: HeraldError.invalid([FieldProblem(field: "realtime.allowedOrigins[1]", reason: .invalidValue, detail: "an origin such as https://app.acme.example")])) {
            try AppSettings().merging(body: Data(#"{"realtime":{"allowedOrigins":["https://ok.example","https://bad.example/path"]}}"#.utf8))
        }
    }

    @Test("Browser origins are checked, library origins are not", arguments: [
        ("https://app.acme.example", true), ("https://APP.acme.example:443", true), ("http://localhost:3000", true),
        ("https://evil.example", false), ("http://app.acme.example", false), ("null", false), ("https://app.acme.example.evil.example", false),
        ("ws://127.0.0.1", true), ("ws://127.0.0.1, https://app.acme.example", true), ("ws://127.0.0.1, https://evil.example", false),
    ])
    func originCheck(header: String, allowed: Bool) {
        #expect(Self.settings.realtime.allows(originHeader: header) == allowed)
    }
}
