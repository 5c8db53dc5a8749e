public import Foundation
import Mustache

/// What a template renders to for one locale.
public struct RenderedContent: Equatable, Sendable {
    public var title: String
    public var body: String
    public var actions: [NotificationAction]?
    /// The localization used, or nil for the default text.
    public var locale: String?

    public init(title: String, body: String, actions: [NotificationAction]?, locale: String?) {
        self.title = title
        self.body = body
        self.actions = actions
        self.locale = locale
    }
}

/// A template compiled once per send and rendered for each locale of the recipients.
///
/// Rendering is plain text: values are inserted as they are (Mustache's text content type, so a
/// customer's `&` stays `&`), are never parsed as template syntax, and lose invisible and control
/// characters, which could reorder or hide what the customer reads (bidi overrides, zero-width
/// characters). Clients display title and body as text, never as markup. Partials, inheritance,
/// pragmas and delimiter changes are refused: a template is one self-contained text.
public struct CompiledTemplate: Sendable {
    private struct Variant: Sendable {
        var title: MustacheTemplate
        var body: MustacheTemplate
        var labels: [String: String]
        /// Characters of its title and body sources: what one section iteration can produce at most,
        /// besides the values it inserts.
        var sourceCharacters: Int
    }

    public let definition: TemplateDefinition
    private let base: Variant
    private let variants: [String: Variant]

    public init(_ definition: TemplateDefinition) throws(HeraldError) {
        self.definition = definition
        base = Variant(
            title: try Self.compile(definition.title, field: "title"), body: try Self.compile(definition.body, field: "body"), labels: [:],
            sourceCharacters: definition.title.count + definition.body.count)
        var variants: [String: Variant] = [:]
        for (locale, localization) in definition.localizations {
            variants[locale.lowercased()] = Variant(
                title: try localization.title.map { text throws(HeraldError) in try Self.compile(text, field: "localizations.\(locale).title") } ?? base.title,
                body: try localization.body.map { text throws(HeraldError) in try Self.compile(text, field: "localizations.\(locale).body") } ?? base.body,
                labels: localization.actions ?? [:],
                sourceCharacters: (localization.title ?? definition.title).count + (localization.body ?? definition.body).count)
        }
        self.variants = variants
    }

    /// Checks that every text of `definition` compiles.
    static func check(_ definition: TemplateDefinition) throws(HeraldError) {
        _ = try CompiledTemplate(definition)
    }

    /// The localization key used for `locale`: exact match, then the language alone, else the default.
    public func resolvedLocale(for locale: String?) -> String? {
        guard let locale = locale?.lowercased() else { return nil }
        if variants[locale] != nil { return locale }
        let language = String(locale.prefix { $0 != "-" })
        return variants[language] != nil ? language : nil
    }

    /// Renders for `locale`, under a budget: sections over long arrays, nested, could otherwise take
    /// minutes of a shared thread and all memory (5×10^11 renders from a 48-character title). Each section
    /// iteration costs the template's size, and each value inserted its length; when the budget
    /// (`Limits.renderBudgetCharacters`) is spent, every section and value renders nothing more and the
    /// render is refused.
    /// - Throws: `invalid` naming each variable the text uses that `variables` lacks (`missing_variable`),
    ///   a render over budget (`too_large` on `variables`), or a rendered title or body beyond the limits.
    public func render(locale: String?, variables: [String: JSONValue]) throws(HeraldError) -> RenderedContent {
        try Self.checkShape(of: variables)
        let resolved = resolvedLocale(for: locale)
        let variant = resolved.flatMap { variants[$0] } ?? base
        let budget = RenderBudget(characters: Limits.renderBudgetCharacters, perIteration: max(1, variant.sourceCharacters))
        let scope = VariableScope(variables, budget: budget)
        let title = variant.title.render(scope).split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        let body = budget.isExceeded ? "" : variant.body.render(scope).trimmingCharacters(in: .whitespacesAndNewlines)
        if budget.isExceeded {
            throw .invalid(field: "variables", .tooLarge, detail: "the template would render more than \(Limits.renderBudgetCharacters) characters with these variables")
        }
        var problems = scope.missing.sorted().map { FieldProblem(field: "variables.\($0)", reason: .missingVariable, detail: "the template uses {{\($0)}}") }
        if problems.isEmpty {
            if title.count > Limits.titleCharacters { problems.append(FieldProblem(field: "variables", reason: .tooLong, detail: "the rendered title exceeds \(Limits.titleCharacters) characters")) }
            if body.count > Limits.bodyCharacters { problems.append(FieldProblem(field: "variables", reason: .tooLong, detail: "the rendered body exceeds \(Limits.bodyCharacters) characters")) }
        }
        guard problems.isEmpty else { throw .invalid(problems) }
        let actions = definition.actions.map { actions in
            actions.map { action in
                var action = action
                if let label = variant.labels[action.id] { action.label = label }
                return action
            }
        }
        return RenderedContent(title: title, body: body, actions: actions, locale: resolved)
    }

