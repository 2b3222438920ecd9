#!/bin/bash
# 10,000 concurrent keep-alive connections: tarmac (CPU 0, one worker) under
# wrk -c10000 (CPU 1) on GET /api/health. Prints wrk's summary (errors must be
# 0), the server's peak RSS, and its memory per connection. Env: CONNS
# (default 10000), DURATION (default 15).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
conns=${CONNS:-10000}
duration=${DURATION:-15}
make -C "$root" -s all
work="$(mktemp -d)"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 "$root/build/release/tarmac" serve --http="127.0.0.1:$port" --dir="$work/data" \
    --workers=1 --access-log=false >"$work/stdout" 2>"$work/stderr" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break
    sleep 0.1
done
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
ulimit -n "$(ulimit -Hn)"  # wrk needs one descriptor per connection
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') bench/conn10k.sh: wrk -t1 -c$conns -d${duration}s"
taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s --latency \
    "http://127.0.0.1:$port/api/health"
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "server RSS before: ${rss_before} KiB, peak: ${hwm} KiB," \
     "$(( (hwm - rss_before) * 1024 / conns )) bytes per connection"
