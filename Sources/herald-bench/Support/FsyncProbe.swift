import Foundation

/// The disk's fsync latency, measured where the database lives, in the same run: durable commits
/// cannot be faster than this.
enum FsyncProbe {
    static func measure(in directory: URL, samples: Int = 200) throws -> Double {
        let path = directory.appendingPathComponent("fsync-probe").path
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        guard descriptor >= 0 else { return 0 }
        defer {
            close(descriptor)
            unlink(path)
        }
        var durations: [Double] = []
        let block = [UInt8](repeating: 7, count: 4096)
        for _ in 0..<samples {
            _ = block.withUnsafeBytes { write(descriptor, $0.baseAddress, 4096) }
            let start = ContinuousClock.now
            fsync(descriptor)
            durations.append((ContinuousClock.now - start).milliseconds)
        }
        return durations.sorted()[samples / 2]
    }
}