    /// Renders every localization, so a send is refused up front when any recipient's locale would miss a variable.
    public func checkVariables(_ variables: [String: JSONValue]) throws(HeraldError) {
        _ = try render(locale: nil, variables: variables)
        for locale in variants.keys.sorted() { _ = try render(locale: locale, variables: variables) }
    }

    /// Checks what every localization renders to (title, body, action labels and choice options) against
    /// `policy`. A refused link is reported on `template` when the template's own text holds it, else on
    /// `variables` (a value brought it in).
    public func checkLinks(_ policy: LinkPolicy, variables: [String: JSONValue]) throws(HeraldError) {
        for locale in [nil] + variants.keys.sorted() {
            let rendered = try render(locale: locale, variables: variables)
            let refused = policy.problems(in: [("title", rendered.title), ("body", rendered.body)] + LinkPolicy.fields(of: rendered.actions))
            guard let first = refused.first else { continue }
            var sources = [("title", definition.title), ("body", definition.body)] + LinkPolicy.fields(of: definition.actions)
            for localization in definition.localizations.values {
                sources += [("title", localization.title ?? ""), ("body", localization.body ?? "")]
                sources += (localization.actions ?? [:]).map { ("label", $0.value) }
            }
            let field = policy.problems(in: sources).isEmpty ? "variables" : "template"
            throw .invalid(field: field, .linkNotAllowed, detail: "the rendered \(first.field) \(first.detail ?? "holds a link that is not allowed")")
        }
    }

    /// Refuses arrays longer than `Limits.variableArrayElements`, anywhere in `variables` (422 `too_many`).
    static func checkShape(of variables: [String: JSONValue]) throws(HeraldError) {
        var problems: [FieldProblem] = []
        func visit(_ value: JSONValue, _ path: String) {
            switch value {
            case .array(let items):
                if items.count > Limits.variableArrayElements {
                    problems.append(FieldProblem(field: path, reason: .tooMany, detail: "at most \(Limits.variableArrayElements) elements"))
                }
                for (index, item) in items.enumerated() { visit(item, "\(path)[\(index)]") }
            case .object(let members): for key in members.keys.sorted() { visit(members[key]!, "\(path).\(key)") }
            case .null, .bool, .number, .string: break
            }
        }
        for key in variables.keys.sorted() { visit(variables[key]!, "variables.\(key)") }
        if !problems.isEmpty { throw .invalid(problems) }
    }

