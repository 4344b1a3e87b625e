#!/usr/bin/env bash
# Private, user-space RabbitMQ and PostgreSQL instances for AgentManager development and tests.
#
#   scripts/services.sh [start]       install missing packages, start both services, print env lines
#   scripts/services.sh env           print the env lines (never starts anything)
#   scripts/services.sh stop          stop everything this script started (harmless if nothing runs)
#   scripts/services.sh stop-rabbitmq stop only the broker (its data is kept)
#   scripts/services.sh start-rabbitmq start only the broker again, wait until AMQP accepts connections
#   scripts/services.sh status        say what is running
#   scripts/services.sh amqp-user NAME  create/update broker user NAME (password generated once, kept in
#                                     .data/credentials.env; full permissions on vhost agentmgr)
#   scripts/services.sh amqp-url NAME print the AMQP URL for user NAME (contains its password)
#   scripts/services.sh worker-env WORKER  least-privilege broker user + database role for one worker
#                                     (admission, scheduler, demo-worker); prints its two export lines
#   scripts/services.sh rabbitmqctl ARGS...  rabbitmqctl against our node, with the right environment
#   scripts/services.sh psql ARGS...  psql as superuser postgres over our unix socket (default db postgres)
#
# Usage: eval "$(scripts/services.sh start)"
# `start` writes ONLY the two export lines to stdout (and so does `env`); every progress message
# goes to stderr. All state lives under $REPO/.data/ (git-ignored).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DATA="$REPO/.data"
CREDS="$DATA/credentials.env"
LOCK_FILE="$DATA/.services.lock"
# Every daemon we launch carries this variable in its environment, so leftovers can be found reliably.
TAG_VAR=AGENTMGR_SERVICES_TAG
TAG="$DATA"
unset "$TAG_VAR"

# python3: make bench, make run, the example agent; libcurl: the node agent's Kubernetes backend;
# python3-pip: the schema check of its manifests (scripts/test.sh).
PACKAGES=(rabbitmq-server postgresql librabbitmq-dev libpq-dev python3 libcurl4-openssl-dev python3-pip)

# --- RabbitMQ -------------------------------------------------------------------------------------
RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_NODE=agentmgr@localhost
RMQ_ADDR=127.0.0.1
RMQ_PORT=35672
RMQ_DIST_PORT=35673
# CLI (rabbitmqctl) nodes listen on a range that defaults to 35672..35682 - exactly our AMQP port.
# We make them not listen at all (-dist_listen false) and also move the range out of the way.
RMQ_CTL_PORT_MIN=35674
RMQ_CTL_PORT_MAX=35689
EPMD_PORT=34369
RMQ_VHOST=agentmgr
RMQ_USER=agentmgr
RMQ_DIR="$DATA/rabbitmq"
RMQ_HOME="$RMQ_DIR/home"
RMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
RMQ_MNESIA_DIR="$RMQ_MNESIA_BASE/$RMQ_NODE"
RMQ_LOG_DIR="$RMQ_DIR/log"
RMQ_CONF="$RMQ_DIR/rabbitmq.conf"
RMQ_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
RMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
RMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"           # written by the node itself (beam.smp pid)
RMQ_LAUNCHER_PID_FILE="$RMQ_DIR/launcher.pid"  # the rabbitmq-server sh wrapper
EPMD_PID_FILE="$RMQ_DIR/epmd.pid"
RMQ_PROVISIONED="$RMQ_MNESIA_DIR/.agentmgr-provisioned"

# --- PostgreSQL -----------------------------------------------------------------------------------
PG_BIN=/usr/lib/postgresql/15/bin
PG_ADDR=127.0.0.1
PG_PORT=35432
PG_DB=agentmgr
PG_USER=agentmgr
PG_DIR="$DATA/postgres"
PG_DATA="$PG_DIR/data"
PG_SOCK_DIR="$PG_DIR/run"
PG_LOG="$PG_DIR/postgresql.log"
PG_OS_USER=postgres

# --------------------------------------------------------------------------------------------------
log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }

take_lock() {
    mkdir -p "$DATA"
    chmod 0755 "$DATA"
    exec 9>"$LOCK_FILE"
    flock -w 180 9 || die "another services.sh is still running (lock $LOCK_FILE)"
}

