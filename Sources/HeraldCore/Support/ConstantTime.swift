/// Comparison of secrets in time that does not depend on where they differ.
///
/// swift-crypto does its own comparisons this way but does not export the helper, so Herald keeps
/// this one small function: it XORs every byte pair and looks at the accumulated result once.
public enum ConstantTime {
    /// Inlinable so that each caller gets it specialized: unspecialized, the generic iteration was a
    /// sixth of a token check (issue 19).
    @inlinable
    public static func isEqual<A: Collection, B: Collection>(_ lhs: A, _ rhs: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}
