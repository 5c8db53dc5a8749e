import Foundation
import HeraldCore
import HeraldTestSupport
import Testing

/// Traces from the real binary to a collector on loopback (OTLP/HTTP, JSON encoding so the test can
/// read it): a span per request, continuing the caller's W3C `traceparent`, with its commit and its
/// deliveries as children, and nothing in any span that names a customer.
@Suite("Operations: traces")
struct TracingTests {
    /// One span as OTLP/JSON carries it (ids hex, whatever the encoder chose: hex or base64).
    struct ExportedSpan {
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var name: String
        var kind: Int
        var attributes: [String: String]
    }

    static func hex(_ id: String) -> String {
        if id.count == 32 || id.count == 16, id.allSatisfy(\.isHexDigit) { return id.lowercased() }
        return Data(base64Encoded: id).map { $0.map { String(format: "%02x", $0) }.joined() } ?? id
    }

    static func spans(in body: Data) throws -> (service: String?, spans: [ExportedSpan]) {
        let root = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        var service: String?
        var spans: [ExportedSpan] = []
        func attributes(_ list: Any?) -> [String: String] {
            var result: [String: String] = [:]
            for attribute in (list as? [[String: Any]]) ?? [] {
                guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any], let first = value.values.first else { continue }
                result[key] = "\(first)"
            }
            return result
        }
        for resourceSpans in (root["resourceSpans"] as? [[String: Any]]) ?? [] {
            service = attributes((resourceSpans["resource"] as? [String: Any])?["attributes"])["service.name"] ?? service
            for scope in (resourceSpans["scopeSpans"] as? [[String: Any]]) ?? [] {
                for span in (scope["spans"] as? [[String: Any]]) ?? [] {
                    spans.append(
                        ExportedSpan(
                            traceID: hex(span["traceId"] as? String ?? ""), spanID: hex(span["spanId"] as? String ?? ""),
                            parentSpanID: hex(span["parentSpanId"] as? String ?? ""), name: span["name"] as? String ?? "", kind: span["kind"] as? Int ?? 0,
                            attributes: attributes(span["attributes"])))
                }
            }
        }
        return (service, spans)
    }

    @Test("--otlp-traces-endpoint: the request's span continues the caller's trace, its commit and deliveries are its children, no span names a customer")
    func requestCommitAndDeliveryReachTheCollector() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        try await WebhookReceiver.with(path: "/v1/traces") { collector in
          try await WebhookReceiver.with { business in
            let app = try EndToEndTests.createApp(data: data)
            let server = try await HeraldProcess.start(
                arguments: ["--data", data.path, "--port", "0", "--log-format", "json", "--otlp-traces-endpoint", collector.url, "--allow-private-targets"],
                environment: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "50"])
            let customers = ["cust-4711-ana", "cust-4712-ben"]
            for name in customers { await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/users/\(name)", key: app.apiKey, body: "{}") }
            let created = try #require(
                await EndToEndTests.call(.POST, "\(server.baseURL)/v1/channels", key: app.apiKey, body: #"{"type":"direct","members":["cust-4711-ana","cust-4712-ben"]}"#))
            let channel = try WireJSON.decoder().decode(Channel.self, from: created.body)
            let (traceID, callerSpanID) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
            let sent = try #require(
                await EndToEndTests.call(
                    .POST, "\(server.baseURL)/v1/channels/\(channel.id)/messages?x=\(customers[0])", key: app.apiKey,
                    body: #"{"text":"secret balance 1234","sender":"cust-4711-ana"}"#, headers: [("traceparent", "00-\(traceID)-\(callerSpanID)-01")]))
            #expect(sent.status == 201)
            // A customer's request carrying a trace context of its choosing starts a trace of its own.
            let issued = try #require(await EndToEndTests.call(.POST, "\(server.baseURL)/v1/users/\(customers[1])/tokens", key: app.apiKey))
            let fields = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])
            let token = try #require(fields["token"] as? String)
            let customerTrace = "aaaabbbbccccddddeeeeffff00001111"
            let read = try #require(
                await EndToEndTests.call(
                    .GET, "\(server.baseURL)/v1/me/channels", key: token, headers: [("traceparent", "00-\(customerTrace)-00f067aa0ba902b7-01")]))
            #expect(read.status == 200)
            // A webhook goes to the business without a trace header, and makes no span.
            await EndToEndTests.call(.PUT, "\(server.baseURL)/v1/webhooks", key: app.apiKey, body: #"{"url":"\#(business.url)","events":["notification.sent"]}"#)
            await EndToEndTests.call(
                .POST, "\(server.baseURL)/v1/notifications", key: app.apiKey,
                body: #"{"recipients":["cust-4711-ana"],"category":"transactional","content":{"title":"Hello","body":"Paid"}}"#)
            let hook = try #require(await business.next())
            #expect(hook.header("traceparent") == nil)
            // A clean stop sends the last batch before the process exits.
            #expect(await server.stop(with: SIGTERM) == 0)

            let bodies = collector.all
            #expect(bodies.allSatisfy { $0.header("Content-Type") == "application/json" })
            var exported: [ExportedSpan] = []
            for body in bodies {
                let (service, spans) = try Self.spans(in: body.body)
                #expect(service == "herald")
                exported += spans
            }
            let request = try #require(exported.first { $0.traceID == traceID && $0.attributes["http.request.method"] == "POST" }, "\(exported.map(\.name))")
            #expect(request.parentSpanID == callerSpanID)
            #expect(request.attributes["http.route"]?.hasSuffix("/messages") == true)
            #expect(request.attributes["http.response.status_code"] == "201")
            let commit = try #require(exported.first { $0.name == "herald.commit" && $0.parentSpanID == request.spanID })
            #expect(commit.traceID == traceID)
            #expect(commit.attributes["herald.messages"] == "1")
            let deliver = try #require(exported.first { $0.name == "herald.deliver" && $0.parentSpanID == commit.spanID })
            #expect(deliver.traceID == traceID)
            // One span per request for the setup calls too, each a trace of its own.
            #expect(exported.filter { $0.attributes["http.request.method"] == "PUT" && $0.attributes["http.route"] == "/v1/users/{userId}" }.count == customers.count)
            let customerSpan = try #require(exported.first { $0.attributes["http.route"] == "/v1/me/channels" })
            #expect(customerSpan.traceID != customerTrace && customerSpan.parentSpanID.isEmpty)
            // No client spans (kind 3): outgoing webhook and push requests are not traced.
            #expect(!exported.contains { $0.kind == 3 }, "\(exported.map(\.name))")

            for span in exported { #expect(span.attributes.keys.allSatisfy { !["url.path", "url.query", "net.sock.peer.addr"].contains($0) }, "\(span.attributes)") }
            let everything = bodies.map { String(decoding: $0.body, as: UTF8.self) }.joined()
            for secret in customers + [channel.id.rawValue, "secret balance"] { #expect(!everything.contains(secret), "\(secret) reached the collector") }

            // The request's log line names its trace: from a log line to the trace, and back.
            let line = try #require(server.logText.split(separator: "\n").first { $0.contains(#""status":201"#) && $0.contains("/messages") })
            #expect(line.contains(traceID), "\(line)")
          }
        }
    }

    @Test("A traces endpoint that is not an http(s) URL is refused at start, naming the flag")
    func badEndpointIsRefused() async throws {
        let data = try EndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await HeraldProcess.failure(["serve", "--data", data.path, "--otlp-traces-endpoint", "collector:4318"])
        #expect(result.status != 0)
        #expect(result.errors.contains("--otlp-traces-endpoint must be an http or https URL"), "\(result.errors)")
    }
}
