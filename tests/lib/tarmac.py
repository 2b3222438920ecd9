"""Test harness for the tarmac HTTP integration suite (stdlib only).

Starts `BIN serve --http=127.0.0.1:0 --dir=<fresh temp dir> [flags]`, parses
the port from the "server started at http://HOST:PORT" line on stdout, and
offers raw-socket helpers to speak HTTP/1.1 byte by byte.

Every socket operation has a timeout, so a hung server makes a test fail
rather than block forever.  Timeouts scale with TARMAC_TEST_SLOW (a float
multiplier, default 1; set it higher for ASan/valgrind builds) -- the
defaults are already generous.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SLOW = float(os.environ.get("TARMAC_TEST_SLOW", "1") or "1")

# Default per-operation timeout (seconds) for reads on a socket.
IO_TIMEOUT = 10.0 * SLOW
# How long to wait for the "server started" line.
START_TIMEOUT = 20.0 * SLOW

# What a sanitizer build writes to stderr when it finds something.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")

STARTED_RE = re.compile(rb"server started at http://([0-9.]+):(\d+)")

# TARMAC_TEST_ENGINE=postgresql runs the servers on PostgreSQL: each data
# directory gets a database of its own on the cluster at TARMAC_TEST_PG
# (tests/lib/pgcluster.sh), made on first use and dropped at cleanup.
ENGINE = os.environ.get("TARMAC_TEST_ENGINE", "sqlite")
PG_URL = os.environ.get("TARMAC_TEST_PG", "")
_databases = {}


def _psql(sql):
    subprocess.run(["psql", "-q", "-X", PG_URL, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def db_flags(datadir):
    """The --db flag for a server or CLI call on datadir: none on SQLite."""
    if ENGINE != "postgresql":
        return []
    if not PG_URL:
        raise HarnessError("TARMAC_TEST_ENGINE=postgresql needs TARMAC_TEST_PG")
    if datadir not in _databases:
        name = "t_" + hashlib.sha1(datadir.encode()).hexdigest()[:20]
        _psql('CREATE DATABASE "%s"' % name)
        _databases[datadir] = (name, PG_URL.replace(":///tarmac?", ":///%s?" % name))
    return ["--db=" + _databases[datadir][1]]


def _literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def db_rows(datadir, sql, args=(), write=False):
    """Rows of sql (? placeholders) run on datadir's database, whichever the
    engine: SQLite's file (read only unless write), or the server's
    PostgreSQL database through psql (values as text there)."""
    if ENGINE != "postgresql":
        import sqlite3
        path = os.path.join(datadir, "data.db")
        con = (sqlite3.connect(path, timeout=10 * SLOW) if write else
               sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10 * SLOW))
        try:
            rows = con.execute(sql, args).fetchall()
            if write:
                con.commit()
            return rows
        finally:
            con.close()
    parts = sql.split("?")
    if len(parts) - 1 != len(args):
        raise HarnessError("db_rows: %d placeholders, %d values" % (len(parts) - 1, len(args)))
    text = parts[0] + "".join(_literal(a) + p for a, p in zip(args, parts[1:]))
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", _databases[datadir][1],
                          "-c", text], check=True, capture_output=True, text=True)
    return [tuple(line.split("\x1f")) for line in out.stdout.splitlines()]


def db_dump_holds(datadir, needle):
    """True when needle is anywhere in the stored data (SQLite: the file and
    its WAL; PostgreSQL: a data dump of the server's database)."""
    if ENGINE != "postgresql":
        for suffix in ("", "-wal"):
            try:
                with open(os.path.join(datadir, "data.db" + suffix), "rb") as f:
                    if needle.encode() in f.read():
                        return True
            except FileNotFoundError:
                pass
        return False
    out = subprocess.run(["pg_dump", "--data-only", _databases[datadir][1]], check=True,
                         capture_output=True)
    return needle.encode() in out.stdout


def drop_db(datadir):
    if datadir in _databases:
        name = _databases.pop(datadir)[0]
        try:
            _psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        except subprocess.CalledProcessError:
            pass


class HarnessError(Exception):
    pass


class Closed(HarnessError):
    """The peer closed the connection before a full response arrived."""


def default_bin():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    return os.path.join(root, "build", "release", "tarmac")


def sigterm_caught(pid):
    """True/False: does pid have a handler for SIGTERM (Linux /proc);
    None if that cannot be told."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return bool(mask & (1 << (signal.SIGTERM - 1)))
    except (OSError, ValueError):
        return None
    return None


# --------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------

class Server:
    """One running tarmac process.

    Use as a context manager or call start()/kill() yourself.  stderr goes to
    a file (self.stderr_path) so it can be inspected (access log) and kept for
    debugging; stdout is read by a background thread into self.stdout_lines.
    """

    def __init__(self, binary, flags=(), env=None, name="server", wrapper=()):
        """wrapper: argv run in front of the binary, which it must exec
        (e.g. prlimit), so proc.pid stays the server's."""
        self.binary = binary
        self.wrapper = list(wrapper)
        self.flags = list(flags)
        self.env = env
        self.name = name
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self.tmpdir = tempfile.mkdtemp(prefix="tarmac-test-")
        self.datadir = os.path.join(self.tmpdir, "data")
        self.stderr_path = os.path.join(self.tmpdir, "stderr.log")
        self.stdout_lines = []
        self._stdout_cv = threading.Condition()
        self._stdout_eof = False
        self._reader = None
        self._stderr_f = None

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout=START_TIMEOUT, wait_ready=True):
        """Start and parse the port from the startup line.

        wait_ready: after the line, also wait until the port accepts a
        connection and SIGTERM is caught, so a server that announces itself
        a little early does not fail unrelated tests (the tests that check
        the announcement itself pass wait_ready=False)."""
        argv = self.wrapper + [self.binary, "serve", "--http=127.0.0.1:0",
                               "--dir=" + self.datadir] + db_flags(self.datadir) + self.flags
        env = dict(os.environ)
        for k in list(env):  # a stray TARMAC_* in the caller's env must not leak in
            if k.startswith("TARMAC_") and k != "TARMAC_TEST_SLOW":
                del env[k]
        if self.env:
            env.update(self.env)
        self._stderr_f = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr_f, env=env,
                                     cwd=self.tmpdir)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        with self._stdout_cv:
            while True:
                for line in self.stdout_lines:
                    m = STARTED_RE.search(line)
                    if m:
                        self.host = m.group(1).decode()
                        self.port = int(m.group(2))
                        break
                if self.port is not None:
                    break
                if self._stdout_eof:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._stdout_cv.wait(left)
        if self.port is not None:
            if not wait_ready:
                return self
            if self._wait_ready(deadline):
                return self
        rc = self.proc.poll()
        self.kill()
        raise HarnessError("%s did not start (rc=%r); stdout=%r stderr=%r" % (
            self.name, rc, b"".join(self.stdout_lines)[-2000:],
            self.stderr_text()[-2000:]))

    def _wait_ready(self, deadline):
        self.refused_at_start = 0
        while time.monotonic() < deadline and self.alive():
            try:
                s = socket.create_connection((self.host, self.port), timeout=2)
                s.close()
                break
            except OSError:
                self.refused_at_start += 1
                time.sleep(0.005)
        else:
            return False
        while time.monotonic() < deadline and self.alive():
            caught = sigterm_caught(self.proc.pid)
            if caught is None or caught:
                return True
            time.sleep(0.005)
        return False

    def _read_stdout(self):
        f = self.proc.stdout
        while True:
            line = f.readline()
            with self._stdout_cv:
                if not line:
                    self._stdout_eof = True
                    self._stdout_cv.notify_all()
                    return
                self.stdout_lines.append(line)
                self._stdout_cv.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig=signal.SIGTERM):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """Wait for exit; return the exit code or None on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=15.0 * SLOW):
        """SIGTERM, wait, return the exit code (kills and returns None on hang)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            self.kill()
        return rc

    def stop_clean(self, excerpt=1500):
        """SIGTERM, wait; returns "" when the server exited 0 with no
        sanitizer report on stderr (ASan, LeakSanitizer at exit, UBSan),
        else why not: the exit code, the reports found and an excerpt of
        stderr from the first report on (or its tail)."""
        rc = self.stop()
        text = self.stderr_text()
        marks = [m for m in SANITIZER_MARKS if m in text]
        if rc == 0 and not marks:
            return ""
        i = min(text.find(m) for m in marks) if marks else max(0, len(text) - 1500)
        return "rc=%r %s %s" % (rc, marks, text[i:i + excerpt].replace("\n", " | "))

    def kill(self):
        """Always safe: SIGKILL if still running, reap, close files."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.kill()
                except OSError:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.stdout:
                try:
                    self.proc.stdout.close()
                except OSError:
                    pass
        if self._stderr_f is not None:
            try:
                self._stderr_f.close()
            except OSError:
                pass
            self._stderr_f = None

    def cleanup(self, keep=False):
        self.kill()
        drop_db(self.datadir)
        if not keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # -- output ------------------------------------------------------------

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_stderr(self, pattern, timeout=5.0 * SLOW):
        """Poll the stderr file until regex `pattern` matches; return match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.stderr_text())
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    # -- clients -------------------------------------------------------------

    def connect(self, timeout=IO_TIMEOUT, source=None):
        """source: the local IP to connect from (127.0.0.2, ... are loopback
        addresses too on Linux), to look like another client."""
        return Conn(self.host, self.port, timeout=timeout, source=source)

    def request(self, method, path, headers=None, body=b"", timeout=IO_TIMEOUT):
        """One request on a fresh connection (Connection: close)."""
        h = {"Host": "test", "Connection": "close"}
        if headers:
            h.update(headers)
        with self.connect(timeout=timeout) as c:
            c.send(build_request(method, path, h, body))
            return c.read_response(head=(method == "HEAD"))


