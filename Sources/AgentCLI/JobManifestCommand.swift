import AgentCore
import ArgumentParser
import Foundation
import NodeAgent
import Postgres
import Yams

extension Jobs {
    /// `agentctl jobs manifest JOB`: what a placed job becomes on the Kubernetes backend.
    struct Manifest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The Kubernetes objects (batch/v1 Job, and a Service for a gang) a placed job's stage becomes on the Kubernetes backend.",
            discussion: "A dry run from the database: nothing is sent to a cluster. YAML documents, or one JSON object per line with --output json.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var job: String
        @Option(help: "Namespace of the Job (a node agent uses its kubeconfig's, or AGENTMGR_KUBE_NAMESPACE).") var namespace = "default"
        @Option(help: "Curriculum stage, from 0.") var stage = 0
        @Option(help: "Attempt (rollbacks start the next).") var attempt = 0

        func run() throws {
            let objects = try options.withDatabase { db in
                try KubernetesManifestPreview.render(
                    jobID: try resolveJob(job, in: db), stage: stage, attempt: attempt, namespace: namespace, in: db)
            }
            if options.output == .json {
                for object in objects { print(String(decoding: object.serialized(), as: UTF8.self)) }
                return
            }
            print(try objects.map { try Yams.dump(object: Self.plain($0), sortKeys: true) }.joined(separator: "---\n"), terminator: "")
        }

        /// JSON as Yams dumps it; whole numbers as integers (`completions: 2`, not `2.0`).
        static func plain(_ value: JSONValue) -> Any {
            switch value {
            case .null: return NSNull()
            case .bool(let flag): return flag
            case .number(let number): return number.rounded() == number && abs(number) < 1e15 ? Int(number) as Any : number
            case .string(let text): return text
            case .array(let items): return items.map(plain)
            case .object(let fields): return fields.mapValues(plain)
            }
        }
    }
}
