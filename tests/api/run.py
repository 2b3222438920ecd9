#!/usr/bin/python3
"""HTTP-level API scenario suite for tarmac (contract: spec/api.md).

    /usr/bin/python3 tests/api/run.py [--bin build/release/tarmac] [--only SUBSTR]

Starts one server on a free port with a fresh --dir (superuser created with
the CLI first), builds the fixtures through the API (fixtures.py), then runs
the scenario tables (sc_collections.py, sc_records.py, sc_auth.py,
sc_files.py, sc_passwords.py, sc_options.py: the option walk, sc_settings.py): one
request each, checked for status, JSON and the universal rules in
apilib.universal_checks().  Prints `ok - name` / `FAIL - name: reason
(METHOD path -> status body)` per scenario and, last, exactly one line
`N passed, N failed`; exit status 1 if anything failed.

The "expired token" scenarios run last and wait (at most ~10 s after the
fixtures were made) for a short-lived token to expire.  No timing is
asserted; socket timeouts scale with TARMAC_TEST_SLOW (set to 3 by default
when the binary path contains "asan").
"""

import argparse
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ litter in the work tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "tarmac"))
    ap.add_argument("--only", default=None, help="run scenarios whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the server's temp dir")
    ap.add_argument("--verbose", action="store_true", help="print server stderr on failure")
    return ap.parse_args()


def main():
    args = parse_args()
    binary = os.path.abspath(args.bin)
    if "asan" in binary and not os.environ.get("TARMAC_TEST_SLOW"):
        os.environ["TARMAC_TEST_SLOW"] = "3"

    # imported after TARMAC_TEST_SLOW is settled (tarmac.py reads it at import)
    from tarmac import Server, SLOW  # noqa: F401
    import apilib
    import fixtures
    import sc_auth
    import sc_collections
    import sc_files
    import sc_logs
    import sc_options
    import sc_passwords
    import sc_records
    import sc_settings

    scenarios = (sc_collections.SCENARIOS + sc_records.SCENARIOS + sc_auth.SCENARIOS +
                 sc_files.SCENARIOS + sc_passwords.SCENARIOS + sc_options.SCENARIOS +
                 sc_settings.SCENARIOS + sc_logs.SCENARIOS)
    last = sc_auth.LAST + sc_options.LAST
    names = [s.name for s in scenarios + last]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        print("FAIL - scenario table: duplicate names %s" % sorted(dups))
        print("0 passed, 1 failed")
        return 1
    if args.only:
        scenarios = [s for s in scenarios if args.only in s.name]
        last = [s for s in last if args.only in s.name]

    passed = failed = 0
    started = time.monotonic()
    if not os.access(binary, os.X_OK):
        print("FAIL - setup: binary %s not found or not executable" % binary)
        print("0 passed, 1 failed")
        return 1

    server = Server(binary, name="api")
    ctx = None
    try:
        try:
            os.makedirs(server.tmpdir, exist_ok=True)
            apilib.create_superuser(binary, server.datadir, fixtures.SU_EMAIL, fixtures.SU_PASS)
            server.start()
            ctx = apilib.Ctx(server)
            fixtures.global_setup(ctx)
        except Exception as e:
            print("FAIL - setup: %s: %s" % (type(e).__name__, e))
            if args.verbose:
                traceback.print_exc()
                sys.stdout.write(server.stderr_text()[-3000:])
            print("0 passed, 1 failed")
            return 1

        def run_one(s):
            nonlocal passed, failed
            res = s.run(ctx)
            if res is None:
                passed += 1
                print("ok - %s" % s.name)
            else:
                failed += 1
                reason, r = res
                where = (" (%s)" % r.summary().replace("\n", " ")) if r is not None else ""
                print("FAIL - %s: %s%s" % (s.name, reason, where))
            sys.stdout.flush()

        for s in scenarios:
            if not server.alive():
                break
            run_one(s)
        if last and server.alive():
            apilib.wait_until(ctx.vars["shorty_exp"] + 1.5)
            for s in last:
                run_one(s)

        # The fixture and follow-up responses (not the scenarios' own, which
        # their scenarios report) must pass the universal checks too.
        if ctx.violations:
            failed += 1
            print("FAIL - fixture and follow-up responses pass the universal checks: %d violation(s), first: %s" % (
                len(ctx.violations), ctx.violations[0][:600]))
        else:
            passed += 1
            print("ok - fixture and follow-up responses pass the universal checks")

        # The server must have survived everything, and (sanitizer builds)
        # must not have reported anything, including leaks at exit.
        if not server.alive():
            failed += 1
            print("FAIL - server survived the suite: exited rc=%r; stderr tail: %s" % (
                server.proc.poll(), server.stderr_text()[-1500:].replace("\n", " | ")))
        elif not args.only:
            why = server.stop_clean()
            if not why:
                passed += 1
                print("ok - server exits 0 on SIGTERM with no sanitizer report")
            else:
                failed += 1
                print("FAIL - server exits 0 on SIGTERM with no sanitizer report: %s" % why)
    finally:
        server.cleanup(keep=args.keep)

    elapsed = time.monotonic() - started
    sys.stdout.flush()
    sys.stderr.write("api suite: %d requests in %.1fs\n" % (ctx.requests if ctx else 0, elapsed))
    sys.stderr.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
