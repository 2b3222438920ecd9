// Backups kept in S3 (settings backups.s3, issue #15 item 3 "kept locally
// and/or in S3"): with backups.s3 enabled, backups are made into, listed
// from, downloaded from, restored from and deleted in the bucket (objects at
// its root, as PocketBase keeps them), never in DIR/backups; the schedule's
// retention works on the bucket; a wrong secret is a 400 with S3's answer
// and leaves nothing behind; the CLI reads backups.s3 from the database.
// The S3 server is tests/e2e/lib/fake_s3.mjs (it verifies every signature).
// Runs on SQLite and, with TARMAC_TEST_ENGINE=postgresql, on PostgreSQL.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer, SLOW, ENGINE, BIN, dbFlags } from './lib/server.mjs';
import { startFakeS3 } from './lib/fake_s3.mjs';
import { superuserClient, expectError } from './lib/util.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('backups in S3', () => {
    let srv;
    let su;
    let fake;
    const localBackups = () => {
        const dir = join(srv.dir, 'backups');
        return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : [];
    };
    const objectKeys = () => [...fake.objects.keys()].sort();

    before(async () => {
        fake = await startFakeS3({ pageSize: 2 }); // listings take continuation tokens
        srv = await startServer();
        su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'notes', type: 'base', listRule: '', viewRule: '',
            fields: [{ name: 'title', type: 'text' },
                { name: 'doc', type: 'file', maxSelect: 1, maxSize: 32 * 1024 * 1024 }],
        });
    });

    after(async () => {
        await srv?.stop();
        await fake?.stop();
    });

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

    test('settings: backups.s3 is enabled, its secret never shown, its test passes', async () => {
        const s = await su.settings.update({ backups: { s3: fake.settings() } });
        assert.equal(s.backups.s3.enabled, true);
        assert.equal(s.backups.s3.bucket, fake.bucket);
        assert.ok(!('secret' in s.backups.s3), 'the secret is not returned');
        assert.equal(await su.settings.testS3('backups'), true);
        assert.deepEqual(objectKeys(), [], 'the test left nothing');
        assert.deepEqual(await su.backups.getFullList(), [], 'an empty bucket lists nothing');
    });

    test('create puts the archive in the bucket, not in DIR/backups; list shows it', async () => {
        assert.equal(await su.backups.create('first.zip'), true);
        assert.deepEqual(objectKeys(), ['first.zip']);
        assert.deepEqual(localBackups(), [], 'nothing in DIR/backups');
        const body = fake.objects.get('first.zip').body;
        assert.equal(body.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
        assert.ok(body.toString('latin1').includes(ENGINE === 'postgresql' ? 'data.sql' : 'data.db'));
        const list = await su.backups.getFullList();
        assert.equal(list.length, 1);
        assert.equal(list[0].key, 'first.zip');
        assert.equal(list[0].size, body.length);
        assert.match(list[0].modified, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.000Z$/);
        const taken = await expectError(su.backups.create('first.zip'), 400, 'taken');
        assert.equal(taken.data.name.code, 'validation_backup_name_exists');
        // Another use of the bucket ("folder/" keys) is not listed; three
        // backups take two pages.
        fake.objects.set('other/thing.zip', { body: Buffer.from('x'), type: 'application/zip', mtime: new Date() });
        await su.backups.create('second.zip');
        await su.backups.create('');
        const keys = (await su.backups.getFullList()).map((b) => b.key).sort();
        assert.equal(keys.length, 3, keys.join());
        assert.ok(keys.includes('first.zip') && keys.includes('second.zip'));
        assert.ok(keys.some((k) => /^pb_backup_tarmac_\d{14}\.zip$/.test(k)), keys.join());
        fake.objects.delete('other/thing.zip');
    });

    test('download streams the object with a file token: the same bytes, ranges too', async () => {
        const token = await su.files.getToken();
        const res = await fetch(su.backups.getDownloadURL(token, 'first.zip'));
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-disposition'), /attachment; filename=first\.zip/);
        const got = Buffer.from(await res.arrayBuffer());
        assert.ok(got.equals(fake.objects.get('first.zip').body), 'the same bytes');
        const part = await fetch(su.backups.getDownloadURL(token, 'first.zip'), { headers: { Range: 'bytes=0-3' } });
        assert.equal(part.status, 206);
        assert.equal(Buffer.from(await part.arrayBuffer()).toString('latin1'), 'PK\x03\x04');
        assert.equal((await fetch(su.backups.getDownloadURL(token, 'missing.zip'))).status, 404);
        assert.equal((await fetch(`${srv.url}/api/backups/first.zip`)).status, 403, 'no token');
    });

    test('upload goes to the bucket; delete removes the object', async () => {
        const archive = fake.objects.get('second.zip').body;
        assert.equal(await su.backups.upload({ file: new File([archive], 'uploaded.zip') }), true);
        assert.ok(fake.objects.get('uploaded.zip').body.equals(archive));
        const taken = await expectError(su.backups.upload({ file: new File([archive], 'uploaded.zip') }), 400, 'taken');
        assert.equal(taken.data.file.code, 'validation_backup_name_exists');
        assert.deepEqual(localBackups(), [], 'no upload left in DIR/backups');
        assert.equal(await su.backups.delete('uploaded.zip'), true);
        assert.equal(await su.backups.delete('second.zip'), true);
        assert.ok(!fake.objects.has('uploaded.zip') && !fake.objects.has('second.zip'), objectKeys().join());
        await expectError(su.backups.delete('second.zip'), 400, 'already deleted');
        await expectError(su.backups.restore('second.zip'), 400, 'restore of a missing one');
    });

    // Not spawnSync: the fake S3 answers from this process's event loop.
    function runCli(args) {
        return new Promise((resolve, reject) => {
            const p = spawn(BIN, args);
            let stdout = '';
            let stderr = '';
            p.stdout.on('data', (d) => { stdout += d; });
            p.stderr.on('data', (d) => { stderr += d; });
            p.on('error', reject);
            p.on('close', (status) => resolve({ status, stdout, stderr }));
        });
    }

    test('the CLI reads backups.s3 from the database: backup list shows the bucket', async () => {
        const r = await runCli(['backup', 'list', `--dir=${srv.dir}`, ...dbFlags(srv.dir)]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^first\.zip\s+\d+/m);
        assert.ok(!r.stderr.includes('cannot be read'), r.stderr);
    });

    test('a wrong secret: create, list, upload and restore are 400s with S3\'s answer, nothing half made', async () => {
        await su.settings.update({ backups: { s3: { secret: 'not-the-secret' } } });
        try {
            await wrongSecret();
        } finally {
            await su.settings.update({ backups: { s3: { secret: fake.secret } } });
        }
        assert.equal(await su.backups.create('after-bad.zip'), true, 'the next one works');
        await su.backups.delete('after-bad.zip');
    });

    async function wrongSecret() {
        const before = objectKeys();
        const made = await expectError(su.backups.create('bad.zip'), 400, 'create');
        assert.equal(made.message, 'Failed to create backup. backups.s3: HEAD bad.zip: 403 Forbidden (wrong access key or secret?).');
        const listed = await expectError(su.backups.getFullList(), 400, 'list');
        assert.match(listed.message, /^Failed to retrieve backup items\. backups\.s3: GET tarmac-test: 403 SignatureDoesNotMatch/);
        const up = await expectError(su.backups.upload({ file: new File([fake.objects.get('first.zip').body], 'up.zip') }), 400, 'upload');
        assert.match(up.message, /^Failed to upload backup\. backups\.s3: HEAD up\.zip: 403 Forbidden/);
        const res = await expectError(su.backups.restore('first.zip'), 400, 'restore');
        assert.match(res.message, /^Failed to restore the backup\. backups\.s3: GET first\.zip: 403 SignatureDoesNotMatch/);
        assert.ok(!res.message.includes('not-the-secret'), 'the secret is never shown');
        assert.deepEqual(objectKeys(), before, 'nothing stored');
        assert.deepEqual(localBackups(), []);
        const tmp = join(srv.dir, '.tarmac_backup_tmp');
        const left = existsSync(tmp) ? readdirSync(tmp).filter((f) => f !== 'lock') : [];
        assert.deepEqual(left, [], 'no temporary file left');
        assert.equal(srv.exited, null);
    }

    test('restore from the bucket: create data, back up, change it, restore, see the old data', async () => {
        const keep = await su.collection('notes').create({
            title: 'before', doc: new File(['the old file'], 'old.txt'),
        });
        const gone = await su.collection('notes').create({ title: 'deleted later' });
        assert.equal(await su.backups.create('snap.zip'), true);
        assert.ok(fake.objects.has('snap.zip'));

        await su.collection('notes').update(keep.id, { title: 'after', doc: new File(['a new file'], 'new.txt') });
        await su.collection('notes').delete(gone.id);
        const added = await su.collection('notes').create({ title: 'added after the backup' });

        const pid = srv.proc.pid;
        assert.equal(await su.backups.restore('snap.zip'), true);
        await waitBack(async () => (await su.collection('notes').getOne(keep.id)).title === 'before',
            'restored record');
        if (srv.instances) {
            // Several instances (TARMAC_E2E_CLUSTER): the others read the
            // restored database as soon as it committed, and the shared
            // files a moment later, once the restored instance swapped them.
            await waitBack(async () => {
                const x = await su.collection('notes').getOne(keep.id);
                return (await fetch(su.files.getURL(x, x.doc))).status === 200;
            }, 'restored files');
        }
        const r = await su.collection('notes').getOne(keep.id);
        assert.match(r.doc, /^old_\w+\.txt$/);
        const file = await fetch(su.files.getURL(r, r.doc));
        assert.equal(await file.text(), 'the old file');
        assert.equal((await su.collection('notes').getOne(gone.id)).title, 'deleted later');
        await expectError(su.collection('notes').getOne(added.id), 404, 'made after the backup');
        assert.equal(srv.proc.pid, pid, 'the same process');
        // The restored settings keep backups.s3: the bucket is still listed.
        const keys = (await su.backups.getFullList()).map((b) => b.key);
        assert.ok(keys.includes('snap.zip'), keys.join());
        assert.ok(!existsSync(join(srv.dir, '.tarmac_backup_tmp', 'fetched.zip')), 'the fetched copy is removed');
        assert.deepEqual(localBackups(), []);
    });

    test('the schedule makes its backups in the bucket and keeps cronMaxKeep of them', async () => {
        const old = new Date('2000-01-01T00:00:00Z');
        for (const k of ['@auto_pb_backup_tarmac_20000101000000.zip', '@auto_pb_backup_tarmac_20000102000000.zip']) {
            fake.objects.set(k, { body: Buffer.from('PK\x05\x06' + '\0'.repeat(18), 'latin1'), type: 'application/zip', mtime: old });
        }
        await su.settings.update({ backups: { cron: '* * * * *', cronMaxKeep: 1 } });
        const deadline = Date.now() + 75000 * SLOW;
        let autos = [];
        while (Date.now() < deadline) {
            autos = objectKeys().filter((k) => k.startsWith('@auto_pb_backup_'));
            if (autos.length === 1 && !autos[0].includes('_2000010')) break;
            await sleep(500);
        }
        await su.settings.update({ backups: { cron: '' } });
        assert.equal(autos.length, 1, autos.join());
        assert.match(autos[0], /^@auto_pb_backup_tarmac_\d{14}\.zip$/);
        assert.ok(objectKeys().includes('first.zip'), 'backups not made by the schedule stay');
        assert.deepEqual(localBackups(), []);
    });

    test('disabled again: backups are local, the bucket is left alone', async () => {
        const before = objectKeys();
        await su.settings.update({ backups: { s3: { enabled: false } } });
        assert.deepEqual(await su.backups.getFullList(), []);
        assert.equal(await su.backups.create('local.zip'), true);
        assert.deepEqual(localBackups(), ['local.zip']);
        assert.deepEqual(objectKeys(), before);
    });
});