# true if something accepts TCP connections on 127.0.0.1:$1
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# true if pid $1 is alive, not a zombie, and carries our tag in its environment
pid_is_ours() {
    local pid="$1" key val
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/environ" ]] || return 1
    { while read -r key val _; do
        if [[ "$key" == State: ]]; then [[ "$val" != Z ]] || return 1; break; fi
    done <"/proc/$pid/status"; } 2>/dev/null || return 1
    grep -qazxF "$TAG_VAR=$TAG" "/proc/$pid/environ" 2>/dev/null
}

read_pid() { [[ -f "$1" ]] && head -n1 "$1" | tr -dc '0-9' || true; }

# wait until pid $1 is gone (up to $2 tenths of a second); true if gone
wait_gone() {
    local pid="$1" n="${2:-100}"
    while ((n-- > 0)); do
        pid_is_ours "$pid" || return 0
        sleep 0.1
    done
    ! pid_is_ours "$pid"
}

kill_ours() {
    local pid="$1" what="$2"
    pid_is_ours "$pid" || return 0
    log "stopping $what (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 100; then
        log "$what (pid $pid) ignored SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 50 || log "WARNING: $what (pid $pid) is still alive"
    fi
}

# Close every fd above 2 in the current (sub)shell, so that daemons started from it do not keep pipes
# of whoever called us open (e.g. `$(make -s services)` would otherwise never see EOF).
close_inherited_fds() {
    local f fd
    for f in /proc/"$BASHPID"/fd/*; do
        fd="${f##*/}"
        [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    return 0
}

# every live process carrying our tag (excluding this shell)
tagged_pids() {
    local p pid
    for p in /proc/[0-9]*; do
        pid="${p#/proc/}"
        [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
        pid_is_ours "$pid" && echo "$pid"
    done
    return 0
}

# --- packages -------------------------------------------------------------------------------------
ensure_packages() {
    local p missing=()
    for p in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $EUID -eq 0 ]] || die "missing packages (${missing[*]}) and not root"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

