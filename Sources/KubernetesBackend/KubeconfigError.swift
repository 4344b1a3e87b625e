/// A kubeconfig that cannot be used, saying which file, context and key.
public struct KubeconfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
