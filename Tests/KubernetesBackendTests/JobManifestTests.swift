import AgentCore
import Foundation
import Testing

@testable import KubernetesBackend

@Suite("Rendering a placement as Kubernetes objects")
struct JobManifestTests {
    @Test("One replica with one GPU: exactly this Job, pinned to its node")
    func singleReplica() throws {
        let objects = try JobManifest.render(Fixtures.single())
        #expect(objects.count == 1)
        let labels: JSONValue = [
            "agentmgr.io/job-id": "0f8fad5b-d9cb-469f-a165-70867728950e", "agentmgr.io/tenant": "vision", "agentmgr.io/stage": "1",
            "agentmgr.io/attempt": "0", "app.kubernetes.io/managed-by": "agentmgr",
        ]
        func variable(_ name: String, _ value: String) -> JSONValue { ["name": .string(name), "value": .string(value)] }
        let expected: JSONValue = [
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": [
                "name": .string(Fixtures.name), "namespace": "training", "labels": labels,
                "annotations": ["agentmgr.io/run-ids": "11111111-2222-4333-8444-555555555555"],
            ],
            "spec": [
                "backoffLimit": 0, "activeDeadlineSeconds": 7200, "ttlSecondsAfterFinished": 3600,
                "template": [
                    "metadata": ["labels": labels],
                    "spec": [
                        "restartPolicy": "Never", "terminationGracePeriodSeconds": 10,
                        "automountServiceAccountToken": false, "enableServiceLinks": false,
                        "nodeSelector": ["kubernetes.io/hostname": "gpu-node-1"],
                        "containers": [
                            [
                                "name": "main", "image": "registry.example/agents/gridworld:1.2",
                                // `$$` (the shell's pid) doubled, so Kubernetes' $(VAR) expansion gives it back
                                "command": ["/bin/sh", "-c", "python3 train.py --seed $$$$"],
                                "resources": [
                                    "requests": ["cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"],
                                    "limits": ["cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"],
                                ],
                                "env": [
                                    variable("AGENTMGR_PARAMETERS", #"{"lr":0.1}"#), variable("CHECKPOINT_DIR", "/checkpoints/job"),
                                    variable("JAX_COORDINATOR_ADDRESS", "127.0.0.1:29617"), variable("JAX_NUM_PROCESSES", "1"),
                                    variable("JAX_PROCESS_ID", "0"), variable("JOB_ID", "0f8fad5b-d9cb-469f-a165-70867728950e"),
                                    variable("LOCAL_RANK", "0"), variable("MASTER_ADDR", "127.0.0.1"), variable("MASTER_PORT", "29617"),
                                    variable("RANK", "0"), variable("RESUME_FROM", "/checkpoints/job/ckpt-10.json"),
                                    variable("RUN_ID", "11111111-2222-4333-8444-555555555555"),
                                    variable(
                                        "TF_CONFIG", #"{"cluster":{"worker":["127.0.0.1:29618"]},"task":{"index":0,"type":"worker"}}"#),
                                    variable("WORLD_SIZE", "1"),
                                ],
                            ]
                        ],
                    ],
                ],
            ],
        ]
        let difference = objects[0].difference(from: expected)
        #expect(difference == nil, "rendered ≠ expected at \(difference ?? "")")
    }

    @Test("A gang on two nodes: an Indexed Job, its headless Service, ranks from the completion index")
    func gangOnTwoNodes() throws {
        let objects = try JobManifest.render(Fixtures.gang())
        #expect(objects.count == 2)
        let job = objects[0]
        let name = Fixtures.name
        #expect(job["kind"] == "Job")
        #expect(job["spec"]?["completionMode"] == "Indexed")
        #expect(job["spec"]?["completions"] == 2)
        #expect(job["spec"]?["parallelism"] == 2)
        #expect(job["spec"]?["backoffLimit"] == 0)
        #expect(job["spec"]?["activeDeadlineSeconds"] == 86_400)
        #expect(
            job["metadata"]?["annotations"]?["agentmgr.io/run-ids"]
                == .string(Fixtures.runs.prefix(2).map { $0.uuidString.lowercased() }.joined(separator: ",")))

        let pod = Fixtures.podSpec(of: job)
        #expect(pod["subdomain"] == .string(name))
        #expect(pod["nodeSelector"] == nil)
        #expect(
            pod["affinity"]?["nodeAffinity"] == [
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    "nodeSelectorTerms": [
                        [
                            "matchExpressions": [
                                ["key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-node-1", "gpu-node-2"]]
                            ]
                        ]
                    ]
                ]
            ])
        // one pod per node, so the nodes used are the placement's
        #expect(
            pod["affinity"]?["podAntiAffinity"] == [
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    [
                        "labelSelector": ["matchLabels": ["batch.kubernetes.io/job-name": .string(name)]],
                        "topologyKey": "kubernetes.io/hostname",
                    ]
                ]
            ])

        let container = Fixtures.container(of: job)
        #expect(container["command"] == nil)  // the image's entrypoint
        let amounts: JSONValue = ["cpu": "32", "memory": "256Gi", "nvidia.com/gpu": "8"]
        #expect(container["resources"] == ["requests": amounts, "limits": amounts])

        let (env, order) = Fixtures.environment(of: job)
        let index = "fieldRef:metadata.annotations['batch.kubernetes.io/job-completion-index']"
        #expect(env["RANK"] == index)
        #expect(env["JAX_PROCESS_ID"] == index)
        #expect(env["WORLD_SIZE"] == "2")
        #expect(env["JAX_NUM_PROCESSES"] == "2")
        #expect(env["LOCAL_RANK"] == "0")
        #expect(env["MASTER_ADDR"] == "\(name)-0.\(name)")
        #expect(env["MASTER_PORT"] == "29617")
        #expect(env["JAX_COORDINATOR_ADDRESS"] == "\(name)-0.\(name):29617")
        #expect(env["JOB_ID"] == "0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(env["CHECKPOINT_DIR"] == "/checkpoints/job")
        #expect(env["RUN_ID"] == nil)  // per rank: from AGENTMGR_RUN_IDS
        #expect(env["AGENTMGR_RUN_IDS"] == Fixtures.runs.prefix(2).map { $0.uuidString.lowercased() }.joined(separator: " "))
        #expect(
            env["TF_CONFIG"]
                == #"{"cluster":{"worker":["\#(name)-0.\#(name):29618","\#(name)-1.\#(name):29619"]},"task":{"index":$(RANK),"type":"worker"}}"#
        )
        // Kubernetes expands $(RANK) only when RANK comes earlier in the list.
        #expect(order.firstIndex(of: "RANK")! < order.firstIndex(of: "TF_CONFIG")!)
        #expect(Set(order).count == order.count)

        let service = objects[1]
        #expect(
            service == [
                "apiVersion": "v1", "kind": "Service",
                "metadata": ["name": .string(name), "namespace": "training", "labels": job["metadata"]!["labels"]!],
                "spec": [
                    "clusterIP": "None", "publishNotReadyAddresses": true, "selector": ["batch.kubernetes.io/job-name": .string(name)],
                    "ports": [["name": "master", "port": 29617, "protocol": "TCP"]],
                ],
            ])
    }

    @Test("TF_CONFIG after Kubernetes' expansion is the local backend's, for each rank")
    func tfConfigExpands() throws {
        let (env, _) = Fixtures.environment(of: try JobManifest.render(Fixtures.gang())[0])
        for rank in 0..<2 {
            let expanded = env["TF_CONFIG"]!.replacingOccurrences(of: "$(RANK)", with: String(rank))
            let config = try JSONValue.parse(Data(expanded.utf8))
            #expect(config["task"] == ["index": .number(Double(rank)), "type": "worker"])
            #expect(config["cluster"]?["worker"]?.arrayCount == 2)
        }
    }

    @Test("A gang on one node gets a node selector; one with a shared node has no anti-affinity")
    func gangPlacements() throws {
        let together = Fixtures.podSpec(of: try JobManifest.render(Fixtures.gang(nodes: ["gpu-node-1", "gpu-node-1"]))[0])
        #expect(together["nodeSelector"] == ["kubernetes.io/hostname": "gpu-node-1"])
        #expect(together["affinity"] == nil)

        let shared = Fixtures.podSpec(of: try JobManifest.render(Fixtures.gang(nodes: ["gpu-node-1", "gpu-node-2", "gpu-node-1"]))[0])
        #expect(
            shared["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"] == [
                ["matchExpressions": [["key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-node-1", "gpu-node-2"]]]]
            ])
        #expect(shared["affinity"]?["podAntiAffinity"] == nil)
    }

    @Test("A gang's command first sets RUN_ID from its rank; no GPUs, no nvidia.com/gpu; fractions")
    func gangCommandAndQuantities() throws {
        var request = Fixtures.gang()
        request.command = "echo $RUN_ID"
        request.resources = .init(gpus: 0, cpuCores: 1.5, memoryGiB: 0.5)
        let container = Fixtures.container(of: try JobManifest.render(request)[0])
        #expect(
            container["command"] == [
                "/bin/sh", "-c", "set -- $$AGENTMGR_RUN_IDS; shift \"$$RANK\"; RUN_ID=$$1; export RUN_ID; set --\necho $$RUN_ID",
            ])
        let amounts: JSONValue = ["cpu": "1500m", "memory": "512Mi"]
        #expect(container["resources"] == ["requests": amounts, "limits": amounts])
    }

    @Test("The launch script picks each rank's run in a real shell")
    func runIDScript() throws {
        var request = Fixtures.gang(nodes: ["a", "b", "c"])
        request.command = #"printf %s "$RUN_ID""#
        let script = JobManifest.launchScript(request, gang: true)!  // before the $ escaping Kubernetes undoes
        for rank in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            process.environment = [
                "RANK": String(rank), "AGENTMGR_RUN_IDS": Fixtures.runs.map { $0.uuidString.lowercased() }.joined(separator: " "),
            ]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            process.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(printed == Fixtures.runs[rank].uuidString.lowercased())
        }
    }

    @Test("Runs not known: no RUN_ID, no run list, the command as given")
    func runsUnknown() throws {
        var request = Fixtures.gang()
        request.runIDs = []
        request.command = "torchrun train.py"
        let job = try JobManifest.render(request)[0]
        let (env, _) = Fixtures.environment(of: job)
        #expect(env["RUN_ID"] == nil)
        #expect(env["AGENTMGR_RUN_IDS"] == nil)
        #expect(job["metadata"]?["annotations"] == nil)
        #expect(Fixtures.container(of: job)["command"] == ["/bin/sh", "-c", "torchrun train.py"])
        var single = Fixtures.single()
        single.runIDs = []
        #expect(Fixtures.environment(of: try JobManifest.render(single)[0]).values["RUN_ID"] == nil)
    }

    @Test("Literal $ in values survives Kubernetes' expansion")
    func dollarEscaping() throws {
        var request = Fixtures.single()
        request.environment["AGENTMGR_PARAMETERS"] = #"{"note":"$(HOME) and $$"}"#
        let (env, _) = Fixtures.environment(of: try JobManifest.render(request)[0])
        #expect(env["AGENTMGR_PARAMETERS"] == #"{"note":"$$(HOME) and $$$$"}"#)
    }

    @Test("Bad requests are refused with every problem, each naming its field")
    func validation() {
        var request = Fixtures.gang()
        request.image = " "
        request.namespace = "Training_NS"
        request.tenant = "-vision"
        request.nodes = ["gpu-node-1", ""]
        request.runIDs = [Fixtures.runs[0]]
        request.resources = .init(gpus: -1, cpuCores: 0, memoryGiB: 0)
        request.maxRuntimeSeconds = 0
        request.environment = ["RANK": "3", "1BAD": "x", "GOOD_NAME": "fine"]
        request.command = ""
        let problems: [KubernetesRequestError.Problem]
        do {
            _ = try JobManifest.render(request)
            Issue.record("rendered a bad request")
            return
        } catch {
            problems = error.problems
        }
        let fields = problems.map(\.field)
        #expect(
            fields == [
                "image", "command", "namespace", "tenant", "nodes[1]", "runIDs", "resources.gpus", "resources.cpuCores",
                "resources.memoryGiB", "maxRuntimeSeconds", "environment.1BAD", "environment.RANK",
            ])
        #expect(problems.first { $0.field == "namespace" }?.message.contains("DNS-1123") == true)
        #expect(problems.first { $0.field == "environment.RANK" }?.message.contains("set by the Kubernetes backend") == true)
        #expect(
            KubernetesRequestError(problems: problems).description.hasPrefix("invalid Kubernetes job request: image: must not be empty"))

        var empty = Fixtures.single()
        empty.nodes = []
        empty.runIDs = []
        #expect(empty.problems().map(\.field) == ["nodes"])
        #expect(Fixtures.single().problems().isEmpty)
    }

    @Test("Names are DNS labels of at most 63 characters, pod host names included")
    func names() {
        #expect(JobManifest.name(of: Fixtures.single()) == Fixtures.name)
        let name = JobManifest.name(jobID: Fixtures.jobID, stage: 9999, attempt: 9999)
        #expect(name == "am-0f8fad5bd9cb469fa16570867728950e-s9999-a9999")  // a rollback's attempt is a Job of its own
        #expect(KubernetesNames.isDNSLabel(name + "-9999"))
        #expect(!KubernetesNames.isDNSLabel("Upper"))
        #expect(!KubernetesNames.isDNSLabel("-lead"))
        #expect(!KubernetesNames.isDNSLabel(String(repeating: "a", count: 64)))
    }
}

extension JSONValue {
    var arrayCount: Int? {
        if case .array(let elements) = self { return elements.count }
        return nil
    }
}
