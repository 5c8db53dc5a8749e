import Foundation
import HTTPTypes
import HeraldCore
import Hummingbird
import Logging

/// Gives every request an id (`X-Request-Id`, taken from the client when well-formed), puts it in the
/// logger's metadata and logs one line per request. Headers and bodies are never logged: they carry
/// credentials and content.
struct RequestLoggingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.xRequestID].flatMap(Self.acceptable) ?? RandomToken.base32(byteCount: 10)
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let start = ContinuousClock.now
        do {
            var response = try await next(request, context)
            response.headers[.xRequestID] = requestID
            log(request, status: response.status.code, since: start, logger: context.logger)
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.xRequestID] = requestID
            log(request, status: response.status.code, since: start, logger: context.logger)
            return response
        }
    }

    private func log(_ request: Request, status: Int, since start: ContinuousClock.Instant, logger: Logger) {
        let elapsed = ContinuousClock.now - start
        let level: Logger.Level = status >= 500 ? .error : .debug
        logger.log(
            level: level, "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path), "status": .stringConvertible(status),
                "duration_ms": .stringConvertible(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000),
            ])
    }

    private static func acceptable(_ id: String) -> String? {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { (0x21...0x7E).contains($0) } ? id : nil
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
}
