// Test harness for the end-to-end suite: runs one tarmac process per call.
//
//   const srv = await startServer();            // fresh temp dir + superuser
//   const pb = new PocketBase(srv.url);
//   ...
//   await srv.stop();                            // SIGTERM, asserts exit code 0
//
// The binary is $TARMAC_BIN, default build/release/tarmac of this checkout.
// Timeouts scale with $TARMAC_TEST_SLOW (a float, default 1; raise it for
// ASan/valgrind builds). A server whose exit code is not 0 on SIGTERM (an ASan
// build exits non-zero on leaks or memory errors) makes stop() throw with the
// tail of its stderr. Set TARMAC_E2E_KEEP=1 to keep every data directory,
// TARMAC_E2E_ACCESS_LOG=1 to keep the server's access log in its stderr.
//
// TARMAC_E2E_PRISM=1 (tests/e2e/prism.sh) puts a validating proxy in front of
// every server: npm @stoplight/prism-cli in proxy mode with --errors, reading
// the server's own OpenAPI document (as a superuser sees it when the server
// starts; collections created later are checked against its
// /api/collections/{collection}/... routes). `url` is then the proxy's; a
// response that departs from the document becomes a 500 from Prism, and
// stop() throws with every violation Prism logged. `directUrl` is always the
// server's own address.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from './cluster.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLUSTER = Number(process.env.TARMAC_E2E_CLUSTER || '0');

export const SLOW = Number(process.env.TARMAC_TEST_SLOW || '1') || 1;
export const RELEASE_BIN = resolve(join(here, '..', '..', '..', 'build', 'release', 'tarmac'));
export const BIN = resolve(process.env.TARMAC_BIN || RELEASE_BIN);
export const SUPERUSER = { email: 'admin@example.com', password: 'adminpass123' };
export const PRISM = process.env.TARMAC_E2E_PRISM === '1';
/** Under Prism: the proxy's URL -> the server's own (see directUrl). */
export const DIRECT = new Map();
const PRISM_BIN = join(here, '..', 'node_modules', '.bin', 'prism');

const START_TIMEOUT_MS = 20000 * SLOW;
const STOP_TIMEOUT_MS = 30000 * SLOW;
const STARTED_RE = /server started at (http:\/\/[0-9.]+:(\d+))/;

// The server reads TARMAC_* variables as flags: never let ours leak in.
// extra: variables a test sets on purpose (TARMAC_TEST_IO_FAULTS).
function childEnv(extra = {}) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith('TARMAC_')) env[k] = v;
    }
    Object.assign(env, extra);
    if (!env.ASAN_OPTIONS) env.ASAN_OPTIONS = 'detect_leaks=1:abort_on_error=1:halt_on_error=1';
    if (!env.UBSAN_OPTIONS) env.UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=1';
    return env;
}

// TARMAC_TEST_ENGINE=postgresql: each data directory gets a database of its
// own on the cluster at TARMAC_TEST_PG (tests/lib/pgcluster.sh), made on
// first use; the servers and the CLI get --db for it.
export const ENGINE = process.env.TARMAC_TEST_ENGINE || 'sqlite';
const PG_URL = process.env.TARMAC_TEST_PG || '';
const databases = new Map();

