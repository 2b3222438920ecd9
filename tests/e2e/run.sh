#!/bin/bash
# End-to-end suite: the official PocketBase JS SDK (npm pocketbase@0.28.1)
# against a tarmac binary. Needs node >= 20 and npm.
#
#   tests/e2e/run.sh                        # build/release/tarmac
#   TARMAC_BIN=build/asan/tarmac TARMAC_TEST_SLOW=3 tests/e2e/run.sh
#   tests/e2e/run.sh tests/e2e/auth.test.mjs   # only some files
#
# Installs the npm dependencies (npm ci) when node_modules is missing or does
# not match package-lock.json. Runs every *.test.mjs with node's built-in test
# runner, one file at a time, and ends with exactly one line
# "N passed, N failed" (todo tests are listed above it and counted in neither).
# Exit code 0 only when nothing failed.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -n ${TARMAC_BIN:-} ]]; then
    # relative to where the caller stands, like any path argument
    TARMAC_BIN="$(cd "$(dirname "$TARMAC_BIN")" 2>/dev/null && pwd)/$(basename "$TARMAC_BIN")"
    export TARMAC_BIN
fi
bin="${TARMAC_BIN:-$root/build/release/tarmac}"

fail() { echo "e2e: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

command -v node >/dev/null || fail "node is not installed"
command -v npm >/dev/null || fail "npm is not installed"
[[ -x $bin ]] || fail "no tarmac binary at $bin (run make, or set TARMAC_BIN)"

# npm ci when node_modules is missing or stale; the stamp is the lock file
# node_modules was installed from.
stamp="$here/node_modules/.e2e-installed-lock.json"
if [[ ! -d $here/node_modules ]] || ! cmp -s "$here/package-lock.json" "$stamp"; then
    echo "e2e: npm ci" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) || fail "npm ci failed"
    cp "$here/package-lock.json" "$stamp"
fi

if (( $# )); then
    files=("$@")
else
    files=("$here"/*.test.mjs)
fi

slow="${TARMAC_TEST_SLOW:-1}"
# per-test limit: only against hangs (a test normally takes well under 15 s)
timeout_ms=$(awk -v s="$slow" 'BEGIN { printf "%d", 180000 * s }')

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
start=$(date +%s)
node --experimental-websocket --test --test-concurrency=1 --test-timeout="$timeout_ms" --test-reporter=tap "${files[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
end=$(date +%s)

# node's TAP summary: "# pass N", "# fail N", "# cancelled N", "# todo N"
count() { grep -E "^# $1 [0-9]+$" "$out" | tail -1 | awk '{print $3}'; }
pass=$(count pass)
failed=$(count fail)
cancelled=$(count cancelled)
todo=$(count todo)
if [[ -z $pass || -z $failed ]]; then
    echo "e2e: no test summary from node (exit code $rc)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
failed=$((failed + ${cancelled:-0}))
(( rc != 0 && failed == 0 )) && failed=1

if (( ${todo:-0} )); then
    echo "e2e: ${todo} todo (not implemented yet):"
    grep -E '^\s*not ok .* # TODO' "$out" | sed -E 's/^\s*not ok [0-9]+ - /  /'
    grep -E '^\s*ok .* # TODO' "$out" | sed -E 's/^\s*ok [0-9]+ - /  (now passing) /'
fi
echo "e2e: $((end - start)) s, binary $bin"
echo "$pass passed, $failed failed"
(( failed == 0 ))
