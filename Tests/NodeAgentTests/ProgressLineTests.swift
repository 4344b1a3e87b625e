import AgentCore
import Foundation
import Testing

@testable import NodeAgent

@Suite("Progress protocol lines and the launch environment")
struct ProgressLineTests {
    @Test("Protocol lines are read; other output is not; malformed ones say why")
    func parses() {
        #expect(ProgressLine.parse("epoch 3 loss 0.2") == nil)
        #expect(
            ProgressLine.parse(#"@agentmgr {"kind":"progress","step":500,"metrics":{"loss":0.5}}"#)
                == .success(.progress(step: 500, metrics: ["loss": 0.5])))
        #expect(
            ProgressLine.parse(#"@agentmgr {"kind":"checkpoint","step":2000,"uri":"file:///tmp/c/ckpt-2000.json","metrics":{}}"#)
                == .success(.checkpoint(step: 2000, uri: "file:///tmp/c/ckpt-2000.json", metrics: [:])))
        #expect(ProgressLine.parse(#"@agentmgr {"kind":"result","metrics":{"avg_return":7.5}}"#) == .success(.result(metrics: ["avg_return": 7.5])))
        for bad in [
            "@agentmgr not json", #"@agentmgr {"step":1}"#, #"@agentmgr {"kind":"progress","step":-1}"#,
            #"@agentmgr {"kind":"checkpoint","step":1,"uri":"s3://b/k"}"#, #"@agentmgr {"kind":"progress","step":1,"metrics":{"x":"y"}}"#,
            #"@agentmgr {"kind":"telemetry"}"#,
        ] {
            guard case .failure? = ProgressLine.parse(bad[...]) else {
                Issue.record("expected a failure for \(bad)")
                continue
            }
        }
    }

    @Test("Every rank of a gang agrees on the master, the port and the TensorFlow cluster")
    func gangEnvironment() throws {
        let job = UUID()
        let nodes = ["n1", "n2", "n1"]
        let environments = (0..<3).map {
            LaunchEnvironment(
                jobID: job, runID: UUID(), rank: $0, nodes: nodes, addresses: nodes.map { "\($0).cluster" },
                checkpointDirectory: "/ckpt", resumeFrom: $0 == 1 ? "/ckpt/ckpt-10.json" : nil
            ).variables
        }
        for (rank, variables) in environments.enumerated() {
            #expect(variables["RANK"] == String(rank))
            #expect(variables["WORLD_SIZE"] == "3")
            #expect(variables["MASTER_ADDR"] == "n1.cluster")
            #expect(variables["MASTER_PORT"] == environments[0]["MASTER_PORT"])
            #expect(variables["JAX_PROCESS_ID"] == String(rank))
            #expect(variables["JOB_ID"] == job.uuidString.lowercased())
            let tfConfig = try JSONValue.parse(Data(variables["TF_CONFIG"]!.utf8))
            #expect(tfConfig["task"]?["index"] == .number(Double(rank)))
            guard case .array(let workers)? = tfConfig["cluster"]?["worker"] else {
                Issue.record("TF_CONFIG has no worker list")
                continue
            }
            #expect(workers.count == 3)
        }
        #expect(environments[2]["LOCAL_RANK"] == "1")  // the second replica on n1
        #expect(environments[1]["RESUME_FROM"] == "/ckpt/ckpt-10.json")
        #expect(environments[0]["RESUME_FROM"] == nil)
    }
}
