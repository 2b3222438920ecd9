#!/bin/sh
# Builds the Debian package from an already built binary, with dpkg-deb only
# (no debhelper, so it runs from the source tree as is):
#   packaging/deb/build.sh BINARY OUTDIR
# Writes OUTDIR/tarmac_VERSION_ARCH.deb and prints its path. `make deb` calls
# it with build/release/tarmac and build/deb. Runs as any user: files are
# owned by root in the archive (--root-owner-group).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "$1")
mkdir -p "$2"
out=$(cd "$2" && pwd)
version=$("$bin" --version | sed 's/^tarmac version //')
arch=$(dpkg --print-architecture)
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || date +%s)}"
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/man/man1" \
    "$stage/usr/share/doc/tarmac" "$stage/lib/systemd/system" "$stage/usr/lib/sysusers.d" \
    "$stage/etc/default"

install -m 0755 "$bin" "$stage/usr/bin/tarmac"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/tarmac"
"$here/gen-man.sh" "$bin" | gzip -9n > "$stage/usr/share/man/man1/tarmac.1.gz"
install -m 0644 "$here/tarmac.service" "$stage/lib/systemd/system/tarmac.service"
install -m 0644 "$here/sysusers.conf" "$stage/usr/lib/sysusers.d/tarmac.conf"
install -m 0644 "$here/default" "$stage/etc/default/tarmac"
install -m 0644 "$here/copyright" "$stage/usr/share/doc/tarmac/copyright"
date_r=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
printf 'tarmac (%s) unstable; urgency=medium\n\n  * Packaged from the tarmac source tree.\n\n -- tarmac maintainers <maintainers@tarmac.invalid>  %s\n' \
    "$version" "$date_r" | gzip -9n > "$stage/usr/share/doc/tarmac/changelog.gz"
for s in postinst prerm postrm; do
    install -m 0755 "$here/$s" "$stage/DEBIAN/$s"
done
echo /etc/default/tarmac > "$stage/DEBIAN/conffiles"

# Library dependencies from the binary's DT_NEEDED, as debhelper would (libuv1,
# libsqlite3-0, libsodium23, libcurl4, libssl3 for libcrypto, ...).
shlib_dir=$(mktemp -d)
mkdir -p "$shlib_dir/debian"
printf 'Source: tarmac\n\nPackage: tarmac\nArchitecture: any\n' > "$shlib_dir/debian/control"
depends=$(cd "$shlib_dir" && dpkg-shlibdeps -O "$stage/usr/bin/tarmac" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlib_dir"
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: tarmac
Version: $version
Architecture: $arch
Maintainer: tarmac maintainers <maintainers@tarmac.invalid>
Installed-Size: $size
Depends: $depends, adduser
Section: web
Priority: optional
Homepage: https://github.com/tarmac/tarmac
Description: mobile-app backend server with PocketBase's REST API
 tarmac is one binary serving records, auth, file storage and realtime
 subscriptions over HTTP/1.1, stored in SQLite. Its API is PocketBase's,
 so the PocketBase SDKs work unchanged.
 .
 The package runs it as a hardened systemd service (tarmac.service) as the
 tarmac system user, with its data in /var/lib/tarmac and its settings in
 /etc/default/tarmac.
CONTROL
(cd "$stage" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' |
    sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
deb="$out/tarmac_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"