check_binaries() {
    [[ -x "$RMQ_BIN/rabbitmq-server" && -x "$RMQ_BIN/rabbitmqctl" ]] || die "RabbitMQ not found in $RMQ_BIN"
    [[ -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/initdb" ]] || die "PostgreSQL 15 not found in $PG_BIN"
    command -v epmd >/dev/null || die "epmd not found"
    id -u "$PG_OS_USER" >/dev/null 2>&1 || die "OS user $PG_OS_USER does not exist"
}

# --- credentials ----------------------------------------------------------------------------------
# .data/credentials.env holds KEY=VALUE lines (mode 0600). It is parsed by this script; per-user
# AMQP keys look like `amqp_user.NAME`, so do not `source` the file.
gen_password() {
    local s=""
    while ((${#s} < 32)); do
        s+="$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')"
    done
    printf '%s' "${s:0:32}"
}

cred_get() {
    [[ -f "$CREDS" ]] || return 0
    # the last value wins (a key may be re-recorded, e.g. provisioned.<worker> at a new version)
    awk -v k="$1" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2) } END { if (v != "") print v }' "$CREDS"
}

# print the value for key $1, generating and storing it first if missing
cred_ensure() {
    local key="$1" val
    val="$(cred_get "$key")"
    if [[ -z "$val" ]]; then
        val="$(gen_password)"
        (
            umask 077
            if [[ ! -f "$CREDS" ]]; then
                printf '# Generated by scripts/services.sh - secrets, keep private. Parsed, not sourced.\n' >"$CREDS"
            fi
            printf '%s=%s\n' "$key" "$val" >>"$CREDS"
        )
    fi
    chmod 0600 "$CREDS"
    printf '%s' "$val"
}

print_env() {
    local amqp_pw db_pw
    [[ -f "$CREDS" ]] || die "no credentials yet ($CREDS); run 'scripts/services.sh start' first"
    amqp_pw="$(cred_get AGENTMGR_AMQP_PASSWORD)"
    db_pw="$(cred_get AGENTMGR_DB_PASSWORD)"
    [[ -n "$amqp_pw" && -n "$db_pw" ]] || die "credentials incomplete in $CREDS; run 'scripts/services.sh start'"
    printf 'export AGENTMGR_AMQP_URL=amqp://%s:%s@%s:%s/%s\n' "$RMQ_USER" "$amqp_pw" "$RMQ_ADDR" "$RMQ_PORT" "$RMQ_VHOST"
    printf 'export AGENTMGR_DATABASE_URL=postgresql://%s:%s@%s:%s/%s\n' "$PG_USER" "$db_pw" "$PG_ADDR" "$PG_PORT" "$PG_DB"
}

# --- RabbitMQ -------------------------------------------------------------------------------------
# The single place where the broker's environment is defined; used by the server AND every CLI call.
rmq_env() {
    unset ERL_FLAGS ERL_AFLAGS ERL_ZFLAGS ERL_LIBS RABBITMQ_ALLOW_INPUT NOTIFY_SOCKET \
        RABBITMQ_SERVER_START_ARGS RABBITMQ_SERVER_ERL_ARGS
    export HOME="$RMQ_HOME"
    export LANG=C.UTF-8 LC_ALL=C.UTF-8
    export RABBITMQ_NODENAME="$RMQ_NODE"
    export RABBITMQ_USE_LONGNAME=false
    export RABBITMQ_NODE_IP_ADDRESS="$RMQ_ADDR"
    export RABBITMQ_NODE_PORT="$RMQ_PORT"
    export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
    export RABBITMQ_MNESIA_BASE="$RMQ_MNESIA_BASE"
    export RABBITMQ_LOG_BASE="$RMQ_LOG_DIR"
    export RABBITMQ_CONFIG_FILE="$RMQ_CONF"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"   # deliberately absent
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_PLUGINS_FILE"
    export RABBITMQ_CONF_ENV_FILE="$RMQ_CONF_ENV_FILE"
    export RABBITMQ_PID_FILE="$RMQ_PID_FILE"
    export ERL_EPMD_ADDRESS=127.0.0.1
    export ERL_EPMD_PORT="$EPMD_PORT"
    export ERL_CRASH_DUMP="$RMQ_LOG_DIR/erl_crash.dump"
    # epmd is started (and stopped) by this script, never implicitly by an Erlang VM.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false -dist_listen false"
    export RABBITMQ_CTL_DIST_PORT_MIN="$RMQ_CTL_PORT_MIN"
    export RABBITMQ_CTL_DIST_PORT_MAX="$RMQ_CTL_PORT_MAX"
}

# rabbitmqctl against our node, with our environment. stdin is passed through (passwords).
rmqctl() {
    (
        rmq_env
        cd "$RMQ_DIR"
        exec "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"
    )
}

epmd_pid() {
    local pid
    pid="$(read_pid "$EPMD_PID_FILE")"
    pid_is_ours "$pid" && echo "$pid" || true
}
rmq_pid() {
    local pid
    pid="$(read_pid "$RMQ_PID_FILE")"
    pid_is_ours "$pid" && echo "$pid" || true
}
rmq_launcher_pid() {
    local pid
    pid="$(read_pid "$RMQ_LAUNCHER_PID_FILE")"
    pid_is_ours "$pid" && echo "$pid" || true
}

write_if_changed() { # file mode content
    local f="$1" mode="$2" content="$3"
    if [[ ! -f "$f" ]] || [[ "$(cat "$f")" != "$content" ]]; then
        (umask 077; printf '%s\n' "$content" >"$f")
    fi
    chmod "$mode" "$f"
}

prepare_rabbitmq_files() {
    local amqp_pw cookie
    mkdir -p "$RMQ_DIR" "$RMQ_HOME" "$RMQ_MNESIA_BASE" "$RMQ_LOG_DIR"
    chmod 0700 "$RMQ_DIR"
    if [[ ! -s "$RMQ_HOME/.erlang.cookie" ]]; then
        cookie="$(gen_password)"
        (umask 077; printf '%s' "$cookie" >"$RMQ_HOME/.erlang.cookie")
    fi
    chmod 0400 "$RMQ_HOME/.erlang.cookie"
    : >"$RMQ_CONF_ENV_FILE"
    write_if_changed "$RMQ_PLUGINS_FILE" 0600 '[].'
    amqp_pw="$(cred_ensure AGENTMGR_AMQP_PASSWORD)"
    # default_* only take effect when the node boots with an empty database: they create our vhost
    # and user instead of guest and "/", which saves several slow rabbitmqctl calls on a cold start.
    write_if_changed "$RMQ_CONF" 0600 "# Generated by scripts/services.sh - do not edit.
listeners.tcp.1 = $RMQ_ADDR:$RMQ_PORT
loopback_users = none
log.file.level = info
log.console = false
default_vhost = $RMQ_VHOST
default_user = $RMQ_USER
default_pass = $amqp_pw
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*"
}

start_epmd() {
    local pid n
    pid="$(epmd_pid)"
    if [[ -n "$pid" ]]; then
        port_open "$EPMD_PORT" && return 0
    else
        port_open "$EPMD_PORT" && die "port $EPMD_PORT (epmd) is in use by a process we did not start"
        log "starting epmd on 127.0.0.1:$EPMD_PORT"
        (
            close_inherited_fds
            export "$TAG_VAR=$TAG"
            cd "$RMQ_DIR"
            exec setsid epmd -address 127.0.0.1 -port "$EPMD_PORT"
        ) </dev/null >>"$RMQ_LOG_DIR/epmd.log" 2>&1 &
        pid=$!
        echo "$pid" >"$EPMD_PID_FILE"
    fi
    for ((n = 0; n < 100; n++)); do
        port_open "$EPMD_PORT" && return 0
        kill -0 "$pid" 2>/dev/null || break # (the tag is only visible in /proc after exec)
        sleep 0.05
    done
    die "epmd did not come up on port $EPMD_PORT (see $RMQ_LOG_DIR/epmd.log)"
}

rmq_log_tail() {
    log "--- last lines of $RMQ_LOG_DIR/startup.log and $RMQ_LOG_DIR/$RMQ_NODE.log ---"
    tail -n 20 "$RMQ_LOG_DIR/startup.log" >&2 2>/dev/null || true
    tail -n 30 "$RMQ_LOG_DIR/$RMQ_NODE.log" >&2 2>/dev/null || true
}

wait_amqp_port() {
    local n
    for ((n = 0; n < 300; n++)); do
        port_open "$RMQ_PORT" && return 0
        [[ -n "$(rmq_pid)" ]] || break
        sleep 0.1
    done
    rmq_log_tail
    die "RabbitMQ is not accepting AMQP connections on $RMQ_ADDR:$RMQ_PORT"
}

start_rabbitmq() {
    local pid fresh=0 t0
    prepare_rabbitmq_files
    start_epmd
    pid="$(rmq_pid)"
    if [[ -n "$pid" ]] && port_open "$RMQ_PORT"; then
        log "RabbitMQ already running (pid $pid)"
    else
        if [[ -z "$pid" && -z "$(rmq_launcher_pid)" ]]; then
            port_open "$RMQ_PORT" && die "port $RMQ_PORT (AMQP) is in use by a process we did not start"
            port_open "$RMQ_DIST_PORT" && die "port $RMQ_DIST_PORT (Erlang distribution) is in use by a process we did not start"
            [[ -d "$RMQ_MNESIA_DIR" ]] || fresh=1
            rm -f "$RMQ_PID_FILE"
            log "starting RabbitMQ node $RMQ_NODE (AMQP $RMQ_ADDR:$RMQ_PORT, logs in $RMQ_LOG_DIR)"
            t0="$(now_ms)"
            (
                close_inherited_fds
                rmq_env
                export "$TAG_VAR=$TAG"
                cd "$RMQ_DIR"
                exec setsid "$RMQ_BIN/rabbitmq-server"
            ) </dev/null >>"$RMQ_LOG_DIR/startup.log" 2>&1 &
            echo "$!" >"$RMQ_LAUNCHER_PID_FILE"
        else
            log "RabbitMQ is starting; waiting for it"
            t0="$(now_ms)"
        fi
        if ! rmqctl wait --timeout 60 "$RMQ_PID_FILE" </dev/null >&2; then
            rmq_log_tail
            die "RabbitMQ did not become ready"
        fi
        wait_amqp_port
        log "RabbitMQ ready after $(($(now_ms) - t0)) ms"
        if ((fresh)); then
            # The node was created from rabbitmq.conf's default_* settings with the current password.
            rmq_marker_value >"$RMQ_PROVISIONED"
        fi
    fi
    provision_rabbitmq
}

rmq_marker_value() {
    printf 'v1 %s %s %s\n' "$RMQ_VHOST" "$RMQ_USER" "$(cred_get AGENTMGR_AMQP_PASSWORD)" | sha256sum | cut -d' ' -f1
}

rmq_user_exists() { # name (list in $2)
    awk -v u="$1" '$1 == u { found = 1 } END { exit !found }' <<<"$2"
}

# Idempotent; uses rabbitmqctl only if the marker says the broker state may not match the credentials.
provision_rabbitmq() {
    local want users vhosts pw
    want="$(rmq_marker_value)"
    if [[ -f "$RMQ_PROVISIONED" && "$(cat "$RMQ_PROVISIONED")" == "$want" ]]; then
        return 0
    fi
    log "provisioning RabbitMQ vhost/user"
    pw="$(cred_ensure AGENTMGR_AMQP_PASSWORD)"
    vhosts="$(rmqctl -q list_vhosts name --no-table-headers </dev/null)"
    if ! grep -qxF "$RMQ_VHOST" <<<"$vhosts"; then
        rmqctl add_vhost "$RMQ_VHOST" </dev/null >&2
    fi
    users="$(rmqctl -q list_users --no-table-headers </dev/null)"
    if rmq_user_exists "$RMQ_USER" "$users"; then
        printf '%s\n' "$pw" | rmqctl change_password "$RMQ_USER" >&2
    else
        printf '%s\n' "$pw" | rmqctl add_user "$RMQ_USER" >&2
    fi
    rmqctl set_user_tags "$RMQ_USER" administrator </dev/null >&2
    rmqctl set_permissions -p "$RMQ_VHOST" "$RMQ_USER" '.*' '.*' '.*' </dev/null >&2
    if rmq_user_exists guest "$users"; then
        rmqctl delete_user guest </dev/null >&2
    fi
    printf '%s\n' "$want" >"$RMQ_PROVISIONED"
}

stop_rabbitmq() {
    local pid lpid
    pid="$(rmq_pid)"
    lpid="$(rmq_launcher_pid)"
    if [[ -n "$pid" ]]; then
        log "stopping RabbitMQ (pid $pid)"
        if [[ -z "$(epmd_pid)" ]] || ! rmqctl shutdown </dev/null >&2; then
            log "rabbitmqctl shutdown failed; falling back to signals"
        fi
        kill_ours "$pid" "RabbitMQ"
    fi
    [[ -n "$lpid" ]] && kill_ours "$lpid" "rabbitmq-server wrapper"
    # anything else of the broker (erl_child_setup, inet_gethost, a CLI) that is still around
    local p comm
    for p in $(tagged_pids); do
        comm="$(cat "/proc/$p/comm" 2>/dev/null || true)"
        [[ "$comm" == epmd ]] && continue
        [[ "$(cat /proc/$p/cmdline 2>/dev/null | tr '\0' ' ')" == *postgres* ]] && continue
        kill_ours "$p" "leftover broker process $comm"
    done
    rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
}

stop_epmd() {
    local pid
    pid="$(epmd_pid)"
    [[ -n "$pid" ]] && kill_ours "$pid" epmd
    rm -f "$EPMD_PID_FILE"
}

# --- PostgreSQL -----------------------------------------------------------------------------------
as_pg() { # run a command as the postgres OS user from a directory it can read
    (cd "$PG_DIR" && runuser -u "$PG_OS_USER" -- "$@")
}

pg_postmaster_pid() { read_pid "$PG_DATA/postmaster.pid"; }

# our postmaster is alive (a zombie does not count: this machine's PID 1 reaps orphans late)
pg_running() {
    local pid key val
    pid="$(pg_postmaster_pid)"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    { while read -r key val _; do
        if [[ "$key" == State: ]]; then [[ "$val" != Z ]] || return 1; break; fi
    done <"/proc/$pid/status"; } 2>/dev/null || return 1
    grep -qaF -- "$PG_DATA" "/proc/$pid/cmdline" 2>/dev/null
}

# After a crash, postmaster.pid may name a zombie not yet reaped; postgres refuses to start while
# that PID exists (kill(pid, 0) succeeds on zombies). Wait for it to vanish.
pg_wait_stale_pid() {
    local pid n
    pid="$(pg_postmaster_pid)"
    [[ -n "$pid" ]] || return 0
    for ((n = 0; n < 300; n++)); do
        [[ -e "/proc/$pid" ]] || return 0
        ((n == 0)) && log "waiting for stale postmaster pid $pid (zombie) to be reaped"
        sleep 0.1
    done
    log "WARNING: stale postmaster pid $pid still exists"
}

pg_conf_content() {
    cat <<EOF
# Generated by scripts/services.sh - do not edit (included from postgresql.conf).
listen_addresses = '$PG_ADDR'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK_DIR'
max_connections = 200
shared_buffers = 256MB
synchronous_commit = on
# Every job inserts rows into a dozen indexes, so each checkpoint is followed by a full-page image
# for each index page touched (with random UUID keys, nearly every page; event and job ids are now
# time-ordered, which narrows that): with the default 1 GB max_wal_size these were ~85% of the WAL
# under make bench. Fewer checkpoints and compressed
# page images cut that (docs/benchmarks.md); durability is unchanged (fsync at every commit).
max_wal_size = 4GB
checkpoint_timeout = 15min
wal_compression = lz4
# A new WAL segment is created with its last byte only, not written through with 16 MB of zeros
# first: on a fresh database every segment is new (none to recycle before the first checkpoint),
# and zero-filling them was ~3% of the machine's CPU under make bench. Commits still flush.
wal_init_zero = off
# Per-statement times for make bench (where the database's time goes); about 1% overhead.
shared_preload_libraries = 'pg_stat_statements'
password_encryption = scram-sha-256
# The outbox is a queue: rows deleted within milliseconds, thousands a second. Look for dead rows
# every 10 s instead of every minute so its index stays short.
autovacuum_naptime = 10s
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
}

pg_hba_content() {
    cat <<EOF
# Generated by scripts/services.sh - do not edit.
# TYPE  DATABASE  USER      ADDRESS         METHOD
local   all       postgres                  peer
local   all       all                       scram-sha-256
host    all       all       127.0.0.1/32    scram-sha-256
EOF
}

prepare_postgres() {
    local sock="$PG_SOCK_DIR/.s.PGSQL.$PG_PORT" changed=0
    ((${#sock} < 108)) || die "unix socket path too long (${#sock} > 107 bytes): $sock"
    install -d -m 0755 "$DATA"
    install -d -o "$PG_OS_USER" -g "$PG_OS_USER" -m 0750 "$PG_DIR"
    install -d -o "$PG_OS_USER" -g "$PG_OS_USER" -m 0750 "$PG_SOCK_DIR"
    # postgres must be able to reach $PG_DIR: every ancestor needs o+x
    as_pg test -w "$PG_DIR" || die "user $PG_OS_USER cannot reach $PG_DIR (check permissions of its parents)"
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        log "initdb $PG_DATA"
        rm -rf "$PG_DATA"
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 </dev/null >&2
    fi
    if [[ ! -f "$PG_DATA/agentmgr.conf" || "$(cat "$PG_DATA/agentmgr.conf")" != "$(pg_conf_content)" ]]; then
        pg_conf_content | as_pg tee "$PG_DATA/agentmgr.conf" >/dev/null
        changed=1
    fi
    if ! grep -qxF "include 'agentmgr.conf'" "$PG_DATA/postgresql.conf"; then
        printf "\n# AgentManager settings (scripts/services.sh)\ninclude 'agentmgr.conf'\n" |
            as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
        changed=1
    fi
    if [[ "$(cat "$PG_DATA/pg_hba.conf")" != "$(pg_hba_content)" ]]; then
        pg_hba_content | as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null
        changed=1
    fi
    if ((changed)) && pg_running; then
        log "PostgreSQL configuration changed: reloading (settings like shared_buffers need 'stop' + 'start')"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" reload </dev/null >&2
    fi
}

start_postgres() {
    local t0
    prepare_postgres
    if pg_running; then
        log "PostgreSQL already running"
    else
        port_open "$PG_PORT" && die "port $PG_PORT (PostgreSQL) is in use by a process we did not start"
        pg_wait_stale_pid
        log "starting PostgreSQL on $PG_ADDR:$PG_PORT (log $PG_LOG)"
        t0="$(now_ms)"
        if ! (close_inherited_fds; as_pg env "$TAG_VAR=$TAG" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start) \
            </dev/null >&2; then
            tail -n 30 "$PG_LOG" >&2 || true
            die "PostgreSQL did not start"
        fi
        log "PostgreSQL ready after $(($(now_ms) - t0)) ms"
    fi
    provision_postgres
}

provision_postgres() {
    local pw
    pw="$(cred_ensure AGENTMGR_DB_PASSWORD)"
    # SQL goes through stdin so the password never shows up in a process list.
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK_DIR" -p "$PG_PORT" -U postgres -d postgres >&2 <<EOF
SELECT 'CREATE ROLE $PG_USER' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') \gexec
ALTER ROLE $PG_USER WITH LOGIN CREATEDB CREATEROLE PASSWORD '$pw';
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
}

stop_postgres() {
    if pg_running; then
        log "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop </dev/null >&2 ||
            log "WARNING: pg_ctl stop failed"
    fi
}

# --- per-worker AMQP users ------------------------------------------------------------------------
valid_user_name() {
    [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die "invalid user name '$1' (allowed: [A-Za-z0-9_.-], max 64)"
    [[ "$1" != "$RMQ_USER" && "$1" != guest ]] || die "'$1' is reserved"
}

amqp_user() {
    local name="$1" pw users
    valid_user_name "$name"
    [[ -n "$(rmq_pid)" ]] || die "RabbitMQ is not running; run 'scripts/services.sh start' first"
    pw="$(cred_ensure "amqp_user.$name")"
    users="$(rmqctl -q list_users --no-table-headers </dev/null)"
    if rmq_user_exists "$name" "$users"; then
        printf '%s\n' "$pw" | rmqctl change_password "$name" >/dev/null
    else
        printf '%s\n' "$pw" | rmqctl add_user "$name" >/dev/null
    fi
    rmqctl set_permissions -p "$RMQ_VHOST" "$name" '.*' '.*' '.*' </dev/null >/dev/null
    log "AMQP user '$name' ready (password in $CREDS under amqp_user.$name; URL: scripts/services.sh amqp-url $name)"
}

amqp_url() {
    local name="$1" pw
    valid_user_name "$name"
    pw="$(cred_get "amqp_user.$name")"
    [[ -n "$pw" ]] || die "no such AMQP user in $CREDS; run 'scripts/services.sh amqp-user $name' first"
    printf 'amqp://%s:%s@%s:%s/%s\n' "$name" "$pw" "$RMQ_ADDR" "$RMQ_PORT" "$RMQ_VHOST"
}

# --- least-privilege credentials for one worker ----------------------------------------------------
# Each worker gets its own broker user, allowed only its own queues and the shared exchanges, and its
# own database login role, a member of the group role agentmgr_<worker> that migration 0005 grants
# exactly its slice. Run after `agentctl migrate` (the group roles come from the migrations).
worker_queue() {
    case "$1" in
    admission) printf '%s' 'agentmgr\.admission\.requests(\.(critical|high|normal|low|batch))?' ;;
    scheduler) printf '%s' 'agentmgr\.scheduler(\.admitted)?' ;;  # its admissions come on a queue of their own
    demo-worker) printf '%s' 'agentmgr\.demo-worker' ;;
    node-agent) printf '%s' 'agentmgr\.node-agent\.[^.]+' ;;  # one queue per node: agentmgr.node-agent.<node>
    health-checker) printf '%s' 'agentmgr\.health-checker' ;;
    preemption) printf '%s' 'agentmgr\.preemption' ;;
    cost-accountant) printf '%s' 'agentmgr\.cost-accountant' ;;
    *) die "unknown worker '$1' (admission, scheduler, demo-worker, node-agent, health-checker, preemption, cost-accountant)" ;;
    esac
}

