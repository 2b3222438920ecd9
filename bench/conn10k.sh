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
source "$root/bench/lib.sh"
start_tarmac 127.0.0.1 --access-log=false
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
ulimit -n "$(ulimit -Hn)"  # wrk needs one descriptor per connection
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') bench/conn10k.sh: wrk -t1 -c$conns -d${duration}s"
taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s --latency \
    "$url/api/health"
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "server RSS before: ${rss_before} KiB, peak: ${hwm} KiB," \
     "$(( (hwm - rss_before) * 1024 / conns )) bytes per connection"
