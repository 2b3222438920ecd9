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
async function startPgbouncer(mode, poolSize = 40) {
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
`);
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
    let transaction;
    let statement;
    let session;

    before(async () => {
        db = `t_pgb_${process.pid}_${Date.now().toString(36)}`;
        refusedDb = `${db}_r`;
        sessionDb = `${db}_s`;
        for (const d of [db, refusedDb, sessionDb]) psql(`CREATE DATABASE "${d}"`);
        transaction = await startPgbouncer('transaction', 2);
        statement = await startPgbouncer('statement');
        session = await startPgbouncer('session');
    });

    after(async () => {
        await transaction?.stop();
        await statement?.stop();
        await session?.stop();
        for (const d of [db, refusedDb, sessionDb]) {
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
            assert.equal(await su.backups.create('one.zip'), true);
            assert.equal(await su.backups.create('two.zip'), true, 'the lock was let go');
            const locks = spawnSync('psql', ['-X', '-At', BASE, '-c',
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 1651209584"], { encoding: 'utf8' });
            assert.equal(locks.stdout.trim(), '0', 'no backup lock left on a pooled session');
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