worker_credentials() {
    local worker="$1" queue user role db_role pw_amqp pw_db users
    queue="$(worker_queue "$worker")"
    user="worker-$worker"
    db_role="worker_${worker//-/_}"
    role="agentmgr_${worker//-/_}"
    pw_amqp="$(cred_ensure "amqp_user.$user")"
    pw_db="$(cred_ensure "db_user.$db_role")"
    # The version changes when the permissions do (2: admission's priority-lane queues; 3: the
    # placements exchange; 4: the scheduler's admissions queue).
    # Provisioned before at this version, and still there: the database role exists and the broker
    # still holds the marker written with the user (wiping .data/postgres or .data/rabbitmq alone
    # leaves credentials.env behind, and the worker would then fail to log in).
    local marker="$RMQ_MNESIA_DIR/.agentmgr-worker-$worker-4" role_exists
    role_exists="$(as_pg "$PG_BIN/psql" -X -tA -h "$PG_SOCK_DIR" -p "$PG_PORT" -U postgres -d agentmgr \
        -c "SELECT 1 FROM pg_roles WHERE rolname = '$db_role'" 2>/dev/null || true)"
    if [[ "$(cred_get "provisioned.$worker")" != "4" || ! -f "$marker" || "$role_exists" != "1" ]]; then
        [[ -n "$(rmq_pid)" ]] || die "RabbitMQ is not running; run 'scripts/services.sh start' first"
        users="$(rmqctl -q list_users --no-table-headers </dev/null)"
        if rmq_user_exists "$user" "$users"; then
            printf '%s\n' "$pw_amqp" | rmqctl change_password "$user" >/dev/null
        else
            printf '%s\n' "$pw_amqp" | rmqctl add_user "$user" >/dev/null
        fi
        # configure: its queues and the shared exchanges; write: publish to events, dead letters and
        # replies (amq.default), bind its queues; read: consume its queue, bind from the exchanges.
        rmqctl set_permissions -p "$RMQ_VHOST" "$user" \
            "^(agentmgr\.(events|requests|dead-letter|placements)|$queue(\.dead)?)\$" \
            "^(agentmgr\.(events|dead-letter|placements)|$queue(\.dead)?|amq\.default)\$" \
            "^(agentmgr\.(events|requests|dead-letter|placements)|$queue)\$" </dev/null >/dev/null
        as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK_DIR" -p "$PG_PORT" -U postgres -d agentmgr >&2 <<SQL
SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$db_role')
                   THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END,
              '$db_role', '$pw_db') \gexec
