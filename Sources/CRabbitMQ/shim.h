#ifndef AGENTMGR_CRABBITMQ_SHIM_H
#define AGENTMGR_CRABBITMQ_SHIM_H
// Debian's rabbitmq-c 0.11 installs its headers directly in /usr/include.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_framing.h>

// amqp_login is C-variadic, which Swift cannot call: a fixed-arity wrapper.
static inline amqp_rpc_reply_t agentmgr_amqp_login_plain(
    amqp_connection_state_t state, const char *vhost, int channel_max, int frame_max,
    int heartbeat, const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat,
                      AMQP_SASL_METHOD_PLAIN, user, password);
}
#endif
