# lib.sh -- sourced by the bench scripts: a fresh tarmac pinned to CPU 0.
#
# start_tarmac HOST [serve flags...] starts build/release/tarmac (or $TARMAC_BIN) with one
# worker on a free port of HOST and a new data directory, waits until it
# answers, and stops it (and removes the directory) when the script exits.
# With BENCH_SUPERUSER="email:password" a superuser is created first. Sets
# work (the temp directory), port, pid and url (http://127.0.0.1:port).
start_tarmac() {
    local host=$1
    shift
    work="$(mktemp -d)"
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    url="http://127.0.0.1:$port"
    local bin="${TARMAC_BIN:-$root/build/release/tarmac}"
    if [[ -n ${BENCH_SUPERUSER:-} ]]; then
        "$bin" superuser upsert "${BENCH_SUPERUSER%%:*}" "${BENCH_SUPERUSER#*:}" \
            --dir="$work/data" >/dev/null
    fi
    # Every benchmark client comes from loopback and some open up to 19,000
    # connections: the connection caps are off unless the caller sets them (as
    # variables, which a binary from before the caps ignores).
    TARMAC_MAX_CONNS=${TARMAC_MAX_CONNS:-0} TARMAC_MAX_CONNS_PER_IP=${TARMAC_MAX_CONNS_PER_IP:-0} \
    taskset -c 0 "$bin" serve --http="$host:$port" --dir="$work/data" --workers=1 "$@" \
        >"$work/stdout" 2>"$work/stderr" &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do
        curl -sf "$url/api/health" >/dev/null && return 0
        sleep 0.1
    done
    echo "tarmac did not start; stderr:" >&2
    tail -20 "$work/stderr" >&2
    return 1
}
