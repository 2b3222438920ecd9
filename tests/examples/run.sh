#!/bin/bash
# The example apps of examples/*/ against a built tarmac: for each example, a
# fresh data directory with a superuser (tarmac superuser upsert), the server
# on a free port with the example's hooks folder, its collections.json
# imported, then its client.mjs (the official PocketBase JS SDK playing the
# apps) run against it. Builds nothing.
#
#   tests/examples/run.sh                           # build/release/tarmac
#   TARMAC_BIN=build/asan/tarmac tests/examples/run.sh
#   tests/examples/run.sh loan-tracker              # only some examples
#
# The SDK comes from tests/e2e/node_modules (npm ci there when it is missing or
# stale, as tests/e2e/run.sh does). Each "ok - " line of a client counts as
# one passed check; a client that fails, an import that fails, a server that
# does not start or does not exit 0 on SIGTERM counts as one failure. Ends
# with exactly one line "N passed, N failed"; exit code 0 only when nothing
# failed.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -n ${TARMAC_BIN:-} ]]; then
    TARMAC_BIN="$(cd "$(dirname "$TARMAC_BIN")" 2>/dev/null && pwd)/$(basename "$TARMAC_BIN")"
fi
bin="${TARMAC_BIN:-$root/build/release/tarmac}"
slow="${TARMAC_TEST_SLOW:-1}"
slow=${slow%%.*}; (( slow >= 1 )) 2>/dev/null || slow=1

fail() { echo "examples: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

command -v node >/dev/null || fail "node is not installed"
command -v npm >/dev/null || fail "npm is not installed"
[[ -x $bin ]] || fail "no tarmac binary at $bin (run make, or set TARMAC_BIN)"

e2e="$root/tests/e2e"
stamp="$e2e/node_modules/.e2e-installed-lock.json"
if [[ ! -d $e2e/node_modules ]] || ! cmp -s "$e2e/package-lock.json" "$stamp"; then
    echo "examples: npm ci in tests/e2e" >&2
    (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error >&2) || fail "npm ci failed"
    cp "$e2e/package-lock.json" "$stamp"
fi

if (( $# )); then
    names=("$@")
else
    names=()
    for d in "$root"/examples/*/; do
        d=${d%/}
        [[ -f $d/client.mjs && -f $d/collections.json ]] && names+=("${d##*/}")
    done
fi
(( ${#names[@]} )) || fail "no examples found"

# The scripts run from a scratch folder whose node_modules is the e2e one:
# node resolves `import 'pocketbase'` from where the script file is.
work="$(mktemp -d "${TMPDIR:-/tmp}/tarmac-examples.XXXXXX")"
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill -KILL "$server_pid" 2>/dev/null
    [[ -n ${TARMAC_EXAMPLES_KEEP:-} ]] && { echo "examples: kept $work" >&2; return; }
    rm -rf "$work"
}
trap cleanup EXIT
ln -s "$e2e/node_modules" "$work/node_modules"
cp "$root/examples/import.mjs" "$work/"

# The server reads TARMAC_* variables as flags: none of ours may reach it.
unset_tarmac=()
while read -r v; do unset_tarmac+=("--unset=$v"); done < <(compgen -e | grep '^TARMAC_')

SU_EMAIL=examples@example.com
SU_PASS=examples-pass-123456
passed=0 failed=0

bad() { # example why [file to show the tail of]
    echo "FAIL - $1: $2"
    [[ -n ${3:-} && -f $3 ]] && tail -40 "$3" | sed 's/^/#   /'
    failed=$((failed + 1))
}

# Starts the server for example $1 in $dir; sets server_pid and url.
start_server() {
    local ex=$1
    "$bin" superuser upsert "$SU_EMAIL" "$SU_PASS" --dir="$dir/data" >"$dir/upsert.log" 2>&1 ||
        { bad "$ex" "superuser upsert failed" "$dir/upsert.log"; return 1; }
    env "${unset_tarmac[@]}" "$bin" serve --http=127.0.0.1:0 --dir="$dir/data" \
        --hooks-dir="$root/examples/$ex/hooks" --access-log=false \
        >"$dir/stdout" 2>"$dir/stderr" &
    server_pid=$!
    local deadline=$((SECONDS + 20 * slow))
    url=
    while [[ -z $url ]]; do
        url=$(grep -oE 'server started at http://[0-9.]+:[0-9]+' "$dir/stdout" 2>/dev/null | head -1)
        url=${url#server started at }
        [[ -n $url ]] && break
        if ! kill -0 "$server_pid" 2>/dev/null || (( SECONDS > deadline )); then
            kill -KILL "$server_pid" 2>/dev/null
            wait "$server_pid" 2>/dev/null
            server_pid=
            bad "$ex" "the server did not start" "$dir/stderr"
            return 1
        fi
        sleep 0.1
    done
}

stop_server() {
    local ex=$1 rc
    kill -TERM "$server_pid"
    local deadline=$((SECONDS + 30 * slow))
    while kill -0 "$server_pid" 2>/dev/null && (( SECONDS <= deadline )); do sleep 0.1; done
    if kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null
        server_pid=
        bad "$ex" "the server did not exit within $((30 * slow)) s of SIGTERM" "$dir/stderr"
        return
    fi
    wait "$server_pid"; rc=$?
    server_pid=
    (( rc == 0 )) || bad "$ex" "the server exited with $rc on SIGTERM (expected 0)" "$dir/stderr"
}

start=$SECONDS
for ex in "${names[@]}"; do
    src="$root/examples/$ex"
    [[ -f $src/client.mjs ]] || { bad "$ex" "no examples/$ex/client.mjs"; continue; }
    echo "# $ex"
    dir="$work/$ex"
    mkdir -p "$dir/data"
    cp "$src/client.mjs" "$dir/"
    start_server "$ex" || continue
    export TARMAC_URL="$url" TARMAC_SUPERUSER_EMAIL="$SU_EMAIL" TARMAC_SUPERUSER_PASSWORD="$SU_PASS"
    if ! node "$work/import.mjs" "$src/collections.json" >"$dir/import.log" 2>&1; then
        bad "$ex" "importing collections.json failed" "$dir/import.log"
    else
        timeout $((300 * slow)) node "$dir/client.mjs" >"$dir/client.log" 2>&1
        rc=$?
        cat "$dir/client.log"
        n=$(grep -c '^ok - ' "$dir/client.log")
        passed=$((passed + n))
        if (( rc != 0 )); then
            bad "$ex" "client.mjs exited with $rc"
            echo "#   server log:"; tail -30 "$dir/stderr" | sed 's/^/#   /'
        fi
    fi
    unset TARMAC_URL TARMAC_SUPERUSER_EMAIL TARMAC_SUPERUSER_PASSWORD
    stop_server "$ex"
done

echo "examples: $((SECONDS - start)) s, binary $bin"
echo "$passed passed, $failed failed"
(( failed == 0 ))
