import Foundation
import HeraldCore
import Testing

@Suite("Realtime frames")
struct FrameTests {
    let channel = ChannelID.generate()

    @Test("Each client frame type parses")
    func parsesClientFrames() throws {
        #expect(try ClientFrame(text: #"{"type":"auth","token":"t"}"#) == .auth(token: "t"))
        #expect(
            try ClientFrame(text: #"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"c1","text":"hi"}"#)
                == .send(channelID: channel, clientMessageID: ClientMessageID(rawValue: "c1")!, content: MessageContent(text: "hi")))
        #expect(try ClientFrame(text: #"{"type":"sync","channelId":"\#(channel)","afterSeq":4}"#) == .sync(channelID: channel, afterSeq: 4))
        #expect(try ClientFrame(text: #"{"type":"read","channelId":"\#(channel)","seq":2}"#) == .read(channelID: channel, seq: 2))
        #expect(try ClientFrame(text: #"{"type":"typing","channelId":"\#(channel)"}"#) == .typing(channelID: channel))
    }

    @Test("A bad send keeps its clientMessageId so the error can answer it")
    func badSendKeepsClientMessageID() {
        do {
            _ = try ClientFrame(text: #"{"type":"message.send","channelId":"\#(channel)","clientMessageId":"c9","text":5}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.clientMessageID == ClientMessageID(rawValue: "c9"))
            #expect(error.error == .invalid([FieldProblem(field: "text", reason: .wrongType, detail: "expected a string, got number")]))
        }
    }

    @Test("Unknown frame types and broken JSON are refused", arguments: [#"{"type":"launch"}"#, "{", "[]", #"{"token":"x"}"#])
    func refusesUnknownFrames(text: String) {
        #expect(throws: ClientFrameError.self) { try ClientFrame(text: text) }
    }

    @Test("Server frames round-trip through JSON")
    func serverFramesRoundTrip() throws {
        let message = Message(
            id: .generate(), channelId: channel, seq: 3, sender: UserID(rawValue: "ana"), text: "hi", data: ["k": .number(1)],
            createdAt: WireTime.truncated(Date()))
        let frames: [ServerFrame] = [
            .ready(userID: UserID(rawValue: "ana")!), .ack(clientMessageID: ClientMessageID(rawValue: "c")!, message: message),
            .messageCreated(message), .messageUpdated(message), .messageDeleted(message), .syncDone(channelID: channel, lastSeq: 3),
            .read(ReadPosition(channelId: channel, userId: UserID(rawValue: "ben")!, seq: 2)), .typing(channelID: channel, userID: UserID(rawValue: "ben")!),
            .error(code: "invalid", detail: "x", clientMessageID: nil),
        ]
        for frame in frames {
            let data = try WireJSON.encoder().encode(frame)
            #expect(try WireJSON.decoder().decode(ServerFrame.self, from: data) == frame)
        }
    }
}
