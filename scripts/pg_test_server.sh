#!/usr/bin/env bash
# Throwaway local PostgreSQL server for the test suite.
#
# Usage: scripts/pg_test_server.sh {start|stop|status|url|clean}
#
#   start   Install the PostgreSQL server binaries with apt-get if they are
#           missing, create a private cluster (initdb) if there is none, start
#           it and create the database `secportal_test`. Does nothing (and
#           succeeds) when the server is already running.
#   stop    Stop the server (pg_ctl stop -m fast). Succeeds if not running.
#   status  Exit 0 if the server accepts connections on 127.0.0.1:$PORT, else 1.
#   url     Print the SQLAlchemy URL of the test database (psycopg v3 driver):
#           postgresql+psycopg://postgres@127.0.0.1:$PORT/secportal_test
#   clean   Stop the server and delete its directory (data + log).
#
# Environment:
#   SECPORTAL_PG_PORT    TCP port (default 54329). The server listens on
#                        127.0.0.1 only; auth is `trust` for loopback TCP and
#                        for the Unix socket, which lives inside the data dir.
#   SECPORTAL_PG_DIR     Server directory (default /tmp/secportal-pg-$PORT):
#                        $SECPORTAL_PG_DIR/data is the cluster, server.log the
#                        log. It is NOT inside the repository because, when run
#                        as root, the server runs as the unprivileged user
#                        `postgres` (PostgreSQL refuses to run as root), and
#                        that user often cannot traverse the checkout (e.g.
#                        /root/..., /work/...). A symlink .pg/<port> in the
#                        repo (gitignored) points at it for convenience.
#   SECPORTAL_PG_BINDIR  Directory with initdb/pg_ctl/... (default: newest
#                        /usr/lib/postgresql/*/bin).
#
# As root: binaries are installed with apt-get (Debian package `postgresql`,
# PostgreSQL 15 on Debian 12), the OS user `postgres` is created if missing and
# every server command runs as that user via runuser. The Debian cluster that
# the package would auto-create is suppressed (createcluster.d drop-in) and, if
# it exists and was started by the install, stopped: it is never used.
# Not root: everything runs as the current user; installing needs root/sudo.
#
# The cluster is tuned for tests, not durability (fsync=off etc.): never put
# data you care about in it.
set -euo pipefail

readonly DB_NAME=secportal_test
readonly DB_USER=postgres
readonly PORT="${SECPORTAL_PG_PORT:-54329}"
readonly PG_BASE="${SECPORTAL_PG_DIR:-/tmp/secportal-pg-${PORT}}"
readonly PG_DATA="${PG_BASE}/data"
readonly PG_LOG="${PG_BASE}/server.log"
readonly LOCK_FILE="/tmp/secportal-pg-${PORT}.lock"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT

# Never let the caller's libpq environment redirect our client commands.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGDATA
export PGCONNECT_TIMEOUT=5

