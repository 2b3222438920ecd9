#!/bin/bash
# downloads.sh -- server memory while many clients download a large file
# slowly (the case that used to hold every body whole in memory).
#
#   CLIENTS=50 SIZE_MIB=16 RATE=2M bench/downloads.sh
#
# tarmac on CPU 0 with one worker (bench/lib.sh), a file of SIZE_MIB random
# MiB uploaded into a file field, then CLIENTS curl processes on CPU 1 fetch
# it at once, each capped at RATE bytes/s. Prints the server's RSS before,
# its peak while the downloads run (sampled every 50 ms), the peak per
# client, and checks every client got the whole file. TARMAC_BIN picks the
# binary (default build/release/tarmac).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
CLIENTS=${CLIENTS:-50}
SIZE_MIB=${SIZE_MIB:-16}
RATE=${RATE:-2M}
# shellcheck source=bench/lib.sh
source bench/lib.sh
BENCH_SUPERUSER="bench@example.com:benchpass123" start_tarmac 127.0.0.1

py=/usr/bin/python3
token=$(curl -sf -X POST "$url/api/collections/_superusers/auth-with-password" \
    -H 'Content-Type: application/json' \
    -d '{"identity":"bench@example.com","password":"benchpass123"}' |
    $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -X POST "$url/api/collections" -H "Authorization: $token" \
    -H 'Content-Type: application/json' \
    -d '{"name":"media","listRule":"","viewRule":"","createRule":"",
         "fields":[{"name":"f","type":"file","maxSelect":1,"maxSize":1073741824}]}' >/dev/null
head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/big.bin"
read -r id name < <(curl -sf -X POST "$url/api/collections/media/records" -F "f=@$work/big.bin" |
    $py -c 'import json,sys; r=json.load(sys.stdin); print(r["id"], r["f"])')
file_url="$url/api/files/media/$id/$name"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
before=$(rss_kib)
pids=()
for i in $(seq "$CLIENTS"); do
    taskset -c 1 curl -sf --limit-rate "$RATE" -o "$work/got.$i" "$file_url" &
    pids+=($!)
done
peak=$before
start=$(date +%s.%N)
while kill -0 "${pids[@]}" 2>/dev/null; do
    now=$(rss_kib)
    (( now > peak )) && peak=$now
    sleep 0.05
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
ok=0
for i in $(seq "$CLIENTS"); do
    cmp -s "$work/big.bin" "$work/got.$i" && ok=$((ok + 1))
    rm -f "$work/got.$i"
done
echo "clients=$CLIENTS file=${SIZE_MIB}MiB rate=$RATE/s elapsed=${elapsed}s whole=$ok/$CLIENTS"
echo "server RSS before=${before}KiB peak=${peak}KiB per-client=$(( (peak - before) / CLIENTS ))KiB"
