// tarmac behind PgBouncer (Debian's pgbouncer), issue #16 item 7's "connection
// poolers such as pgbouncer in transaction mode -- test that tarmac works
// behind it":
//   - pool_mode = transaction hands one server session to several client
//     connections; tarmac prepares its statements once per connection and
//     sets its read connections read-only for their session, so it refuses
//     to start there, with a sentence naming the pool mode (exit 1), before
//     anything is read or written through it;
//   - pool_mode = session: the SDK's flows work (a collection, records
//     created, listed, updated, deleted, a realtime event, a superuser
//     sign-in), and the pooler holds one server connection per client
//     connection tarmac opens.
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
import { client, superuserClient, SLOW } from '../lib/util.mjs';

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
async function startPgbouncer(mode) {
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
default_pool_size = 40
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
    let transaction;
    let session;

    before(async () => {
        db = `t_pgb_${process.pid}_${Date.now().toString(36)}`;
        psql(`CREATE DATABASE "${db}"`);
        transaction = await startPgbouncer('transaction');
        session = await startPgbouncer('session');
    });

    after(async () => {
        await transaction?.stop();
        await session?.stop();
        if (db) { try { psql(`DROP DATABASE "${db}"`); } catch { /* kept */ } }
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
        pg.stop();
    });

    test('pool_mode = transaction: serve refuses to start, saying why, before touching the database', () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        const r = spawnSync(BIN, ['serve', '--http=127.0.0.1:0', `--dir=${dir}`, `--db=${transaction.url(db)}`],
            { encoding: 'utf8', timeout: 30000 * SLOW });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /pool_mode = transaction/);
        assert.match(r.stderr, /use pool_mode = session, or connect to PostgreSQL directly/);
        // Nothing was made in the database.
        const tables = spawnSync('psql', ['-X', '-At', BASE.replace(':///tarmac?', `:///${db}?`), '-c',
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"], { encoding: 'utf8' });
        assert.equal(tables.stdout.trim(), '0', tables.stderr);
    });

    test('pool_mode = session: the SDK flows work through the pooler', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-pgb-'));
        dirs.push(dir);
        const up = spawnSync(BIN, ['superuser', 'upsert', SUPERUSER.email, SUPERUSER.password, `--dir=${dir}`,
            `--db=${session.url(db)}`], { encoding: 'utf8' });
        assert.equal(up.status, 0, up.stderr);
        const srv = await startServer({ dir, flags: [`--db=${session.url(db)}`, '--workers=2'] });
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