log() { printf 'pg_test_server: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }
now() { printf '%s' "${EPOCHREALTIME}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Run a server-side command as the cluster owner: `postgres` when we are root,
# the current user otherwise. cd / so that an untraversable cwd does not upset
# the PostgreSQL tools. fd 9 (our flock) is closed so that the postmaster
# started by pg_ctl does not inherit it and hold the lock forever.
as_owner() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@" 9>&-)
    else
        (cd / && "$@" 9>&-)
    fi
}

find_bindir() {
    if [[ -n "${SECPORTAL_PG_BINDIR:-}" ]]; then
        [[ -x "${SECPORTAL_PG_BINDIR}/initdb" ]] \
            || die "SECPORTAL_PG_BINDIR=${SECPORTAL_PG_BINDIR} has no initdb"
        printf '%s\n' "${SECPORTAL_PG_BINDIR}"
        return 0
    fi
    local initdb
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$initdb" ]] || return 1
    dirname "$initdb"
}

with_lock() {
    # Serialise start/stop/clean for this port (teammates and parallel `make
    # test` runs share the machine). The lock is released when we exit.
    exec 9>>"${LOCK_FILE}" || die "cannot open lock file ${LOCK_FILE}"
    flock -w 300 9 || die "timed out waiting for ${LOCK_FILE}"
}

apt_install_postgresql() {
    local sudo=()
    if ! is_root; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb) and not root: install them with 'sudo apt-get install postgresql' or set SECPORTAL_PG_BINDIR"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "PostgreSQL server binaries not found and apt-get is not available: install PostgreSQL and set SECPORTAL_PG_BINDIR"

    local t0 apt_opts
    t0="$(now)"
    apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
    log "PostgreSQL server binaries not found: installing package 'postgresql' with apt-get"
    # Do not let the package create (and start) the Debian 'main' cluster: we
    # never use it. postgresql-common reads this drop-in directory.
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    printf '# written by secportal scripts/pg_test_server.sh: no auto-created cluster\ncreate_main_cluster = false\n' \
        | "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/90-secportal-no-main-cluster.conf >/dev/null

    # `apt-get update` only when the package lists do not know the package
    # (fresh container) or when the install fails (stale lists -> 404).
    local updated=0
    if ! apt-cache show postgresql >/dev/null 2>&1; then
        log "apt-get update (package lists do not know 'postgresql')"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update >&2 9>&-
        updated=1
    fi
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" postgresql >&2 9>&-; then
        [[ "$updated" -eq 0 ]] || die "apt-get install postgresql failed"
        log "apt-get install failed; retrying after apt-get update"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update >&2 9>&-
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" postgresql >&2 9>&- \
            || die "apt-get install postgresql failed"
    fi
    # Belt and braces: if some Debian cluster got started by the install, stop
    # it (we only stop clusters when we just installed, never a dev's own).
    if command -v pg_lsclusters >/dev/null 2>&1; then
        local ver name rest
        while read -r ver name _port status rest; do
            if [[ "$status" == online* ]]; then
                log "stopping Debian cluster ${ver}/${name} started by the package install (unused)"
                "${sudo[@]}" pg_ctlcluster "$ver" "$name" stop 9>&- || true
            fi
        done < <(pg_lsclusters -h 2>/dev/null || true)
    fi
    log "TIMING apt install: $(elapsed "$t0")"
}

ensure_postgres_user() {
    is_root || return 0
    if ! id -u postgres >/dev/null 2>&1; then
        log "creating system user 'postgres'"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin postgres
    fi
}

# True when *our* server (socket in our data dir) accepts connections.
server_ready() {
    [[ -d "${PG_DATA}" ]] || return 1
    "${BINDIR}/pg_isready" -q -U "${DB_USER}" -d postgres -h "${PG_DATA}" -p "${PORT}" >/dev/null 2>&1
}

# True when the postmaster recorded in postmaster.pid is a live process.
# (pg_ctl status alone is fooled by zombies: in containers whose PID 1 does
# not reap orphans, a crashed postmaster stays a zombie and kill -0 works.)
postmaster_alive() {
    local pid state
    [[ -f "${PG_DATA}/postmaster.pid" ]] || return 1
    pid="$(head -n 1 "${PG_DATA}/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/${pid}/stat" ]] || return 1
    state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/${pid}/stat" 2>/dev/null || true)"
    [[ "$state" != "Z" && "$state" != "X" ]] || return 1
    as_owner "${BINDIR}/pg_ctl" status -D "${PG_DATA}" >/dev/null 2>&1
}