SELECT format('GRANT %I TO %I', '$role', '$db_role') \gexec
SQL
        ( umask 077; printf '%s=%s\n' "provisioned.$worker" 4 >>"$CREDS" )
        touch "$marker"
        log "credentials for $worker: broker user $user, database role $db_role (member of $role)"
    fi
    printf 'export AGENTMGR_AMQP_URL=amqp://%s:%s@%s:%s/%s\n' "$user" "$pw_amqp" "$RMQ_ADDR" "$RMQ_PORT" "$RMQ_VHOST"
    printf 'export AGENTMGR_DATABASE_URL=postgresql://%s:%s@%s:%s/agentmgr\n' "$db_role" "$pw_db" "$PG_ADDR" "$PG_PORT"
}

# --- commands -------------------------------------------------------------------------------------
cmd_start() {
    local t0
    t0="$(now_ms)"
    ensure_packages
    check_binaries
    take_lock
    start_rabbitmq
    start_postgres
    log "services up ($(($(now_ms) - t0)) ms)"
    print_env
}

cmd_stop() {
    take_lock
    stop_rabbitmq
    stop_epmd
    stop_postgres
    local p
    for p in $(tagged_pids); do
        kill_ours "$p" "leftover process $(cat "/proc/$p/comm" 2>/dev/null || true)"
    done
    log "stopped"
}

