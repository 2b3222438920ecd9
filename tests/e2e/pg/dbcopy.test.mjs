// `tarmac db copy --to=URL` (issue #10): a data directory filled through the
// real server on SQLite (collections of every field type, records with
// files and relations, a superuser, a user with a password, a one-time
// password, a job, 1,234 rows of one collection) is copied into an empty
// PostgreSQL database; a server on the copy (same --dir, --db=URL) then
// answers the JS SDK with the same collections and records, in the same
// order, the same sign-ins, the same files, the same totals, and takes new
// records. Every table's rows are also compared column by column (row keys,
// text, JSON as written, integers) between the SQLite file and PostgreSQL.
// Then the refusals: a target that holds tarmac tables (and --force, which
// drops only those), a view collection PostgreSQL cannot make (views it can make are made
// again on the target), a URL that is
// malformed, unreachable or refused (the password never shown), a data
// directory being served, and a count that differs on the target.
//
// PostgreSQL: the cluster at TARMAC_TEST_PG (tests/run starts one), else one
// started here with tests/lib/pgcluster.sh; each test copies into a database
// of its own. Skipped when neither is possible.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, BIN, ENGINE, SUPERUSER } from '../lib/server.mjs';
import { testPgCluster } from '../lib/pgtest.mjs';
import {
    client, superuserClient, expectError, assertNoLeaks, makeUser, REQUEST_TIMEOUT_MS, SLOW,
} from '../lib/util.mjs';

const CLI_TIMEOUT_MS = 300000 * SLOW;

// The cluster: tests/run's, else our own (stopped in the last after()).
const pg = testPgCluster('tarmac-dbcopy-pg-', ENGINE !== 'sqlite'
    ? 'the source is an SQLite data directory: run with TARMAC_TEST_ENGINE unset' : '');
const BASE = pg.url;
const SKIP = pg.why || false;

function psql(url, sql) {
    const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-F', '\x1f', '-R', '\x1e',
        url, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
    return r.stdout.replace(/\n$/, '');
}

