#!/bin/bash
# From a committed record change to its webhook arriving at a local receiver:
# tarmac (a posts create with a _webhooks hook: the delivery job is written in
# the create's transaction, a runner POSTs it signed) against Celery 5 (Debian
# python3-celery, prefork, Redis broker) and BullMQ (npm, Redis) doing the
# same signed POST. Method of ../shared/bench: every system's processes
# (tarmac; redis-server + the Celery or BullMQ worker) pinned to CPU 0, the
# producer and the receiver (node) to CPU 1, one system at a time.
#
# Two measures per system:
#   drain    N jobs produced as fast as the producer goes; jobs/s from the
#            first commit (tarmac: the create's 200; peers: the broker's
#            accept) to the last arrival, and server-core CPU per job
#   latency  RATE jobs/s for DURATION s (open loop); commit -> arrival p50/p99
#
# Durability differs, in the peers' favour: tarmac fsyncs every group
# commit (the job is on disk before the create answers); Redis runs with
# appendonly yes and appendfsync everysec (up to a second of jobs can be
# lost), and the peers enqueue without writing any record at all.
#
#   bench/jobs.sh                 (env: N=20000 RATE=1000 DURATION=10 ONLY="tarmac celery bullmq" PERF=file)
# Needs: node, redis-server, python3-celery, python3-requests (apt), and npm
# install of bench/jobs (done here when node_modules is missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
here="$root/bench/jobs"
N=${N:-20000}
RATE=${RATE:-1000}
SECONDS_AT_RATE=${DURATION:-10}
ONLY=${ONLY:-"tarmac celery bullmq"}
bin=${TARMAC_BIN:-$root/build/release/tarmac}
py=/usr/bin/python3
# Fail at once on a missing prerequisite (a worker that cannot start would
# otherwise leave the drain waiting for arrivals that never come).
for sys in $ONLY; do
    case $sys in
    celery) $py -c 'import celery, requests, redis' 2>/dev/null ||
        { echo "celery: needs apt install python3-celery python3-requests python3-redis" >&2; exit 1; } ;;
    esac
    [[ $sys == tarmac ]] || command -v redis-server >/dev/null ||
        { echo "$sys: needs apt install redis-server" >&2; exit 1; }