# --------------------------------------------------------------------------
# Raw connection
# --------------------------------------------------------------------------

def ws_frame(opcode, payload, masked=True, fin=True):
    """A WebSocket frame (RFC 6455 §5.2); clients mask theirs."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_read(c, timeout=None):
    """One server frame from Conn c: (opcode, payload). Server frames are
    never masked (HarnessError if one is)."""
    b0, b1 = c.read_exact(2, timeout=timeout)
    if b1 & 0x80:
        raise HarnessError("server frame is masked")
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(c.read_exact(2, timeout=timeout), "big")
    elif n == 127:
        n = int.from_bytes(c.read_exact(8, timeout=timeout), "big")
    return b0 & 0x0F, c.read_exact(n, timeout=timeout)


def build_request(method, target, headers=None, body=b"", version="HTTP/1.1"):
    """Serialize a request.  headers: dict or list of (name, value)."""
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s %s" % (method, target, version)]
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    for k, v in items:
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), wire order
        self.body = body
        self.raw_head = raw_head
        self.head = False               # response to a HEAD request
        self.interim = []               # 1xx responses skipped before it

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    def json(self):
        import json
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %r headers=%r body=%r>" % (
            self.status, self.reason, self.headers, self.body[:200])


class Conn:
    """A raw TCP connection with a read buffer."""

    def __init__(self, host, port, timeout=IO_TIMEOUT, source=None):
        self.timeout = timeout
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def try_send(self, data):
        """send() that reports failure (peer closed/reset) as False."""
        try:
            self.send(data)
            return True
        except OSError:
            return False

    def send_slowly(self, data, piece=1, delay=0.01):
        for i in range(0, len(data), piece):
            self.send(data[i:i + piece])
            if delay:
                time.sleep(delay)

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- reading -------------------------------------------------------------

    def _fill(self, deadline):
        """Read more bytes into buf; return False on EOF.  Raises on timeout."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out waiting for data")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def read_exact(self, n, timeout=None):
        deadline = self._deadline(timeout)
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise Closed("EOF after %d of %d bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until(self, marker, timeout=None, limit=1 << 20):
        deadline = self._deadline(timeout)
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            if len(self.buf) > limit:
                raise HarnessError("no %r within %d bytes" % (marker, limit))
            if not self._fill(deadline):
                raise Closed("EOF before %r; got %r" % (marker, self.buf[:300]))

    def read_head(self, timeout=None):
        """Read and parse one response head (status line + headers)."""
        raw = self.read_until(b"\r\n\r\n", timeout=timeout)
        lines = raw[:-4].split(b"\r\n")
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise HarnessError("bad status line %r" % lines[0])
        headers = []
        for ln in lines[1:]:
            if b":" not in ln:
                raise HarnessError("bad header line %r" % ln)
            k, v = ln.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        return (m.group(1).decode(), int(m.group(2)),
                (m.group(3) or b"").decode("latin-1"), headers, raw)

    def read_response(self, head=False, timeout=None, allow_1xx=False):
        """Read one final response.

        head=True: the request was HEAD, so no body regardless of headers.
        1xx interim responses are an error unless allow_1xx, in which case
        they are skipped (and collected in resp.interim).
        """
        deadline = self._deadline(timeout)
        interim = []
        while True:
            version, status, reason, headers, raw = self.read_head(
                timeout=max(0.001, deadline - time.monotonic()))
            r = Response(version, status, reason, headers, b"", raw)
            r.head = head
            if 100 <= status < 200:
                if not allow_1xx:
                    raise HarnessError("unexpected interim response %r" % raw)
                interim.append(r)
                continue
            break
        r.interim = interim
        if head or status in (204, 304):
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        left = max(0.001, deadline - time.monotonic())
        if te is not None and "chunked" in te.lower():
            r.body = self._read_chunked(left)
        elif cl is not None:
            r.body = self.read_exact(int(cl), timeout=left)
        else:
            r.body = self.read_to_close(timeout=left)
        return r

    def read_interim(self, timeout=None):
        """Read exactly one response head expected to be 1xx."""
        version, status, reason, headers, raw = self.read_head(timeout=timeout)
        return Response(version, status, reason, headers, b"", raw)

    def _read_chunked(self, timeout):
        deadline = self._deadline(timeout)
        body = b""
        while True:
            line = self.read_until(b"\r\n", timeout=max(0.001, deadline - time.monotonic()))
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while self.read_until(b"\r\n", timeout=max(0.001, deadline - time.monotonic())) != b"\r\n":
                    pass
                return body
            body += self.read_exact(size, timeout=max(0.001, deadline - time.monotonic()))
            self.read_exact(2, timeout=max(0.001, deadline - time.monotonic()))

    def read_to_close(self, timeout=None):
        """Read until EOF; raises socket.timeout if the peer never closes."""
        deadline = self._deadline(timeout)
        while self._fill(deadline):
            pass
        out, self.buf = self.buf, b""
        return out

    def is_closed(self, timeout=None):
        """True if the peer closes (EOF/RST) within timeout with no more data
        pending beyond what is buffered; False on timeout.  Extra bytes are
        left in buf."""
        deadline = self._deadline(timeout)
        try:
            while self._fill(deadline):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            return True


def run_cli(binary, args, env=None, timeout=20.0 * SLOW, cwd=None):
    """Run the binary to completion; return (rc, stdout, stderr) as text.

    Runs in a throw-away directory unless cwd is given, so a command that
    unexpectedly starts serving cannot litter the work tree.  Raises
    subprocess.TimeoutExpired (after killing it) if it does not exit."""
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("TARMAC_") and k != "TARMAC_TEST_SLOW":
            del e[k]
    if env:
        e.update(env)
    tmp = None
    if cwd is None:
        tmp = cwd = tempfile.mkdtemp(prefix="tarmac-cli-")
    try:
        p = subprocess.run([binary] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=timeout, cwd=cwd)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))
