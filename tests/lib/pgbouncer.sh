#!/bin/bash
# PgBouncer (Debian's pgbouncer) in pool_mode = transaction in front of a
# test cluster (tests/lib/pgcluster.sh), with two server sessions per
# database, so tarmac's connections really share them: the API suite runs
# through it (tests/run's api-pgbouncer stage). Listens on a free 127.0.0.1
# port; runs as `postgres` when we are root (pgbouncer refuses root).
#
#   tests/lib/pgbouncer.sh start DIR PG_URL   prints the URL the suites take
#                                             (TARMAC_TEST_PG: postgresql:///tarmac?host=...)
#   tests/lib/pgbouncer.sh stop DIR           stops it and removes DIR
set -euo pipefail
bin=$(ls /usr/sbin/pgbouncer /usr/bin/pgbouncer 2>/dev/null | head -1 || true)
[[ -x $bin ]] || { echo "pgbouncer: not installed (apt-get install pgbouncer)" >&2; exit 1; }
cmd=${1:-}; dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start DIR PG_URL | stop DIR" >&2; exit 2; }

case $cmd in
start)
    pg=${3:?PG_URL}
    socket=$(sed -E 's/.*[?&]host=([^&]*).*/\1/' <<<"$pg")
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$dir"
    echo '"tarmac" ""' >"$dir/users.txt"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$socket user=tarmac
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 2
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres: "$dir"
        runuser -u postgres -- "$bin" -d "$dir/pgbouncer.ini"
    else
        "$bin" -d "$dir/pgbouncer.ini"
    fi
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    echo "postgresql:///tarmac?host=127.0.0.1&port=$port&user=tarmac"
    ;;
stop)
    [[ -f $dir/pgbouncer.pid ]] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [[ -f $dir/pgbouncer.pid ]] || break; sleep 0.1; done
    rm -rf "$dir"
    ;;
*) echo "usage: $0 start DIR PG_URL | stop DIR" >&2; exit 2 ;;
esac
