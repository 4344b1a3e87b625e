#ifndef AGENTMGR_PROCESS_CONTROL_H
#define AGENTMGR_PROCESS_CONTROL_H

/// Makes the calling process a child subreaper (Linux prctl PR_SET_CHILD_SUBREAPER): processes
/// orphaned below it are re-parented to it, so it can reap them. prctl is variadic, which Swift
/// cannot call. Returns 0 on success, -1 with errno otherwise (or where unsupported).
int agentmgr_become_child_subreaper(void);

#endif
