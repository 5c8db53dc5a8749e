public import Foundation

/// The worked journeys of `docs/journeys.md`, as written there: the JSON block after the line
/// `<!-- journey: NAME -->`. Tests run them word for word, so the page cannot drift from what works.
public enum DocumentedJourney {
    public struct Missing: Error, CustomStringConvertible {
        public var name: String
        public init(name: String) { self.name = name }
        public var description: String { "docs/journeys.md has no journey block named \(name)" }
    }

    public static func named(_ name: String) throws -> String {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/journeys.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        guard let marker = text.range(of: "<!-- journey: \(name) -->\n```json\n"),
            let end = text.range(of: "\n```", range: marker.upperBound..<text.endIndex)
        else { throw Missing(name: name) }
        return String(text[marker.upperBound..<end.lowerBound])
    }
}
