#!/bin/bash
# Browser suite: the admin dashboard (/_/) in Debian's chromium, driven by
# npm playwright-core, checked by @axe-core/playwright, against a tarmac
# binary and an SMTP sink (python3-aiosmtpd). Needs node >= 20, npm, chromium.
#
#   tests/browser/run.sh                    # build/release/tarmac
#   TARMAC_BIN=build/asan/tarmac TARMAC_TEST_SLOW=3 tests/browser/run.sh
#   TARMAC_SHOTS=0 tests/browser/run.sh     # do not rewrite docs/dashboard/*.jpg
#   tests/browser/run.sh tests/browser/notify.test.mjs   # some files only
#
# Installs the npm dependencies (npm ci) when node_modules is missing or stale.
# Ends with exactly one line "N passed, N failed"; exit code 0 only when
# nothing failed. A missing or broken chromium is a failure, never a skip.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -n ${TARMAC_BIN:-} ]]; then
    TARMAC_BIN="$(cd "$(dirname "$TARMAC_BIN")" 2>/dev/null && pwd)/$(basename "$TARMAC_BIN")"
    export TARMAC_BIN
fi
bin="${TARMAC_BIN:-$root/build/release/tarmac}"
chromium="${CHROMIUM:-/usr/bin/chromium}"

fail() { echo "browser: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

command -v node >/dev/null || fail "node is not installed"
command -v npm >/dev/null || fail "npm is not installed"
[[ -x $bin ]] || fail "no tarmac binary at $bin (run make, or set TARMAC_BIN)"
[[ -x $chromium ]] || fail "no chromium at $chromium (scripts/install-deps.sh installs Debian's chromium)"
"$chromium" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
    fail "$chromium does not run"

stamp="$here/node_modules/.browser-installed-lock.json"
if [[ ! -d $here/node_modules ]] || ! cmp -s "$here/package-lock.json" "$stamp"; then
    echo "browser: npm ci" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) || fail "npm ci failed"
    cp "$here/package-lock.json" "$stamp"
fi

slow="${TARMAC_TEST_SLOW:-1}"
timeout_ms=$(awk -v s="$slow" 'BEGIN { printf "%d", 120000 * s }')
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
start=$(date +%s)
files=("$@")
(( ${#files[@]} )) || files=("$here"/*.test.mjs)
node --test --test-concurrency=1 --test-timeout="$timeout_ms" --test-reporter=tap "${files[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
end=$(date +%s)

count() { grep -E "^# $1 [0-9]+$" "$out" | tail -1 | awk '{print $3}'; }
pass=$(count pass)
failed=$(count fail)
cancelled=$(count cancelled)
if [[ -z $pass || -z $failed ]]; then
    echo "browser: no test summary from node (exit code $rc)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
failed=$((failed + ${cancelled:-0}))
(( rc != 0 && failed == 0 )) && failed=1
(( pass + failed == 0 )) && { echo "browser: no test ran" >&2; failed=1; }
echo "browser: $((end - start)) s, binary $bin, $("$chromium" --version 2>/dev/null)"
echo "$pass passed, $failed failed"
(( failed == 0 ))
