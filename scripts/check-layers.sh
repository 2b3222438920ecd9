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
    for other in base net http store core api cli; do
        [[ " ${allowed[$layer]} " == *" $other "* ]] && continue
        hits=$(grep -nE "#include \"$other/|\\b${other}_[a-z_]+\\(" -r "src/$layer" \
               --include='*.c' --include='*.h' | grep -v '^\s*/\*' || true)
        # base has no prefix of its own to grep for calls; includes suffice.
        if [[ $other == base ]]; then continue; fi
        if [[ -n $hits ]]; then
            echo "layer violation: src/$layer reaches $other:"
            echo "$hits"
            bad=1
        fi
    done
done
exit $bad
