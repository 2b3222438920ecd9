#!/bin/sh
# Installs the Debian 12 packages tarmac's build and tests need. As root it
# runs apt-get; otherwise it prints the exact command to run. Node.js (for the
# end-to-end suite with the PocketBase JS SDK) is installed from Debian only
# when no node/npm is on the machine already. chromium drives the admin
# dashboard's browser suite (tests/browser, playwright-core). dpkg-dev,
# lintian, systemd (systemd-analyze) and man-db build and check the Debian
# package (make deb, tests/pkg); prometheus brings promtool, which checks the
# metrics exposition in tests/http. postgresql: the server the tests start a
# throwaway cluster of (tests/lib/pgcluster.sh); redis-server (and
# redis-tools' redis-cli): the Redis of the several-instances suite; nginx:
# the load balancer the SDK suite runs behind there (tests/e2e/cluster/nginx.sh);
# pgbouncer: the connection pooler tarmac is checked behind.
set -eu
PACKAGES="build-essential pkg-config clang-14 libclang-rt-14-dev \
libuv1-dev libsqlite3-dev libpq-dev libhiredis-dev libsodium-dev libjansson-dev \
libcurl4-openssl-dev libssl-dev libvips-dev libwslay-dev libcmocka-dev zlib1g-dev libcrypt-dev liblua5.4-dev libzip-dev \
python3 python3-aiosmtpd curl openssl socat wrk sqlite3 postgresql redis-server redis-tools nginx pgbouncer chromium \
dpkg-dev lintian systemd man-db adduser prometheus"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES="$PACKAGES nodejs npm"
fi
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "tarmac needs these Debian packages; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
