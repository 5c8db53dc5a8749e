public import Foundation

/// A stored version of a journey: its declaration as the business wrote it (canonical JSON) and what
/// Herald read from it. Versions are numbered from 1 and never change; a new one applies to customers
/// who enter after it, while running customers finish on the version they entered.
public struct Journey: Equatable, Sendable, Encodable {
    public var key: JourneyKey
    public var version: Int
    public var createdAt: Date
    /// The declaration, as stored (its members sit beside `key`, `version` and `createdAt` on the wire).
    public var document: JSONValue
    public var definition: JourneyDefinition

    /// Reads a stored declaration again.
    /// - Throws: when it no longer reads (it was checked when stored, so only a damaged row does this).
    public init(key: JourneyKey, version: Int, createdAt: Date, document: Data) throws(HeraldError) {
        self.key = key
        self.version = version
        self.createdAt = createdAt
        self.document = try JSONValue.parse(document)
        definition = try JourneyDefinition(body: document)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        if case .object(let members) = document {
            for (name, value) in members where !["key", "version", "createdAt"].contains(name) {
                try container.encode(value, forKey: Key(stringValue: name))
            }
        }
        try container.encode(key, forKey: Key(stringValue: "key"))
        try container.encode(version, forKey: Key(stringValue: "version"))
        try container.encode(createdAt, forKey: Key(stringValue: "createdAt"))
    }
}

/// `GET /v1/journeys/{key}/report`: how customers went through a journey (all its versions).
public struct JourneyReport: Equatable, Sendable, Encodable {
    public struct Step: Equatable, Sendable, Encodable {
        public var step: String
        /// Runs that went through the step, by what it did (`sent`, `waiting`, `then`, `else`, `exit`, `failed`).
        public var outcomes: [String: Int]
        /// For a send step: items delivered, read and acted on among what it sent.
        public var delivered: Int
        public var read: Int
        public var acted: Int

        public init(step: String, outcomes: [String: Int], delivered: Int = 0, read: Int = 0, acted: Int = 0) {
            self.step = step
            self.outcomes = outcomes
            self.delivered = delivered
            self.read = read
            self.acted = acted
        }
    }

    public var key: JourneyKey
    /// Entries, and where the runs stand: `ready`, `waiting`, `completed`, `exited`, `failed`.
    public var entries: Int
    public var runs: [String: Int]
    public var steps: [Step]

    public init(key: JourneyKey, entries: Int, runs: [String: Int], steps: [Step]) {
        self.key = key
        self.entries = entries
        self.runs = runs
        self.steps = steps
    }
}
