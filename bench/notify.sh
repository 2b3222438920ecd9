#!/bin/bash
# One notification to N registered devices (issue #17's benchmark): tarmac's
# POST /api/notify fanned out through the job queue to a fake FCM HTTP v1 and
# a fake APNs (HTTP/2 over TLS) on loopback, APNS_PCT percent of the devices
# iPhones (default 50). Method of ../shared/bench: tarmac pinned to CPU 0, the fake FCM
# (node) to CPU 1. Reports the time from the request to the last send,
# sends/s, tarmac's CPU per send and its peak resident memory.
#
#   bench/notify.sh              (env: N=100000 RUNNERS=2 APNS_PCT=50 PERF=file)
# Needs: node, sqlite3 (the devices are inserted with the sqlite3 shell
# between a first start and the measured one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
N=${N:-100000}
RUNNERS=${RUNNERS:-2}
APNS_PCT=${APNS_PCT:-50}
bin=${TARMAC_BIN:-$root/build/release/tarmac}
py=/usr/bin/python3
work=$(mktemp -d /tmp/tarmac-notifybench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$work"; }
trap cleanup EXIT
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_of() { read -r -a f <"/proc/$1/stat"; awk -v t="$((f[13] + f[14]))" 'BEGIN {printf "%.3f", t / 100}'; }

# A quiet start: the dirty pages of whatever ran before (a previous run's
# Redis log) written out first, so tarmac's fsyncs do not wait behind them
# (back-to-back runs measured tarmac 40-75 % more CPU per send than runs
# from a quiet machine; Celery, measured second, much less).
sync
grep -q '^Dirty: *[0-9]\{1,4\} kB' /proc/meminfo || sleep 2
fport=$(free_port)
aport=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" \
    -out "$work/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/apns.p8" 2>/dev/null
taskset -c 1 node "$root/bench/notify/fake_fcm.mjs" "$fport" "$aport" "$work" &
fpid=$!
pids+=("$fpid")
port=$(free_port)
url="http://127.0.0.1:$port"
dir="$work/data"
"$bin" superuser upsert bench@example.com bench-pass-123 --dir="$dir" >/dev/null
start() {
    taskset -c 0 "$bin" serve --http="127.0.0.1:$port" --dir="$dir" --workers=1 --access-log=false \
        --job-runners="$RUNNERS" >>"$work/server.log" 2>&1 &
    spid=$!
    pids+=("$spid")
    for _ in $(seq 100); do curl -sf "$url/api/health" >/dev/null && break; sleep 0.1; done
}
start
tok=$(curl -s "$url/api/collections/_superusers/auth-with-password" -H 'Content-Type: application/json' \
    -d '{"identity":"bench@example.com","password":"bench-pass-123"}' | $py -c 'import sys,json; print(json.load(sys.stdin)["token"])')
key=$($py -c 'from subprocess import run; print(run(["openssl","genpkey","-algorithm","RSA","-pkeyopt","rsa_keygen_bits:2048"],capture_output=True,text=True).stdout)')
sa=$($py -c 'import json,sys; print(json.dumps(json.dumps({"project_id":"bench","client_email":"b@bench.iam.gserviceaccount.com","private_key":sys.argv[1],"token_uri":sys.argv[2]})))' "$key" "http://127.0.0.1:$fport/token")
apns=$($py -c 'import json,sys; print(json.dumps({"enabled":True,"keyId":"BENCHKEY01","teamId":"BENCHTEAM1","topic":"com.example.bench","key":open(sys.argv[1]).read(),"apiURL":"https://127.0.0.1:"+sys.argv[2],"caPEM":open(sys.argv[3]).read()}))' "$work/apns.p8" "$aport" "$work/cert.pem")
curl -sf -X PATCH "$url/api/settings" -H "Authorization: $tok" -H 'Content-Type: application/json' \
    -d "{\"push\":{\"fcm\":{\"enabled\":true,\"serviceAccount\":$sa,\"apiURL\":\"http://127.0.0.1:$fport\"},\"apns\":$apns}}" >/dev/null
user=$(curl -sf "$url/api/collections/users/records" -H "Authorization: $tok" -H 'Content-Type: application/json' \
    -d '{"email":"u@example.com","password":"userpass123","passwordConfirm":"userpass123"}' | $py -c 'import sys,json; print(json.load(sys.stdin)["id"])')
kill -TERM "$spid"; wait "$spid" 2>/dev/null || true
sqlite3 "$dir/data.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO _devices (id, user, provider, platform, token, keys, appId, locale, lastSeen, created, updated)
SELECT printf('d%014d', i), '$user', CASE WHEN i % 100 < $APNS_PCT THEN 'apns' ELSE 'fcm' END,
       CASE WHEN i % 100 < $APNS_PCT THEN 'ios' ELSE 'android' END, printf('%064x', i), NULL, '', '', '',
       '2026-12-04 00:00:00.000Z', '2026-12-04 00:00:00.000Z' FROM n;
SQL
# One measured notification: the server started again, one POST /api/notify
# to the user's N devices, its sends counted by the fake (whose counts go on
# from the run before). Prints tarmac's line; sets tarmac_rate.
measure_tarmac() { # label
    start
    local c0 f0 t0 c1 f1 base apns0 conns0 peak=0 got last napns
    base=$(curl -s "http://127.0.0.1:$fport/count")
    apns0=$(curl -s "http://127.0.0.1:$fport/apns")
    conns0=$(curl -s "http://127.0.0.1:$fport/conns")
    c0=$(cpu_of "$spid")
    f0=$(cpu_of "$fpid")
    t0=$($py -c 'import time; print(int(time.time()*1000))')
    curl -sf "$url/api/notify" -H "Authorization: $tok" -H 'Content-Type: application/json' \
        -d "{\"users\":[\"$user\"],\"title\":\"Flash sale\",\"body\":\"50% off today\"}" >/dev/null
    # PERF=FILE: a CPU profile of tarmac (call graphs) while it sends, for perf report -i FILE
    [[ -n ${PERF:-} && $1 == first ]] && { perf record -p "$spid" --call-graph dwarf,8192 -F 2000 -o "$PERF" -- sleep 3 \
        >/dev/null 2>&1 & }
    local deadline=$((SECONDS + 600))
    while (( SECONDS < deadline )); do
        got=$(( $(curl -s "http://127.0.0.1:$fport/count") - base ))
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
        (( rss > peak )) && peak=$rss
        [[ $got -ge $N ]] && break
        sleep 0.2
    done
    c1=$(cpu_of "$spid")
    f1=$(cpu_of "$fpid")
    last=$(curl -s "http://127.0.0.1:$fport/last")
    napns=$(( $(curl -s "http://127.0.0.1:$fport/apns") - apns0 ))
    echo "connections opened to the fakes (FCM, APNs TLS): $(curl -s "http://127.0.0.1:$fport/conns")" \
        "(before this run: $conns0);" \
        "attempts that failed (retried): $(grep -c 'job attempt failed' "$work/server.log" || true)"
    { grep 'job attempt failed' "$work/server.log" || true; } | sed 's/.*error=/error=/' | sort | uniq -c | sort -rn | head -3
    tarmac_rate=$($py - "$N" "$got" "$t0" "$last" "$c0" "$c1" "$peak" "$napns" "$f0" "$f1" "$1" <<'PY'
import sys
n, got, t0, last, c0, c1, peak, napns, f0, f1, label = sys.argv[1:]
n, got, t0, last, napns = int(n), int(got), int(t0), int(last), int(napns)
secs = (last - t0) / 1000
print("tarmac notify (%s): %d of %d devices (%d FCM, %d APNs), %.1f s to the last send, %.0f sends/s, %.1f us CPU per send, peak RSS %.0f MiB" % (
    label, got, n, got - napns, napns, secs, got / secs, (float(c1) - float(c0)) * 1e6 / max(got, 1), int(peak) / 1024), file=sys.stderr)
# The fakes share CPU 1: near 100% busy, they and not tarmac set the pace.
print("the fakes: %.1f us CPU per send, %.0f%% of their core busy" % (
    (float(f1) - float(f0)) * 1e6 / max(got, 1), (float(f1) - float(f0)) * 100 / max(secs, 1e-9)), file=sys.stderr)
print("%.0f" % (got / secs))
PY
)
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
}
measure_tarmac first 2>&1

# ---- Celery: a task per device, the same fake FCM ----------------------------
[[ ${ONLY:-tarmac celery} == *celery* ]] || exit 0
command -v redis-server >/dev/null || { echo "celery: redis-server missing (apt install redis-server python3-celery python3-requests)"; exit 0; }
rate_before=$tarmac_rate
fport2=$(free_port)
taskset -c 1 node "$root/bench/notify/fake_fcm.mjs" "$fport2" &
pids+=($!)
rport=$(free_port)
setsid taskset -c 0 redis-server --port "$rport" --save '' --appendonly yes --appendfsync everysec \
    --dir "$work" >"$work/redis.log" 2>&1 &
rpid=$!
pids+=("$rpid")
sleep 0.5
export BROKER="redis://127.0.0.1:$rport/0" TARGET="http://127.0.0.1:$fport2"
t0=$($py -c 'import time; print(int(time.time()*1000))')
(cd "$root/bench/notify" && taskset -c 1 $py celery_push.py produce "$N")
(cd "$root/bench/notify" && setsid taskset -c 0 $py -m celery -A celery_push worker --pool=prefork -c "${CELERY_C:-8}" \
    --loglevel=WARNING >"$work/celery.log" 2>&1 &)
sleep 2
pgrep -f "celery -A celery_push worker" >/dev/null || { echo "celery worker did not start:"; cat "$work/celery.log"; exit 1; }
deadline=$((SECONDS + 1800))
while (( SECONDS < deadline )); do
    got=$(curl -s "http://127.0.0.1:$fport2/count")
    [[ $got -ge $N ]] && break
    sleep 0.5
done
cpu=0
for p in $(pgrep -f "celery -A celery_push worker") $rpid; do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    cpu=$((cpu + f[13] + f[14]))
done
first=$(curl -s "http://127.0.0.1:$fport2/first")
last=$(curl -s "http://127.0.0.1:$fport2/last")
pkill -f "celery -A celery_push worker" || true
$py - "$N" "$got" "$first" "$last" "$cpu" "$work/celery_rate" <<'PY'
import sys
n, got, first, last, cpu = map(int, sys.argv[1:6])
secs = (last - first) / 1000
print("celery (prefork, Redis): %d of %d devices, %.1f s from the first send to the last, %.0f sends/s, %.1f us CPU per send (worker + redis)" % (
    got, n, secs, got / secs, cpu / 100 * 1e6 / max(got, 1)))
print("%.0f" % (got / secs), file=open(sys.argv[6], "w"))
PY
kill -TERM "$rpid" 2>/dev/null || true
# tarmac again after Celery (A-B-A): this VM's speed drifts by tens of per
# cent over minutes, and Celery's run is minutes long; the ratio is to the
# mean of the two tarmac runs around it.
sync
measure_tarmac again 2>&1
$py - "$rate_before" "$tarmac_rate" "$(cat "$work/celery_rate")" <<'PY'
import sys
a, b, c = map(float, sys.argv[1:])
print("ratio: tarmac %.0f and %.0f sends/s around Celery's %.0f: %.1fx and %.1fx, %.1fx to their mean" % (
    a, b, c, a / c, b / c, (a + b) / 2 / c))
PY
