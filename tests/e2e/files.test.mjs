// File uploads, downloads, ranges, thumbnails and protected files (§8)
// through the official JS SDK: FormData creates and updates, pb.files.getURL,
// pb.files.getToken, and plain fetch for the bytes and headers.
//
// Test images are PNGs made here with node's zlib (no image tools needed).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { png } from './lib/png.mjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { startServer, BIN, dbFlags } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, rawFetch,
    REQUEST_TIMEOUT_MS, SLOW,
} from './lib/util.mjs';

const RAND = '[a-z0-9]{10}';

/** [width, height] from a PNG or JPEG header. */
function imageSize(buf) {
    if (buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
        return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
    }
    if (buf[0] === 0xff && buf[1] === 0xd8) {
        let i = 2;
        while (i + 9 < buf.length) {
            const marker = buf[i + 1];
            const len = buf.readUInt16BE(i + 2);
            if (marker >= 0xc0 && marker <= 0xc3) return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
            i += 2 + len;
        }
    }
    throw new Error(`not a PNG/JPEG: ${buf.subarray(0, 8).toString('hex')}`);
}

const PNG = png(200, 100);
const TEXT = Buffer.from('hello from the e2e suite\n');

const blob = (buf, type = 'application/octet-stream') => new Blob([buf], { type });

