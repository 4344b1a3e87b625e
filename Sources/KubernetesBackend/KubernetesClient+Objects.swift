import AgentCore
import Foundation

/// An object the API server holds: what `create` made or found.
public struct KubernetesObjectReference: Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    /// It was there already (a redelivered placement): nothing was created.
    public var alreadyExisted: Bool

    public init(apiVersion: String, kind: String, name: String, uid: String, alreadyExisted: Bool) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.alreadyExisted = alreadyExisted
    }
}

extension KubernetesClient {
    /// Creates `object` (a Job, a Service, ...) in `namespace`. An object of that name that exists
    /// already counts as created (HTTP 409 AlreadyExists; the name is the job, stage and attempt),
    /// so a placement delivered twice, or submitted by each node of a gang, creates one Job. One
    /// that exists but is being deleted is `.conflict`: create it again once it is gone.
    @discardableResult
    public func create(_ object: JSONValue, namespace: String) throws(KubernetesError) -> KubernetesObjectReference {
        let (apiVersion, kind, name) = try Self.identity(of: object)
        let collection = try Self.collectionPath(apiVersion: apiVersion, kind: kind, namespace: namespace)
        let request = HTTPRequest(method: "POST", path: collection, body: object.serialized())
        let (status, body) = try send(request)
        if (200..<300).contains(status) {
            return try Self.reference(Self.json(body, request: request, status: status), request: request, alreadyExisted: false)
        }
        let error = Self.apiError(request, status: status, body: body)
        guard status == 409, error.reason == "AlreadyExists" else { throw error }
        let read = HTTPRequest(method: "GET", path: collection + "/" + Self.segment(name))
        let existing = try self.object(read)
        if existing["metadata"]?["deletionTimestamp"] != nil {
            throw KubernetesError(
                kind: .conflict, request: request.label, status: 409, reason: "AlreadyExists",
                message: "\(kind) \(name) is being deleted; create it again once it is gone")
        }
        return try Self.reference(existing, request: read, alreadyExisted: true)
    }

    /// Creates what `JobManifest.render` gave, in order. The objects after the first (a gang's
    /// Service) are made dependents of it (ownerReferences), so Kubernetes deletes them with the
    /// Job — when `delete(job:)` does or when its TTL runs out.
    @discardableResult
    public func submit(_ objects: [JSONValue], namespace: String) throws(KubernetesError) -> [KubernetesObjectReference] {
        guard let first = objects.first else { return [] }
        let owner = try create(first, namespace: namespace)
        var references = [owner]
        for object in objects.dropFirst() {
            references.append(try create(Self.owned(object, by: owner), namespace: namespace))
        }
        return references
    }

    /// `object` with `owner` as its one owner reference.
    static func owned(_ object: JSONValue, by owner: KubernetesObjectReference) -> JSONValue {
        guard case .object(var fields) = object, case .object(var metadata)? = fields["metadata"] else { return object }
        metadata["ownerReferences"] = [
            ["apiVersion": .string(owner.apiVersion), "kind": .string(owner.kind), "name": .string(owner.name), "uid": .string(owner.uid)]
        ]
        fields["metadata"] = .object(metadata)
        return .object(fields)
    }

    /// Deletes a Job; its pods go too (propagation Background: the Job at once, its pods right
    /// after, each with its own grace period). `gracePeriodSeconds` shortens that: the pods are then
    /// also deleted directly with it (it cannot lengthen the template's). A Job that is not there
    /// is not an error: returns false.
    @discardableResult
    public func delete(job name: String, namespace: String, gracePeriodSeconds: Int? = nil) throws(KubernetesError) -> Bool {
        let options: JSONValue = ["apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"]
        let path = "/apis/batch/v1/namespaces/\(Self.segment(namespace))/jobs/\(Self.segment(name))"
        let existed = try deleteObject(HTTPRequest(method: "DELETE", path: path, body: options.serialized()))
        if let gracePeriodSeconds {
            let podOptions: JSONValue = [
                "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": .number(Double(gracePeriodSeconds)),
            ]
            for pod in try pods(ofJob: name, namespace: namespace) {  // one already terminating takes the shorter grace
                let podPath = "/api/v1/namespaces/\(Self.segment(namespace))/pods/\(Self.segment(pod.name))"
                try deleteObject(HTTPRequest(method: "DELETE", path: podPath, body: podOptions.serialized()))
            }
        }
        return existed
    }

    /// true: deleted; false: was not there (404).
    @discardableResult
    func deleteObject(_ request: HTTPRequest) throws(KubernetesError) -> Bool {
        let (status, body) = try send(request)
        if (200..<300).contains(status) { return true }
        if status == 404 { return false }
        throw Self.apiError(request, status: status, body: body)
    }

    static func identity(of object: JSONValue) throws(KubernetesError) -> (apiVersion: String, kind: String, name: String) {
        guard case .string(let apiVersion)? = object["apiVersion"], case .string(let kind)? = object["kind"],
            case .string(let name)? = object["metadata"]?["name"], !name.isEmpty
        else {
            throw KubernetesError(kind: .invalidResponse, request: "create", message: "the object needs apiVersion, kind and metadata.name")
        }
        return (apiVersion, kind, name)
    }

    /// `/api/v1/namespaces/NS/services`, `/apis/batch/v1/namespaces/NS/jobs`, ...
    static func collectionPath(apiVersion: String, kind: String, namespace: String) throws(KubernetesError) -> String {
        let plurals = ["Job": "jobs", "Service": "services", "Pod": "pods", "ConfigMap": "configmaps", "Secret": "secrets"]
        guard let plural = plurals[kind] else {
            throw KubernetesError(kind: .invalidResponse, request: "create", message: "objects of kind \(kind) are not supported")
        }
        let group = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
        return "\(group)/namespaces/\(segment(namespace))/\(plural)"
    }

    static func reference(_ object: JSONValue, request: HTTPRequest, alreadyExisted: Bool) throws(KubernetesError)
        -> KubernetesObjectReference
    {
        guard case .string(let apiVersion)? = object["apiVersion"], case .string(let kind)? = object["kind"],
            case .string(let name)? = object["metadata"]?["name"], case .string(let uid)? = object["metadata"]?["uid"]
        else {
            throw KubernetesError(
                kind: .invalidResponse, request: request.label, message: "the answer has no apiVersion, kind, name and uid")
        }
        return KubernetesObjectReference(apiVersion: apiVersion, kind: kind, name: name, uid: uid, alreadyExisted: alreadyExisted)
    }
}
