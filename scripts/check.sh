#!/bin/bash
# `make check`: layering, banned calls, formatting.
set -u
cd "$(dirname "$0")/.."
status=0
scripts/check-layers.sh || status=1
# Banned: raw allocation outside base/alloc.c, and the unsafe string calls.
banned=$(grep -nE '\b(malloc|calloc|realloc|free|sprintf|strcpy|strcat|strtok|atoi|gets)\(' \
         -r src --include='*.c' --include='*.h' | grep -v '^src/base/alloc.c' \
         | grep -vE '(x|try_)(malloc|calloc|realloc|free)\(|_free\(' || true)
if [[ -n $banned ]]; then
    echo "banned calls:"; echo "$banned"; status=1
fi
if command -v clang-format >/dev/null; then
    unformatted=$(for f in $(find src tests/unit tests/fuzz -name '*.[ch]'); do
        clang-format --dry-run "$f" 2>&1 | grep -q warning && echo "$f"; done)
    if [[ -n $unformatted ]]; then
        echo "not clang-formatted (make format):"; echo "$unformatted"; status=1
    fi
fi
exit $status
