import HeraldCore

/// RFC 9457 problem details, the body of every error response.
struct ProblemDetails: Codable, Sendable {
    var type: String
    var title: String
    var status: Int
    var detail: String?
    var errors: [FieldProblem]?
}
