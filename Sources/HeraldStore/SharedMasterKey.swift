import Foundation
public import HeraldCore

/// The master key of a cluster (`--database`): every node needs the same one, so it is given, never
/// made: from `HERALD_MASTER_KEY` or from `--master-key-file`.
public enum SharedMasterKey {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Throws: `Missing`, saying what to do, when neither source gives a key.
    public static func load(environmentKey: String?, file: String?) throws -> MasterKey {
        if let environmentKey {
            guard let key = try? MasterKey(base64: environmentKey.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw Missing(description: "HERALD_MASTER_KEY is not 32 bytes of base64")
            }
            return key
        }
        guard let file else {
            throw Missing(
                description: """
                    with --database every node needs the same master key: set HERALD_MASTER_KEY or pass --master-key-file FILE \
                    (32 random bytes, base64: `head -c 32 /dev/urandom | base64`); Herald never makes one for a cluster
                    """)
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw Missing(description: "cannot read the master key file \(file)") }
        guard let key = try? MasterKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Missing(description: "\(file) is not 32 bytes of base64")
        }
        return key
    }
}
