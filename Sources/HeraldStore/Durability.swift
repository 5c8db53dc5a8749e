/// How hard a commit is pushed to disk before Herald acknowledges it.
public enum Durability: String, Sendable, CaseIterable {
    /// Survives power loss: every commit is fsynced (SQLite `synchronous=FULL`). The default.
    case full
    /// Survives a crash of the process but not of the machine (`synchronous=NORMAL` in WAL mode):
    /// the last commits before a power cut may be lost. For benchmarks and disposable deployments.
    case normal
}