async function fetchBytes(url, headers = {}) {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function waitGone(path) {
    const end = Date.now() + 3000 * SLOW;
    while (Date.now() < end) {
        if (!existsSync(path)) return true;
        await new Promise((r) => setTimeout(r, 50));
    }
    return false;
}

describe('files API', () => {
    let srv;
    let su;
    let guest;
    let alice;
    let bob;
    let docs; // collection model
    let seed; // record with files

    const stored = (rec, name) => join(srv.dir, 'storage', rec.collectionId, rec.id, ...(name ? [name] : []));

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        docs = await su.collections.create({
            name: 'docs',
            listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
            fields: [
                { name: 'title', type: 'text' },
                { name: 'one', type: 'file', maxSelect: 1 },
                { name: 'many', type: 'file', maxSelect: 3, maxSize: 50000 },
                { name: 'img', type: 'file', maxSelect: 1, mimeTypes: ['image/png', 'image/jpeg'], thumbs: ['50x20', '0x40'] },
                { name: 'big', type: 'file', maxSelect: 1, maxSize: 16 * 1024 * 1024 },
            ],
        });
        await su.collections.create({
            name: 'vault',
            listRule: 'owner = @request.auth.id',
            viewRule: 'owner = @request.auth.id',
            createRule: '@request.auth.id != ""',
            fields: [
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'doc', type: 'file', maxSelect: 1, protected: true },
            ],
        });
        const fd = new FormData();
        fd.append('title', 'seed');
        fd.append('one', blob(TEXT, 'text/plain'), 'Read Me.txt');
        fd.append('many', blob(TEXT), 'first.txt');
        fd.append('many', blob(PNG, 'image/png'), 'second.png');
        fd.append('img', blob(PNG, 'image/png'), 'Photo 1.png');
        seed = await guest.collection('docs').create(fd);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('create with FormData stores files under spec names', () => {
        assert.match(seed.one, new RegExp(`^read_me_${RAND}\\.txt$`));
        assert.equal(seed.many.length, 2);
        assert.match(seed.many[0], new RegExp(`^first_${RAND}\\.txt$`));
        assert.match(seed.img, new RegExp(`^photo_1_${RAND}\\.png$`));
        for (const n of [seed.one, seed.img, ...seed.many]) assert.ok(existsSync(stored(seed, n)), n);
    });

    test('SDK plain object with a Blob uploads too', async () => {
        const r = await guest.collection('docs').create({ title: 'obj', one: new File([TEXT], 'obj.txt') });
        assert.match(r.one, new RegExp(`^obj_${RAND}\\.txt$`));
    });

    test('download returns the bytes with the contract headers', async () => {
        const url = guest.files.getURL(seed, seed.one);
        assert.ok(url.includes(`/api/files/${seed.collectionId}/${seed.id}/${seed.one}`), url);
        const r = await fetchBytes(url);
        assert.equal(r.status, 200);
        assert.deepEqual(r.bytes, TEXT);
        assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
        assert.equal(r.headers.get('content-disposition'), `attachment; filename=${seed.one}`);
        assert.equal(r.headers.get('content-security-policy'),
            "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox");
        assert.equal(r.headers.get('cache-control'), 'max-age=2592000, stale-while-revalidate=86400');
        assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
        const img = await fetchBytes(guest.files.getURL(seed, seed.img));
        assert.deepEqual(img.bytes, PNG);
        assert.equal(img.headers.get('content-type'), 'image/png');
        assert.equal(img.headers.get('x-content-type-options'), 'nosniff');
        assert.match(img.headers.get('content-disposition'), /^inline; /);
        const dl = await fetchBytes(guest.files.getURL(seed, seed.img, { download: true }));
        assert.match(dl.headers.get('content-disposition'), /^attachment; /);
    });

    test('by collection name, Range, 416, If-Modified-Since', async () => {
        const url = `${srv.url}/api/files/docs/${seed.id}/${seed.one}`;
        const part = await fetchBytes(url, { Range: 'bytes=6-9' });
        assert.equal(part.status, 206);
        assert.deepEqual(part.bytes, TEXT.subarray(6, 10));
        assert.equal(part.headers.get('content-range'), `bytes 6-9/${TEXT.length}`);
        assert.equal(part.headers.get('x-content-type-options'), 'nosniff');
        const bad = await fetchBytes(url, { Range: `bytes=${TEXT.length}-` });
        assert.equal(bad.status, 416);
        const full = await fetchBytes(url);
        const lm = full.headers.get('last-modified');
        assert.ok(lm);
        const again = await fetchBytes(url, { 'If-Modified-Since': lm });
        assert.equal(again.status, 304);
        assert.equal(again.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(again.bytes.length, 0);
    });

    test('a large file goes out by chunks: whole, ranges, HEAD, pipelined, cut off', async () => {
        // Over the 1 MiB inline limit and not a multiple of the 64 KiB chunk.
        const BIG = randomBytes(6 * 1024 * 1024 + 17);
        const fd = new FormData();
        fd.append('title', 'big');
        fd.append('big', blob(BIG), 'movie.bin');
        const rec = await guest.collection('docs').create(fd);
        const path = `/api/files/docs/${rec.id}/${rec.big}`;
        const url = `${srv.url}${path}`;
        const whole = await fetchBytes(url);
        assert.equal(whole.status, 200);
        assert.equal(whole.headers.get('content-length'), String(BIG.length));
        assert.equal(whole.headers.get('x-content-type-options'), 'nosniff', 'a streamed body too');
        assert.ok(whole.bytes.equals(BIG), 'whole body');
        const mid = await fetchBytes(url, { Range: 'bytes=262000-2000000' });
        assert.equal(mid.status, 206);
        assert.equal(mid.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(mid.headers.get('content-range'), `bytes 262000-2000000/${BIG.length}`);
        assert.ok(mid.bytes.equals(BIG.subarray(262000, 2000001)), 'range body');
        const tail = await fetchBytes(url, { Range: 'bytes=-1048577' });
        assert.ok(tail.bytes.equals(BIG.subarray(BIG.length - 1048577)), 'suffix body');
        const head = await fetch(url, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(BIG.length));
        assert.equal(head.headers.get('x-content-type-options'), 'nosniff');

        // Two requests in one write: the big body whole, then the next answer.
        const { port } = new URL(srv.url);
        const raw = await new Promise((resolve, reject) => {
            const sock = net.connect(Number(port), '127.0.0.1');
            const parts = [];
            sock.on('data', (d) => parts.push(d));
            sock.on('error', reject);
            sock.on('end', () => resolve(Buffer.concat(parts)));
            sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n` +
                'GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        });
        const headEnd = raw.indexOf('\r\n\r\n');
        assert.match(raw.subarray(0, headEnd).toString(), /^HTTP\/1\.1 200 OK\r\n/);
        const bodyStart = headEnd + 4;
        assert.ok(raw.subarray(bodyStart, bodyStart + BIG.length).equals(BIG), 'pipelined big body');
        const second = raw.subarray(bodyStart + BIG.length).toString();
        assert.match(second, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(second.endsWith('"API is healthy.","code":200,"data":{}}'), second.slice(-80));

        // A reader that leaves mid-body: the server drops the rest and goes on.
        for (let i = 0; i < 5; i++) {
            await new Promise((resolve) => {
                const sock = net.connect(Number(port), '127.0.0.1');
                let got = 0;
                sock.on('data', (d) => {
                    got += d.length;
                    if (got > 300000) sock.destroy();
                });
                sock.on('close', resolve);
                sock.on('error', resolve);
                sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
            });
        }
        const after = await fetchBytes(url, { Range: 'bytes=0-99' });
        assert.ok(after.bytes.equals(BIG.subarray(0, 100)));
        const health = await rawFetch(`${srv.url}/api/health`);
        assert.equal(health.status, 200);
    });

    test('a large file that shrinks mid-download ends the connection short, not padded', async () => {
        const BIG = randomBytes(14 * 1024 * 1024);
        const fd = new FormData();
        fd.append('big', blob(BIG), 'shrinks.bin');
        const rec = await guest.collection('docs').create(fd);
        const { port } = new URL(srv.url);
        const got = await new Promise((resolve, reject) => {
            const sock = net.connect(Number(port), '127.0.0.1');
            const parts = [];
            let truncated = false;
            sock.on('data', (d) => {
                parts.push(d);
                if (!truncated) {
                    // Stop reading: the server fills the socket and waits; then
                    // the stored file loses its tail under the next chunk read.
                    truncated = true;
                    sock.pause();
                    setTimeout(() => {
                        truncateSync(stored(rec, rec.big), 1000);
                        sock.resume();
                    }, 300 * SLOW);
                }
            });
            sock.on('error', reject);
            sock.on('close', () => resolve(Buffer.concat(parts)));
            sock.write(`GET /api/files/docs/${rec.id}/${rec.big} HTTP/1.1\r\nHost: x\r\n\r\n`);
        });
        const headEnd = got.indexOf('\r\n\r\n');
        const head = got.subarray(0, headEnd).toString();
        assert.match(head, new RegExp(`Content-Length: ${BIG.length}\\r\\n`));
        const body = got.subarray(headEnd + 4);
        assert.ok(body.length < BIG.length, `body ${body.length} of ${BIG.length}: the close marks it short`);
        assert.ok(body.equals(BIG.subarray(0, body.length)), 'what was sent is the file as it was');
        assert.equal((await rawFetch(`${srv.url}/api/health`)).status, 200);
    });

    test('thumbnails: 100x100, listed sizes, ratio, unlisted -> original', async () => {
        const size = async (thumb) => imageSize((await fetchBytes(guest.files.getURL(seed, seed.img, { thumb }))).bytes);
        assert.deepEqual(await size('100x100'), [100, 100]);
        assert.deepEqual(await size('50x20'), [50, 20]);
        assert.deepEqual(await size('0x40'), [80, 40]);
        assert.deepEqual(await size('30x30'), [200, 100]);
        assert.ok(existsSync(stored(seed, `thumbs_${seed.img}/100x100_${seed.img}`)));
        const txt = await fetchBytes(guest.files.getURL(seed, seed.one, { thumb: '100x100' }));
        assert.deepEqual(txt.bytes, TEXT);
    });

    test('a thumbnail whose free side would pass 9999 px is not made: the original is served', async () => {
        const WIDE = png(20000, 1); // 0x40 of it would be 800000 x 40
        const fd = new FormData();
        fd.append('img', blob(WIDE, 'image/png'), 'wide.png');
        const r = await guest.collection('docs').create(fd);
        const t = await fetchBytes(guest.files.getURL(r, r.img, { thumb: '0x40' }));
        assert.equal(t.status, 200);
        assert.deepEqual(imageSize(t.bytes), [20000, 1]);
        assert.ok(t.bytes.equals(WIDE));
        const ok = await fetchBytes(guest.files.getURL(r, r.img, { thumb: '50x20' }));
        assert.deepEqual(imageSize(ok.bytes), [50, 20], 'a bounded thumbnail of it is made');
    });

    test('404s: unknown record, unknown name, traversal', async () => {
        const base = `${srv.url}/api/files/${seed.collectionId}`;
        for (const path of [`${base}/nope00000000000/${seed.one}`, `${base}/${seed.id}/x_1234567890.txt`,
            `${base}/${seed.id}/..%2F..%2Fdata.db`, `${srv.url}/api/files/nope/${seed.id}/${seed.one}`]) {
            const r = await rawFetch(path);
            assert.equal(r.status, 404, path);
            assert.deepEqual(r.body, { status: 404, message: "The requested resource wasn't found.", data: {} });
        }
    });

    test('bad uploads: wrong mime, too big, too many, unknown name', async () => {
        let fd = new FormData();
        fd.append('img', blob(TEXT, 'image/png'), 'fake.png');
        let body = await expectError(guest.collection('docs').create(fd), 400, 'mime');
        assertFieldCode(body, 'img', 'validation_invalid_mime_type');
        fd = new FormData();
        fd.append('many', blob(Buffer.alloc(50001, 1)), 'big.bin');
        body = await expectError(guest.collection('docs').create(fd), 400, 'size');
        assertFieldCode(body, 'many', 'validation_file_size_limit');
        fd = new FormData();
        for (let i = 0; i < 4; i++) fd.append('many', blob(TEXT), `f${i}.txt`);
        body = await expectError(guest.collection('docs').create(fd), 400, 'count');
        assertFieldCode(body, 'many', 'validation_too_many_files');
        body = await expectError(guest.collection('docs').update(seed.id, { one: 'nope_1234567890.txt' }), 400, 'name');
        assertFieldCode(body, 'one', 'validation_invalid_file');
    });

    test('update: append, prepend, delete, replace, and removed files go away', async () => {
        const fd = new FormData();
        fd.append('one', blob(TEXT), 'aaa.txt');
        fd.append('many', blob(TEXT), 'bbb.txt');
        let r = await guest.collection('docs').create(fd);
        const first = r.many[0];
        const oldOne = r.one;

        const add = new FormData();
        add.append('many+', blob(TEXT), 'ccc.txt');
        r = await guest.collection('docs').update(r.id, add);
        assert.equal(r.many.length, 2);
        assert.equal(r.many[0], first);
        assert.match(r.many[1], /^ccc_/);

        const pre = new FormData();
        pre.append('+many', blob(TEXT), 'ddd.txt');
        r = await guest.collection('docs').update(r.id, pre);
        assert.match(r.many[0], /^ddd_/);
        assert.equal(r.many.length, 3);

        r = await guest.collection('docs').update(r.id, { 'many-': first });
        assert.ok(!r.many.includes(first));
        assert.ok(await waitGone(stored(r, first)), 'deleted file still stored');

        const rep = new FormData();
        rep.append('one', blob(TEXT), 'eee.txt');
        r = await guest.collection('docs').update(r.id, rep);
        assert.match(r.one, /^eee_/);
        assert.ok(await waitGone(stored(r, oldOne)), 'replaced file still stored');

        const dl = await fetchBytes(guest.files.getURL(r, oldOne));
        assert.equal(dl.status, 404);

        r = await guest.collection('docs').update(r.id, { one: '', many: [] });
        assert.equal(r.one, '');
        assert.deepEqual(r.many, []);
        const left = await (async () => {
            const end = Date.now() + 3000 * SLOW;
            for (;;) {
                const names = readdirSync(stored(r));
                if (names.length === 0 || Date.now() > end) return names;
                await new Promise((res) => setTimeout(res, 50));
            }
        })();
        assert.deepEqual(left, []);

        await guest.collection('docs').delete(r.id);
        assert.ok(await waitGone(stored(r)), 'record directory still there after delete');
    });

    test('protected files need a file token of a record passing viewRule', async () => {
        const fd = new FormData();
        fd.append('owner', alice.record.id);
        fd.append('doc', blob(Buffer.from('top secret')), 'secret.txt');
        const rec = await alice.pb.collection('vault').create(fd);

        await expectError(guest.files.getToken(), 401, 'guest token');

        const plain = await fetchBytes(alice.pb.files.getURL(rec, rec.doc));
        assert.equal(plain.status, 404, 'no token');
        const withHeader = await fetchBytes(alice.pb.files.getURL(rec, rec.doc),
            { Authorization: alice.pb.authStore.token });
        assert.equal(withHeader.status, 404, 'Authorization header is ignored');

        const token = await alice.pb.files.getToken();
        const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
        assert.equal(payload.type, 'file');
        const ok = await fetchBytes(alice.pb.files.getURL(rec, rec.doc, { token }));
        assert.equal(ok.status, 200);
        assert.equal(ok.bytes.toString(), 'top secret');

        const bobToken = await bob.pb.files.getToken();
        assert.equal((await fetchBytes(bob.pb.files.getURL(rec, rec.doc, { token: bobToken }))).status, 404);
        const authAsFile = await fetchBytes(alice.pb.files.getURL(rec, rec.doc, { token: alice.pb.authStore.token }));
        assert.equal(authAsFile.status, 404, 'auth token is not a file token');
        const suToken = await su.files.getToken();
        assert.equal((await fetchBytes(su.files.getURL(rec, rec.doc, { token: suToken }))).status, 200);
    });

    test('deleting a record removes its files', async () => {
        const fd = new FormData();
        fd.append('one', blob(TEXT), 'gone.txt');
        const r = await guest.collection('docs').create(fd);
        assert.ok(existsSync(stored(r, r.one)));
        await guest.collection('docs').delete(r.id);
        assert.ok(await waitGone(stored(r)));
        assert.equal((await fetchBytes(guest.files.getURL(r, r.one))).status, 404);
    });

    test('removing a file field from the collection removes its files', async () => {
        const col = await su.collections.create({
            name: 'dropme',
            listRule: '', viewRule: '', createRule: '',
            fields: [
                { name: 'keep', type: 'file', maxSelect: 1 },
                { name: 'att', type: 'file', maxSelect: 2 },
                { name: 'solo', type: 'file', maxSelect: 1 },
            ],
        });
        const recs = [];
        for (let i = 0; i < 3; i++) {
            const fd = new FormData();
            fd.append('keep', blob(TEXT), `keep${i}.txt`);
            fd.append('att', blob(TEXT), `a${i}.txt`);
            fd.append('att', blob(PNG, 'image/png'), `b${i}.png`);
            fd.append('solo', blob(TEXT), `s${i}.txt`);
            recs.push(await guest.collection('dropme').create(fd));
        }
        // A thumbnail of a dropped file goes too.
        const th = await fetchBytes(guest.files.getURL(recs[0], recs[0].att[1], { thumb: '100x100' }));
        assert.equal(th.status, 200);
        const thumbs = stored(recs[0], `thumbs_${recs[0].att[1]}`);
        assert.ok(existsSync(thumbs));
        const now = await su.collections.getOne(col.id);
        await su.collections.update(col.id, {
            fields: now.fields.filter((f) => f.name !== 'att' && f.name !== 'solo'),
        });
        for (const r of recs) {
            for (const n of [...r.att, r.solo]) assert.ok(await waitGone(stored(r, n)), n);
            assert.ok(existsSync(stored(r, r.keep)), 'the kept field keeps its file');
            const got = await fetchBytes(guest.files.getURL(r, r.keep));
            assert.deepEqual(got.bytes, TEXT);
        }
        assert.ok(await waitGone(thumbs), 'thumbnails');
        // A failed update (bad rule) removes nothing.
        const r = recs[0];
        await expectError(su.collections.update(col.id, { fields: [], listRule: 'nosuch = 1' }), 400);
        assert.ok(existsSync(stored(r, r.keep)));
    });

    test('an import that drops a file field or a collection removes their files', async () => {
        const keep = await su.collections.create({
            name: 'imp_keep', listRule: '', viewRule: '', createRule: '',
            fields: [{ name: 'a', type: 'file', maxSelect: 1 }, { name: 'b', type: 'file', maxSelect: 1 }],
        });
        await su.collections.create({
            name: 'imp_gone', listRule: '', viewRule: '', createRule: '',
            fields: [{ name: 'f', type: 'file', maxSelect: 1 }],
        });
        const fd = new FormData();
        fd.append('a', blob(TEXT), 'a.txt');
        fd.append('b', blob(TEXT), 'b.txt');
        const k = await guest.collection('imp_keep').create(fd);
        const fd2 = new FormData();
        fd2.append('f', blob(TEXT), 'f.txt');
        const g = await guest.collection('imp_gone').create(fd2);
        assert.ok(existsSync(stored(k, k.b)) && existsSync(stored(g, g.f)));
        const all = await su.collections.getFullList();
        const list = all.filter((c) => c.name !== 'imp_gone').map((c) => (c.id === keep.id
            ? { ...c, fields: c.fields.filter((f) => f.name !== 'b') } : c));
        assert.equal(await su.collections.import(list, true), true);
        assert.ok(await waitGone(stored(k, k.b)), 'the dropped field\'s file');
        assert.ok(await waitGone(join(srv.dir, 'storage', g.collectionId)), 'the deleted collection\'s storage');
        assert.ok(existsSync(stored(k, k.a)), 'the kept field keeps its file');
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly', async () => {
        await srv.stop();
    });
});

// --storage-dir: uploads go to the named directory (made when missing), not
// DIR/storage; a path that cannot be such a directory stops the server at
// start (exit 1, a sentence naming the flag) before it listens.
describe('--storage-dir', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tarmac-storage-dir-'));
    after(() => rmSync(tmp, { recursive: true, force: true }));

    /** serve with --storage-dir=path: its exit status and stderr (a server that starts is killed after 20 s). */
    function serveWith(path) {
        const dir = mkdtempSync(join(tmp, 'data-'));
        const r = spawnSync(BIN, ['serve', '--http=127.0.0.1:0', `--dir=${dir}`, ...dbFlags(dir), `--storage-dir=${path}`],
            { encoding: 'utf8', timeout: 20000 * SLOW });
        return { status: r.status, stderr: r.stderr };
    }

    test('uploads are stored in the directory, made when missing', async () => {
        const storage = join(tmp, 'made-here');
        const srv = await startServer({ flags: [`--storage-dir=${storage}`], cluster: false });
        try {
            const su = await superuserClient(srv.url);
            const coll = await su.collections.create({
                name: 'sd_files', createRule: '', viewRule: '', fields: [{ name: 'f', type: 'file', maxSelect: 1 }],
            });
            const fd = new FormData();
            fd.append('f', new Blob([Buffer.from('hello')], { type: 'text/plain' }), 'hello.txt');
            const rec = await client(srv.url).collection('sd_files').create(fd);
            assert.ok(existsSync(join(storage, coll.id, rec.id, rec.f)), 'the file is in --storage-dir');
            assert.ok(!existsSync(join(srv.dir, 'storage', coll.id)), 'nothing under DIR/storage');
            const got = await rawFetch(client(srv.url).files.getURL(rec, rec.f));
            assert.equal(got.status, 200);
            assert.equal(got.text, 'hello');
        } finally {
            await srv.stop();
        }
    });

    test('a regular file, a missing parent or a directory it cannot write: exit 1 naming the flag', () => {
        const file = join(tmp, 'a-file');
        writeFileSync(file, 'x');
        const cases = [file, join(tmp, 'no-such-parent', 'storage')];
        if (process.getuid?.() !== 0) { // root writes anywhere
            const ro = join(tmp, 'read-only');
            mkdirSync(ro, { mode: 0o500 });
            cases.push(ro);
        }
        for (const path of cases) {
            const r = serveWith(path);
            assert.equal(r.status, 1, `${path}: ${r.stderr}`);
            assert.match(r.stderr, /--storage-dir ".*" is not a directory this process can write/, path);
        }
        assert.ok(!existsSync(join(tmp, 'no-such-parent')), 'no parent made');
    });
});
