import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

/// `herald audit verify`: checks every hash chain of the audit trail.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the tamper-evident audit trail.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 when every audit chain is intact; exit 1 naming the first entry changed, removed or reordered.",
            discussion: """
                Prints each chain's head hash: keep those somewhere else too, since entries cut from the very end of a
                chain leave nothing behind to contradict them. The check needs the master key (the chain is keyed).
                """)

        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print {\"ok\": ..., \"checked\": N, ...}.") var json = false

        func run() async throws {
            let opened = try await store.openStore()
            let outcome: Result<(checked: Int, heads: [String: String]), AuditVerifier.Problem> = try await run(opened) { store in
                do {
                    return .success(try await store.verifyAudit())
                } catch let problem as AuditVerifier.Problem {
                    return .failure(problem)
                }
            }
            switch outcome {
            case .success(let result):
                if json {
                    struct Output: Encodable {
                        var ok = true
                        var checked: Int
                        var heads: [String: String]
                    }
                    print(try JSONOutput.line(Output(checked: result.checked, heads: result.heads)))
                } else {
                    print("audit trail intact: \(result.checked) entries in \(result.heads.count) chains")
                    for (chain, head) in result.heads.sorted(by: { $0.key < $1.key }) { print("  \(chain)  head \(head)") }
                }
            case .failure(let problem):
                if json {
                    struct Output: Encodable {
                        var ok = false
                        var id: Int64
                        var chain: String
                        var seq: Int64
                        var reason: String
                    }
                    print(try JSONOutput.line(Output(id: problem.id, chain: problem.chain, seq: problem.seq, reason: problem.reason)))
                } else {
                    FileHandle.standardError.write(Data("audit trail broken at \(problem)\n".utf8))
                }
                throw ExitCode.failure
            }
        }
    }
}
