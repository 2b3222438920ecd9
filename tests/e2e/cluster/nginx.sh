#!/bin/bash
# The JS SDK suite with every server three tarmac instances on one
# PostgreSQL database and one Redis behind nginx (round robin; SSE and
# WebSocket proxied): tests/e2e/lib/cluster.mjs. Issue #16, item 6.
#
#   tests/e2e/cluster/nginx.sh                      # every tests/e2e/*.test.mjs
#   tests/e2e/cluster/nginx.sh tests/e2e/records.test.mjs
#   TARMAC_BIN=build/asan/tarmac TARMAC_TEST_SLOW=3 tests/e2e/cluster/nginx.sh
#
# PostgreSQL: TARMAC_TEST_PG (tests/run starts one), else a cluster started
# here; needs redis-server and nginx. Ends with "N passed, N failed".
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
for tool in redis-server nginx; do
    command -v "$tool" >/dev/null || { echo "cluster: $tool is not installed"; echo "0 passed, 1 failed"; exit 1; }
done
pgdir=""
if [[ -z ${TARMAC_TEST_PG:-} ]]; then
    pgdir=$(mktemp -d /tmp/tarmac-nginx-pg.XXXXXX)
    TARMAC_TEST_PG=$("$root/tests/lib/pgcluster.sh" start "$pgdir") || { echo "0 passed, 1 failed"; exit 1; }
    export TARMAC_TEST_PG
    trap '"$root/tests/lib/pgcluster.sh" stop "$pgdir"' EXIT
fi
export TARMAC_TEST_ENGINE=postgresql TARMAC_E2E_CLUSTER="${TARMAC_E2E_CLUSTER:-3}"
"$root/tests/e2e/run.sh" "$@"
