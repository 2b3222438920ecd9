# Dependencies: Debian 12 packages found with pkg-config. When one is missing,
# scripts/install-deps.sh installs them (apt-get as root) or prints the command.
# libcrypto (OpenSSL) only for what libsodium lacks: RS256 and ES256 (base/jwk.c, base/jws.c).
# libzip: the backup archives (core/backup/archive.c).
# hiredis: Redis for several instances on one database (store/redis.c, --redis).
PKGS      := libuv sqlite3 libpq hiredis jansson libsodium libcurl vips libcrypt lua5.4 libcrypto libzip
# Debian's libwslay-dev ships no .pc file: linked by name, checked by header.
NOPC_LIBS := -lwslay
TEST_PKGS := cmocka
# Build tools only (tools/embed.c gzips the admin UI); not linked into tarmac.
TOOL_PKGS := zlib

deps:
	@{ pkg-config --exists $(PKGS) $(TEST_PKGS) $(TOOL_PKGS) && test -f /usr/include/wslay/wslay.h; } || scripts/install-deps.sh
	@pkg-config --exists $(PKGS) $(TEST_PKGS) $(TOOL_PKGS) || { echo "missing: $(PKGS) $(TEST_PKGS) $(TOOL_PKGS)"; exit 1; }
.PHONY: deps