cmd_status() {
    local pid rc=0
    pid="$(epmd_pid)"
    if [[ -n "$pid" ]]; then echo "epmd: running (pid $pid, 127.0.0.1:$EPMD_PORT)"; else echo "epmd: stopped"; rc=3; fi
    pid="$(rmq_pid)"
    if [[ -n "$pid" ]] && port_open "$RMQ_PORT"; then
        echo "rabbitmq: running (pid $pid, node $RMQ_NODE, amqp://$RMQ_ADDR:$RMQ_PORT/$RMQ_VHOST)"
    elif [[ -n "$pid" || -n "$(rmq_launcher_pid)" ]]; then
        echo "rabbitmq: starting or not accepting connections (pid ${pid:-?})"; rc=3
    else
        echo "rabbitmq: stopped"; rc=3
    fi
    if [[ -d "$PG_DIR" ]] && pg_running; then
        echo "postgres: running (pid $(head -n1 "$PG_DATA/postmaster.pid"), postgresql://$PG_ADDR:$PG_PORT/$PG_DB)"
    else
        echo "postgres: stopped"; rc=3
    fi
    return "$rc"
}

main() {
    local cmd="${1:-start}"
    (($# > 0)) && shift
    case "$cmd" in
    start) cmd_start ;;
    env) print_env ;;
    stop) cmd_stop ;;
    stop-rabbitmq) take_lock; stop_rabbitmq ;;
    start-rabbitmq)
        check_binaries
        take_lock
        start_rabbitmq
        ;;
    status) cmd_status || true ;;
    amqp-user)
        (($# == 1)) || die "usage: $0 amqp-user NAME"
        take_lock
        amqp_user "$1"
        ;;
    amqp-url)
        (($# == 1)) || die "usage: $0 amqp-url NAME"
        amqp_url "$1"
        ;;
    worker-env)
        (($# == 1)) || die "usage: $0 worker-env WORKER"
        take_lock
        worker_credentials "$1"
        ;;
    rabbitmqctl) rmqctl "$@" ;;
    psql) as_pg "$PG_BIN/psql" -X -h "$PG_SOCK_DIR" -p "$PG_PORT" -U postgres "${@:--dpostgres}" ;;
    -h | --help | help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" ;;
    *) die "unknown command '$cmd' (start|env|stop|stop-rabbitmq|start-rabbitmq|status|amqp-user NAME|amqp-url NAME|rabbitmqctl ...|psql ...)" ;;
    esac
}

main "$@"
