import Foundation
import GRDB
import HeraldCore

/// One entry of an audit chain, as both backends read it.
struct AuditEventRecord: Codable, FetchableRecord {
    var id: Int64
    var chain: String
    var seq: Int64
    var at: Int64
    var actor: String
    var action: String
    var target: String
    var prevHash: Data
    var hash: Data

    static let columns = "id, chain, seq, at, actor, action, target, prevHash, hash"

    var event: AuditEvent {
        AuditEvent(
            id: id, seq: seq, at: WireTime.date(milliseconds: at), actor: actor, action: action, target: target, hash: hash.hexString,
            prevHash: prevHash.hexString)
    }

    var verified: AuditVerifier.Row {
        AuditVerifier.Row(
            id: id, chain: chain, seq: seq, at: WireTime.date(milliseconds: at), actor: actor, action: action, target: target, prevHash: prevHash, hash: hash)
    }
}
