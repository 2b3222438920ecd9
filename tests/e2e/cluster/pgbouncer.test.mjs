// tarmac behind PgBouncer (Debian's pgbouncer 1.18), issue #16 item 7's
// "connection poolers such as pgbouncer in transaction mode -- test that
// tarmac works behind it":
//   - pool_mode = transaction with default_pool_size = 2: tarmac's ~20
//     connections share two server sessions, so a session is handed from one
//     connection to another between transactions. The start's probe finds
//     it (--db-pooler=auto) and the store keeps nothing on a session (store/
//     pg.c's pooled mode). Real flows through it: a superuser made by the
//     CLI, collections (a view collection: the query check's scratch
//     transaction), records created, listed with filters and sorts, updated
//     and deleted, reads in parallel, a user's sign-up and sign-in, a
//     realtime subscription, a batch, a file uploaded and served, a backup
//     under the instances' lock (busy while another holds it, free after);
//     the server sessions stay at two while the pooler counts more clients;
//   - settings another client left on a server session (PgBouncer 1.18 runs
//     no reset query in transaction mode): a pool of one server session
//     given a dump's header and pg_dump's own SETs (search_path = '',
//     row_security = off, ...), then reads, writes, filters, DDL, a view and
//     parallel reads on it (before the fix: "relation does not exist");
//     a backup there (the lock's transaction holds the one session) is
//     refused when the pooler's query_wait_timeout ends pg_dump's wait;
//   - a backup restored through a pool of two: the restore's psql leaves
//     neither session changed (before the fix: search_path = '' left on
//     one, and the restarted instance could not open the database);
//   - --db-pooler=session there: refused at start, saying why, nothing made;
//   - pool_mode = statement: refused (tarmac's transactions cannot run);
//   - pool_mode = session: the SDK's flows work, a server session per client.
//
// PostgreSQL: the cluster at TARMAC_TEST_PG (tests/run starts one), else one
// started here. Skipped without pgbouncer or PostgreSQL.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { startServer, freePort, BIN, ENGINE, SUPERUSER } from '../lib/server.mjs';
import { testPgCluster } from '../lib/pgtest.mjs';
import { client, superuserClient, expectError, SLOW } from '../lib/util.mjs';

globalThis.EventSource = EventSource;

const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));
const IS_ROOT = process.getuid?.() === 0;

const pg = testPgCluster('tarmac-pgb-pg-', ENGINE !== 'sqlite'
    ? 'makes its own database: run with TARMAC_TEST_ENGINE unset'
    : !PGBOUNCER ? 'pgbouncer is not installed' : '');
const BASE = pg.url;
const why = pg.why;

function psql(sql) {
    const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', BASE, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
}

async function waitUntil(pred, what, ms = 10000 * SLOW) {
    const end = Date.now() + ms;
    while (!(await pred())) {
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
    }
}

