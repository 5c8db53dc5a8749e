/// What a digest sends: one message, with the digest's template, for everything its customer's runs
/// collected within its window (`{"digest": {...}}` steps). The template sees `count` (how many entries)
/// and `items` (the entries, each the variables its step resolved, oldest first, at most `maxItems`),
/// so it lists them with a section: `{{#items}}{{offer}}, {{/items}}`.
public enum JourneyDigest {
    /// The entries a message lists; `count` still counts every one.
    public static let maxItems = 50

    /// The template's variables for `entries`, oldest first, of `count` in all (the entries alone by default).
    public static func variables(entries: [[String: JSONValue]], count: Int? = nil) -> [String: JSONValue] {
        ["count": .number(Double(count ?? entries.count)), "items": .array(entries.prefix(maxItems).map(JSONValue.object))]
    }
}
