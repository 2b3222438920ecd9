# lib.sh -- sourced by the bench scripts: a fresh tarmac pinned to CPU 0.
#
# start_tarmac HOST [serve flags...] starts build/release/tarmac (or $TARMAC_BIN) with one
# worker on a free port of HOST and a new data directory, waits until it
# answers, and stops it (and removes the directory) when the script exits.
# With BENCH_SUPERUSER="email:password" a superuser is created first. Sets
# work (the temp directory), port, pid and url (http://127.0.0.1:port).
#
# BENCH_ENGINE=pg-redis runs the instance as one of several behind a balancer
# would: its data in a new database of a PostgreSQL cluster (tests/lib/
# pgcluster.sh: fsync off) and --redis to a redis-server, both started once
# per script on CPU 0, the server's core (the figures are then per core of
# tarmac + PostgreSQL + Redis), and stopped when the script exits.
bench_backends() {
    [[ ${BENCH_ENGINE:-} == pg-redis && -z ${bench_pg_dir:-} ]] || return 0
    bench_pg_dir="$(mktemp -d)"
    bench_pg_url="$(taskset -c 0 "$root/tests/lib/pgcluster.sh" start "$bench_pg_dir")"
    bench_redis_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    taskset -c 0 redis-server --port "$bench_redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize yes --dir "$bench_pg_dir" --pidfile "$bench_pg_dir/redis.pid" \
        --logfile "$bench_pg_dir/redis.log" >/dev/null
    bench_db_n=0
    trap bench_backends_stop EXIT # until start_tarmac's own trap, which stops them too
}
bench_backends_stop() {
    [[ -n ${bench_pg_dir:-} ]] || return 0
    kill "$(cat "$bench_pg_dir/redis.pid" 2>/dev/null)" 2>/dev/null || true
    "$root/tests/lib/pgcluster.sh" stop "$bench_pg_dir" >/dev/null 2>&1 || true
}
start_tarmac() {
    local host=$1
    shift
    work="$(mktemp -d)"
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    url="http://127.0.0.1:$port"
    local bin="${TARMAC_BIN:-$root/build/release/tarmac}"
    local engine=() db_flag=()
    if [[ ${BENCH_ENGINE:-} == pg-redis ]]; then
        bench_backends
        bench_db_n=$((bench_db_n + 1))
        local db="bench$bench_db_n"
        psql -q "$bench_pg_url" -c "CREATE DATABASE $db" >/dev/null
        db_flag=(--db="${bench_pg_url/\/\/\/tarmac?/\/\/\/$db?}")
        engine=("${db_flag[@]}" --redis="redis://127.0.0.1:$bench_redis_port")
    fi
    if [[ -n ${BENCH_SUPERUSER:-} ]]; then
        "$bin" superuser upsert "${BENCH_SUPERUSER%%:*}" "${BENCH_SUPERUSER#*:}" \
            --dir="$work/data" "${db_flag[@]}" >/dev/null
    fi
    # Every benchmark client comes from loopback and some open up to 19,000
    # connections: the connection caps are off unless the caller sets them (as
    # variables, which a binary from before the caps ignores).
    TARMAC_MAX_CONNS=${TARMAC_MAX_CONNS:-0} TARMAC_MAX_CONNS_PER_IP=${TARMAC_MAX_CONNS_PER_IP:-0} \
    taskset -c 0 "$bin" serve --http="$host:$port" --dir="$work/data" --workers=1 "${engine[@]}" "$@" \
        >"$work/stdout" 2>"$work/stderr" &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"; bench_backends_stop' EXIT
    for _ in $(seq 100); do
        curl -sf "$url/api/health" >/dev/null && return 0
        sleep 0.1
    done
    echo "tarmac did not start; stderr:" >&2
    tail -20 "$work/stderr" >&2
    return 1
}