prepare_base_dir() {
    if [[ -L "${PG_BASE}" ]]; then
        die "${PG_BASE} is a symlink; refusing to use it (set SECPORTAL_PG_DIR)"
    fi
    mkdir -p "${PG_BASE}" || die "cannot create ${PG_BASE} (set SECPORTAL_PG_DIR)"
    if is_root; then
        chown postgres:postgres "${PG_BASE}"
    fi
    chmod 0700 "${PG_BASE}" || die "cannot chmod ${PG_BASE}: owned by someone else? (set SECPORTAL_PG_DIR)"
    as_owner test -w "${PG_BASE}" \
        || die "${PG_BASE} is not writable by the server user (set SECPORTAL_PG_DIR)"
    # Convenience pointer from the (gitignored) repo .pg/ dir; best effort.
    if mkdir -p "${REPO_ROOT}/.pg" 2>/dev/null; then
        ln -sfn "${PG_BASE}" "${REPO_ROOT}/.pg/${PORT}" 2>/dev/null || true
    fi
}

init_cluster() {
    local want_major have_major=""
    want_major="$("${BINDIR}/pg_config" --version 2>/dev/null | awk '{ split($2, v, "."); print v[1] }' || true)"
    [[ -f "${PG_DATA}/PG_VERSION" ]] && have_major="$(cat "${PG_DATA}/PG_VERSION")"
    if [[ -n "$have_major" && -f "${PG_DATA}/postgresql.conf" ]] \
        && [[ -z "$want_major" || "$have_major" == "$want_major" ]]; then
        return 0  # reuse the existing throwaway cluster
    fi
    if [[ -e "${PG_DATA}" ]]; then
        log "discarding unusable data dir ${PG_DATA} (PG_VERSION='${have_major}', binaries ${want_major:-?})"
        rm -rf "${PG_DATA}"
    fi
    local t0
    t0="$(now)"
    log "initdb ${PG_DATA}"
    # C.UTF-8 (glibc >= 2.35) gives Unicode-aware upper()/lower(); plain C
    # is the fallback where that locale does not exist.
    if ! as_owner "${BINDIR}/initdb" -D "${PG_DATA}" -U "${DB_USER}" --auth=trust --no-sync \
        --encoding=UTF8 --locale=C.UTF-8 --no-instructions >"${PG_BASE}/initdb.log" 2>&1; then
        rm -rf "${PG_DATA}"
        as_owner "${BINDIR}/initdb" -D "${PG_DATA}" -U "${DB_USER}" --auth=trust --no-sync \
            --encoding=UTF8 --locale=C --no-instructions >>"${PG_BASE}/initdb.log" 2>&1 \
            || { tail -n 30 "${PG_BASE}/initdb.log" >&2 || true; die "initdb failed (log: ${PG_BASE}/initdb.log)"; }
    fi
    # Loopback and the private socket only; trust is fine there (throwaway).
    as_owner tee "${PG_DATA}/pg_hba.conf" >/dev/null <<'EOF'
# secportal test server: trust, but only the Unix socket (inside the 0700 data
# dir) and loopback TCP. listen_addresses is 127.0.0.1.
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
EOF
    printf "\ninclude_if_exists = 'secportal_test.conf'\n" \
        | as_owner tee -a "${PG_DATA}/postgresql.conf" >/dev/null
    log "TIMING initdb: $(elapsed "$t0")"
}

write_runtime_conf() {
    # Rewritten on every start so that SECPORTAL_PG_PORT / _DIR changes apply.
    as_owner tee "${PG_DATA}/secportal_test.conf" >/dev/null <<EOF
# written by scripts/pg_test_server.sh on every start
listen_addresses = '127.0.0.1'
port = ${PORT}
unix_socket_directories = '${PG_DATA}'
# throwaway test cluster: trade durability for speed
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
logging_collector = off
log_min_messages = warning
EOF
}

psql_admin() {
    "${BINDIR}/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT}" -U "${DB_USER}" -d postgres "$@"
}

ensure_database() {
    local exists
    exists="$(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" \
        || die "cannot connect to 127.0.0.1:${PORT} as ${DB_USER}"
    if [[ "$exists" != "1" ]]; then
        log "creating database ${DB_NAME}"
        psql_admin -c "CREATE DATABASE ${DB_NAME}" >/dev/null
    fi
}

