#include "process_control.h"

#if defined(__linux__)
#include <sys/prctl.h>

int agentmgr_become_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
#else
#include <errno.h>

int agentmgr_become_child_subreaper(void) {
    errno = ENOSYS;
    return -1;
}
#endif