function sqlite(dir, sql) {
    const r = spawnSync('sqlite3', ['-batch', '-noheader', '-separator', '\x1f', '-newline', '\x1e',
        join(dir, 'data.db'), sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sqlite3 ${sql}: ${r.stderr}`);
    return r.stdout;
}

const rows = (text) => text.split('\x1e').filter((l) => l !== '' && l !== '\n').map((l) => l.split('\x1f'));

let dbSeq = 0;
/** A new empty database on the cluster; its URL. */
function newDatabase() {
    const name = `dbcopy_${process.pid}_${++dbSeq}`;
    psql(BASE, `CREATE DATABASE "${name}"`);
    return BASE.replace(':///tarmac?', `:///${name}?`);
}

/** The server's environment rule: no TARMAC_* of ours leaks in. */
function cliEnv() {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TARMAC_')) env[k] = v;
    if (!env.ASAN_OPTIONS) env.ASAN_OPTIONS = 'detect_leaks=1:abort_on_error=1:halt_on_error=1';
    if (!env.UBSAN_OPTIONS) env.UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=1';
    return env;
}

/** Runs `tarmac ARGS`; {code, out, err}. */
function tarmac(...args) {
    const r = spawnSync(BIN, args, { env: cliEnv(), encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
    if (r.error) throw new Error(`tarmac ${args.join(' ')}: ${r.error.message}`);
    return { code: r.status, out: r.stdout, err: r.stderr };
}

function copyOk(dir, url, ...more) {
    const r = tarmac('db', 'copy', `--to=${url}`, `--dir=${dir}`, ...more);
    assert.equal(r.code, 0, `db copy exited ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
    return r;
}

/** The data tables: not SQLite's own, nor the search and point indexes
 * (`_s:<collection id>...`, an engine's own objects, which the copy rebuilds
 * on the target instead of copying). */
function tableNames(dir) {
    return rows(sqlite(dir, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
        .map((r) => r[0]).filter((n) => !n.startsWith('_s:'));
}

/** Every row of every table the same on both sides, column by column, in
 * row key order: text, JSON text and integers as stored. NUMERIC columns are
 * left to the API comparison (SQLite prints a REAL with 15 digits,
 * PostgreSQL the 17 it was given). */
function assertSameRows(dir, url) {
    const pgTables = rows(psql(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).map((r) => r[0]);
    for (const t of tableNames(dir)) {
        assert.ok(pgTables.includes(t), `table ${t} missing on PostgreSQL`);
        const cols = rows(sqlite(dir, `SELECT name, type FROM pragma_table_info('${t}')`));
        const pgCols = rows(psql(url, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${t}'`)).map((r) => r[0]);
        assert.ok(pgCols.includes('rowid'), `${t}: no rowid column on PostgreSQL`);
        const keep = cols.filter(([, type]) => !/NUMERIC/i.test(type)).map(([c]) => c);
        const pgKeep = keep.map((c) => {
            const pc = pgCols.find((x) => x === c) ?? pgCols.find((x) => x.toLowerCase() === c.toLowerCase());
            assert.ok(pc, `${t}.${c} missing on PostgreSQL`);
            return pc;
        });
        const list = (names) => ['rowid', ...names].map((c) => `"${c}"`).join(', ');
        const want = rows(sqlite(dir, `SELECT ${list(keep)} FROM "${t}" ORDER BY rowid`));
        const got = rows(psql(url, `SELECT ${list(pgKeep)} FROM "${t}" ORDER BY rowid`));
        assert.deepEqual(got.map((r) => r[0]), want.map((r) => r[0]), `${t}: row keys`);
        keep.forEach((c, i) => {
            assert.deepEqual(got.map((r) => r[i + 1]), want.map((r) => r[i + 1]), `${t}.${c}: values differ`);
        });
    }
}

const TEXT = Buffer.from('plain text, kept in DIR/storage\n');
// A 1x1 PNG.
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082', 'hex');
const blob = (buf, type) => new Blob([buf], { type });

const EVERY_TYPE = [
    { name: 'title', type: 'text', max: 100 },
    { name: 'count', type: 'number' },
    { name: 'flag', type: 'bool' },
    { name: 'mail', type: 'email' },
    { name: 'site', type: 'url' },
    { name: 'body', type: 'editor' },
    { name: 'due', type: 'date' },
    { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
    { name: 'kind', type: 'select', values: ['x', 'y'], maxSelect: 1 },
    { name: 'meta', type: 'json' },
    { name: 'm_num', type: 'json' },
    { name: 'm_int', type: 'json' },
    { name: 'doc', type: 'file', maxSelect: 1 },
    { name: 'pics', type: 'file', maxSelect: 5 },
    { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    { name: 'pin', type: 'password' },
    { name: 'where', type: 'geoPoint' },
    { name: 'created', type: 'autodate', onCreate: true },
    { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
];

/** A server on a data directory of our own, kept after it stops (the source). */
function startSource() {
    return startServer({ dir: mkdtempSync(join(tmpdir(), 'tarmac-dbcopy-')), superuser: true });
}

const BULK = 1234; // more than two INSERTs of 500 rows, and a shorter last one

/** What the API shows of everything, as a superuser. */
async function snapshot(url) {
    const su = await superuserClient(url);
    const out = { collections: await su.collections.getFullList() };
    for (const c of out.collections) {
        const expand = c.name === 'things' ? 'owner' : c.name === 'notes' ? 'things,things.owner' : undefined;
        out[c.name] = await su.collection(c.name).getFullList({ batch: 500, expand });
        out[`${c.name} total`] = (await su.collection(c.name).getList(1, 1)).totalItems;
    }
    return out;
}

describe('tarmac db copy', { skip: SKIP }, () => {
    after(() => {
        pg.stop();
    });

    describe('a filled data directory', () => {
        let srv;
        let url;
        let user;
        let thing;
        let before_;
        let copyRun;

        before(async () => {
            srv = await startSource();
            const su = await superuserClient(srv.url);
            user = await makeUser(su, srv.url, { name: 'Ada' });
            await su.collections.update('users', { otp: { enabled: true, duration: 300, length: 6 } });
            await client(srv.url).collection('users').requestOTP(user.email); // _otps, and an email job
            const things = await su.collections.create({ name: 'things', listRule: '', viewRule: '', fields: EVERY_TYPE });
            const form = new FormData();
            const values = {
                title: 'first ✓ "quoted"', count: 0.30000000000000004, flag: true, mail: 'a@example.com',
                site: 'https://example.com/x?y=1', body: '<p>rich <b>text</b></p>', due: '2024-02-29 23:59:58.123Z',
                kind: 'y', owner: user.record.id, pin: 'pin-secret-1',
            };
            for (const [k, v] of Object.entries(values)) form.append(k, String(v));
            form.append('tags', 'a');
            form.append('tags', 'c');
            form.append('meta', JSON.stringify({ a: 0.1, b: [1, 2, { c: null }], s: 'ü', big: 12345678901234567890 }));
            form.append('m_num', '0.1');
            form.append('m_int', '12');
            form.append('where', JSON.stringify({ lon: 12.5, lat: -33.25 }));
            form.append('doc', blob(TEXT, 'text/plain'), 'readme.txt');
            form.append('pics', blob(PNG, 'image/png'), 'one.png');
            form.append('pics', blob(PNG, 'image/png'), 'two.png');
            thing = await su.collection('things').create(form);
            const other = await su.collection('things').create({ title: 'second', count: -7, flag: false, meta: null });
            await su.collections.create({
                name: 'notes', listRule: '', viewRule: '',
                fields: [{ name: 'text', type: 'text' },
                    { name: 'things', type: 'relation', collectionId: things.id, maxSelect: 10, cascadeDelete: true }],
            });
            await su.collection('notes').create({ text: 'both', things: [other.id, thing.id] });
            await su.collections.create({ name: 'bulk', listRule: '', fields: [{ name: 'n', type: 'number' }, { name: 't', type: 'text' }] });
            for (let i = 0; i < BULK; i += 50) {
                const b = su.createBatch();
                for (let k = i; k < Math.min(BULK, i + 50); k++) b.collection('bulk').create({ n: k % 3 ? k : k + 0.5, t: `row ${k}` });
                await b.send();
            }
            before_ = await snapshot(srv.url);

            // While served, the directory is refused: writes would be left behind.
            url = newDatabase();
            const busy = tarmac('db', 'copy', `--to=${url}`, `--dir=${srv.dir}`);
            assert.equal(busy.code, 1, busy.err);
            assert.match(busy.err, /is being served .*stop tarmac serve first/);
            await srv.stop();
            copyRun = copyOk(srv.dir, url);
        });

        after(() => {
            if (srv && !process.env.TARMAC_E2E_KEEP) rmSync(srv.dir, { recursive: true, force: true });
        });

        test('reports each table, checks the counts, and says where the files are', () => {
            assert.match(copyRun.out, /^table +source rows +target rows$/m);
            assert.match(copyRun.out, new RegExp(`^bulk +${BULK} +${BULK}$`, 'm'));
            assert.match(copyRun.out, /^_superusers +1 +1$/m);
            assert.match(copyRun.out, /every table's row count is the same on both sides/);
            assert.ok(copyRun.out.includes(`they stay in ${srv.dir}/storage`), copyRun.out);
            assert.ok(copyRun.out.includes(`tarmac serve --dir=${srv.dir} --db=`), copyRun.out);
            // Not a terminal here: plain lines, one per table.
            assert.match(copyRun.err, new RegExp(`^copied bulk: ${BULK}/${BULK} rows$`, 'm'));
            assert.doesNotMatch(copyRun.err, /\r/);
            for (const t of ['_superusers', 'users', '_otps', '_jobs', '_collections', '_params', '_mfas',
                '_authOrigins', '_externalAuths', '_migrations', '_schedules', '_webhooks', 'things', 'notes']) {
                assert.match(copyRun.out, new RegExp(`^${t} `, 'm'), `table ${t} listed`);
            }
            assert.match(copyRun.out, /^_otps +1 +1$/m);
            assert.doesNotMatch(copyRun.out, /^_jobs +0 /m); // the OTP's mail job
        });

        test('every table holds the same rows, column by column, with the same row keys', () => {
            assertSameRows(srv.dir, url);
            // a REAL in a JSON column is copied as SQLite shows it, not as a double's 17 digits
            assert.equal(psql(url, `SELECT "m_num"::text FROM things WHERE id = '${thing.id}'`), '0.1');
        });

        test('a server on the copy answers the SDK as the SQLite one did', async () => {
            const pg = await startServer({ dir: srv.dir, flags: [`--db=${url}`] });
            try {
                const after_ = await snapshot(pg.url);
                // Each sign-in (the snapshot's own) updates its origin row,
                // and the update moves it last: compare which origins exist.
                const origins = (s) => s._authOrigins.map((o) => o.id).sort();
                assert.deepEqual(origins(after_), origins(before_));
                assert.deepEqual({ ...after_, _authOrigins: null }, { ...before_, _authOrigins: null });
                assert.equal(after_['bulk total'], BULK);
                const got = after_.things.find((r) => r.id === thing.id);
                assert.equal(got.count, 0.30000000000000004);
                assert.deepEqual(got.m_num, 0.1);
                assert.equal(got.m_int, 12);
                assert.equal(got.created, thing.created);
                assert.equal(got.updated, thing.updated);

                // the same sign-ins: the user's password, the superuser's; a wrong one still fails
                const u = client(pg.url);
                const auth = await u.collection('users').authWithPassword(user.email, user.password);
                assert.equal(auth.record.id, user.record.id);
                await u.collection('users').authRefresh();
                await expectError(client(pg.url).collection('users').authWithPassword(user.email, 'wrong-pass-1'), 400);
                const su = await superuserClient(pg.url);
                assert.equal(su.authStore.record.email, SUPERUSER.email);

                // files: the same bytes from DIR/storage
                for (const [name, bytes] of [[got.doc, TEXT], [got.pics[0], PNG], [got.pics[1], PNG]]) {
                    const res = await fetch(su.files.getURL(got, name), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
                    assert.equal(res.status, 200, name);
                    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes, name);
                }

                // new rows after the copy: the row key goes on from the largest
                const added = await su.collection('bulk').create({ n: 1, t: 'after the copy' });
                const last = await su.collection('bulk').getList(Math.ceil((BULK + 1) / 500), 500);
                assert.equal(last.items.at(-1).id, added.id, 'a new record lists last');
                assert.equal(psql(url, `SELECT rowid FROM bulk WHERE id = '${added.id}'`), String(BULK + 1));
                const nu = await makeUser(su, pg.url);
                assert.ok(nu.pb.authStore.isValid);
                const n2 = await su.collection('notes').create({ text: 'new', things: [thing.id] });
                assert.equal((await su.collection('notes').getOne(n2.id, { expand: 'things' })).expand.things[0].id, thing.id);
            } finally {
                await pg.stop();
            }
        });

        test('a target with tarmac tables is refused; --force drops only those and copies again', () => {
            const again = tarmac('db', 'copy', `--to=${url}`, `--dir=${srv.dir}`);
            assert.equal(again.code, 1, again.out + again.err);
            assert.match(again.err, /already holds tarmac tables \(_authOrigins, _collections, .*nothing was copied.*--force/);
            assert.equal(psql(url, 'SELECT count(*) FROM bulk'), String(BULK + 1), 'the target was left alone');

            psql(url, 'CREATE TABLE not_tarmac (x int); INSERT INTO not_tarmac VALUES (42)');
            const forced = copyOk(srv.dir, url, '--force');
            assert.match(forced.err, /--force: dropping \d+ tarmac tables of the target first/);
            assert.equal(psql(url, 'SELECT count(*) FROM bulk'), String(BULK), 'the source again');
            assert.equal(psql(url, 'SELECT x FROM not_tarmac'), '42', 'other tables stay');
            assertSameRows(srv.dir, url);
        });
    });

    test('view collections are made on the target; one PostgreSQL cannot make is named', async () => {
        let srv = await startSource();
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({ name: 'user_names', type: 'view', listRule: '', viewQuery: 'SELECT id, name FROM users' });
        } finally {
            await srv.stop();
        }
        let url = newDatabase();
        copyOk(srv.dir, url);
        assert.equal(psql(url, "SELECT count(*) FROM pg_views WHERE viewname = 'user_names'"), '1');
        assert.equal(psql(url, 'SELECT count(*) FROM user_names'), psql(url, 'SELECT count(*) FROM users'));
        rmSync(srv.dir, { recursive: true, force: true });
        // typeof() is SQLite's: the view cannot be made on PostgreSQL, and the copy says which
        srv = await startSource();
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({ name: 'lite_only', type: 'view', listRule: '', viewQuery: 'SELECT id, typeof(name) AS t FROM users' });
        } finally {
            await srv.stop();
        }
        url = newDatabase();
        const r = tarmac('db', 'copy', `--to=${url}`, `--dir=${srv.dir}`);
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.err, /cannot make the view collection lite_only/);
        rmSync(srv.dir, { recursive: true, force: true });
    });

    test('a count that differs on the target fails the copy, naming the table', async () => {
        const srv = await startSource();
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({ name: 'leaky', fields: [{ name: 't', type: 'text' }] });
            for (let i = 0; i < 3; i++) await su.collection('leaky').create({ t: `r${i}` });
        } finally {
            await srv.stop();
        }
        const url = newDatabase();
        // A table "leaky" made on this database loses a row after each INSERT.
        psql(url, `CREATE FUNCTION lose_one() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
                DELETE FROM leaky WHERE rowid = (SELECT min(rowid) FROM leaky); RETURN NULL; END $f$;
            CREATE FUNCTION arm() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_identity LIKE '%.leaky') THEN
                    CREATE TRIGGER lose AFTER INSERT ON leaky FOR EACH STATEMENT EXECUTE FUNCTION lose_one();
                END IF; END $f$;
            CREATE EVENT TRIGGER arm_leaky ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION arm();`);
        const r = tarmac('db', 'copy', `--to=${url}`, `--dir=${srv.dir}`);
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.err, /row counts differ: leaky \(3 in the source, 2 in the target\)/);
        assert.match(r.out, /^leaky +3 +2 +MISMATCH$/m);
        rmSync(srv.dir, { recursive: true, force: true });
    });

    test('a row the target refuses stops the copy at its table; --force copies again', async () => {
        const srv = await startSource();
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create({ name: 'picky', fields: [{ name: 't', type: 'text' }] });
            for (let i = 0; i < 3; i++) await su.collection('picky').create({ t: `r${i}` });
        } finally {
            await srv.stop();
        }
        const url = newDatabase();
        psql(url, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
                RAISE EXCEPTION 'refused by a trigger'; END $f$;
            CREATE FUNCTION arm() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_identity LIKE '%.picky') THEN
                    CREATE TRIGGER no BEFORE INSERT ON picky FOR EACH ROW EXECUTE FUNCTION refuse();
                END IF; END $f$;
            CREATE EVENT TRIGGER arm_picky ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION arm();`);
        const r = tarmac('db', 'copy', `--to=${url}`, `--dir=${srv.dir}`);
        assert.equal(r.code, 1, r.out + r.err);
        assert.match(r.err, /copying the table picky failed after 0 of 3 rows: .*copy again with --force/);
        assert.equal(psql(url, 'SELECT count(*) FROM picky'), '0', 'its transaction rolled back');
        assert.equal(psql(url, 'SELECT count(*) FROM _superusers'), '1', 'the tables before it are copied');
        psql(url, 'DROP EVENT TRIGGER arm_picky');
        const again = tarmac('db', 'copy', `--to=${url}`, `--dir=${srv.dir}`);
        assert.equal(again.code, 1, 'a partly filled target is not empty');
        const forced = copyOk(srv.dir, url, '--force');
        assert.match(forced.out, /^picky +3 +3$/m);
        assertSameRows(srv.dir, url);
        rmSync(srv.dir, { recursive: true, force: true });
    });

    describe('a target that cannot be used', () => {
        let dir;
        before(async () => {
            const srv = await startSource();
            await srv.stop();
            dir = srv.dir;
        });
        after(() => rmSync(dir, { recursive: true, force: true }));

        const cases = [
            ['a malformed URL', 'postgresql://app:s3cret%zz@127.0.0.1:1/app', /the URL is not a valid PostgreSQL URL/],
            ['a bad parameter', 'postgresql://app@127.0.0.1:1/app?sslmode=sometimes&password=s3cret-pw', /the URL is not a valid PostgreSQL URL \(invalid sslmode value/],
            ['no server there', 'postgresql://app:s3cret-pw@127.0.0.1:1/app?connect_timeout=5', /no PostgreSQL server answers there .*Connection refused/],
        ];
        for (const [what, to, re] of cases) {
            test(`${what}: exit 1, says which, never the password`, () => {
                const r = tarmac('db', 'copy', `--to=${to}`, `--dir=${dir}`);
                assert.equal(r.code, 1, r.err);
                assert.match(r.err, re);
                assert.match(r.err, /\*\*\*/);
                assert.doesNotMatch(r.out + r.err, /s3cret/);
            });
        }

        test('a refused login: exit 1, says which, never the password', () => {
            const to = BASE.replace('user=tarmac', 'user=nobody_here') + '&password=s3cret-pw';
            const r = tarmac('db', 'copy', `--to=${to}`, `--dir=${dir}`);
            assert.equal(r.code, 1, r.err);
            assert.match(r.err, /the PostgreSQL server refused the login .*role "nobody_here" does not exist/);
            assert.doesNotMatch(r.out + r.err, /s3cret/);
        });

        test('usage: --to missing or not a URL exits 2; no data.db exits 1', () => {
            assert.equal(tarmac('db', 'copy', `--dir=${dir}`).code, 2);
            assert.equal(tarmac('db', 'copy', '--to=/tmp/some.db', `--dir=${dir}`).code, 2);
            const empty = mkdtempSync(join(tmpdir(), 'tarmac-dbcopy-empty-'));
            const r = tarmac('db', 'copy', `--to=${BASE}`, `--dir=${empty}`);
            rmSync(empty, { recursive: true, force: true });
            assert.equal(r.code, 1);
            assert.match(r.err, /no database in .*nothing to copy/);
            assert.equal(tarmac('db', 'nope').code, 2);
            assert.equal(tarmac('db', 'copy', '--help').code, 0);
        });
    });

    test('no response leaked a secret', () => assertNoLeaks());
});