cmd_start() {
    with_lock
    if ! BINDIR="$(find_bindir)"; then
        apt_install_postgresql
        BINDIR="$(find_bindir)" || die "apt-get install finished but no /usr/lib/postgresql/*/bin/initdb"
    fi
    readonly BINDIR
    ensure_postgres_user

    if server_ready; then
        ensure_database
        log "already running: $(cmd_url) (data ${PG_DATA})"
        return 0
    fi
    if postmaster_alive; then
        # A postmaster owns the data dir but is not ready (crash recovery,
        # or stuck shutting down): give it a moment before giving up.
        log "server process exists but is not ready yet; waiting up to 30s"
        local i
        for i in $(seq 30); do
            server_ready && break
            sleep 1
        done
        server_ready || die "server in ${PG_DATA} is not accepting connections; see ${PG_LOG} or run '$0 clean'"
        ensure_database
        log "already running: $(cmd_url)"
        return 0
    fi
    # Someone else on our port? Then we would fail with a confusing log.
    if "${BINDIR}/pg_isready" -q -U "${DB_USER}" -d postgres -h 127.0.0.1 -p "${PORT}" >/dev/null 2>&1; then
        die "another server already listens on 127.0.0.1:${PORT}; stop it or set SECPORTAL_PG_PORT"
    fi

    prepare_base_dir
    init_cluster
    write_runtime_conf
    # Stale lock files of a dead postmaster (postmaster_alive said no). The
    # server would refuse to start if their PID is a zombie or was reused.
    rm -f "${PG_DATA}/postmaster.pid" "${PG_DATA}"/.s.PGSQL.*.lock

    local t0
    t0="$(now)"
    log "starting PostgreSQL ($("${BINDIR}/postgres" --version)) on 127.0.0.1:${PORT}, data ${PG_DATA}, log ${PG_LOG}"
    if ! as_owner "${BINDIR}/pg_ctl" start -w -t 60 -D "${PG_DATA}" -l "${PG_LOG}" >/dev/null 2>&1; then
        log "pg_ctl start failed; last lines of ${PG_LOG}:"
        tail -n 30 "${PG_LOG}" >&2 || true
        die "could not start PostgreSQL"
    fi
    ensure_database
    log "TIMING start: $(elapsed "$t0")"
    log "ready: $(cmd_url)"
}

cmd_stop() {
    with_lock
    BINDIR="$(find_bindir)" || { log "PostgreSQL not installed; nothing to stop"; return 0; }
    if ! postmaster_alive; then
        log "not running (data ${PG_DATA})"
        return 0
    fi
    as_owner "${BINDIR}/pg_ctl" stop -m fast -w -t 60 -D "${PG_DATA}" >/dev/null \
        || die "pg_ctl stop failed; see ${PG_LOG}"
    log "stopped"
}

cmd_status() {
    BINDIR="$(find_bindir)" || { log "PostgreSQL not installed"; return 1; }
    if "${BINDIR}/pg_isready" -q -U "${DB_USER}" -d postgres -h 127.0.0.1 -p "${PORT}" >/dev/null 2>&1; then
        log "accepting connections on 127.0.0.1:${PORT}"
        return 0
    fi
    log "not accepting connections on 127.0.0.1:${PORT}"
    return 1
}

cmd_url() {
    printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "${DB_USER}" "${PORT}" "${DB_NAME}"
}

cmd_clean() {
    cmd_stop
    if [[ -d "${PG_BASE}" ]]; then
        rm -rf "${PG_BASE}"
        log "removed ${PG_BASE}"
    fi
    rm -f "${REPO_ROOT}/.pg/${PORT}"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) cmd_url ;;
    clean) cmd_clean ;;
    *)
        echo "usage: $0 {start|stop|status|url|clean}" >&2
        exit 2
        ;;
esac
