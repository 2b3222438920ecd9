// S3 file storage (issue #15): the settings' s3 options through the JS SDK,
// then uploads, downloads (whole, ranged, streamed by chunks), thumbnails,
// protected files and every removal against an S3 server, and the settings
// test (POST /api/settings/test/s3).
//
// The S3 server is tests/e2e/lib/fake_s3.mjs, written here from AWS's
// documentation: it keeps objects in memory and verifies every request's
// Signature Version 4, so a wrong secret is a 403 SignatureDoesNotMatch as
// on AWS. (npm's s3rver was not used: it checks no signature.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { png } from './lib/png.mjs';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { startFakeS3 } from './lib/fake_s3.mjs';
import { client, superuserClient, expectError, makeUser, rawFetch, SLOW } from './lib/util.mjs';

const pngSize = (buf) => [buf.readUInt32BE(16), buf.readUInt32BE(20)];
const PNG = png(200, 100);
const TEXT = Buffer.from('hello from S3\n');
const BIG = randomBytes(3 * 1024 * 1024 + 12345); // streamed: more than CORE_FILE_INLINE_MAX
const blob = (buf, type = 'application/octet-stream') => new Blob([buf], { type });

async function fetchBytes(url, headers = {}) {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(30000 * SLOW) });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Waits until pred() holds (removals run after the answer, on the pool). */
async function eventually(pred, what) {
    const end = Date.now() + 5000 * SLOW;
    while (!pred()) {
        if (Date.now() > end) assert.fail(`not within 5 s: ${what}`);
        await new Promise((res) => setTimeout(res, 30));
    }
}

