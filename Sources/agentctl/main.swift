import AgentCLI

// agentctl: everything it does lives in the AgentCLI library.
AgentCtl.main()
