import Foundation
import HTTPTypes
import HeraldCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import Synchronization

/// Each TCP connection of the server: Hummingbird's HTTP/1 for every route, and `GET /v1/realtime`
/// upgraded to a WebSocket that `RealtimeHandler` serves with synchronous channel handlers.
///
/// Why Herald's own child channel (issue 19): Hummingbird runs each connection's `handle` in a task
/// of its own, and its WebSocket layer keeps that task and four more suspended for the socket's life
/// (44 KiB an idle socket, a fifth of the CPU at saturation). Here the upgrade installs the handlers
/// and `handle` returns: an idle socket holds no task.
///
/// An upgrade that `RealtimeAdmission` can admit from memory is decided on the event loop. Any other
/// goes through the router like any request (request id, log line, problem bodies, authentication,
/// rate limits); its route decides and fills the request's `RealtimeUpgradeSlot`. A refused upgrade is answered with the router's own response
/// (401 or 403 with a problem body), then the connection is closed.
struct RealtimeChildChannel<Router: HTTPResponder>: ServerChildChannel, HTTPChannelHandler where Router.Context == HeraldRequestContext {
    enum UpgradeResult: Sendable {
        /// The socket is the realtime handler's now.
        case realtime
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// The upgrade was asked for and refused (or was not a valid WebSocket handshake).
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, RefusedUpgrade?)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any NIOCore.Channel
    }

    /// The router's answer to a refused upgrade, written before the connection closes.
    struct RefusedUpgrade: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer
    }

    let responder: HTTPChannelHandler.Responder
    let upgradeRouter: Router
    let admission: RealtimeAdmission
    let http1: HTTP1Channel.Configuration
    let gateway: RealtimeGateway

    init(
        responder: @escaping HTTPChannelHandler.Responder, upgradeRouter: Router, admission: RealtimeAdmission, http1: HTTP1Channel.Configuration,
        gateway: RealtimeGateway
    ) {
        self.responder = Self.refusingLateUpgrades(responder)
        self.upgradeRouter = upgradeRouter
        self.admission = admission
        self.http1 = http1
        self.gateway = gateway
    }

    func setup(channel: any NIOCore.Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // What the upgrade request's route decided, from `shouldUpgrade` to the pipeline handler
            // (both run on this channel's event loop, one after the other).
            let decision = NIOLoopBoundBox<UpgradeDecision?>(nil, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: gateway.limits.transportMaxFrame,
                shouldUpgrade: { channel, head in
                    decide(head, channel: channel, logger: logger).map { outcome in
                        decision.value = outcome
                        if case .accept = outcome { return [:] }
                        return nil
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accept(let upgrade)? = decision.value else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
                        decision.value = nil
                        let limits = gateway.limits
                        try channel.pipeline.syncOperations.addHandlers(
                            NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: limits.transportMaxFrame),
                            RealtimeHandler(gateway: gateway, upgrade: upgrade))
                        return .realtime
                    }
                })
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        switch decision.value {
                        case nil: return .notUpgraded(asyncChannel)
                        case .refuse(let refusal): return .refused(asyncChannel, refusal)
                        case .accept: return .refused(asyncChannel, nil)
                        }
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // Hummingbird handles these
            configuration.enableResponseHeaderValidation = false  // swift-http-types validates already
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .realtime:
                // The handlers own the socket from here on; nothing waits for it.
                return
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .refused(let http1, let refusal):
                await Self.write(refusal, to: http1, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("the connection closed before its first request")
        } catch {
            logger.debug("the connection ended before its first request", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    private enum UpgradeDecision: Sendable {
        case accept(RealtimeUpgrade)
        case refuse(RefusedUpgrade)
    }

    /// Runs the upgrade request through the router: its route accepts by filling the slot.
    private func decide(_ head: HTTPRequestHead, channel: any NIOCore.Channel, logger: Logger) -> EventLoopFuture<UpgradeDecision> {
        // Only the gateway upgrades: any other target is refused before its route runs (a DELETE
        // with upgrade headers must not be executed as a side effect of a refused handshake).
        guard head.method == .GET, head.uri.split(separator: "?", maxSplits: 1).first == "/v1/realtime" else {
            return channel.eventLoop.makeSucceededFuture(.refuse(RefusedUpgrade(status: .notFound, headers: [.connection: "close", .contentLength: "0"], body: ByteBuffer())))
        }
        if let upgrade = admission.admit(head, peer: channel.remoteAddress?.ipAddress, logger: logger) {
            return channel.eventLoop.makeSucceededFuture(.accept(upgrade))
        }
        let promise = channel.eventLoop.makePromise(of: UpgradeDecision.self)
        promise.completeWithTask {
            let request = Request(head: try HTTPRequest(head, secure: false, splitCookie: false), body: .init(buffer: .init()))
            var context = HeraldRequestContext(source: .init(channel: channel, logger: logger))
            let slot = RealtimeUpgradeSlot()
            context.realtimeUpgrade = slot
            let response = try await upgradeRouter.respond(to: request, context: context)
            if response.status == .ok, let upgrade = slot.upgrade {
                return .accept(upgrade)
            }
            let sink = BodySink()
            try await response.body.write(BodyCollector(sink: sink))
            var headers = response.headers
            headers[.connection] = "close"
            headers[.contentLength] = "\(sink.buffer.readableBytes)"
            // A 200 without the slot filled: not a WebSocket endpoint.
            let status = response.status == .ok ? HTTPResponse.Status.notFound : response.status
            return .refuse(RefusedUpgrade(status: status, headers: headers, body: sink.buffer))
        }
        return promise.futureResult
    }

    private static func write(_ refusal: RefusedUpgrade?, to channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        let refusal = refusal ?? RefusedUpgrade(status: .badRequest, headers: [.connection: "close", .contentLength: "0"], body: ByteBuffer())
        do {
            try await channel.executeThenClose { _, outbound in
                try await outbound.write(contentsOf: [.head(HTTPResponse(status: refusal.status, headerFields: refusal.headers)), .body(refusal.body), .end(nil)])
            }
        } catch {
            logger.trace("the refused upgrade's answer could not be written")
        }
    }

    /// An upgrade asked for on a keep-alive connection after an earlier request, or one NIO's upgrader
    /// did not take (no `Sec-WebSocket-Key`, a version other than 13), reaches the HTTP responder:
    /// it is answered 400 and the connection closed. (Hummingbird redirects to the same URI instead,
    /// which loops for a handshake that is malformed; clients open a new connection per WebSocket.)
    private static func refusingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                try await responder(request, writer, channel)
                return
            }
            try await writer.writeResponse(HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"]))
            throw RefusedLateUpgrade()
        }
    }
}

/// Ends the connection after a refused late upgrade (thrown, so Hummingbird closes it).
private struct RefusedLateUpgrade: Error {}

/// Where the `/v1/realtime` route leaves its decision for the child channel: set only on the
/// context of an upgrade request (so a plain `GET /v1/realtime` is told to upgrade instead).
final class RealtimeUpgradeSlot: Sendable {
    private let value = Mutex<RealtimeUpgrade?>(nil)

    var upgrade: RealtimeUpgrade? { value.withLock { $0 } }

    func accept(_ upgrade: RealtimeUpgrade) {
        value.withLock { $0 = upgrade }
    }
}

/// What the upgrade request established for the socket.
struct RealtimeUpgrade: Sendable {
    /// The caller when the request carried a user token (else the first frame must be `auth`).
    var user: (app: AppID, user: UserID, expiresAt: Date)?
    var origin: String?
    var clientAddress: ClientAddress
    var logger: Logger
}

/// Collects a response body (a refused upgrade's problem document: small).
private final class BodySink: @unchecked Sendable {
    var buffer = ByteBuffer()
}

private struct BodyCollector: ResponseBodyWriter {
    let sink: BodySink

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        sink.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
