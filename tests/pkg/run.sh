#!/bin/bash
# Package checks: builds the Debian package from build/release/tarmac and
# inspects it without installing anything (installing is .ci/run's job, as
# root): control fields, file list, the conffile, a man page with every serve
# flag, lintian with no errors, and the unit file through
# `systemd-analyze verify` (no warnings either). Ends with "N passed, N failed".
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bin=${TARMAC_BIN:-$root/build/release/tarmac}
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "FAIL - $1"; failed=$((failed + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! deb=$(packaging/deb/build.sh "$bin" "$tmp/out" 2>"$tmp/build.err"); then
    fail "build: $(tail -5 "$tmp/build.err")"
    echo "$passed passed, $failed failed"
    exit 1
fi
ok "package built: ${deb##*/}"

info=$(dpkg-deb -I "$deb")
# libssl3: OpenSSL's libcrypto (RS256/ES256 of id_tokens, base/jwk.c), found by dpkg-shlibdeps
for field in "Package: tarmac" "Depends: .*libuv1" "Depends: .*libsqlite3-0" "Depends: .*libssl3" \
             "Depends: .*adduser" \
             "Section: web" \
             "Maintainer: " "Installed-Size: [0-9]"; do
    grep -qE "^ ?$field" <<<"$info" && ok "control has $field" || fail "control lacks $field"
done
files=$(dpkg-deb -c "$deb")
for f in ./usr/bin/tarmac ./lib/systemd/system/tarmac.service ./etc/default/tarmac \
         ./usr/lib/sysusers.d/tarmac.conf ./usr/share/man/man1/tarmac.1.gz \
         ./usr/share/doc/tarmac/copyright ./usr/share/doc/tarmac/changelog.gz; do
    grep -q " $f\$" <<<"$files" && ok "contains $f" || fail "missing $f"
done
grep -q ' root/root ' <<<"$(grep ' ./usr/bin/tarmac$' <<<"$files")" && ok "files owned by root" ||
    fail "files not owned by root"

mkdir "$tmp/x" "$tmp/ctl"
dpkg-deb -x "$deb" "$tmp/x"
dpkg-deb -e "$deb" "$tmp/ctl"
grep -qx /etc/default/tarmac "$tmp/ctl/conffiles" && ok "conffile" || fail "conffile"
"$tmp/x/usr/bin/tarmac" --version | grep -q '^tarmac version' && ok "packaged binary runs" ||
    fail "packaged binary does not run"
man=$(zcat "$tmp/x/usr/share/man/man1/tarmac.1.gz")
missing=""
for flag in $("$bin" serve --help | sed -nE 's/^ +--([a-z0-9-]+)=.*/\1/p'); do
    grep -qF -- "\\fB\\-\\-${flag//-/\\-}=" <<<"$man" || missing="$missing $flag"
done
[[ -z $missing ]] && ok "man page lists every serve flag" || fail "man page lacks:$missing"
if command -v man >/dev/null; then
    warn=$(MANWIDTH=80 man --warnings -l "$tmp/x/usr/share/man/man1/tarmac.1.gz" 2>&1 >/dev/null)
    [[ -z $warn ]] && ok "man page renders without warnings" || fail "man warnings: $warn"
fi

for key in 'User=tarmac' 'StateDirectory=tarmac' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
           'RestrictAddressFamilies=' 'SystemCallFilter=@system-service' 'LimitNOFILE='; do
    grep -q "^$key" "$tmp/x/lib/systemd/system/tarmac.service" && ok "unit sets $key" ||
        fail "unit lacks $key"
done
if command -v systemd-analyze >/dev/null; then
    # The packaged unit, pointed at the packaged binary (not installed here).
    sed "s|/usr/bin/tarmac|$tmp/x/usr/bin/tarmac|" "$tmp/x/lib/systemd/system/tarmac.service" \
        > "$tmp/tarmac.service"
    out=$(systemd-analyze verify --man=no "$tmp/tarmac.service" 2>&1)
    rc=$?
    [[ $rc -eq 0 && -z $out ]] && ok "systemd-analyze verify" || fail "systemd-analyze verify: $out"
    exposure=$(systemd-analyze security --offline=yes "$tmp/tarmac.service" 2>/dev/null |
               sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p')
    [[ -n $exposure ]] && awk "BEGIN{exit !($exposure <= 2.5)}" &&
        ok "systemd-analyze security exposure $exposure <= 2.5" ||
        fail "systemd-analyze security exposure '${exposure}'"
else
    fail "systemd-analyze not installed (scripts/install-deps.sh)"
fi
if command -v lintian >/dev/null; then
    lintian --fail-on error "$deb" >"$tmp/lintian.out" 2>&1
    rc=$?
    out=$(grep -v 'running with root privileges' "$tmp/lintian.out")
    [[ $rc -eq 0 ]] && ok "lintian: no errors${out:+ ($(grep -c '^[WI]:' <<<"$out") warnings/info)}" ||
        fail "lintian: $out"
else
    fail "lintian not installed (scripts/install-deps.sh)"
fi
# The Grafana dashboard: valid JSON, and every query valid PromQL over
# metric names the server exports (the names are checked against the source).
if /usr/bin/python3 - deploy/grafana-tarmac.json "$tmp/rules.yml" "$tmp/names" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p["targets"]]
with open(sys.argv[2], "w") as f:
    f.write("groups:\n- name: dashboard\n  rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$job", ".*").replace("$instance", ".*")
        f.write("  - record: dashboard:q%d\n    expr: %s\n" % (i, json.dumps(e)))
names = set()
for e in exprs:
    names |= set(re.findall(r"\b((?:tarmac|process)_[a-z_]+)", e))
open(sys.argv[3], "w").write("\n".join(sorted(names)) + "\n")
PY
then
    ok "dashboard JSON parses"
    missing=""
    while read -r n; do
        base=${n%_bucket}
        grep -rqF "\"$base\"" src || missing="$missing $n"
    done <"$tmp/names"
    [[ -z $missing ]] && ok "dashboard queries only exported metrics" ||
        fail "dashboard uses unknown metrics:$missing"
    if command -v promtool >/dev/null; then
        out=$(promtool check rules "$tmp/rules.yml" 2>&1) && ok "dashboard PromQL parses" ||
            fail "dashboard PromQL: $out"
    fi
else
    fail "dashboard JSON"
fi
sh -n "$tmp/ctl/postinst" && sh -n "$tmp/ctl/prerm" && sh -n "$tmp/ctl/postrm" &&
    ok "maintainer scripts parse" || fail "maintainer scripts"

echo "$passed passed, $failed failed"
(( failed == 0 ))
