public import Foundation

/// A tenant: one business, with its API key, users and channels. Nothing crosses between apps.
public struct App: Codable, Equatable, Sendable {
    public var id: AppID
    public var name: String
    public var createdAt: Date

    public init(id: AppID, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }

    public static func validateName(_ name: String) throws(HeraldError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, name.count <= Limits.nameCharacters else {
            throw .invalid(field: "name", .invalidValue, detail: "1 to \(Limits.nameCharacters) characters")
        }
    }
}
