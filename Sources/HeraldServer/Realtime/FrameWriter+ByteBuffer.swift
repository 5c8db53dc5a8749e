import HeraldCore
import NIOCore

extension FrameWriter {
    /// The frame's JSON as the buffer a WebSocket frame carries (one copy of the bytes; the same
    /// buffer then goes to every recipient).
    static func buffer(of frame: ServerFrame) -> ByteBuffer? {
        var writer = FrameWriter()
        guard writer.write(frame) else { return nil }
        return ByteBuffer(bytes: writer.bytes)
    }
}
