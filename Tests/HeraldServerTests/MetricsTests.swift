import Foundation
import HeraldCore
import HeraldStore
import HeraldTestSupport
import Testing

@Suite("Metrics on /metrics")
struct MetricsTests {
    @Test("HTTP requests per route, method and status with their durations, realtime frames in and out, the outbox backlog per kind and fan-out progress; no label names a tenant or a customer")
    func operatorMetrics() async throws {
        try await TestHarness.with { harness in
            let token = try await harness.token(for: "ana")
            for name in ["ana", "ben"] {
                _ = try await harness.store.registerDevice(NewDevice(platform: .fcm, token: "\(name)-phone"), for: harness.user(name), in: harness.app)
            }
            try await harness.run(.live) { client in
                _ = try await client.request(.put, "/v1/users/zed", auth: harness.apiKey, body: #"{"name":"Zed"}"#)
                _ = try await client.request(.get, "/v1/users/nobody", auth: harness.apiKey)
                for invented in ["PROPFIND", "MKCOL"] { _ = try await client.request(.init(invented)!, "/v1/users/zed", auth: harness.apiKey) }
                let socket = TestSocket(port: client.port, auth: .header(token))
                #expect(await socket.ready())
                let sent = try await client.request(
                    .post, "/v1/notifications", auth: harness.apiKey,
                    body: #"{"recipients":["ana","ben"],"category":"transactional","content":{"title":"Statement","body":"Ready"}}"#)
                #expect(sent.status == .created || sent.status == .accepted, "\(sent.text)")
                #expect(await socket.next("inbox.created") != nil)
                await socket.close()

                let metrics = try await client.request(.get, "/metrics").text
                func value(_ series: String) -> Double? {
                    metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
                }

                #expect(value(#"herald_http_requests_total{route="/v1/users/{userId}",method="PUT",status="201"}"#) == 1, "\(metrics)")
                #expect(value(#"herald_http_requests_total{route="/v1/users/{userId}",method="GET",status="404"}"#) == 1)
                #expect(value(#"herald_http_request_duration_seconds_count{route="/v1/users/{userId}",method="PUT"}"#) == 1)
                #expect(!metrics.contains("PROPFIND") && !metrics.contains("MKCOL") && metrics.contains(#"method="other""#), "a client's method is no label")
                #expect((value(#"herald_realtime_frames_total{direction="out"}"#) ?? 0) >= 2, "ready and inbox.created")
                #expect(value(#"herald_inbox_items_written_total"#) == 2)
                #expect(value(#"herald_inbox_items_published_total"#) == 1, "ana was connected, ben was not")
                #expect(value(#"herald_outbox_backlog{kind="push"}"#) == 1, "ben's push waits; ana was connected, so hers was never written")
                for identifier in ["zed", "nobody", "ana", harness.app.rawValue] {
                    #expect(!metrics.split(separator: "\n").contains { $0.contains("{") && $0.contains(identifier) }, "\(identifier) in a label")
                }
            }
        }
    }

    @Test("The Grafana dashboard in deploy/ is valid JSON and charts only metrics that docs/operations.md documents, and the server exports")
    func dashboardUsesRealMetrics() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dashboard = try Data(contentsOf: root.appendingPathComponent("deploy/grafana-dashboard.json"))
        let operations = try String(contentsOf: root.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: dashboard) as? [String: Any])
        let panels = try #require(object["panels"] as? [[String: Any]])
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        let names = Set(expressions.flatMap { expression in
            expression.matches(of: /herald_[a-z_]+/).map { String($0.output).replacing(/_(bucket|count|sum)$/, with: "") }
        })

        #expect(panels.count >= 8 && names.count >= 8, "\(names)")
        for name in names { #expect(operations.contains("`\(name)"), "\(name) is not documented in docs/operations.md") }
    }
}