function psql(sql) {
    const r = spawnSync('psql', ['-q', '-X', PG_URL, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
}

/** The URL of dir's database on the test cluster (named after dir). */
export function dbUrl(dir) {
    if (!PG_URL) throw new Error('TARMAC_TEST_ENGINE=postgresql needs TARMAC_TEST_PG');
    const name = 't_' + Buffer.from(dir).toString('hex').slice(-24);
    return PG_URL.replace(':///tarmac?', `:///${name}?`);
}

/** The --db flag for dir: none on SQLite. */
export function dbFlags(dir) {
    if (ENGINE !== 'postgresql') return [];
    if (!databases.has(dir)) {
        const url = dbUrl(dir);
        psql(`CREATE DATABASE "${new URL(url).pathname.slice(1)}"`);
        databases.set(dir, url);
    }
    return ['--db=' + databases.get(dir)];
}

/** Whether `tarmac db copy` from SQLite into the test cluster can be tried:
 * SQLite here, a cluster at TARMAC_TEST_PG. */
export const CAN_COPY_TO_PG = ENGINE === 'sqlite' && PG_URL.includes(':///tarmac?');

/** Copies dir's SQLite data with `tarmac db copy` (no TARMAC_ variable in
 * its environment) into a new database `name` of the test cluster: its URL
 * and the command's output. Throws when either step fails. */
export function dbCopyToPostgres(dir, name) {
    psql(`CREATE DATABASE "${name}"`);
    const url = PG_URL.replace(':///tarmac?', `:///${name}?`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TARMAC_')));
    const r = spawnSync(BIN, ['db', 'copy', `--to=${url}`, `--dir=${dir}`], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`db copy: ${r.stdout}\n${r.stderr}`);
    return { url, output: r.stdout + r.stderr };
}

function tail(text, n = 4000) {
    return text.length > n ? '…' + text.slice(-n) : text;
}

/** Create (or update) the superuser in dir with the CLI. */
export function upsertSuperuser(dir, email = SUPERUSER.email, password = SUPERUSER.password, bin = BIN) {
    const r = spawnSync(bin, ['superuser', 'upsert', email, password, '--dir=' + dir, ...dbFlags(dir)], {
        env: childEnv(), encoding: 'utf8', timeout: START_TIMEOUT_MS,
    });
    if (r.error) throw new Error(`superuser upsert: ${r.error.message} (binary ${bin})`);
    if (r.status !== 0) {
        throw new Error(`superuser upsert exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${tail(r.stderr)}`);
    }
}

/**
 * Start a server.
 * opts.dir: reuse this data directory (no new superuser unless opts.superuser === true);
 *           default a fresh temp dir with SUPERUSER.
 * opts.flags: extra `serve` flags.
 * opts.bin: the binary (default BIN).
 * opts.env: extra environment variables for the server.
 * Returns {url, port, dir, proc, stop(), kill9(), stderr()}.
 */
export async function startServer(opts = {}) {
    // TARMAC_E2E_CLUSTER=N: N instances behind nginx instead (lib/cluster.mjs).
    if (CLUSTER && opts.cluster !== false) return startCluster(opts);
    let ownDir = false;
    let dir = opts.dir;
    if (!dir) {
        dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-'));
        ownDir = true;
    }
    const bin = opts.bin || BIN;
    if (ownDir || opts.superuser === true) upsertSuperuser(dir, SUPERUSER.email, SUPERUSER.password, bin);

    const flags = [...(opts.flags || [])];
    if (!process.env.TARMAC_E2E_ACCESS_LOG && !flags.some((f) => f.startsWith('--access-log'))) {
        flags.push('--access-log=false');
    }
    // stderr goes to a file: it can be large (ASan reports) and must survive a crash.
    const stderrPath = join(dir, `stderr-${Date.now()}-${process.pid}.log`);
    const errFd = openSync(stderrPath, 'w');
    const proc = spawn(bin, ['serve', '--http=127.0.0.1:0', '--dir=' + dir, ...dbFlags(opts.dbDir || dir), ...flags], {
        env: childEnv(opts.env), stdio: ['ignore', 'pipe', errFd],
    });
    closeSync(errFd);
    const stderr = () => {
        try { return readFileSync(stderrPath, 'utf8'); } catch { return ''; }
    };

    let exited = null; // {code, signal}
    const exitPromise = new Promise((res) => {
        proc.on('exit', (code, signal) => { exited = { code, signal }; res(exited); });
    });
    let stdout = '';
    const url = await new Promise((res, rej) => {
        const timer = setTimeout(() => {
            proc.kill('SIGKILL');
            rej(new Error(`server did not announce itself in ${START_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${tail(stderr())}`));
        }, START_TIMEOUT_MS);
        proc.on('error', (e) => { clearTimeout(timer); rej(new Error(`cannot run ${bin}: ${e.message}`)); });
        proc.stdout.setEncoding('utf8');
        proc.stdout.on('data', (chunk) => {
            stdout += chunk;
            const m = STARTED_RE.exec(stdout);
            if (m) { clearTimeout(timer); res(m[1]); }
        });
        exitPromise.then((e) => {
            clearTimeout(timer);
            rej(new Error(`server exited before starting (code ${e.code}, signal ${e.signal})\nstdout: ${stdout}\nstderr: ${tail(stderr())}`));
        });
    });
    proc.stdout.resume(); // keep draining

    const waitExit = (ms) => Promise.race([
        exitPromise,
        new Promise((res) => setTimeout(() => res(null), ms).unref()),
    ]);

    let prism = null;
    if (PRISM && opts.prism !== false) {
        try {
            prism = await startPrism(url, dir);
        } catch (e) {
            proc.kill('SIGKILL');
            await exitPromise;
            throw e;
        }
    }

    if (prism) DIRECT.set(prism.url, url);
    const server = {
        url: prism ? prism.url : url,
        directUrl: url,
        port: Number(new URL(prism ? prism.url : url).port),
        dir,
        proc,
        stderr,
        get exited() { return exited; },
        /** SIGTERM; resolves when the process exited with 0, throws otherwise. */
        async stop() {
            const violations = prism ? await prism.stop() : [];
            prism = null;
            if (!exited) proc.kill('SIGTERM');
            const e = await waitExit(STOP_TIMEOUT_MS);
            if (!e) {
                proc.kill('SIGKILL');
                await exitPromise;
                throw new Error(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\nstderr: ${tail(stderr())}`);
            }
            if (e.code !== 0) {
                throw new Error(`server exited with code ${e.code} signal ${e.signal} (expected 0)\nstderr (${stderrPath}): ${tail(stderr(), 12000)}`);
            }
            if (violations.length) {
                throw new Error(`Prism: ${violations.length} answer(s) depart from the OpenAPI document:\n${violations.join('\n')}`);
            }
            if (ownDir && !process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
        },
        /** SIGKILL (simulated crash); resolves once the process is gone. Keeps the dir. */
        async kill9() {
            if (prism) await prism.stop();
            prism = null;
            if (!exited) proc.kill('SIGKILL');
            await exitPromise;
        },
        /** Remove the data directory (after kill9 / when done with a reused dir). */
        cleanup() {
            if (!process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
        },
    };
    return server;
}

/** A TCP port free on 127.0.0.1 now. */
export function freePort() {
    return new Promise((res, rej) => {
        const s = createServer();
        s.on('error', rej);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => res(port));
        });
    });
}

/**
 * Prism in proxy mode with --errors in front of the server at upstream, with
 * the document a superuser gets from it now. Requests are forwarded as they
 * are (--validate-request=false, no security requirements: the suite sends
 * invalid input on purpose to see the server's own 400s and 401s); every
 * answer is checked against the document.
 * Returns {url, stop()}; stop() resolves with the violations Prism logged.
 */
async function startPrism(upstream, dir) {
    const login = await fetch(upstream + '/api/collections/_superusers/auth-with-password', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identity: SUPERUSER.email, password: SUPERUSER.password }),
    });
    const token = login.ok ? (await login.json()).token : '';
    const docRes = await fetch(upstream + '/api/docs/openapi.json', token ? { headers: { Authorization: token } } : {});
    if (!docRes.ok) throw new Error(`prism: GET /api/docs/openapi.json answered ${docRes.status}`);
    const spec = join(dir, `openapi-${Date.now()}-${process.pid}.json`);
    // Prism checks security even with request validation off and answers
    // 401 itself (also for an empty Authorization header, which the SDK sends
    // as a guest): its copy has no security requirements, so the requests the
    // suite sends without a token on purpose reach the server, whose own 401
    // or 403 is then checked against the document.
    const doc = await docRes.json();
    delete doc.security;
    for (const item of Object.values(doc.paths)) {
        for (const op of Object.values(item)) {
            if (op && typeof op === 'object') delete op.security;
        }
    }
    writeFileSync(spec, JSON.stringify(doc));
    const port = await freePort();
    const logPath = join(dir, `prism-${port}.log`);
    const logFd = openSync(logPath, 'w');
    const proc = spawn(PRISM_BIN, ['proxy', '--errors', '--validate-request=false', '--cors=false',
        '-h', '127.0.0.1', '-p', String(port), '-v', process.env.TARMAC_E2E_PRISM_LOG || 'warn', spec, upstream], {
        stdio: ['ignore', logFd, logFd], env: { ...process.env, SCARF_ANALYTICS: 'false', DO_NOT_TRACK: '1' },
    });
    closeSync(logFd);
    const log = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
    let exited = false;
    const exit = new Promise((res) => proc.on('exit', () => { exited = true; res(); }));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
        if (exited) throw new Error(`prism exited before listening:\n${tail(log())}`);
        try {
            const r = await fetch(url + '/api/health');
            await r.arrayBuffer();
            break;
        } catch {
            if (Date.now() > deadline) {
                proc.kill('SIGKILL');
                throw new Error(`prism did not listen in ${START_TIMEOUT_MS} ms:\n${tail(log())}`);
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    return {
        url,
        async stop() {
            if (!exited) proc.kill('SIGTERM');
            await Promise.race([exit, new Promise((r) => setTimeout(r, 5000).unref())]);
            if (!exited) proc.kill('SIGKILL');
            // Lines such as "[VALIDATOR] ✖  error Violation: response.body ..." and
            // "Request terminated with error: ... VIOLATIONS ...".
            return log().split('\n').filter((l) => /Violation|VIOLATIONS|Request terminated/.test(l))
                .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim());
        },
    };
}
