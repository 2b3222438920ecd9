"""What bench/reco_eval.py and bench/risk_eval.py share: a tarmac server on
a fresh data directory with a superuser signed in, and a small JSON client.

    with evalkit.server(binary, "tarmac-recoeval-") as api:
        api.call("GET", "/api/collections")
"""
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

EMAIL = "eval@example.com"
PASSWORD = "eval-pass-123"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Api:
    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None):
        """The answer's JSON (None when empty); an HTTP error ends the run."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", self.token)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                raw = r.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raise SystemExit("%s %s: %d %s\n%s" % (method, path, e.code, e.read()[:500],
                                                   json.dumps(body)[:600]))

    def batch(self, requests, size=50):
        """requests through POST /api/batch, size at a time."""
        for at in range(0, len(requests), size):
            self.call("POST", "/api/batch", {"requests": requests[at:at + size]})


@contextlib.contextmanager
def server(binary, prefix, flags=(), log=None):
    """A server on a new data directory (removed after) with the eval
    superuser signed in: yields the Api; api.pid is the server's, api.datadir its
    data directory. flags: more serve flags; log: a file for its log lines."""
    work = tempfile.mkdtemp(prefix=prefix)
    port = free_port()
    subprocess.run([binary, "superuser", "upsert", EMAIL, PASSWORD, "--dir=" + work],
                   check=True, capture_output=True)
    err = open(log, "w") if log else subprocess.DEVNULL
    srv = subprocess.Popen([binary, "serve", "--http=127.0.0.1:%d" % port, "--dir=" + work,
                            "--access-log=false", *flags], stdout=subprocess.DEVNULL, stderr=err)
    try:
        api = Api("http://127.0.0.1:%d" % port)
        api.pid = srv.pid
        api.datadir = work
        for _ in range(100):
            try:
                api.call("GET", "/api/health")
                break
            except SystemExit:
                raise
            except Exception:
                time.sleep(0.1)
        api.token = api.call("POST", "/api/collections/_superusers/auth-with-password",
                             {"identity": EMAIL, "password": PASSWORD})["token"]
        yield api
    finally:
        srv.terminate()
        srv.wait()
        if log:
            err.close()
        shutil.rmtree(work, ignore_errors=True)
