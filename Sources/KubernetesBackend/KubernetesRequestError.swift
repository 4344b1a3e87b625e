/// A request `JobManifest.render` refuses, with every problem and the field it is about.
public struct KubernetesRequestError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { "\(field): \(message)" }
    }

    public var problems: [Problem]

    public init(problems: [Problem]) { self.problems = problems }

    public var description: String {
        "invalid Kubernetes job request: " + problems.map(\.description).joined(separator: "; ")
    }
}
