import HeraldCore
import Hummingbird

/// How long a request's body has to arrive (`ServerConfiguration.requestBodyTimeout`), for the
/// request's own task: set by `RequestBodyDeadlineMiddleware`, read by `Request.bodyData`, so every
/// route that reads a body gets the deadline without passing it along.
enum RequestBodyDeadline {
    @TaskLocal static var current: Duration = .seconds(Limits.requestBodySeconds)
}

struct RequestBodyDeadlineMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let deadline: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestBodyDeadline.$current.withValue(deadline) { try await next(request, context) }
    }
}
