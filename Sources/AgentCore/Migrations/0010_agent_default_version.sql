-- An agent's default version (issue 6, `agentctl agents rollback`): what a job that names the
-- agent without a version runs. NULL: the newest version that is not deprecated.
ALTER TABLE agents ADD COLUMN default_version text;
