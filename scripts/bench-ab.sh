#!/bin/bash
# Two tarmac binaries side by side in one run of the shared bench harness
# (../shared/bench), with Fastify as the peer: both servers start pinned to
# CPU 0 with one worker, on fresh data directories, and the harness loads the
# data set into each through the API (pb= targets) and alternates them pass
# by pass, so old and new see the same machine.
#   scripts/bench-ab.sh OLD_BIN NEW_BIN [extra bench/run options...]
# e.g. scripts/bench-ab.sh /tmp/tarmac-old build/release/tarmac --repeat 3
# NEW_HOOKS=DIR gives the second server those Lua scripts (--hooks-dir), the
# first none: the same binary twice measures what the scripts cost.
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2"); shift 2
bench="${BENCH_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/bench}"
work=$(mktemp -d /tmp/tarmac-ab.XXXXXX)
pids=() targets=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
port=18101
hooks=("$work/none" "${NEW_HOOKS:-$work/none}")
for i in 0 1; do
    bin=$old; (( i )) && bin=$new
    d="$work/$port"; mkdir -p "$d"
    "$bin" superuser upsert bench@example.com bench-pass-123 --dir="$d" >/dev/null
    TARMAC_WORKERS=1 taskset -c 0 "$bin" serve --http="127.0.0.1:$port" --dir="$d" \
        --hooks-dir="${hooks[$i]}" >"$d/log" 2>&1 &
    pids+=($!)
    targets+=("pb=http://127.0.0.1:$port")
    port=$((port + 1))
done
# Each server answers before the harness starts (a fixed sleep raced a slow start).
for t in "${targets[@]}"; do
    for _ in $(seq 100); do curl -sf "${t#pb=}/api/health" >/dev/null && break; sleep 0.1; done
done
"$bench/run" --scenarios get,list,create,mixed --repeat 3 --duration 5 \
    --pb-superuser bench@example.com:bench-pass-123 "$@" "${targets[@]}" fastify
