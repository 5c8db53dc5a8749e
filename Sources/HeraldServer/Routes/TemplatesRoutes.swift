import Foundation
import HeraldCore
import HeraldStore
import Hummingbird

/// `/v1/templates`: versioned notification templates and their preview (Platform API).
struct TemplatesRoutes {
    let store: any SettingsStore & TemplateStore

    private struct TemplateList: Encodable {
        var templates: [Template]
    }

    private struct Preview: Encodable {
        var key: TemplateKey
        var version: Int
        var category: NotificationCategory
        var locale: String?
        var title: String
        var body: String
        var actions: [NotificationAction]?
    }

    func add(to routes: RouteRegistrar) {
        routes.on(.get, "/v1/templates", use: list)
        routes.on(.put, "/v1/templates/:key", use: put)
        routes.on(.get, "/v1/templates/:key", use: get)
        routes.on(.post, "/v1/templates/:key/preview", use: preview)
    }

    @Sendable func list(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        return try JSONResponse.make(TemplateList(templates: try await store.templates(in: app)))
    }

    @Sendable func put(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let key = try TemplateKey(validating: context.parameters.get("key") ?? "", field: "key")
        let definition = try TemplateDefinition(body: await request.bodyData())
        let template = try await store.putTemplate(key, definition, in: app)
        return try JSONResponse.make(template, status: template.version == 1 ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        let version = try request.versionParameter()
        return try JSONResponse.make(try await requireTemplate(context, app: app, version: version))
    }

    /// Renders with the given variables and locale, exactly as a send would, without sending.
    @Sendable func preview(_ request: Request, context: HeraldRequestContext) async throws -> Response {
        let app = try Access.requirePlatform(context.requireCaller())
        var reader = try ObjectReader(body: await request.bodyData())
        let variables = reader.object("variables", maxBytes: Limits.variablesBytes) ?? [:]
        let locale = reader.string("locale", maxLength: 35)
        try reader.finish()
        let template = try await requireTemplate(context, app: app, version: nil)
        let compiled = try CompiledTemplate(template.definition)
        let rendered = try compiled.render(locale: locale, variables: variables)
        if template.definition.category.requiresLinkPolicy { try compiled.checkLinks(try await store.settings(of: app).links, variables: variables) }
        return try JSONResponse.make(
            Preview(
                key: template.key, version: template.version, category: template.definition.category, locale: rendered.locale, title: rendered.title,
                body: rendered.body, actions: rendered.actions))
    }

    private func requireTemplate(_ context: HeraldRequestContext, app: AppID, version: Int?) async throws -> Template {
        let key = try context.parameters.id("key", as: TemplateKey.self, resource: "template")
        guard let template = try await store.template(key, version: version, in: app) else { throw HeraldError.notFound(resource: "template") }
        return template
    }
}
