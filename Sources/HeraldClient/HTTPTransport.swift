import AsyncHTTPClient
import Foundation
import HeraldCore
import NIOCore
import NIOHTTP1

/// The client API over HTTP: JSON in and out in the wire format, the user's token as bearer, one
/// fresh token and retry after a 401.
struct HTTPTransport: Sendable {
    let baseURL: URL
    let http: HTTPClient
    let tokens: TokenSource

    private struct ProblemBody: Decodable {
        var type: String?
        var detail: String?
        var errors: [FieldProblem]?
    }

    func get<T: Decodable>(_ path: String, query: [(String, String?)] = [], as type: T.Type, authenticated: Bool = true) async throws -> T {
        try await call(.GET, path, query: query, body: nil, as: type, authenticated: authenticated)
    }

    func post<T: Decodable>(_ path: String, body: JSONValue? = nil, as type: T.Type) async throws -> T {
        try await call(.POST, path, query: [], body: body, as: type)
    }

    func delete(_ path: String) async throws {
        _ = try await send(.DELETE, path, query: [], body: nil, authenticated: true)
    }

    private func call<T: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)], body: JSONValue?, as type: T.Type, authenticated: Bool = true
    ) async throws -> T {
        let data = try await send(method, path, query: query, body: body, authenticated: authenticated)
        return try WireJSON.decoder().decode(T.self, from: data)
    }

    private func send(_ method: HTTPMethod, _ path: String, query: [(String, String?)], body: JSONValue?, authenticated: Bool) async throws -> Data {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        let items = query.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        if !items.isEmpty { components.queryItems = items }
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: components.url!.absoluteString)
            request.method = method
            if authenticated { request.headers.add(name: "authorization", value: "Bearer \(try await tokens.current(refresh: attempt > 0))") }
            if let body {
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body.canonicalData()))
            }
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await http.execute(request, timeout: .seconds(30))
                bytes = try await response.body.collect(upTo: 16 << 20)
            } catch {
                throw HeraldClientError.transport(String(describing: error))
            }
            let data = Data(bytes.readableBytesView)
            if response.status.code == 401, authenticated, attempt == 0 { continue }
            guard (200..<300).contains(response.status.code) else {
                let problem = try? JSONDecoder().decode(ProblemBody.self, from: data)
                throw HeraldClientError.server(
                    status: Int(response.status.code), type: problem?.type, detail: problem?.detail, fields: problem?.errors ?? [])
            }
            return data.isEmpty ? Data("{}".utf8) : data
        }
        throw HeraldClientError.server(status: 401, type: "unauthenticated", detail: nil, fields: [])
    }
}

/// The app's token provider, with the current token cached until the server refuses it.
actor TokenSource {
    private let provider: @Sendable () async throws -> String
    private var token: String?

    init(provider: @escaping @Sendable () async throws -> String) {
        self.provider = provider
    }

    func current(refresh: Bool = false) async throws -> String {
        if !refresh, let token { return token }
        let fresh = try await provider()
        token = fresh
        return fresh
    }
}
