import Foundation
import HTTPTypes
import HeraldCore
import HeraldStore
import Hummingbird
import NIOCore

/// JSON responses in the wire format (`WireJSON`).
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try WireJSON.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A page of the inbox as JSON, written by `FrameWriter` (the same JSON value as `WireJSON`'s, `FrameWriterTests`).
    static func json(_ page: InboxPage) -> [UInt8] {
        var writer = FrameWriter(capacity: 64 + 600 * page.items.count)
        writer.write(page)
        return writer.bytes
    }

    /// JSON that is written already (a history page from the store: `HistoryPageWriter`, `RecentMessages`).
    static func make(json: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        make(json: ByteBuffer(bytes: json), status: status)
    }

    /// JSON in a buffer, sent as it is (an inbox page the store kept is shared, not copied).
    static func make(json: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: json))
    }
}

extension Request {
    /// `?version=N` of a versioned resource (templates, journeys): nil when absent.
    /// - Throws: `invalid` for anything but a whole number from 1.
    func versionParameter() throws(HeraldError) -> Int? {
        guard let text = uri.queryParameters.get("version") else { return nil }
        guard let version = Int(text), version >= 1 else { throw .invalid(field: "version", .invalidValue, detail: "a version number") }
        return version
    }

    /// The body, at most `limit` bytes (`Limits.requestBodyBytes` unless a route documents more);
    /// larger bodies are `tooLarge` (413). A body that has not arrived within `Limits.requestBodySeconds`
    /// is `timedOut` (408): a client trickling bytes holds a concurrency slot of its app only that long.
    func bodyData(limit: Int = Limits.requestBodyBytes, deadline: Duration = RequestBodyDeadline.current) async throws -> Data {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw HeraldError.tooLarge(detail: "The body may hold at most \(limit) bytes.")
        }
        let body = self.body
        do {
            return try await withThrowingTaskGroup(of: Data?.self) { group in
                group.addTask { Data(buffer: try await body.collect(upTo: limit)) }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let data = try await group.next() ?? nil else {
                    throw HeraldError.timedOut(detail: "The body did not arrive in time (\(deadline)).")
                }
                return data
            }
        } catch is NIOTooManyBytesError {
            throw HeraldError.tooLarge(detail: "The body may hold at most \(limit) bytes.")
        }
    }

    /// The `Idempotency-Key` header, if any, scoped to `scope`, for `request` (its canonical bytes, only
    /// hashed) sent for `user` (nil when it speaks for the business or for many customers).
    func idempotencyKey(scope: String, request: Data, user: UserID?) throws(HeraldError) -> IdempotencyKey? {
        guard let raw = headers[.idempotencyKey] else { return nil }
        guard let key = ClientMessageID(rawValue: raw) else {
            throw .invalid(field: "Idempotency-Key", .invalidIdentifier, detail: "1 to 128 printable ASCII characters")
        }
        return IdempotencyKey(scope: scope, key: key, request: request, user: user, requiresSameRequest: true)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
}

extension Parameters {
    /// A path id; a malformed one names nothing, so it is 404 like an unknown one.
    func id<ID: Identifier>(_ name: String, as type: ID.Type, resource: String) throws(HeraldError) -> ID {
        guard let raw = get(name), let id = ID(rawValue: raw) else { throw .notFound(resource: resource) }
        return id
    }
}
