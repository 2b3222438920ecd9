#!/bin/bash
# A throwaway PostgreSQL cluster for the tests (Debian's postgresql package):
# initdb in a temporary directory, listening on a Unix socket there only (no
# TCP port), run as an unprivileged user (`postgres` when we are root, else
# ourselves), fsync off (the tests do not survive power loss, they test
# tarmac). Nothing outside the directory is touched.
#
#   tests/lib/pgcluster.sh start DIR   prints the URL tarmac takes (--db)
#   tests/lib/pgcluster.sh stop DIR    stops it and removes DIR
#   tests/lib/pgcluster.sh url DIR     the URL again
#   tests/lib/pgcluster.sh halt DIR    stops the server, keeps its data (fault tests)
#   tests/lib/pgcluster.sh resume DIR  starts a halted server again
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bindir/initdb ]] || { echo "pgcluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
cmd=${1:-}; dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop|url|halt|resume DIR" >&2; exit 2; }

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
url() { echo "postgresql:///tarmac?host=$dir&user=tarmac"; }
run_server() {
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
        -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=200" >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
}

case $cmd in
start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U tarmac --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    run_server
    as_owner "$bindir/createdb" -h "$dir" -U tarmac tarmac
    url
    ;;
stop)
    if [[ -f $dir/data/postmaster.pid ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
url) url ;;
halt) as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
resume) run_server ;;
*) echo "usage: $0 start|stop|url|halt|resume DIR" >&2; exit 2 ;;
esac