/** pgbouncer on a free port in front of the test cluster's socket. */
async function startPgbouncer(mode, poolSize = 40, extra = '') {
    const dir = mkdtempSync(join(tmpdir(), `tarmac-pgb-${mode}-`));
    const port = await freePort();
    const socketDir = new URL(BASE).searchParams.get('host');
    writeFileSync(join(dir, 'users.txt'), '"tarmac" ""\n');
    writeFileSync(join(dir, 'pgbouncer.ini'), `[databases]
* = host=${socketDir} user=tarmac
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
pool_mode = ${mode}
max_client_conn = 500
default_pool_size = ${poolSize}
admin_users = tarmac
logfile = ${join(dir, 'pgbouncer.log')}
pidfile = ${join(dir, 'pgbouncer.pid')}
${extra}`);
    // pgbouncer refuses to run as root: the cluster's owner runs it then.
    if (IS_ROOT) for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), ...ownerIds());
    const argv = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', PGBOUNCER, join(dir, 'pgbouncer.ini')]]
        : [PGBOUNCER, [join(dir, 'pgbouncer.ini')]];
    const proc = spawn(argv[0], argv[1], { stdio: 'ignore' });
    const exited = new Promise((res) => proc.on('exit', res));
    await waitUntil(() => new Promise((res) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
        s.on('error', () => res(false));
    }), `pgbouncer (${mode})`);
    return {
        port,
        url: (db) => `postgresql://tarmac@127.0.0.1:${port}/${db}`,
        /** Rows of an admin console command (SHOW ...) as objects. */
        show(what) {
            const r = spawnSync('psql', ['-X', '-A', '-F', '\t', `postgresql://tarmac@127.0.0.1:${port}/pgbouncer`, '-c', `SHOW ${what}`],
                { encoding: 'utf8' });
            if (r.status !== 0) throw new Error(`SHOW ${what}: ${r.stderr}`);
            const lines = r.stdout.trim().split('\n').filter((l) => !/^\(\d+ rows?\)$/.test(l));
            const cols = lines[0].split('\t');
            return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
        },
        async stop() {
            // The pooler itself (under runuser, as root): by its pid file.
            try {
                process.kill(Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8').trim()), 'SIGTERM');
            } catch { proc.kill('SIGTERM'); }
            await exited;
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

function ownerIds() {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return [id('-u'), id('-g')];
}

describe('tarmac behind PgBouncer', { skip: why || false }, () => {
    const dirs = [];
    let db = '';
    let refusedDb = '';
    let sessionDb = '';
    let leftDb = '';
    let restoreDb = '';
    let transaction;
    let single;
    let statement;
    let session;

    before(async () => {
        db = `t_pgb_${process.pid}_${Date.now().toString(36)}`;
        refusedDb = `${db}_r`;
        sessionDb = `${db}_s`;
        leftDb = `${db}_l`;
        restoreDb = `${db}_b`;
        for (const d of [db, refusedDb, sessionDb, leftDb, restoreDb]) psql(`CREATE DATABASE "${d}"`);
        transaction = await startPgbouncer('transaction', 2);
        // One server session per database: every connection of tarmac's
        // runs on the one another client left its settings on. A client
        // waits at most 3 s for it (PgBouncer's default is 120 s).
        single = await startPgbouncer('transaction', 1, 'query_wait_timeout = 3\n');
        statement = await startPgbouncer('statement');
        session = await startPgbouncer('session');
    });

    after(async () => {
        await transaction?.stop();
        await single?.stop();
        await statement?.stop();
        await session?.stop();
        for (const d of [db, refusedDb, sessionDb, leftDb, restoreDb]) {
            if (d) { try { psql(`DROP DATABASE "${d}"`); } catch { /* kept */ } }
        }
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
        pg.stop();
    });

    function tablesIn(name) {
        const r = spawnSync('psql', ['-X', '-At', BASE.replace(':///tarmac?', `:///${name}?`), '-c',
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"], { encoding: 'utf8' });
        return r.stdout.trim();
    }

    function serveOnce(url, extra = []) {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        return spawnSync(BIN, ['serve', '--http=127.0.0.1:0', `--dir=${dir}`, `--db=${url}`, ...extra],
            { encoding: 'utf8', timeout: 30000 * SLOW });
    }

    test('pool_mode = transaction with --db-pooler=session: refused at start, saying why, before touching the database', () => {
        const r = serveOnce(transaction.url(refusedDb), ['--db-pooler=session']);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /pool_mode = transaction/);
        assert.match(r.stderr, /--db-pooler=session needs a session per connection/);
        assert.equal(tablesIn(refusedDb), '0');
    });

    test('pool_mode = statement: refused at start (a transaction of two statements cannot run there)', () => {
        const r = serveOnce(statement.url(refusedDb));
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /pool_mode = statement/);
        assert.equal(tablesIn(refusedDb), '0');
    });

    test('pool_mode = transaction, two server sessions for the pool: the flows work with nothing kept on a session', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        const url = transaction.url(db);
        // The CLI asks the pooler itself (no --db-pooler there).
        const up = spawnSync(BIN, ['superuser', 'upsert', SUPERUSER.email, SUPERUSER.password, `--dir=${dir}`,
            `--db=${url}`], { encoding: 'utf8' });
        assert.equal(up.status, 0, up.stderr);
        const srv = await startServer({ dir, flags: [`--db=${url}`, '--workers=2', '--db-max-conns=6'] });
        const subs = [];
        try {
            assert.match(srv.stderr(), /postgresql sessions are shared/);
            const su = await superuserClient(srv.url);
            const notes = await su.collections.create({
                name: 'notes', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
                fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' },
                    { name: 'ok', type: 'bool' }, { name: 'doc', type: 'file', maxSelect: 1, maxSize: 100000 }],
            });
            await su.collections.create({
                name: 'note_counts', type: 'view', listRule: '', viewRule: '',
                viewQuery: 'SELECT ok AS id, count(*) AS total FROM notes GROUP BY ok',
            });
            const pb = client(srv.url);
            subs.push(pb);
            const got = [];
            await pb.collection('notes').subscribe('*', (e) => got.push(`${e.action}:${e.record.title}`));
            const r = await pb.collection('notes').create({ title: 'one', n: 1, ok: true });
            await pb.collection('notes').update(r.id, { title: 'two' });
            for (let i = 0; i < 20; i++) await pb.collection('notes').create({ title: `n${i}`, n: i * 1000000, ok: i % 2 === 0 });
            // Filters and sorts: numbers past int4, booleans bound as the server typed them.
            const list = await pb.collection('notes').getList(1, 5, { sort: '-n', filter: 'title ~ "n" && n >= 1000000' });
            assert.equal(list.totalItems, 19);
            assert.equal(list.items[0].title, 'n19');
            assert.equal((await pb.collection('notes').getList(1, 50, { filter: 'ok = true' })).totalItems, 11);
            assert.equal((await pb.collection('notes').getList(1, 50, { filter: `n > ${2 ** 40}` })).totalItems, 0);
            const counts = await pb.collection('note_counts').getFullList({ sort: 'id' });
            assert.deepEqual(counts.map((c) => c.total), [10, 11]);
            // Reads in parallel: more requests than server sessions.
            const many = await Promise.all(Array.from({ length: 30 }, (_, i) =>
                i % 2 ? pb.collection('notes').getOne(r.id) : pb.collection('notes').getList(1, 3, { filter: 'ok = false' })));
            assert.equal(many.filter((x) => x.title === 'two').length, 15);
            assert.equal(many.filter((x) => x.totalItems === 10).length, 15);
            // A user signs up and in; a rule on the user's id.
            const email = `u${Date.now()}@example.com`;
            const user = await pb.collection('users').create({ email, password: 'userpass123', passwordConfirm: 'userpass123' });
            const alice = client(srv.url);
            await alice.collection('users').authWithPassword(email, 'userpass123');
            assert.equal(alice.authStore.record.id, user.id);
            await su.collections.update(notes.id, { updateRule: '@request.auth.id != ""' });
            await expectError(pb.collection('notes').update(r.id, { title: 'anon' }), 404, 'an anonymous update');
            assert.equal((await alice.collection('notes').update(r.id, { title: 'three' })).title, 'three');
            // A batch: its creates commit together; a failing item undoes them all.
            const b = alice.createBatch();
            b.collection('notes').create({ title: 'b1' });
            b.collection('notes').create({ title: 'b2' });
            assert.equal((await b.send()).length, 2);
            const bad = alice.createBatch();
            bad.collection('notes').create({ title: 'b3' });
            bad.collection('notes').update('nosuchrecord000', { title: 'x' });
            await assert.rejects(bad.send());
            assert.equal((await pb.collection('notes').getList(1, 1, { filter: 'title ~ "b"' })).totalItems, 2);
            // A file, uploaded and served.
            const fd = new FormData();
            fd.append('title', 'with a file');
            fd.append('doc', new Blob(['hello through the pooler'], { type: 'text/plain' }), 'hello.txt');
            const withFile = await pb.collection('notes').create(fd);
            const body = await (await fetch(pb.files.getURL(withFile, withFile.doc))).text();
            assert.equal(body, 'hello through the pooler');
            await pb.collection('notes').delete(r.id);
            await waitUntil(() => got.includes('delete:three'), 'the realtime events');
            assert.deepEqual(got.slice(0, 2), ['create:one', 'update:two']);
            // Sessions were shared: the pooler served more clients than the
            // two server sessions the database had.
            const clients = transaction.show('CLIENTS').filter((c) => c.database === db);
            const servers = transaction.show('SERVERS').filter((c) => c.database === db);
            assert.ok(clients.length > 4, `clients: ${clients.length}`);
            assert.ok(servers.length <= 2, `servers: ${servers.length}`);

            // The backup lock: held elsewhere (a transaction's lock, as
            // another instance holds it), a create is refused; released, a
            // create through the pooler runs and lets it go again.
            const holder = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', BASE.replace(':///tarmac?', `:///${db}?`)],
                { stdio: ['pipe', 'pipe', 'pipe'] });
            let out = '';
            holder.stdout.on('data', (d) => { out += d; });
            holder.stdin.write("BEGIN; SELECT set_config('application_name', 'tarmac backup held.zip', true), "
                + "pg_advisory_xact_lock(1952543341, 1651209584), 'locked';\n");
            try {
                await waitUntil(() => out.includes('locked'), 'the lock to be held');
                const busy = await expectError(su.backups.create('other.zip'), 400, 'a create while another runs');
                assert.match(busy.message, /another backup\/restore process/);
            } finally {
                holder.stdin.end();
                await new Promise((res) => (holder.exitCode !== null ? res() : holder.on('exit', res)));
            }
            // the backup lock's holders, as pg_locks counts them
            const backupLocks = () => spawnSync('psql', ['-X', '-At', BASE, '-c',
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 1651209584"],
            { encoding: 'utf8' }).stdout.trim();
            // psql's exit does not wait for its backend to end and let the lock go
            await waitUntil(() => backupLocks() === '0', 'the held lock to be let go');
            assert.equal(await su.backups.create('one.zip'), true);
            assert.equal(await su.backups.create('two.zip'), true, 'the lock was let go');
            assert.equal(backupLocks(), '0', 'no backup lock left on a pooled session');
            // Still serving after the backups (pg_dump went through the pooler too).
            const after = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 4
                ? pb.collection('notes').getList(1, 50) : pb.collection('notes').create({ title: `after${i}` }))));
            assert.ok(after.every((x) => x.totalItems >= 23 || x.title?.startsWith('after')));
            const search = spawnSync('psql', ['-X', '-At', transaction.url(db), '-c', 'SHOW search_path'], { encoding: 'utf8' });
            assert.equal(search.stdout.trim(), '"$user", public', 'the server sessions keep their search_path');
        } finally {
            for (const c of subs) await c.realtime.unsubscribe().catch(() => {});
            await srv.stop();
        }
    });

    /** Each server session's settings in the pool of db: n clients in a
     * transaction at once (tarmac idle), so each holds a session of its own. */
    async function sessionSettings(pooler, name, n) {
        const sql = "BEGIN; SELECT pg_backend_pid(), quote_literal(current_setting('search_path')), "
            + "current_setting('row_security'); SELECT pg_sleep(1); COMMIT;";
        const runs = Array.from({ length: n }, () => new Promise((res) => {
            const p = spawn('psql', ['-X', '-At', '-q', pooler.url(name), '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            p.stdout.on('data', (d) => { out += d; });
            p.on('exit', () => res(out.trim().split('\n').find((l) => l.includes('|')) || ''));
        }));
        return (await Promise.all(runs)).sort();
    }

    // What pg_dump and a restore leave on a server session: the dump's
    // header, which a restore's psql commits as session settings, and the
    // settings pg_dump sends before its BEGIN (each a transaction of its
    // own through the pooler, left on a session another client took in
    // between). PgBouncer 1.18 runs no reset query in transaction mode.
    const LEFT_BY_DUMPS = [
        'SET statement_timeout = 0', 'SET lock_timeout = 0', 'SET idle_in_transaction_session_timeout = 0',
        "SET client_encoding = 'UTF8'", 'SET standard_conforming_strings = on',
        "SELECT pg_catalog.set_config('search_path', '', false)", 'SET check_function_bodies = false',
        'SET xmloption = content', 'SET client_min_messages = warning', 'SET row_security = off',
        "SET default_tablespace = ''", 'SET default_table_access_method = heap',
        'SET DATESTYLE = ISO', 'SET INTERVALSTYLE = POSTGRES', 'SET extra_float_digits TO 3',
        'SET synchronize_seqscans TO off',
    ];

    test('pool_mode = transaction, one server session left with a dump\'s settings (search_path = \'\'): tarmac\'s transactions do not see them; a backup there is refused, not hung', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        const up = spawnSync(BIN, ['superuser', 'upsert', SUPERUSER.email, SUPERUSER.password, `--dir=${dir}`,
            `--db=${BASE.replace(':///tarmac?', `:///${leftDb}?`)}`], { encoding: 'utf8' });
        assert.equal(up.status, 0, up.stderr);
        const url = single.url(leftDb);
        const srv = await startServer({ dir, flags: [`--db=${url}`, '--db-pooler=transaction', '--workers=2', '--db-max-conns=4'] });
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({
                name: 'notes', listRule: '', viewRule: '', createRule: '', updateRule: '',
                fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' }],
            });
            const pb = client(srv.url);
            const first = await pb.collection('notes').create({ title: 'before', n: 1 });
            // The pool's one server session gets them; every connection of
            // tarmac's runs on it from now on.
            const left = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, ...LEFT_BY_DUMPS.flatMap((q) => ['-c', q])],
                { encoding: 'utf8' });
            assert.equal(left.status, 0, left.stderr);
            const shown = () => spawnSync('psql', ['-X', '-At', url, '-c',
                "SELECT quote_literal(current_setting('search_path')), current_setting('row_security')"], { encoding: 'utf8' }).stdout.trim();
            assert.equal(shown(), "''|off", 'the session kept them');
            assert.equal(single.show('SERVERS').filter((x) => x.database === leftDb).length, 1);

            // Reads, writes, a filter, a sort, a new collection (DDL), a view
            // collection (the query check's scratch transaction), parallel reads.
            assert.equal((await pb.collection('notes').getOne(first.id)).title, 'before');
            const made = await pb.collection('notes').create({ title: 'after', n: 2.5 });
            assert.equal((await pb.collection('notes').update(made.id, { n: 0.1 + 0.2 })).n, 0.1 + 0.2);
            const list = await pb.collection('notes').getList(1, 10, { filter: 'n > 0.2 && title ~ "a"', sort: '-n' });
            assert.deepEqual(list.items.map((x) => x.title), ['after']);
            await su.collections.create({
                name: 'tags', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'label', type: 'text' }],
            });
            await pb.collection('tags').create({ label: 'x' });
            await su.collections.create({
                name: 'note_totals', type: 'view', listRule: '', viewRule: '',
                viewQuery: 'SELECT title AS id, count(*) AS total FROM notes GROUP BY title',
            });
            assert.equal((await pb.collection('note_totals').getFullList()).length, 2);
            const many = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 3
                ? pb.collection('notes').getList(1, 5, { filter: 'n > 0' }) : pb.collection('tags').getFullList())));
            assert.equal(many.filter((x) => x.totalItems === 2).length, 8);
            // Ours were the transactions': the session still has what was left.
            assert.equal(shown(), "''|off");

            // A backup with one server session: the lock's open transaction
            // holds it, so pg_dump waits for one the pooler never frees;
            // refused when the pooler ends the wait (query_wait_timeout).
            const t0 = Date.now();
            const busy = await expectError(su.backups.create('one.zip'), 400, 'a backup with one server session');
            assert.equal(busy.message, 'Failed to create backup.');
            assert.match(srv.stderr(), /msg="backup failed" name=one\.zip .*pg_dump: error: .*query_wait_timeout/);
            assert.ok(Date.now() - t0 < 15000 * SLOW, `refused after ${Date.now() - t0} ms`);
            assert.equal((await pb.collection('notes').getOne(made.id)).title, 'after', 'still serving');
        } finally {
            await srv.stop();
        }
    });

    test('pool_mode = transaction, two server sessions: a backup restored through the pooler leaves no settings on a session; tarmac serves on both', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        const up = spawnSync(BIN, ['superuser', 'upsert', SUPERUSER.email, SUPERUSER.password, `--dir=${dir}`,
            `--db=${BASE.replace(':///tarmac?', `:///${restoreDb}?`)}`], { encoding: 'utf8' });
        assert.equal(up.status, 0, up.stderr);
        const url = transaction.url(restoreDb);
        const srv = await startServer({ dir, flags: [`--db=${url}`, '--db-pooler=transaction', '--workers=2', '--db-max-conns=6'] });
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({
                name: 'notes', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'title', type: 'text' }],
            });
            const pb = client(srv.url);
            for (let i = 0; i < 5; i++) await pb.collection('notes').create({ title: `n${i}` });
            assert.equal(await su.backups.create('five.zip'), true);
            await pb.collection('notes').create({ title: 'sixth' });
            assert.equal(await su.backups.restore('five.zip'), true);
            const deadline = Date.now() + 60000 * SLOW;
            let total = -1;
            while (total !== 5 && Date.now() < deadline) {
                try {
                    total = (await pb.collection('notes').getList(1, 1)).totalItems;
                } catch { /* restarting */ }
                if (total !== 5) await new Promise((r) => setTimeout(r, 100));
            }
            assert.equal(total, 5, 'the restored records');
            // Both server sessions of the pool, as the restore's psql left them.
            const sessions = await sessionSettings(transaction, restoreDb, 2);
            assert.equal(new Set(sessions.map((x) => x.split('|')[0])).size, 2, sessions.join(' '));
            for (const x of sessions) assert.match(x, /\|'"\$user", public'\|on$/, 'a session as the server made it');
            const after = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 3
                ? pb.collection('notes').getList(1, 50, { filter: 'title ~ "n"' }) : pb.collection('notes').create({ title: `a${i}` }))));
            assert.equal(after.filter((x) => x.totalItems >= 5).length, 20);
        } finally {
            await srv.stop();
        }
    });

    test('pool_mode = session: the SDK flows work through the pooler', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        const up = spawnSync(BIN, ['superuser', 'upsert', SUPERUSER.email, SUPERUSER.password, `--dir=${dir}`,
            `--db=${session.url(sessionDb)}`], { encoding: 'utf8' });
        assert.equal(up.status, 0, up.stderr);
        const srv = await startServer({ dir, flags: [`--db=${session.url(sessionDb)}`, '--workers=2'] });
        let pb = null;
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({
                name: 'notes', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
                fields: [{ name: 'title', type: 'text' }],
            });
            pb = client(srv.url);
            const got = [];
            await pb.collection('notes').subscribe('*', (e) => got.push(`${e.action}:${e.record.title}`));
            const r = await pb.collection('notes').create({ title: 'one' });
            await pb.collection('notes').update(r.id, { title: 'two' });
            for (let i = 0; i < 20; i++) await pb.collection('notes').create({ title: `n${i}` });
            const list = await pb.collection('notes').getList(1, 5, { sort: '-title', filter: 'title ~ "n"' });
            assert.equal(list.items[0].title, 'n9');
            assert.equal(list.totalItems, 20);
            assert.equal((await Promise.all(Array.from({ length: 10 }, () => pb.collection('notes').getOne(r.id))))
                .every((x) => x.title === 'two'), true, 'parallel reads');
            await pb.collection('notes').delete(r.id);
            await waitUntil(() => got.includes('delete:two'), 'the realtime events');
            assert.deepEqual(got.slice(0, 2), ['create:one', 'update:two']);
        } finally {
            await pb?.realtime.unsubscribe().catch(() => {});
            await srv.stop();
        }
    });
});
