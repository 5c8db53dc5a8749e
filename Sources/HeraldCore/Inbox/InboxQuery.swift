/// The filters and page of `GET /v1/me/inbox`.
public struct InboxQuery: Hashable, Sendable {
    public enum State: String, Sendable {
        /// Everything not archived (the default).
        case all
        case unread
        case read
        case archived
    }

    /// Where the previous page ended: the item's position in the inbox order.
    public struct Cursor: Hashable, Sendable {
        public var createdAt: Int64
        public var position: Int64

        public init(createdAt: Int64, position: Int64) {
            self.createdAt = createdAt
            self.position = position
        }

        /// Opaque to clients: base64url of `createdAt.position`.
        public var token: String { Data("\(createdAt).\(position)".utf8).base64URLEncodedString() }

        public init?(token: String) {
            guard let data = Data(base64URLEncoded: token), let text = String(data: data, encoding: .utf8) else { return nil }
            let parts = text.split(separator: ".")
            guard parts.count == 2, let createdAt = Int64(parts[0]), let position = Int64(parts[1]) else { return nil }
            self.init(createdAt: createdAt, position: position)
        }
    }

    public var cursor: Cursor?
    public var limit: Int
    public var category: NotificationCategory?
    public var state: State

    public init(cursor: Cursor? = nil, limit: Int = Limits.defaultPageSize, category: NotificationCategory? = nil, state: State = .all) {
        self.cursor = cursor
        self.limit = limit
        self.category = category
        self.state = state
    }

    /// From query parameters; every bad one is named.
    public init(cursor: String?, limit: String?, category: String?, state: String?) throws(HeraldError) {
        var problems: [FieldProblem] = []
        self.init()
        if let cursor {
            if let parsed = Cursor(token: cursor) { self.cursor = parsed } else { problems.append(FieldProblem(field: "cursor", reason: .invalidValue)) }
        }
        if let limit {
            if let value = Int(limit), (1...Limits.pageSize).contains(value) {
                self.limit = value
            } else {
                problems.append(FieldProblem(field: "limit", reason: .outOfRange, detail: "1 to \(Limits.pageSize)"))
            }
        }
        if let category {
            if let value = NotificationCategory(rawValue: category) { self.category = value } else {
                problems.append(FieldProblem(field: "category", reason: .invalidValue, detail: NotificationCategory.choices))
            }
        }
        if let state {
            if let value = State(rawValue: state) { self.state = value } else {
                problems.append(FieldProblem(field: "state", reason: .invalidValue, detail: "all, unread, read or archived"))
            }
        }
        if !problems.isEmpty { throw .invalid(problems) }
    }
}

import Foundation
