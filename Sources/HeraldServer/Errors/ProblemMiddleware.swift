import HeraldCore
import Hummingbird
import Logging

/// Turns every error thrown below it into a problem+json response (see `Problem`), and a `404`
/// for a path that exists with other methods into a `405` with `Allow`.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HeraldError {
            throw Problem(error)
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = routes.methods(matching: request.uri.path), !allowed.isEmpty {
                var problem = Problem(.methodNotAllowed, .methodNotAllowed, "Method not allowed", detail: "Allowed: \(allowed.joined(separator: ", ")).")
                problem.headers[.allow] = allowed.joined(separator: ", ")
                throw problem
            }
            throw Problem(error)
        } catch let error as Problem {
            throw error
        } catch is CancellationError {
            throw Problem(.serviceUnavailable, .unavailable, "The server is shutting down")
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw Problem.internal
        }
    }
}
