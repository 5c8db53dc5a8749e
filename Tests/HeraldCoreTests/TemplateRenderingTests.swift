import Foundation
import HeraldCore
import Testing

@Suite("Template rendering")
struct TemplateRenderingTests {
    static let fraudAlert = TemplateDefinition(
        category: .security, title: "Card ending {{last4}}", body: "Did you pay {{amount}} {{currency}} at {{merchant}}?",
        localizations: [
            "ko": .init(title: "{{last4}} 카드", body: "{{merchant}}에서 {{amount}} {{currency}} 결제하셨나요?", actions: ["approve": "네"]),
            "pt": .init(body: "Pagou {{amount}} {{currency}} em {{merchant}}?"),
        ],
        actions: [NotificationAction(id: "approve", label: "Yes, it was me", stepUp: true), NotificationAction(id: "decline", label: "No")])

    static let variables: [String: JSONValue] = ["last4": .string("4242"), "amount": .number(120), "currency": .string("EUR"), "merchant": .string("Café & Co")]

    @Test("Renders the default text with the variables; whole numbers print without a fraction")
    func rendersDefault() throws {
        let rendered = try CompiledTemplate(Self.fraudAlert).render(locale: nil, variables: Self.variables)

        #expect(rendered.title == "Card ending 4242")
        #expect(rendered.body == "Did you pay 120 EUR at Café & Co?")
        #expect(rendered.locale == nil)
        #expect(rendered.actions?.map(\.label) == ["Yes, it was me", "No"])
    }

    @Test("Uses the recipient's locale, then their language alone, then the default", arguments: [
        ("ko", "ko", "4242 카드", "네"), ("KO-kr", "ko", "4242 카드", "네"), ("pt-BR", "pt", "Card ending 4242", "Yes, it was me"),
        ("fr", nil, "Card ending 4242", "Yes, it was me"),
    ] as [(String, String?, String, String)])
    func localizationFallback(locale: String, expected: String?, title: String, approveLabel: String) throws {
        let rendered = try CompiledTemplate(Self.fraudAlert).render(locale: locale, variables: Self.variables)

        #expect(rendered.locale == expected)
        #expect(rendered.title == title)
        #expect(rendered.actions?.first?.label == approveLabel)
    }

    @Test("A variable the template uses but the send lacks is refused, naming it")
    func missingVariable() throws {
        var variables = Self.variables
        variables["merchant"] = nil

        #expect(throws: HeraldError.invalid([FieldProblem(field: "variables.merchant", reason: .missingVariable, detail: "the template uses {{merchant}}")])) {
            try CompiledTemplate(Self.fraudAlert).render(locale: nil, variables: variables)
        }
    }

    @Test("A variable used only in one localization is still required up front")
    func missingInLocalization() throws {
        let definition = TemplateDefinition(category: .transactional, title: "Hi", body: "Hello", localizations: ["de": .init(body: "Hallo {{name}}")])
        let compiled = try CompiledTemplate(definition)

        #expect(throws: HeraldError.self) { try compiled.checkVariables([:]) }
        try compiled.checkVariables(["name": .string("Ana")])
    }

    @Test("Values are inserted as text: no markup, no template syntax, no hidden characters")
    func valuesAreText() throws {
        let definition = TemplateDefinition(category: .transactional, title: "{{name}}", body: "Paid to {{payee}}.")
        let variables: [String: JSONValue] = ["name": .string("<b>Ana</b>\nline"), "payee": .string("{{secret}} Bob\u{202E}evil\u{200B}")]

        let rendered = try CompiledTemplate(definition).render(locale: nil, variables: variables)

        #expect(rendered.title == "<b>Ana</b> line")
        #expect(rendered.body == "Paid to {{secret}} Bobevil.")
    }

    @Test("Sections: an optional part is given as false; a list renders each element")
    func sections() throws {
        let definition = TemplateDefinition(category: .marketing, title: "Offers", body: "{{#vip}}VIP! {{/vip}}{{#items}}[{{name}}]{{/items}}")

        let rendered = try CompiledTemplate(definition).render(
            locale: nil, variables: ["vip": .bool(false), "items": .array([.object(["name": .string("a")]), .object(["name": .string("b")])])])

        #expect(rendered.body == "[a][b]")
    }

    @Test("A template body is checked: syntax, partials, follow-ups naming actions, unknown fields")
    func definitionValidation() throws {
        func problems(_ json: String) -> [String] {
            do {
                _ = try TemplateDefinition(body: Data(json.utf8))
                return []
            } catch HeraldError.invalid(let problems) {
                return problems.map { "\($0.field):\($0.reason.rawValue)" }
            } catch {
                return ["\(error)"]
            }
        }

        #expect(problems(#"{"category":"security","title":"Hi {{#x}}","body":"b"}"#) == ["title:invalid_value"])
        #expect(problems(#"{"category":"security","title":"Hi","body":"{{> footer}}"}"#) == ["body:invalid_value"])
        #expect(problems(#"{"category":"sms","title":"Hi","body":"b","followUps":{"decline":"card-freeze"},"color":1}"#) == [
            "category:invalid_value", "followUps.decline:invalid_value", "color:unknown_field",
        ])
        #expect(problems(#"{"category":"security","title":"Hi","body":"b","actions":[{"id":"decline","label":"No"}],"followUps":{"decline":"card-freeze"}}"#) == [])
        #expect(problems(#"{"category":"security","title":"Hi","body":"b","localizations":{"ko":{"title":""}}}"#) == ["localizations.ko.title:too_short"])
    }

    @Test("Action inputs are validated: choice options, rating, text length")
    func actionInputs() throws {
        func problems(_ actions: String) -> [String] {
            do {
                _ = try TemplateDefinition(body: Data(#"{"category":"marketing","title":"t","body":"b","actions":\#(actions)}"#.utf8))
                return []
            } catch HeraldError.invalid(let problems) {
                return problems.map { "\($0.field):\($0.reason.rawValue)" }
            } catch {
                return ["\(error)"]
            }
        }

        #expect(problems(#"[{"id":"rate","label":"Rate us","input":{"type":"rating"}}]"#) == [])
        #expect(problems(#"[{"id":"why","label":"Why?","input":{"type":"choice","options":["a","b"]}},{"id":"note","label":"Note","input":{"type":"text","maxLength":500}}]"#) == [])
        #expect(problems(#"[{"id":"why","label":"Why?","input":{"type":"choice","options":["a"]}}]"#) == ["actions[0].input.options:too_short"])
        #expect(problems(#"[{"id":"Bad Id","label":""},{"id":"x","label":"ok","input":{"type":"text","maxLength":5000}}]"#) == [
            "actions[0].id:invalid_value", "actions[0].label:required", "actions[1].input.maxLength:out_of_range",
        ])
    }
}

