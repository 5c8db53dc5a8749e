import Foundation
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
}
