import Foundation
import HeraldCore
@testable import HeraldServer
import Testing

@Suite("docs/openapi.yaml")
struct OpenAPIDocumentTests {
    /// `METHOD /path` of every operation in the document (path items are two spaces deep, operations four).
    private func documentedRoutes() throws -> [String] {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml")
        var routes: [String] = []
        var path: String?
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast()).replacingOccurrences(of: #"\{(\w+)\}"#, with: ":$1", options: .regularExpression)
            } else if line.hasPrefix("components:") {
                path = nil
            } else if let path, let match = line.wholeMatch(of: /\ {4}(get|put|post|patch|delete):/) {
                routes.append("\(match.1.uppercased()) \(path)")
            }
        }
        return routes.sorted()
    }

    @Test("Documents exactly the routes the server has")
    func documentsEveryRoute() async throws {
        try await TestHarness.with { harness in
            let (_, table) = buildRouter(harness.parts)

            let documented = try documentedRoutes()

            #expect(documented == table.all)
        }
    }

    @Test("Names exactly the error codes there are, one vocabulary for problems and frames")
    func documentsEveryErrorCode() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.contains("The same name as the `code` of a realtime `error` frame") })
        let listed = try #require(line.firstMatch(of: /enum: \[([^\]]*)\]/)).1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }

        #expect(listed.sorted() == ErrorCode.allCases.map(\.rawValue).sorted())
    }

    @Test("A HeraldError has the same name in a problem document and in a realtime error frame")
    func oneVocabulary() throws {
        let errors: [HeraldError] = [
            .notFound(resource: "channel"), .unauthenticated(.expired), .forbidden(reason: "no"), .invalid(field: "x", .required), .malformed(detail: "m"),
            .conflict(detail: "c"), .gone(detail: "g"), .tooLarge(detail: "t"), .rateLimited(retryAfterSeconds: 2), .timedOut(detail: "slow"),
        ]
        for error in errors {
            let problem = Problem(error)
            guard case .error(let code, let detail, _) = RealtimeGateway.errorFrame(error, clientMessageID: nil) else {
                Issue.record("not an error frame")
                continue
            }
            #expect(problem.details.type == code, "\(error)")
            #expect(problem.details.detail == nil || problem.details.detail == detail, "\(error)")
        }
    }
}
