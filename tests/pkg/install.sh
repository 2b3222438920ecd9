#!/bin/bash
# Installs the built package system-wide and checks the result: the tarmac
# user exists, the installed unit verifies (with the real binary and man page
# in place), the binary runs as that user against its state directory, and
# `dpkg -r` removes it again. Root only; .ci/run calls it after `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) -eq 0 ]] || { echo "tests/pkg/install.sh: needs root" >&2; exit 2; }
deb=$(ls build/deb/tarmac_*.deb | tail -1)
dpkg -i "$deb"
getent passwd tarmac >/dev/null
out=$(systemd-analyze verify /lib/systemd/system/tarmac.service 2>&1)
[[ -z $out ]] || { echo "systemd-analyze verify: $out" >&2; exit 1; }
man -w tarmac >/dev/null
tarmac --version
# The service's own command line, as its user, briefly (no systemd in CI).
dir=$(mktemp -d)
chown tarmac:tarmac "$dir"
runuser -u tarmac -- timeout -s TERM 3 tarmac serve --http=127.0.0.1:0 --dir="$dir" \
    >/dev/null 2>&1 || [[ $? -eq 124 ]]
[[ -f $dir/data.db ]] || { echo "the packaged server did not create its database" >&2; exit 1; }
rm -rf "$dir"
dpkg -r tarmac
echo "package install check: ok"