    /// How deep sections nest in `text` (`{{#a}}{{^b}}…{{/b}}{{/a}}` is 2), by its tags.
    static func sectionDepth(of text: String) -> Int {
        var depth = 0, deepest = 0
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            let tag = rest[open.upperBound...].drop { $0 == " " }
            if tag.hasPrefix("!") {
                // A comment's text is not tags, whatever it holds (`{{! {{/a}} }}`).
                guard let end = tag.range(of: "}}") else { break }
                rest = tag[end.upperBound...]
                continue
            }
            if tag.hasPrefix("#") || tag.hasPrefix("^") {
                depth += 1
                deepest = max(deepest, depth)
            } else if tag.hasPrefix("/") {
                depth = max(0, depth - 1)
            }
            rest = rest[open.upperBound...]
        }
        return deepest
    }

    private static func compile(_ text: String, field: String) throws(HeraldError) -> MustacheTemplate {
        for unsupported in ["{{>", "{{<", "{{$", "{{=", "{{%"] where text.contains(unsupported) {
            throw .invalid(field: field, .invalidValue, detail: "partials, inheritance, pragmas and delimiter changes (\(unsupported)) are not supported")
        }
        // swift-mustache's transforms (`{{#enumerated(o)}}`, `{{#sorted(o)}}`) turn an object into a list the
        // render budget does not see, and add nothing a notification needs.
        var tags = Substring(text)
        while let open = tags.range(of: "{{") {
            guard let close = tags[open.upperBound...].range(of: "}}") else { break }
            let tag = tags[open.upperBound..<close.lowerBound]
            if !tag.drop(while: { $0 == " " }).hasPrefix("!"), tag.contains("(") {
                throw .invalid(field: field, .invalidValue, detail: "transforms ({{name(…)}}) are not supported")
            }
            tags = tags[close.upperBound...]
        }
        if sectionDepth(of: text) > Limits.sectionNesting {
            throw .invalid(field: field, .invalidValue, detail: "sections nest at most \(Limits.sectionNesting) deep")
        }
        do {
            return try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
        } catch {
            throw .invalid(field: field, .invalidValue, detail: "not a valid Mustache template (\(error))")
        }
    }
}

/// The characters a render may still produce; once spent, every section and value of it renders nothing
/// more. One per render, used on the rendering thread only.
private final class RenderBudget {
    private var remaining: Int
    /// What one section iteration costs: the template's size, the most literal text it can repeat.
    let perIteration: Int
    private(set) var isExceeded = false

    init(characters: Int, perIteration: Int) {
        remaining = characters
        self.perIteration = perIteration
    }

    func spend(_ characters: Int) -> Bool {
        guard remaining >= characters else {
            remaining = 0
            isExceeded = true
            return false
        }
        remaining -= characters
        return true
    }
}

/// An array of `variables` as Mustache iterates it: each element spends an iteration of the budget.
private struct BudgetedSequence: MustacheSequence {
    let items: [Any]
    let budget: RenderBudget

    func makeIterator() -> AnyIterator<Any> {
        var iterator = items.makeIterator()
        return AnyIterator { budget.spend(budget.perIteration) ? iterator.next() : nil }
    }
}

/// A string of `variables` as Mustache inserts it: each insertion spends its length of the budget.
private final class BudgetedText: MustacheCustomRenderable {
    let text: String
    let budget: RenderBudget

    init(_ text: String, budget: RenderBudget) {
        self.text = text
        self.budget = budget
    }

    var renderText: String { budget.spend(text.utf8.count) ? text : "" }
    /// An empty string is false in a section, as Mustache has it.
    var isNull: Bool { text.isEmpty }
}

/// The root of a rendering: the send's variables, recording every top-level name the template asked
/// for and did not find (Mustache itself renders a missing variable as nothing, silently).
private final class VariableScope: MustacheParent {
    private let values: [String: Any]
    private(set) var missing: Set<String> = []

    init(_ variables: [String: JSONValue], budget: RenderBudget) {
        values = variables.mapValues { Self.mustacheValue($0, budget: budget) }
    }

    func child(named name: String) -> Any? {
        if let value = values[name] { return value }
        missing.insert(name)
        return nil
    }

    static func mustacheValue(_ value: JSONValue, budget: RenderBudget) -> Any {
        switch value {
        case .null: ""
        case .bool(let flag): flag
        case .number(let number): number.rounded() == number && abs(number) < 9.0e15 ? Int64(number) as Any : number as Any
        case .string(let text): BudgetedText(sanitized(text), budget: budget)
        case .array(let items): BudgetedSequence(items: items.map { mustacheValue($0, budget: budget) }, budget: budget)
        case .object(let fields): fields.mapValues { mustacheValue($0, budget: budget) }
        }
    }

    /// Text with invisible and control characters removed (line breaks kept).
    static func sanitized(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where scalar == "\n" || !(LinkDetector.isInvisible(scalar) || scalar.properties.generalCategory == .control) {
            scalars.append(scalar)
        }
        return String(scalars)
    }
}
