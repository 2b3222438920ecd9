#!/bin/bash
# A custom Lua route returning a small JSON object: tarmac (tarmac.route, one
# worker) against nginx with Debian's libnginx-mod-http-lua (one worker
# process, content_by_lua_block), by the shared harness's method: each server
# pinned to CPU 0, wrk pinned to CPU 1 (-t1, 64 connections), a 3 s warm-up
# then DURATION s measured, the two alternated REPEAT times in one run.
# Prints req/s, p99 and server CPU microseconds per request for each pass,
# the medians, and tarmac's ratio to nginx.
#   bench/lua-route.sh            (env: REPEAT=3 DURATION=10 CONNS=64)
# Needs: nginx, libnginx-mod-http-lua, wrk (apt-get install nginx
# libnginx-mod-http-lua wrk).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repeat=${REPEAT:-3}
duration=${DURATION:-10}
conns=${CONNS:-64}
bin=${TARMAC_BIN:-$root/build/release/tarmac}
[[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]] ||
    { echo "libnginx-mod-http-lua is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/tarmac-luaroute.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT

# The same route on both: a table, sent as JSON.
mkdir -p "$work/hooks"
cat >"$work/hooks/ping.lua" <<'EOF'
tarmac.route("GET", "/api/app/ping", function(req)
  return 200, { ok = true, n = 42, name = "ping" }
end)
EOF
cat >"$work/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    lua_code_cache on;
    server {
        listen 127.0.0.1:18202;
        location = /api/app/ping {
            default_type application/json;
            content_by_lua_block {
                local t = { ok = true, n = 42, name = "ping" }
                ngx.print('{"n":', t.n, ',"name":"', t.name, '","ok":', tostring(t.ok), '}')
            }
        }
    }
}
EOF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" >/dev/null 2>&1 &
pids+=($!)
"$bin" superuser upsert bench@example.com bench-pass-123 --dir="$work/data" >/dev/null
TARMAC_WORKERS=1 taskset -c 0 "$bin" serve --http=127.0.0.1:18201 --dir="$work/data" \
    --hooks-dir="$work/hooks" --access-log=false >"$work/tarmac.log" 2>&1 &
pids+=($!)
for port in 18201 18202; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/app/ping" >/dev/null && break; sleep 0.1; done
    echo "127.0.0.1:$port answers: $(curl -s "http://127.0.0.1:$port/api/app/ping")"
done

# CPU seconds (user + system) of pid and its threads.
cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
# The nginx worker (the master forks it): the process doing the work.
nginx_worker() { pgrep -P "${pids[0]}" | head -1; }

run_one() { # name port pid
    local url="http://127.0.0.1:$2/api/app/ping"
    taskset -c 1 wrk -t1 -c"$conns" -d3s "$url" >/dev/null
    local c0 c1 out
    c0=$(cpu_of "$3")
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --latency "$url")
    c1=$(cpu_of "$3")
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    local us
    us=$(awk -v a="$c0" -v b="$c1" -v r="$rps" -v d="$duration" 'BEGIN {printf "%.2f", (b - a) * 1e6 / (r * d)}')
    echo "$1 $rps $p99 $us"
}

tarmac_pid=${pids[1]}
results=()
for pass in $(seq "$repeat"); do
    results+=("$(run_one tarmac 18201 "$tarmac_pid")")
    results+=("$(run_one nginx-lua 18202 "$(nginx_worker)")")
done
printf '%-10s %12s %10s %14s\n' target req/s p99 "server µs/req"
printf '%s\n' "${results[@]}" | awk '{printf "%-10s %12s %10s %14s\n", $1, $2, $3, $4}'
printf '%s\n' "${results[@]}" | /usr/bin/python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
med = {}
for name in ("tarmac", "nginx-lua"):
    rps = [float(r[1]) for r in rows if r[0] == name]
    us = [float(r[3]) for r in rows if r[0] == name]
    med[name] = (statistics.median(rps), statistics.median(us))
    print("median %-10s %10.0f req/s %8.2f server us/req" % (name, *med[name]))
print("tarmac / nginx-lua: %.2fx throughput, %.2fx CPU per request" % (
    med["tarmac"][0] / med["nginx-lua"][0], med["tarmac"][1] / med["nginx-lua"][1]))
'
