// Backups (issue #15 item 3) through the JS SDK's pb.backups: list, create,
// upload, download with a superuser's file token, delete, restore, the
// refusals PocketBase answers (names, auth, one operation at a time), an
// archive that is not a zip or holds no database refused before anything is
// replaced, and the restore test: create data, back up, change it,
// restore, see the old data through the SDK (the server restarts itself in
// between, same process, same port). Then the schedule (backups.cron):
// an automatic backup within a minute, the oldest automatic ones dropped past
// cronMaxKeep. Runs on SQLite and, with TARMAC_TEST_ENGINE=postgresql, on
// PostgreSQL (pg_dump / psql).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, SLOW, ENGINE } from './lib/server.mjs';
import { client, superuserClient, makeUser, expectError, until } from './lib/util.mjs';
import { dbQuery } from './lib/db.mjs';

// A zip with one stored entry (name, bytes), written by hand: the tests need
// archives the server did not make.
function crc32(buf) {
    let c = ~0;
    for (const b of buf) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
}
function zipOf(entries) {
    const parts = [];
    const central = [];
    let off = 0;
    for (const [name, data] of entries) {
        const n = Buffer.from(name);
        const h = Buffer.alloc(30);
        h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4);
        h.writeUInt32LE(crc32(data), 14); h.writeUInt32LE(data.length, 18);
        h.writeUInt32LE(data.length, 22); h.writeUInt16LE(n.length, 26);
        const c = Buffer.alloc(46);
        c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); c.writeUInt16LE(20, 6);
        c.writeUInt32LE(crc32(data), 16); c.writeUInt32LE(data.length, 20);
        c.writeUInt32LE(data.length, 24); c.writeUInt16LE(n.length, 28); c.writeUInt32LE(off, 42);
        parts.push(h, n, data);
        central.push(c, n);
        off += 30 + n.length + data.length;
    }
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10); end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(off, 16);
    return Buffer.concat([...parts, cd, end]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('backups API', () => {
    let srv;
    let su;
    let user;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        user = await makeUser(su, srv.url);
        await su.collections.create({
            name: 'notes', type: 'base', listRule: '', viewRule: '',
            fields: [{ name: 'title', type: 'text' },
                { name: 'doc', type: 'file', maxSelect: 1, maxSize: 32 * 1024 * 1024 }],
        });
    });

    after(async () => {
        if (srv) await srv.stop();
    });

    // The server answers again after a restart: true once a read works.
    async function waitBack(check, what) {
        const deadline = Date.now() + 60000 * SLOW;
        let last;
        while (Date.now() < deadline) {
            try {
                if (await check()) return;
            } catch (e) { last = e; }
            await sleep(100);
        }
        assert.fail(`${what}: the server did not come back (${last})`);
    }

    test('guests get 401 and users 403, as PocketBase answers', async () => {
        const guest = client(srv.url);
        await expectError(guest.backups.getFullList(), 401, 'guest list');
        await expectError(guest.backups.create('x.zip'), 401, 'guest create');
        await expectError(guest.backups.upload({ file: new File([zipOf([])], 'g.zip') }), 401, 'guest upload');
        await expectError(guest.backups.delete('x.zip'), 401, 'guest delete');
        await expectError(guest.backups.restore('x.zip'), 401, 'guest restore');
        await expectError(user.pb.backups.getFullList(), 403, 'user list');
        await expectError(user.pb.backups.create('x.zip'), 403, 'user create');
        await expectError(user.pb.backups.upload({ file: new File([zipOf([])], 'u.zip') }), 403, 'user upload');
        await expectError(user.pb.backups.delete('x.zip'), 403, 'user delete');
        await expectError(user.pb.backups.restore('x.zip'), 403, 'user restore');
        assert.deepEqual(await su.backups.getFullList(), [], 'nothing was made');
    });

    test('create, list, bad and taken names', async () => {
        assert.equal(await su.backups.create('first.zip'), true);
        const list = await su.backups.getFullList();
        assert.equal(list.length, 1);
        assert.equal(list[0].key, 'first.zip');
        assert.ok(list[0].size > 100, JSON.stringify(list[0]));
        assert.match(list[0].modified, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        for (const bad of ['!first.zip', 'First.zip', 'first', 'a/b.zip', '.zip', 'x'.repeat(148) + '.zip']) {
            const body = await expectError(su.backups.create(bad), 400, `name ${bad}`);
            assert.ok(['validation_match_invalid', 'validation_length_out_of_range'].includes(body.data.name?.code),
                `${bad}: ${JSON.stringify(body)}`);
        }
        const taken = await expectError(su.backups.create('first.zip'), 400, 'taken');
        assert.equal(taken.data.name.code, 'validation_backup_name_exists');
        // No name: PocketBase's generated one.
        await su.backups.create('');
        const keys = (await su.backups.getFullList()).map((b) => b.key);
        assert.ok(keys.some((k) => /^pb_backup_tarmac_\d{14}\.zip$/.test(k)), keys.join());
    });

    test('download takes a superuser file token, nothing else', async () => {
        const token = await su.files.getToken();
        const url = su.backups.getDownloadURL(token, 'first.zip');
        const res = await fetch(url);
        assert.equal(res.status, 200);
        const bytes = Buffer.from(await res.arrayBuffer());
        assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
        const names = bytes.toString('latin1');
        assert.ok(names.includes(ENGINE === 'postgresql' ? 'data.sql' : 'data.db'), 'the database snapshot');
        assert.ok(names.includes('storage/'), 'the files');
        assert.ok(!names.includes('backups/'), 'never the backups themselves');
        const bare = `${srv.url}/api/backups/first.zip`;
        assert.equal((await fetch(bare)).status, 403, 'no token');
        assert.equal((await fetch(bare, { headers: { Authorization: su.authStore.token } })).status, 403,
            'an Authorization header is not a file token');
        assert.equal((await fetch(`${bare}?token=${su.authStore.token}`)).status, 403, 'an auth token');
        const userToken = await user.pb.files.getToken();
        assert.equal((await fetch(`${bare}?token=${userToken}`)).status, 403, "a user's file token");
        assert.equal((await fetch(su.backups.getDownloadURL(token, 'missing.zip'))).status, 404, 'missing');
    });

    test('upload a zip; refuse what is not one, or a taken name', async () => {
        const archive = zipOf([['readme.txt', Buffer.from('hello')]]);
        assert.equal(await su.backups.upload({ file: new File([archive], 'uploaded.zip') }), true);
        assert.ok((await su.backups.getFullList()).some((b) => b.key === 'uploaded.zip'));
        const taken = await expectError(su.backups.upload({ file: new File([archive], 'uploaded.zip') }), 400, 'taken');
        assert.equal(taken.data.file.code, 'validation_backup_name_exists');
        const notZip = await expectError(su.backups.upload({ file: new File(['just text'], 'text.zip') }), 400, 'not a zip');
        assert.equal(notZip.data.file.code, 'validation_invalid_mime_type');
        const none = await expectError(su.backups.upload({}), 400, 'no file');
        assert.equal(none.data.file.code, 'validation_required');
        assert.ok(!(await su.backups.getFullList()).some((b) => b.key === 'text.zip'));
    });

    test('delete; a missing one is a 400', async () => {
        assert.equal(await su.backups.delete('uploaded.zip'), true);
        assert.ok(!(await su.backups.getFullList()).some((b) => b.key === 'uploaded.zip'));
        await expectError(su.backups.delete('uploaded.zip'), 400, 'already deleted');
        await expectError(su.backups.restore('uploaded.zip'), 400, 'restore of a missing one');
    });

    test('one operation at a time: a second create, a restore, deleting the one in use', async () => {
        // A large random file makes the backup take a while (it does not compress).
        const big = randomBytes(24 * 1024 * 1024);
        await su.collection('notes').create({ title: 'big', doc: new File([big], 'big.bin') });
        const first = su.backups.create('slow.zip');
        // running once the health check says no backup can start
        await until('the first create running', async () => {
            const h = await su.health.check();
            return h.data?.canBackup === false;
        });
        const second = await expectError(su.backups.create('other.zip'), 400, 'second create');
        assert.match(second.message, /another backup\/restore/);
        await expectError(su.backups.restore('first.zip'), 400, 'restore while one runs');
        const inUse = await expectError(su.backups.delete('slow.zip'), 400, 'delete the one in use');
        assert.match(inUse.message, /currently being used/);
        assert.equal(await first, true);
        const keys = (await su.backups.getFullList()).map((b) => b.key);
        assert.ok(keys.includes('slow.zip') && !keys.includes('other.zip'), keys.join());
        await su.backups.delete('slow.zip');
        const rec = await su.collection('notes').getFirstListItem('title = "big"');
        await su.collection('notes').delete(rec.id);
    });

    test('an archive that is no backup of this server is refused and nothing is replaced', async () => {
        const rec = await su.collection('notes').create({ title: 'kept' });
        const cases = [
            ['empty.zip', zipOf([]), /no data\.(db|sql)/],
            ['other.zip', zipOf([['storage/x.txt', Buffer.from('x')]]), /no data\.(db|sql)/],
            ['garbage.zip', Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(200)]), /zip/],
            ['notdb.zip', zipOf([[ENGINE === 'postgresql' ? 'data.sql' : 'data.db', Buffer.from('not a database at all')]]),
                /database|dump/],
        ];
        if (ENGINE !== 'postgresql') {
            // An SQLite file of another layout (PocketBase's has these tables,
            // not these columns) would not open at the next start.
            const tmp = join(srv.dir, '..', `foreign-${process.pid}.db`);
            const py = spawnSync('/usr/bin/python3', ['-c', 'import sqlite3,sys\n' +
                'c=sqlite3.connect(sys.argv[1]);c.executescript("CREATE TABLE _collections(id TEXT, name TEXT);' +
                'CREATE TABLE _params(id TEXT, value TEXT);");c.commit()', tmp]);
            assert.equal(py.status, 0, String(py.stderr));
            cases.push(['foreign.zip', zipOf([['data.db', readFileSync(tmp)]]), /not a tarmac database/]);
            rmSync(tmp, { force: true });
        }
        for (const [name, bytes, why] of cases) {
            await su.backups.upload({ file: new File([bytes], name) });
            const body = await expectError(su.backups.restore(name), 400, name);
            assert.match(body.message, why, `${name}: ${body.message}`);
            await su.backups.delete(name);
        }
        // Still the same server and data, and another operation may start.
        assert.equal(srv.exited, null);
        assert.equal((await su.collection('notes').getOne(rec.id)).title, 'kept');
        assert.equal(await su.backups.create('after-refusals.zip'), true);
        await su.backups.delete('after-refusals.zip');
        await su.collection('notes').delete(rec.id);
    });

    test('restore: create data, back up, change it, restore, see the old data', async () => {
        const keep = await su.collection('notes').create({
            title: 'before', doc: new File(['the old file'], 'old.txt'),
        });
        const gone = await su.collection('notes').create({ title: 'deleted later' });
        assert.equal(await su.backups.create('snap.zip'), true);

        await su.collection('notes').update(keep.id, { title: 'after', doc: new File(['a new file'], 'new.txt') });
        await su.collection('notes').delete(gone.id);
        const added = await su.collection('notes').create({ title: 'added after the backup' });
        await su.collections.create({ name: 'later', type: 'base', fields: [{ name: 'x', type: 'text' }] });

        const pid = srv.proc.pid;
        assert.equal(await su.backups.restore('snap.zip'), true);
        await waitBack(async () => (await su.collection('notes').getOne(keep.id)).title === 'before',
            'restored record');
        // Several instances behind a balancer (TARMAC_E2E_CLUSTER): the
        // others read the restored database as soon as it committed, the
        // shared files a moment later (once the restored instance swapped
        // them), and the schema once the restored one, back, tells them.
        if (srv.instances) {
            await waitBack(async () => {
                const x = await su.collection('notes').getOne(keep.id);
                return (await fetch(su.files.getURL(x, x.doc))).status === 200;
            }, 'restored files');
        }
        for (const inst of srv.instances || []) {
            await waitBack(async () => (await fetch(`${inst.url}/api/collections/later`, {
                headers: { Authorization: su.authStore.token },
            })).status === 404, `${inst.url} to read the restored schema`);
        }

        const r = await su.collection('notes').getOne(keep.id);
        assert.equal(r.title, 'before');
        assert.match(r.doc, /^old_\w+\.txt$/);
        const file = await fetch(su.files.getURL(r, r.doc));
        assert.equal(file.status, 200);
        assert.equal(await file.text(), 'the old file');
        assert.equal((await su.collection('notes').getOne(gone.id)).title, 'deleted later');
        await expectError(su.collection('notes').getOne(added.id), 404, 'made after the backup');
        await expectError(su.collections.getOne('later'), 404, 'collection made after the backup');
        // The same process on the same port (it ran itself again), the
        // superuser's token still good, the backups kept.
        assert.equal(srv.exited, null);
        assert.equal(srv.proc.pid, pid);
        assert.ok((await su.backups.getFullList()).some((b) => b.key === 'snap.zip'));
        assert.ok(!existsSync(join(srv.dir, '.tarmac_restore', 'pending')), 'nothing left half done');
        assert.ok(!existsSync(join(srv.dir, '.tarmac_restore', 'old')));
        // PostgreSQL: the marker row of the restore's transaction is gone.
        assert.deepEqual(dbQuery(srv.dir, 'SELECT id FROM _params WHERE id = ?', ['tarmacRestore']), []);
        // And another restore may start now (the operation ended with the restart).
        assert.equal(await su.backups.create('after-restore.zip'), true);
    });

    test('settings: backups.cron and cronMaxKeep as PocketBase checks them', async () => {
        let body = await expectError(su.settings.update({ backups: { cron: 'not cron' } }), 400, 'bad cron');
        assert.equal(body.data.backups.cron.code, 'validation_invalid_cron');
        body = await expectError(su.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 0 } }), 400, 'keep 0');
        assert.equal(body.data.backups.cronMaxKeep.code, 'validation_required');
        body = await expectError(su.settings.update({ backups: { cronMaxKeep: -1 } }), 400, 'keep -1');
        assert.equal(body.data.backups.cronMaxKeep.code, 'validation_min_greater_equal_than_required');
        body = await expectError(su.settings.update({ backups: { s3: { enabled: true } } }), 400, 's3');
        assert.equal(body.data.backups.s3.bucket.code, 'validation_required');
        const s = await su.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 2 } });
        assert.equal(s.backups.cron, '0 3 * * *');
        assert.equal(s.backups.cronMaxKeep, 2);
    });

    test('the schedule makes a backup each slot and keeps cronMaxKeep of them', async () => {
        // Two older automatic backups already there: with cronMaxKeep 1 both go.
        const dir = join(srv.dir, 'backups');
        mkdirSync(dir, { recursive: true });
        for (const old of ['@auto_pb_backup_tarmac_20000101000000.zip', '@auto_pb_backup_tarmac_20000102000000.zip']) {
            writeFileSync(join(dir, old), zipOf([]));
        }
        await su.settings.update({ backups: { cron: '* * * * *', cronMaxKeep: 1 } });
        const deadline = Date.now() + 75000 * SLOW;
        let autos = [];
        while (Date.now() < deadline) {
            autos = readdirSync(dir).filter((f) => f.startsWith('@auto_pb_backup_'));
            if (autos.length === 1 && !autos[0].includes('_2000010')) break;
            await sleep(500);
        }
        assert.equal(autos.length, 1, autos.join());
        assert.match(autos[0], /^@auto_pb_backup_tarmac_\d{14}\.zip$/);
        assert.ok((await su.backups.getFullList()).some((b) => b.key === autos[0]));
        await su.settings.update({ backups: { cron: '' } });
    });
});