@Suite("Template render budget")
struct TemplateRenderBudgetTests {
    @Test("A section bomb (nested sections over a long array) is refused as too_large, without rendering it")
    func sectionBombIsRefused() throws {
        let template = try CompiledTemplate(
            TemplateDefinition(category: .transactional, title: "{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}", body: "Details"))
        let variables: [String: JSONValue] = ["a": .array(Array(repeating: .number(0), count: Limits.variableArrayElements))]

        #expect(throws: HeraldError.invalid(field: "variables", .tooLarge, detail: "the template would render more than 1000000 characters with these variables")) {
            _ = try template.render(locale: nil, variables: variables)
        }
    }

    @Test("Arrays in variables hold at most 100 elements, wherever they are")
    func longArraysAreRefused() throws {
        let template = try CompiledTemplate(TemplateDefinition(category: .transactional, title: "{{#items}}{{name}} {{/items}}", body: "Body"))
        let long = JSONValue.array(Array(repeating: .object(["name": .string("x")]), count: Limits.variableArrayElements + 1))

        #expect(throws: HeraldError.invalid(field: "variables.items", .tooMany, detail: "at most 100 elements")) {
            _ = try template.render(locale: nil, variables: ["items": long])
        }
        #expect(throws: HeraldError.self) { _ = try template.render(locale: nil, variables: ["items": .array([]), "other": .object(["deep": long])]) }
    }

    @Test("Each insertion of a value counts: a long value repeated past the budget is refused, not rendered")
    func repeatedInsertionsAreCounted() throws {
        let template = try CompiledTemplate(
            TemplateDefinition(category: .transactional, title: "Statement", body: String(repeating: "{{s}}", count: 200)))

        #expect(throws: HeraldError.self) { _ = try template.render(locale: nil, variables: ["s": .string(String(repeating: "x", count: 15_000))]) }
        #expect(try template.render(locale: nil, variables: ["s": .string("ok")]).body.count == 400)
    }

    @Test("Transforms, which turn an object into a list the budget does not see, are refused; a comment cannot hide a section's depth")
    func transformsAndHiddenDepthAreRefused() {
        for title in [
            "{{#enumerated(o)}}{{#enumerated(o)}}x{{/enumerated(o)}}{{/enumerated(o)}}", "{{#sorted(o)}}x{{/sorted(o)}}", "{{count(items)}}",
            "{{#a}}{{! {{/a}} }}{{#b}}{{#c}}{{#d}}x{{/d}}{{/c}}{{/b}}{{/a}}",
        ] {
            #expect(throws: HeraldError.self, "\(title)") { _ = try CompiledTemplate(TemplateDefinition(category: .transactional, title: title, body: "Body")) }
        }
    }

    @Test("A list within the budget renders every element; sections nest at most three deep")
    func ordinaryListsRender() throws {
        let template = try CompiledTemplate(TemplateDefinition(category: .transactional, title: "Charges", body: "{{#items}}{{name}};{{/items}}"))
        let items = JSONValue.array((0..<Limits.variableArrayElements).map { .object(["name": .string("n\($0)")]) })

        let rendered = try template.render(locale: nil, variables: ["items": items])

        #expect(rendered.body.split(separator: ";").count == Limits.variableArrayElements)
        #expect(throws: HeraldError.self) {
            _ = try CompiledTemplate(TemplateDefinition(category: .transactional, title: "{{#a}}{{#b}}{{#c}}{{#d}}x{{/d}}{{/c}}{{/b}}{{/a}}", body: "Body"))
        }
    }
}
