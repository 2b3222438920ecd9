#!/bin/bash
# The JS SDK end-to-end suite through a validating proxy (issue #14): npm
# @stoplight/prism-cli in proxy mode with --errors in front of each tarmac the
# suite starts, reading the server's own GET /api/docs/openapi.json. An answer
# that departs from the document becomes a 500 from Prism (the test fails) and
# every violation Prism logged fails the file's last test (lib/server.mjs).
#
#   tests/e2e/prism.sh                      # build/release/tarmac
#   TARMAC_BIN=build/asan/tarmac TARMAC_TEST_SLOW=3 tests/e2e/prism.sh
#   tests/e2e/prism.sh tests/e2e/auth.test.mjs   # other files
#
# Runs the files below, not the whole suite: Prism re-reads a request body as
# text (binary uploads would arrive corrupted), cannot proxy event streams or
# WebSocket upgrades, answers OPTIONS itself, and the files that kill the
# server, inject I/O faults or count requests per IP test the server rather
# than the document. Ends with run.sh's "N passed, N failed" line.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
if (( $# )); then
    files=("$@")
else
    files=()
    for f in records rules auth collections batch passwords impersonate mailflows \
             relation_leak openapi typegen manage views logs; do
        files+=("$here/$f.test.mjs")
    done
fi
TARMAC_E2E_PRISM=1 exec "$here/run.sh" "${files[@]}"
