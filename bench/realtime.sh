#!/bin/bash
# Realtime fan-out and idle subscribers: tarmac on CPU 0 (one worker), the
# client (bench/rt_fanout.mjs, raw SSE sockets in one node process) on CPU 1.
#   1. fan-out: SUBS (default 10000) guests subscribe to feed/*; EVENTS
#      (default 50) records are created 100 ms apart; prints delivery latency
#      percentiles over every (subscriber, event) pair.
#   2. owners: OWNERS (default 10000) users subscribe to orders/* under the
#      listRule owner = @request.auth.id, one identity each; every event is
#      checked for every subscriber and reaches one (the worst case).
#   3. idle: IDLE (default 50000) SSE subscribers stay connected to a new
#      server; prints its RSS growth per subscriber.
# Both processes need a descriptor per connection: IDLE is capped to the hard
# RLIMIT_NOFILE minus 1000 when that is lower (a container may forbid raising it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
subs=${SUBS:-10000}
events=${EVENTS:-50}
owners=${OWNERS:-10000}
idle=${IDLE:-50000}
make -C "$root" -s all
need=$(( (idle > subs ? idle : subs) + 4096 ))
if (( $(ulimit -n) < need )); then
    ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if (( $(ulimit -n) < idle + 1000 )); then
    echo "# RLIMIT_NOFILE is $(ulimit -n) (hard $(ulimit -Hn)): IDLE lowered from $idle to $(( $(ulimit -n) - 1000 ))"
    idle=$(( $(ulimit -n) - 1000 ))
fi
source "$root/bench/lib.sh"
# A server with the two collections, and a superuser token in $token.
fresh_server() {
    BENCH_SUPERUSER=bench@example.com:benchpass123 start_tarmac 0.0.0.0 --access-log=false \
        --argon2-memory=8KiB --argon2-time=1 --rate-limits=auth-ip=0/1s,auth-identity=0/1s
    token=$(curl -sf -X POST "$url/api/collections/_superusers/auth-with-password" \
        -H 'Content-Type: application/json' \
        -d '{"identity":"bench@example.com","password":"benchpass123"}' |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl -sf -X POST "$url/api/collections" -H "Authorization: $token" -H 'Content-Type: application/json' \
        -d '{"name":"feed","listRule":"","viewRule":"","fields":[{"name":"title","type":"text"},{"name":"sent","type":"number"},{"name":"seq","type":"number"}]}' >/dev/null
    curl -sf -X POST "$url/api/collections" -H "Authorization: $token" -H 'Content-Type: application/json' \
        -d '{"name":"orders","listRule":"owner = @request.auth.id","viewRule":"owner = @request.auth.id","fields":[{"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1},{"name":"sent","type":"number"}]}' >/dev/null
}
fresh_server
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') bench/realtime.sh: SUBS=$subs EVENTS=$events OWNERS=$owners IDLE=$idle"
taskset -c 1 node "$root/bench/rt_fanout.mjs" fanout "$url" "$token" "$subs" "$events" "$pid"
# The server's own side of it (tarmac_realtime_fanout_duration_seconds): from
# a commit's notice to the last subscriber's line handed to its socket, one
# observation per event (one worker), without the client's reading.
curl -sf "$url/api/metrics" -H "Authorization: $token" | /usr/bin/python3 -c '
import sys
b, s, n = [], 0.0, 0
for l in sys.stdin:
    if l.startswith("tarmac_realtime_fanout_duration_seconds_bucket"):
        b.append((l.split("le=\"")[1].split("\"")[0], int(float(l.split()[-1]))))
    elif l.startswith("tarmac_realtime_fanout_duration_seconds_sum"):
        s = float(l.split()[-1])
    elif l.startswith("tarmac_realtime_fanout_duration_seconds_count"):
        n = int(float(l.split()[-1]))
if n:
    within = ", ".join(f"<= {float(le) * 1000:g} ms: {c}" for le, c in b if le != "+Inf" and 0 < c and float(le) <= 0.25)
    print(f"server fan-out per event (tarmac_realtime_fanout_duration_seconds): {n} events, mean {s / n * 1000:.1f} ms; {within}")
'
sleep 1
taskset -c 1 node "$root/bench/rt_fanout.mjs" owners "$url" "$token" "$owners" 20 "$pid"
sleep 1
# The idle figure comes from a new server: memory the phases above freed
# would otherwise be reused and hide what a subscriber costs.
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
rm -rf "$work"
fresh_server
taskset -c 1 node "$root/bench/rt_fanout.mjs" idle "$url" "$token" "$idle" "$pid"
echo "server peak RSS: $(awk '/VmHWM/ {print $2}' /proc/$pid/status) KiB"
