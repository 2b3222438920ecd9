#!/bin/bash
# Fails when a file includes, or calls by prefix, a layer it may not reach.
#   cli -> api -> core -> store -> net -> base;  api -> http -> net
# (STYLE.md §1.2). Prefixes (net_, http_, store_, core_, api_, cli_) make
# upward calls greppable.
set -u
cd "$(dirname "$0")/.."
declare -A allowed=(
    [base]="base"
    [net]="base net"
    [http]="base net http"
    [store]="base net store"
    [core]="base net store core"
    [api]="base net http core api"
    [cli]="base net http store core api cli"
)
bad=0
for layer in "${!allowed[@]}"; do
    [[ -d src/$layer ]] || continue
    # base has no prefix of its own to grep for calls, and every layer may
    # include it: it is never a violation.
    for other in net http store core api cli; do
        [[ " ${allowed[$layer]} " == *" $other "* ]] && continue
        hits=$(grep -nE "#include \"$other/|\\b${other}_[a-z_]+\\(" -r "src/$layer" \
               --include='*.c' --include='*.h' || true)
        if [[ -n $hits ]]; then
            echo "layer violation: src/$layer reaches $other:"
            echo "$hits"
            bad=1
        fi
    done
done

# Inside core/, folders by subject in one order (issue #9): a folder (with its
# subfolders) may include its own files, core/problem.h, and folders before
# it; the files at core/'s root (app, schema_change, data_upgrade) compose
# them and may include any.
core_order=(cluster schema filter files credential event record auth settings realtime jobs notify reco risk hooks ext backup)
for ((i = 0; i < ${#core_order[@]}; i++)); do
    folder=${core_order[$i]}
    allowed_core=" problem.h ${core_order[*]:0:$((i + 1))} "
    while IFS= read -r hit; do
        [[ -z $hit ]] && continue
        file=${hit%%:*}
        header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${hit#*:}")
        rest=${header#core/}
        [[ $allowed_core == *" ${rest%%/*} "* ]] && continue
        echo "core folder order: $file includes $header ($folder may reach:$allowed_core)"
        bad=1
    done < <(grep -rHE '#include "core/' src/core/"$folder" --include='*.[ch]' 2>/dev/null)
done

# Only store/ names the database engine (STYLE.md §1.4): no sqlite3_* call or
# type, no SQLITE_* constant, no <sqlite3.h> or store/sqlite.h elsewhere; the
# rest of the tree goes through store/store.h and store/sql.h.
engine=$(grep -nE 'sqlite3_|SQLITE_|#include <sqlite3\.h>|#include "store/sqlite\.h"' -r src \
         --include='*.c' --include='*.h' | grep -v '^src/store/' || true)
if [[ -n $engine ]]; then
    echo "engine outside store/ (use store/store.h and store/sql.h):"
    echo "$engine"
    bad=1
fi
exit $bad
