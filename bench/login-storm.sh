#!/bin/bash
# Login storm with reads beside it (issue: auth, benchmark scenario 3 with 1).
# tarmac runs pinned to CPU 0 with one worker; the shared harness loads its
# data set through the API (superuser, users, posts); then two wrk processes
# on CPU 1 run at once for DURATION seconds: logins (auth.lua, LOGIN_CONNS
# connections) and record reads (get.lua, READ_CONNS connections). Prints
# both wrk summaries: the login rate and the reads' p99 under the storm.
# Env: DURATION (20), LOGIN_CONNS (16), READ_CONNS (16), USERS (200).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${TARMAC_SHARED_BENCH:-$root/../shared/bench}"
duration=${DURATION:-20}
users=${USERS:-200}
"$shared/setup" >/dev/null
make -C "$root" -s all
source "$root/bench/lib.sh"
BENCH_SUPERUSER=bench@example.com:bench-pass-123 start_tarmac 127.0.0.1
# Load the data set (the health scenario is only there to trigger the load).
"$shared/run" --pb-superuser bench@example.com:bench-pass-123 --pb-users "$users" \
    --scenarios health --duration 1 --warmup 0 "pb=http://127.0.0.1:$port" >/dev/null
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') bench/login-storm.sh: ${duration}s, logins and reads at once"
export BENCH_WRK_DIR="$shared/wrk" BENCH_IDS="$shared/data/ids.txt" BENCH_AUTH_USERS="$users"
taskset -c 1 wrk -t1 -c"${LOGIN_CONNS:-16}" -d"${duration}s" --timeout 10s --latency \
    -s "$shared/wrk/auth.lua" "http://127.0.0.1:$port" >"$work/auth.txt" &
taskset -c 1 wrk -t1 -c"${READ_CONNS:-16}" -d"${duration}s" --timeout 10s --latency \
    -s "$shared/wrk/get.lua" "http://127.0.0.1:$port" >"$work/get.txt"
wait %2 2>/dev/null || wait
echo "## logins (auth-with-password)"; grep -E "Requests/sec|50%|99%|Non-2xx|Socket" "$work/auth.txt"
echo "## record reads beside the storm"; grep -E "Requests/sec|50%|99%|Non-2xx|Socket" "$work/get.txt"