describe('S3 file storage', () => {
    let srv;
    let fake;
    let su;
    let guest;
    let col;
    const keysUnder = (prefix) => [...fake.objects.keys()].filter((k) => k.startsWith(prefix)).sort();

    before(async () => {
        fake = await startFakeS3({ pageSize: 2 }); // small pages: listings take continuation tokens
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        col = await su.collections.create({
            name: 'media', type: 'base', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
            fields: [
                { name: 'title', type: 'text' },
                { name: 'one', type: 'file', maxSelect: 1, maxSize: 16 << 20, thumbs: ['50x20'] },
                { name: 'many', type: 'file', maxSelect: 5, maxSize: 16 << 20 },
            ],
        });
    });

    after(async () => {
        await srv?.stop();
        await fake?.stop();
    });

    test('settings: s3 is enabled live, its secret never shown, and the connection test passes', async () => {
        const s = await su.settings.update({ s3: fake.settings() });
        assert.equal(s.s3.enabled, true);
        assert.equal(s.s3.bucket, fake.bucket);
        assert.ok(!('secret' in s.s3), 'the secret is not returned');
        assert.ok(!('secret' in (await su.settings.getAll()).s3));
        const before = fake.requests.length;
        assert.equal(await su.settings.testS3('storage'), true);
        const sent = fake.requests.slice(before);
        assert.ok(sent.some((r) => r.method === 'PUT' && /^pb_settings_test_\w{5}\/test\.txt$/.test(r.key)), 'a test file was put');
        assert.ok(sent.some((r) => r.method === 'POST' && r.query === 'delete='), 'then deleted by prefix');
        assert.deepEqual(keysUnder('pb_settings_test_'), [], 'nothing left behind');
        // backups.s3 is off: its test is refused (tests/e2e/backups_s3.test.mjs enables it).
        const off = await expectError(su.settings.testS3('backups'), 400, 'backups');
        assert.match(off.message, /not enabled/);
    });

    test('settings: a wrong secret makes the test a 400 with S3\'s answer; a PATCH without the secret keeps it', async () => {
        await su.settings.update({ s3: { secret: 'not-the-secret' } });
        const bad = await expectError(su.settings.testS3('storage'), 400, 'wrong secret');
        assert.match(bad.message, /^Failed to test the S3 filesystem\. Raw error: \n/);
        assert.match(bad.message, /403 SignatureDoesNotMatch/);
        await su.settings.update({ s3: { secret: fake.secret } });
        await su.settings.update({ s3: { bucket: fake.bucket } }); // no secret: the stored one stays
        assert.equal(await su.settings.testS3('storage'), true);
        await su.settings.update({ s3: { bucket: 'no-such-bucket' } });
        const nb = await expectError(su.settings.testS3('storage'), 400, 'bucket');
        assert.match(nb.message, /404 NoSuchBucket/);
        await su.settings.update({ s3: { bucket: fake.bucket } });
    });

    let rec;
    test('uploads go to the bucket under <collectionId>/<recordId>/<name>, with their type, not to disk', async () => {
        const fd = new FormData();
        fd.append('title', 'first');
        fd.append('one', blob(PNG, 'image/png'), 'pic.png');
        fd.append('many', blob(TEXT, 'text/plain'), 'a.txt');
        fd.append('many', blob(BIG), 'big.bin');
        rec = await guest.collection('media').create(fd);
        assert.match(rec.one, /^pic_[a-z0-9]{10}\.png$/);
        assert.equal(rec.many.length, 2);
        const prefix = `${col.id}/${rec.id}/`;
        assert.deepEqual(keysUnder(prefix), [rec.one, ...rec.many].map((n) => prefix + n).sort());
        assert.ok(fake.objects.get(prefix + rec.one).body.equals(PNG));
        assert.equal(fake.objects.get(prefix + rec.one).type, 'image/png');
        assert.ok(fake.objects.get(prefix + rec.many[1]).body.equals(BIG));
        assert.ok(!existsSync(join(srv.dir, 'storage', col.id)), 'nothing stored on disk');
    });

    test('downloads: whole, ranges (forwarded to S3), 416, If-Modified-Since', async () => {
        const url = guest.files.getURL(rec, rec.many[0]);
        const whole = await fetchBytes(url);
        assert.equal(whole.status, 200);
        assert.ok(whole.bytes.equals(TEXT));
        assert.equal(whole.headers.get('accept-ranges'), 'bytes');
        const n = fake.requests.length;
        const part = await fetchBytes(url, { Range: 'bytes=6-9' });
        assert.equal(part.status, 206);
        assert.equal(part.headers.get('content-range'), `bytes 6-9/${TEXT.length}`);
        assert.ok(part.bytes.equals(TEXT.subarray(6, 10)));
        assert.ok(fake.requests.slice(n).some((r) => r.method === 'GET' && r.range), 'S3 got a Range header');
        const tail = await fetchBytes(url, { Range: 'bytes=-3' });
        assert.equal(tail.status, 206);
        assert.ok(tail.bytes.equals(TEXT.subarray(TEXT.length - 3)));
        const past = await fetchBytes(url, { Range: `bytes=${TEXT.length}-` });
        assert.equal(past.status, 416);
        assert.equal(past.headers.get('content-range'), `bytes */${TEXT.length}`);
        const again = await fetchBytes(url, { 'If-Modified-Since': whole.headers.get('last-modified') });
        assert.equal(again.status, 304);
        const gone = await fetchBytes(guest.files.getURL(rec, 'nope_0123456789.txt'));
        assert.equal(gone.status, 404);
        // An empty object has no byte 0 to ask S3 for (its GET is a 416): a HEAD then.
        const fd = new FormData();
        fd.append('one', blob(Buffer.alloc(0), 'text/plain'), 'empty.txt');
        const e = await guest.collection('media').create(fd);
        const empty = await fetchBytes(guest.files.getURL(e, e.one));
        assert.equal(empty.status, 200);
        assert.equal(empty.bytes.length, 0);
    });

    test('a large download is streamed by ranged GETs, never held whole', async () => {
        const url = guest.files.getURL(rec, rec.many[1]);
        const n = fake.requests.length;
        const got = await fetchBytes(url);
        assert.equal(got.status, 200);
        assert.equal(Number(got.headers.get('content-length')), BIG.length);
        assert.ok(got.bytes.equals(BIG), 'the bytes are the upload');
        const gets = fake.requests.slice(n).filter((r) => r.method === 'GET');
        assert.ok(gets.length >= 4, `${gets.length} GETs`);
        for (const g of gets) {
            const m = /^bytes=(\d+)-(\d+)$/.exec(g.range);
            assert.ok(m, `every GET is ranged: ${g.range}`);
            assert.ok(Number(m[2]) - Number(m[1]) + 1 <= 1 << 20, `at most 1 MiB a GET: ${g.range}`);
        }
        const mid = await fetchBytes(url, { Range: 'bytes=1000000-2500000' });
        assert.equal(mid.status, 206);
        assert.ok(mid.bytes.equals(BIG.subarray(1000000, 2500001)));
    });

    test('thumbnails: made from the original on the first view, stored in S3, read from there after', async () => {
        const key = `${col.id}/${rec.id}/thumbs_${rec.one}/50x20_${rec.one}`;
        const url = guest.files.getURL(rec, rec.one, { thumb: '50x20' });
        const first = await fetchBytes(url);
        assert.equal(first.status, 200);
        assert.deepEqual(pngSize(first.bytes), [50, 20]);
        assert.equal(first.headers.get('content-type'), 'image/png');
        assert.ok(fake.objects.has(key), 'the thumbnail is stored in the bucket');
        assert.equal(fake.objects.get(key).type, 'image/png');
        const n = fake.requests.length;
        const second = await fetchBytes(url);
        assert.ok(second.bytes.equals(first.bytes));
        assert.ok(!fake.requests.slice(n).some((r) => r.method === 'PUT'), 'not made again');
        const def = await fetchBytes(guest.files.getURL(rec, rec.one, { thumb: '100x100' }));
        assert.deepEqual(pngSize(def.bytes), [100, 100]);
        const txt = await fetchBytes(guest.files.getURL(rec, rec.many[0], { thumb: '100x100' }));
        assert.ok(txt.bytes.equals(TEXT), 'no thumbnail of a text file: the original');
        assert.ok(!existsSync(join(srv.dir, 'storage', col.id)), 'nothing on disk');
    });

    test('protected files need a file token, as on disk', async () => {
        const vault = await su.collections.create({
            name: 'vault', type: 'base', viewRule: 'owner = @request.auth.id', createRule: '',
            fields: [{ name: 'owner', type: 'text' }, { name: 'doc', type: 'file', maxSelect: 1, protected: true }],
        });
        const { pb: user, record: me } = await makeUser(su, srv.url);
        const fd = new FormData();
        fd.append('owner', me.id);
        fd.append('doc', blob(TEXT, 'text/plain'), 'secret.txt');
        const v = await user.collection('vault').create(fd);
        assert.ok(fake.objects.has(`${vault.id}/${v.id}/${v.doc}`));
        const plain = await fetchBytes(user.files.getURL(v, v.doc));
        assert.equal(plain.status, 404);
        const token = await user.files.getToken();
        const ok = await fetchBytes(user.files.getURL(v, v.doc, { token }));
        assert.equal(ok.status, 200);
        assert.ok(ok.bytes.equals(TEXT));
    });

    test('an update that replaces or removes files deletes their objects (and thumbnails)', async () => {
        const fd = new FormData();
        fd.append('one', blob(PNG, 'image/png'), 'new.png');
        const oldOne = rec.one;
        const r = await guest.collection('media').update(rec.id, fd);
        assert.notEqual(r.one, oldOne);
        const prefix = `${col.id}/${rec.id}/`;
        assert.ok(fake.objects.has(prefix + r.one));
        await eventually(() => !fake.objects.has(prefix + oldOne), 'the replaced file goes');
        await eventually(() => keysUnder(`${prefix}thumbs_${oldOne}/`).length === 0, 'its thumbnails go');
        const r2 = await guest.collection('media').update(rec.id, { 'many-': [rec.many[0]] });
        assert.deepEqual(r2.many, [rec.many[1]]);
        await eventually(() => !fake.objects.has(prefix + rec.many[0]), 'the removed file goes');
        assert.ok(fake.objects.has(prefix + rec.many[1]), 'the kept one stays');
        rec = r2;
    });

    test('deleting a record deletes its objects', async () => {
        const prefix = `${col.id}/${rec.id}/`;
        assert.ok(keysUnder(prefix).length >= 2);
        await guest.collection('media').delete(rec.id);
        await eventually(() => keysUnder(prefix).length === 0, 'the record\'s objects go');
    });

    test('deleting a collection deletes every object under it (through listing pages)', async () => {
        const c = await su.collections.create({
            name: 'bulk', type: 'base', createRule: '',
            fields: [{ name: 'f', type: 'file', maxSelect: 3 }],
        });
        for (let i = 0; i < 3; i++) {
            const fd = new FormData();
            for (let k = 0; k < 3; k++) fd.append('f', blob(TEXT, 'text/plain'), `f${k}.txt`);
            await guest.collection('bulk').create(fd);
        }
        assert.equal(keysUnder(`${c.id}/`).length, 9);
        await su.collections.delete(c.id);
        await eventually(() => keysUnder(`${c.id}/`).length === 0, 'the collection\'s objects go');
    });

    test('S3 answering 500 once is retried; S3 down makes an upload a 503 and creates nothing', async () => {
        fake.failNext = 1;
        const fd = new FormData();
        fd.append('one', blob(TEXT, 'text/plain'), 'retry.txt');
        const r = await guest.collection('media').create(fd);
        assert.ok(fake.objects.has(`${col.id}/${r.id}/${r.one}`), 'stored after one retry');

        const count = async () => (await su.collection('media').getList(1, 1)).totalItems;
        const before = await count();
        await fake.stop();
        try {
            const down = new FormData();
            down.append('title', 'lost');
            down.append('one', blob(TEXT, 'text/plain'), 'down.txt');
            const body = await expectError(guest.collection('media').create(down), 503, 'S3 down');
            assert.equal(typeof body.message, 'string');
            assert.equal(await count(), before, 'no record was created');
            // A download while S3 is down is a 503 too, not a 404.
            const dl = await rawFetch(guest.files.getURL(r, r.one));
            assert.equal(dl.status, 503);
            // A record without files still saves.
            await guest.collection('media').create({ title: 'no files' });
            const t = await expectError(su.settings.testS3('storage'), 400, 'test while down');
            assert.match(t.message, /failed to upload a test file/);
        } finally {
            await fake.restart();
        }
        const ok = await fetchBytes(guest.files.getURL(r, r.one));
        assert.equal(ok.status, 200);
    });

    test('virtual-host addressing (forcePathStyle off) reaches <bucket>.<host>', async () => {
        await su.settings.update({ s3: { endpoint: fake.url.replace('127.0.0.1', 'localhost'), forcePathStyle: false } });
        const fd = new FormData();
        fd.append('one', blob(TEXT, 'text/plain'), 'vh.txt');
        const r = await guest.collection('media').create(fd);
        assert.ok(fake.objects.has(`${col.id}/${r.id}/${r.one}`));
        const dl = await fetchBytes(guest.files.getURL(r, r.one));
        assert.ok(dl.bytes.equals(TEXT));
        await su.settings.update({ s3: { endpoint: fake.url, forcePathStyle: true } });
    });

    test('switching back to local disk: new uploads go to disk, S3 objects are not moved (nor found)', async () => {
        const fd = new FormData();
        fd.append('one', blob(TEXT, 'text/plain'), 'ins3.txt');
        const inS3 = await guest.collection('media').create(fd);
        await su.settings.update({ s3: { enabled: false } });
        const local = new FormData();
        local.append('one', blob(TEXT, 'text/plain'), 'ondisk.txt');
        const onDisk = await guest.collection('media').create(local);
        assert.ok(existsSync(join(srv.dir, 'storage', col.id, onDisk.id, onDisk.one)));
        assert.ok(!fake.objects.has(`${col.id}/${onDisk.id}/${onDisk.one}`));
        assert.equal((await fetchBytes(guest.files.getURL(onDisk, onDisk.one))).status, 200);
        assert.equal((await fetchBytes(guest.files.getURL(inS3, inS3.one))).status, 404);
        assert.ok(fake.objects.has(`${col.id}/${inS3.id}/${inS3.one}`), 'still in the bucket');
        await su.settings.update({ s3: { enabled: true } });
        assert.equal((await fetchBytes(guest.files.getURL(inS3, inS3.one))).status, 200);
    });

    test('metrics count S3 requests', async () => {
        const m = await rawFetch(`${srv.url}/api/metrics`, { headers: { Authorization: su.authStore.token } });
        assert.equal(m.status, 200);
        assert.match(m.text, /tarmac_s3_requests_total\{result="sent"\} [1-9]/);
        assert.match(m.text, /tarmac_s3_requests_total\{result="failed"\} [1-9]/); // the 500 and S3 down
    });
});
