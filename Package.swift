// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "AgentManager",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agentctl", targets: ["agentctl"]),
        .executable(name: "demo-worker", targets: ["demo-worker"]),
        .executable(name: "admission", targets: ["admission"]),
        .executable(name: "scheduler", targets: ["scheduler"]),
        .executable(name: "node-agent", targets: ["node-agent"]),
        .executable(name: "health-checker", targets: ["health-checker"]),
        .executable(name: "preemption", targets: ["preemption"]),
        .executable(name: "cost-accountant", targets: ["cost-accountant"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
    ],
    targets: [
        // C libraries from Debian (librabbitmq-dev, libpq-dev), bound once.
        .systemLibrary(
            name: "CRabbitMQ", pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),

        // Swift types that own the C handles.
        .target(name: "AMQP", dependencies: ["CRabbitMQ"]),
        .target(name: "Postgres", dependencies: ["CLibPQ"]),

        // Event envelope, configuration, topology, migrations.
        .target(
            name: "AgentCore",
            dependencies: ["AMQP", "Postgres", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Migrations")]),
        // The consumer runtime every worker shares: inbox, handler, outbox, relay, shutdown.
        .target(
            name: "AgentRuntime",
            dependencies: [
                "AgentCore", "AMQP", "Postgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // The operator's CLI, as a library so tests can drive it.
        .target(
            name: "AgentCLI",
            dependencies: [
                "AgentCore", "AgentRuntime", "AMQP", "Postgres", "Admission", "SchedulerWorker", "NodeAgent", "HealthChecker", "CostAccountant",
                "CostAccounting", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "agentctl", dependencies: ["AgentCLI"]),
        // Tenants, agents, job specs and the admission decision (the admission worker's slice).
        .target(name: "Admission", dependencies: ["AgentRuntime", "AgentCore", "AMQP", "Postgres", "CostAccounting"]),
        .executableTarget(name: "admission", dependencies: ["Admission", "AgentRuntime", "AgentCore"]),

        // The scheduling decision: a pure function of cluster state, pending jobs and policy.
        .target(name: "Scheduling"),
        .executableTarget(name: "scheduler-bench", dependencies: ["Scheduling"]),
        // The preemption decision: which running jobs to stop so a job fits, at least cost. Pure, like Scheduling,
        // whose resource and class types it shares.
        .target(name: "Preemption", dependencies: ["Scheduling"]),
        // The end-to-end benchmark (`make bench`): the real pipeline, measured from PostgreSQL and /proc.
        .executableTarget(
            name: "e2e-bench",
            dependencies: [
                "Admission", "AgentCore", "AMQP", "Postgres", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The scheduler worker's slice: pending jobs, nodes, allocations, leadership, the decision loop.
        .target(name: "SchedulerWorker", dependencies: ["Scheduling", "AgentRuntime", "AgentCore", "AMQP", "Postgres"]),
        .executableTarget(name: "scheduler", dependencies: ["SchedulerWorker", "AgentRuntime", "AgentCore"]),

        // The node agent's slice: runs it launched on its node, their checkpoints; the local process backend.
        .target(name: "CProcessControl"),  // prctl (variadic in C) for the node agent
        .target(
            name: "NodeAgent",
            dependencies: [
                "AgentRuntime", "AgentCore", "AMQP", "Postgres", "CProcessControl", "KubernetesBackend",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "node-agent", dependencies: ["NodeAgent", "AgentRuntime", "AgentCore", .product(name: "Logging", package: "swift-log")]),

        // The preemption worker's slice: which running jobs to stop for a waiting one, and asking for it.
        .target(
            name: "PreemptionWorker",
            dependencies: [
                "Preemption", "Scheduling", "AgentRuntime", "AgentCore", "AMQP", "Postgres", .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "preemption",
            dependencies: ["PreemptionWorker", "AgentRuntime", "AgentCore", .product(name: "Logging", package: "swift-log")]),

        // The health checker's slice: node, run and worker-replica health from heartbeats and progress.
        .target(name: "HealthChecker", dependencies: ["AgentRuntime", "AgentCore", "AMQP", "Postgres", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "health-checker", dependencies: ["HealthChecker", "AgentRuntime", "AgentCore"]),

        // Metering and budgets as pure functions (intervals by day, rates, thresholds), and the cost
        // accountant's slice: the ledger, reservations released, budget states.
        .target(name: "CostAccounting"),
        .target(
            name: "CostAccountant",
            dependencies: ["CostAccounting", "AgentRuntime", "AgentCore", "AMQP", "Postgres", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "cost-accountant", dependencies: ["CostAccountant", "AgentRuntime", "AgentCore"]),

        // The Kubernetes backend: a placement as a batch/v1 Job, created through the API over libcurl
        // (libcurl4-openssl-dev; CCurl wraps the variadic curl_easy_setopt).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "KubernetesBackend", dependencies: ["AgentCore", "CCurl", .product(name: "Yams", package: "Yams")]),

        // A worker that exists to show (and test) the runtime round trip.
        .target(name: "DemoLedger", dependencies: ["AgentRuntime", "AgentCore", "AMQP"]),
        .executableTarget(name: "demo-worker", dependencies: ["AgentRuntime", "AgentCore", "DemoLedger"]),

        // Shared by the integration test targets: a private database and topology per test, worker processes.
        .target(
            name: "AgentTestSupport", dependencies: ["AgentRuntime", "AgentCore", "AMQP", "Postgres", "Admission"],
            path: "Tests/AgentTestSupport"),
        .testTarget(name: "AMQPTests", dependencies: ["AMQP"]),
        .testTarget(name: "SchedulingTests", dependencies: ["Scheduling"]),
        .testTarget(name: "PreemptionTests", dependencies: ["Preemption", "Scheduling"]),
        .testTarget(name: "CostAccountingTests", dependencies: ["CostAccounting"]),
        .testTarget(
            name: "SchedulerWorkerTests",
            dependencies: ["SchedulerWorker", "Scheduling", "Admission", "AgentRuntime", "AgentCore", "AMQP", "Postgres", "AgentTestSupport"]),
        .testTarget(
            name: "AdmissionTests", dependencies: ["Admission", "AgentRuntime", "AgentCore", "AMQP", "Postgres", "AgentTestSupport"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres"]),
        .testTarget(
            name: "NodeAgentTests",
            dependencies: [
                "NodeAgent", "SchedulerWorker", "Admission", "AgentRuntime", "AgentCore", "AMQP", "Postgres", "AgentTestSupport",
                "HealthChecker", "PreemptionWorker", "CostAccountant", "CostAccounting",
            ],
            exclude: ["fake_cluster.py"]),
        .testTarget(
            name: "KubernetesBackendTests",
            dependencies: ["KubernetesBackend", "AgentCore", "AgentTestSupport", .product(name: "Yams", package: "Yams")],
            exclude: ["fake_apiserver.py", "validate_manifests.py"]),
        .testTarget(
            name: "AgentRuntimeTests", dependencies: ["AgentRuntime", "AgentCore", "DemoLedger", "AMQP", "Postgres", "AgentTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