done
[[ -d $here/node_modules/bullmq ]] || (cd "$here" && npm install --no-audit --no-fund >/dev/null 2>&1)
# A quiet start: what ran before (a previous run's Redis log) written out
# first, so tarmac's fsyncs do not wait behind it (see bench/notify.sh).
sync
work=$(mktemp -d /tmp/tarmac-jobsbench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$work"; }
trap cleanup EXIT
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# CPU seconds (user + system, children waited for included) of every process
# in the process group pg.
cpu_of_group() {
    local pg=$1 total=0
    for s in /proc/[0-9]*/stat; do
        read -r -a f <"$s" 2>/dev/null || continue
        # field 5 is the pgrp (comm has no spaces for our processes)
        [[ ${f[4]} == "$pg" ]] || continue
        total=$((total + f[13] + f[14] + f[15] + f[16]))
    done
    awk -v t="$total" 'BEGIN {printf "%.3f", t / 100}'
}
# Runs "$@" in a new process group pinned to CPU 0; prints its pid (= pgid).
start_server_side() {
    setsid taskset -c 0 "$@" >>"$work/server.log" 2>&1 &
    echo $!
}
wait_count() { # port n timeout_s [pid that must stay alive]
    local deadline=$((SECONDS + $3))
    while (( SECONDS < deadline )); do
        [[ $(curl -s "http://127.0.0.1:$1/count") -ge $2 ]] && return 0
        if [[ -n ${4:-} ]] && ! kill -0 "$4" 2>/dev/null; then
            echo "the worker (pid $4) exited: see $work/server.log" >&2
            tail -5 "$work/server.log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "timed out: $(curl -s "http://127.0.0.1:$1/count") of $2 arrived" >&2
    return 1
}
summarize() { # name mode produced arrivals cpu_before cpu_after
    $py - "$@" "$work/results" <<'PY'
import statistics, sys
name, mode, produced, arrived, c0, c1 = sys.argv[1:7]
sent = dict(l.split() for l in open(produced) if l.strip())
got = {}
for l in open(arrived):
    if l.strip():
        k, t = l.split()
        got.setdefault(k, int(t))          # the first arrival (at least once)
dups = sum(1 for l in open(arrived) if l.strip()) - len(got)
keys = [k for k in sent if k in got]
lat = sorted((got[k] - int(sent[k])) / 1000 for k in keys)
t0 = min(int(v) for v in sent.values())
t1 = max(got[k] for k in keys)
jobs = len(keys)
cpu = float(c1) - float(c0)
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("%-7s %-8s %7d jobs %9.0f jobs/s  p50 %8.1f ms  p99 %8.1f ms  server CPU %7.1f us/job  missing %d  duplicates %d" % (
    name, mode, jobs, jobs / ((t1 - t0) / 1e6), q(0.5), q(0.99), cpu * 1e6 / max(jobs, 1),
    len(sent) - len(keys), dups))
with open(sys.argv[7], "a") as f:
    f.write("%s %s %.0f %.1f\n" % (name, mode, jobs / ((t1 - t0) / 1e6), cpu * 1e6 / max(jobs, 1)))
PY
}

run_receiver() { # name mode -> sets rport, rpid
    rport=$(free_port)
    taskset -c 1 node "$here/receiver.mjs" "$rport" "$work/arrivals-$1-$2" &
    rpid=$!
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$rport/count" >/dev/null && break; sleep 0.1; done
}
stop_receiver() { kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true; }

# ---- tarmac -------------------------------------------------------------
bench_tarmac() { # mode n rate
    local mode=$1 n=$2 rate=$3 dir port
    dir=$(mktemp -d "$work/tarmac-$1.XXXX")
    port=$(free_port)
    run_receiver tarmac "$mode"
    "$bin" superuser upsert bench@example.com bench-pass-123 --dir="$dir" >/dev/null
    local pg
    pg=$(TARMAC_MAX_CONNS=0 TARMAC_MAX_CONNS_PER_IP=0 start_server_side "$bin" serve \
        --http="127.0.0.1:$port" --dir="$dir" --workers=1 --access-log=false --allow-private-network \
        ${TARMAC_FLAGS:-})
    pids+=("$pg")
    local url="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "$url/api/health" >/dev/null && break; sleep 0.1; done
    local tok
    tok=$(curl -s "$url/api/collections/_superusers/auth-with-password" -H 'Content-Type: application/json' \
        -d '{"identity":"bench@example.com","password":"bench-pass-123"}' | $py -c 'import sys,json; print(json.load(sys.stdin)["token"])')
    curl -sf "$url/api/collections" -H "Authorization: $tok" -H 'Content-Type: application/json' \
        -d '{"name":"posts","type":"base","createRule":"","fields":[{"name":"title","type":"text"}]}' >/dev/null
    curl -sf "$url/api/collections/_webhooks/records" -H "Authorization: $tok" -H 'Content-Type: application/json' \
        -d "{\"collection\":\"posts\",\"events\":[\"create\"],\"url\":\"http://127.0.0.1:$rport/hook\",\"secret\":\"bench-secret\",\"active\":true}" >/dev/null
    local c0 c1
    c0=$(cpu_of_group "$pg")
    # PERF=FILE: a CPU profile of tarmac during the drain (perf report -i FILE)
    local perf_pid=
    if [[ -n ${PERF:-} && $mode == drain ]]; then
        perf record -p "$pg" --call-graph dwarf,16384 -F "${PERF_FREQ:-1000}" -o "$PERF" -- sleep "${PERF_SECS:-2}" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    taskset -c 1 node "$here/produce_tarmac.mjs" "$url" "$n" "$rate" 64 "$work/sent-tarmac-$mode" >/dev/null
    [[ -n $perf_pid ]] && wait "$perf_pid"
    wait_count "$rport" "$n" 120 "$pg"
    c1=$(cpu_of_group "$pg")
    stop_receiver
    kill -TERM "$pg"; wait "$pg" 2>/dev/null || true
    summarize tarmac "$mode" "$work/sent-tarmac-$mode" "$work/arrivals-tarmac-$mode" "$c0" "$c1"
}

# ---- peers (Redis + a worker) -------------------------------------------
start_redis() { # -> sets redis_port, redis_pg
    redis_port=$(free_port)
    mkdir -p "$work/redis-$1"
    redis_pg=$(start_server_side redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly yes --appendfsync everysec --dir "$work/redis-$1")
    pids+=("$redis_pg")
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

bench_peer() { # name mode n rate
    local name=$1 mode=$2 n=$3 rate=$4 wpg c0 c1
    run_receiver "$name" "$mode"
    start_redis "$name-$mode"
    export TARGET="http://127.0.0.1:$rport/hook" SECRET=bench-secret REDIS_PORT=$redis_port
    export BROKER="redis://127.0.0.1:$redis_port/0"
    if [[ $name == celery ]]; then
        wpg=$(cd "$here" && start_server_side $py -m celery -A celery_peer worker --pool=prefork \
            -c "${CELERY_CONCURRENCY:-8}" --loglevel=WARNING --without-heartbeat --without-gossip \
            --without-mingle)
    else
        wpg=$(cd "$here" && start_server_side node bullmq_peer.mjs worker "${BULLMQ_CONCURRENCY:-50}")
    fi
    pids+=("$wpg")
    sleep 3 # the worker connects
    c0=$(echo "$(cpu_of_group "$redis_pg") + $(cpu_of_group "$wpg")" | bc)
    if [[ $name == celery ]]; then
        (cd "$here" && taskset -c 1 $py celery_peer.py produce "$n" "$rate" "$work/sent-$name-$mode" >/dev/null)
    else
        (cd "$here" && taskset -c 1 node bullmq_peer.mjs produce "$n" "$rate" "$work/sent-$name-$mode" >/dev/null)
    fi
    wait_count "$rport" "$n" 600 "$wpg"
    c1=$(echo "$(cpu_of_group "$redis_pg") + $(cpu_of_group "$wpg")" | bc)
    stop_receiver
    kill -TERM -- "-$wpg" 2>/dev/null || true
    kill -TERM -- "-$redis_pg" 2>/dev/null || true
    sleep 1
    summarize "$name" "$mode" "$work/sent-$name-$mode" "$work/arrivals-$name-$mode" "$c0" "$c1"
}

n_rate=$(( RATE * SECONDS_AT_RATE ))
for sys in $ONLY; do
    if [[ $sys == tarmac ]]; then
        bench_tarmac drain "$N" 0
        bench_tarmac latency "$n_rate" "$RATE"
    else
        bench_peer "$sys" drain "$N" 0
        bench_peer "$sys" latency "$n_rate" "$RATE"
    fi
done
# With peers: tarmac's drain once more at the end (A-B-A: this VM's speed
# drifts by tens of per cent over minutes), and each peer's drain against
# the mean of tarmac's two, by jobs/s and by CPU per job (jobs per second
# of one server core: the goal's "per server core", whatever the load
# generator's core allowed).
if [[ " $ONLY " == *" tarmac "* && $(wc -w <<<"$ONLY") -gt 1 ]]; then
    sync
    bench_tarmac drain "$N" 0
    $py - "$work/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
drains = [(n, float(r), float(c)) for n, m, r, c in rows if m == "drain"]
t = [(r, c) for n, r, c in drains if n == "tarmac"]
rate = sum(r for r, c in t) / len(t)
cpu = sum(c for r, c in t) / len(t)
print("tarmac drains: %s jobs/s, %s us/job; mean %.0f jobs/s, %.1f us/job" % (
    " and ".join("%.0f" % r for r, c in t), " and ".join("%.1f" % c for r, c in t), rate, cpu))
for n, r, c in drains:
    if n != "tarmac":
        print("ratio to %s: %.2fx its jobs/s, %.2fx its jobs per core-second (CPU per job %.1f us to %.1f)" % (
            n, rate / r, c / cpu, c, cpu))
PY
fi
