#!/bin/bash
# Benchmarks GET /api/health: tarmac, started here pinned to CPU 0 with one
# worker, against nginx's canned response and the peers, in one run of the
# shared harness (../shared/bench: wrk pinned to CPU 1, 64 connections).
# Prints the harness's table, then tarmac's ratios to nginx with the server
# CPU microseconds per request. Env: PEERS (default "nginx fastify fastapi"),
# REPEAT (default 3), DURATION (default 10), CONNS (default 64).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${TARMAC_SHARED_BENCH:-$root/../shared/bench}"
peers=(${PEERS:-nginx fastify fastapi})
repeat=${REPEAT:-3}
duration=${DURATION:-10}
conns=${CONNS:-64}
[[ -x $shared/run ]] || { echo "no benchmark harness at $shared" >&2; exit 1; }

"$shared/setup" >/dev/null
make -C "$root" -s all
mkdir -p "$root/bench/results"
source "$root/bench/lib.sh"
start_tarmac 127.0.0.1
json="$root/bench/results/health-$(date -u +%Y%m%dT%H%M%SZ).json"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') bench/run-health.sh: tarmac $(git -C "$root" rev-parse --short HEAD)"
"$shared/run" --scenarios health --repeat "$repeat" --duration "$duration" --conns "$conns" \
    --json "$json" "url=http://127.0.0.1:$port" "${peers[@]}"
/usr/bin/python3 "$root/bench/summarize.py" "$json" "http://127.0.0.1:$port"
