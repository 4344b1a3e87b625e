#ifndef AGENTMGR_CLIBPQ_SHIM_H
#define AGENTMGR_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
