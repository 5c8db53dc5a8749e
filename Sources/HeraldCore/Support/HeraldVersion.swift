/// This build's version, as `herald --version` prints it: the round of work and the API it speaks.
public enum HeraldVersion {
    public static let current = "0.2.0"
}
