// Vector fields and nearest-neighbour search (issue #18, item 2) through the
// JS SDK, on either engine (TARMAC_TEST_ENGINE): the `vector` field type
// (dimensions 1..4096, a JSON array of float32 numbers in and out, null
// when empty, per-field validation errors); `nearest`/`to`/`k`/`metric` on
// a list, exact against a brute force computed here, combined with the
// list rule, filter, expand, fields and paging (a record the caller may not
// list is never returned nor counted), `to=@record:ID`, every bad option a
// 400 naming it; hybrid `search` + `nearest` fused by reciprocal rank;
// exact lists from the field's copy in memory (current after each write);
// the index saved under the data directory and loaded at a restart,
// reconciled with rows changed while the server was down.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, CAN_COPY_TO_PG, dbCopyToPostgres } from './lib/server.mjs';
import { dbQuery, IS_PG } from './lib/db.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, until,
} from './lib/util.mjs';

/** float32 rounding, as the server stores the values. */
const f32 = (x) => Math.fround(x);
/** A seeded generator (mulberry32), so a failure replays. */
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a) => Math.sqrt(dot(a, a));
const DIST = {
    cosine: (a, b) => (norm(a) === 0 || norm(b) === 0 ? 1 : 1 - dot(a, b) / (norm(a) * norm(b))),
    dot: (a, b) => -dot(a, b),
    l2: (a, b) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0)),
};

describe('vector fields', () => {
    let srv;
    let su;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
    });
    after(async () => {
        await srv?.stop();
        assertNoLeaks();
    });

    test('dimensions must be 1..4096', async () => {
        for (const dimensions of [0, -1, 4097, undefined]) {
            const body = await expectError(su.collections.create({
                name: 'bad_dims', fields: [{ name: 'v', type: 'vector', dimensions }],
            }), 400, `dimensions ${dimensions}`);
            assert.equal(body.data.fields?.[1]?.dimensions?.code, 'validation_invalid_dimensions',
                JSON.stringify(body));
        }
        const body = await expectError(su.collections.create({
            name: 'bad_dims', fields: [{ name: 'v', type: 'vector', dimensions: 'three' }],
        }), 400);
        assert.ok(body.data.fields?.[1]?.dimensions, JSON.stringify(body));
        const c = await su.collections.create({
            name: 'dims_ok', fields: [{ name: 'v', type: 'vector', dimensions: 4096 }],
        });
        assert.equal(c.fields.find((f) => f.name === 'v').dimensions, 4096);
        await su.collections.delete('dims_ok');
    });

    test('values in and out, null when empty, validated per field', async () => {
        await su.collections.create({
            name: 'vecs',
            listRule: '', viewRule: '', createRule: '', updateRule: '',
            fields: [
                { name: 'title', type: 'text' },
                { name: 'v', type: 'vector', dimensions: 3 },
                { name: 'w', type: 'vector', dimensions: 2, required: true },
            ],
        });
        const pb = client(srv.url);
        const r = await pb.collection('vecs').create({ title: 'a', v: [0.1, -2, 3.5], w: [1, 2] });
        assert.deepEqual(r.v, [0.1, -2, 3.5]);
        assert.deepEqual(r.w, [1, 2]);
        const got = await pb.collection('vecs').getOne(r.id);
        assert.deepEqual(got.v, [0.1, -2, 3.5]);
        // float32: what the server keeps is the nearest float
        const r2 = await pb.collection('vecs').create({ v: [1 / 3, 1e-8, 123456789], w: [0, 0] });
        assert.deepEqual(r2.v.map(f32), [1 / 3, 1e-8, 123456789].map(f32));
        assert.deepEqual((await pb.collection('vecs').getOne(r2.id)).v, r2.v);
        // empty: null
        const r3 = await pb.collection('vecs').create({ title: 'no v', w: [5, 6] });
        assert.equal(r3.v, null);
        const r4 = await pb.collection('vecs').update(r.id, { v: null });
        assert.equal(r4.v, null);
        const r5 = await pb.collection('vecs').update(r.id, { v: '[4, 5, 6]' }); // a form's text
        assert.deepEqual(r5.v, [4, 5, 6]);
        // bad values: a 400 naming the field
        for (const v of [[1, 2], [1, 2, 3, 4], [1, 'x', 3], 'nope', 7, { a: 1 }, [1, 2, 1e39]]) {
            const body = await expectError(pb.collection('vecs').create({ v, w: [1, 1] }), 400,
                JSON.stringify(v));
            assertFieldCode(body, 'v', 'validation_invalid_vector');
        }
        const body = await expectError(pb.collection('vecs').create({ v: [1, 2, 3] }), 400);
        assertFieldCode(body, 'w', 'validation_required');
        // a multipart form
        const fd = new FormData();
        fd.append('v', '[7,8,9]');
        fd.append('w', '[1,1]');
        const r6 = await pb.collection('vecs').create(fd);
        assert.deepEqual(r6.v, [7, 8, 9]);
        // not a filter operand
        const fb = await expectError(pb.collection('vecs').getList(1, 10, { filter: 'v != null' }), 400);
        assert.match(fb.message, /vector/i);
        // other dimensions: the stored vectors go (another model's), the record saves again
        const c = await su.collections.getOne('vecs');
        await su.collections.update('vecs', {
            fields: c.fields.map((f) => (f.name === 'v' ? { ...f, dimensions: 4 } : f)),
        });
        const after = await pb.collection('vecs').getOne(r6.id);
        assert.equal(after.v, null);
        assert.deepEqual(after.w, [1, 1], 'the other vector field is kept');
        assert.equal((await pb.collection('vecs').update(r6.id, { title: 'saved' })).title, 'saved');
    });
});

describe('nearest', () => {
    let srv;
    let su;
    let alice;
    let guest;
    const DIMS = 8;
    const docs = []; // { id, title, v, published, owner, group }
    let cats;

    /** The brute-force answer: ids of the k nearest among rows, as the server ranks them. */
    const brute = (rows, to, k, metric = 'cosine') => rows
        .map((d, seq) => ({ id: d.id, d: DIST[metric](to, d.v), seq }))
        .sort((a, b) => a.d - b.d || a.seq - b.seq)
        .slice(0, k);
    const near = (pb, to, opts = {}) => pb.collection('docs').getList(opts.page || 1, opts.perPage || 50, {
        nearest: 'emb', to: typeof to === 'string' ? to : JSON.stringify(to), ...opts,
    });

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        cats = await su.collections.create({
            name: 'cats', listRule: '', viewRule: '', fields: [{ name: 'label', type: 'text' }],
        });
        const cat = await su.collection('cats').create({ label: 'general' });
        await su.collections.create({
            name: 'docs',
            listRule: "published = true || (owner != '' && owner = @request.auth.id)",
            viewRule: "published = true || (owner != '' && owner = @request.auth.id)",
            fields: [
                { name: 'title', type: 'text' },
                { name: 'body', type: 'text' },
                { name: 'emb', type: 'vector', dimensions: DIMS },
                { name: 'published', type: 'bool' },
                { name: 'group', type: 'number' },
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'cat', type: 'relation', collectionId: cats.id, maxSelect: 1 },
            ],
            search: { fields: [{ name: 'title', weight: 2 }, { name: 'body', weight: 1 }] },
        });
        const rand = rng(18);
        // three clusters, so neighbours are clear; a fifth of the records hidden
        const centres = [0, 1, 2].map(() => Array.from({ length: DIMS }, () => rand() * 2 - 1));
        const words = ['apple', 'banana', 'cherry', 'durian', 'elder'];
        for (let i = 0; i < 60; i++) {
            const c = centres[i % 3];
            const v = c.map((x) => f32(x + (rand() - 0.5) * 0.4));
            const published = i % 5 !== 0;
            const rec = await su.collection('docs').create({
                title: `doc ${i} ${words[i % 5]}`, body: `cluster ${i % 3}`, emb: v, published,
                group: i % 4, owner: i % 10 === 0 ? alice.record.id : '', cat: cat.id,
            });
            docs.push({ id: rec.id, title: rec.title, v, published, group: i % 4, owner: rec.owner });
        }
        // a record without a vector is never a neighbour
        await su.collection('docs').create({ title: 'no vector apple', published: true });
    });
    after(async () => {
        await srv?.stop();
        assertNoLeaks();
    });

    test('the k nearest, exact, each with its distance, for every metric', async () => {
        const visible = docs.filter((d) => d.published);
        const rand = rng(7);
        for (const metric of ['cosine', 'dot', 'l2']) {
            for (let t = 0; t < 5; t++) {
                const to = Array.from({ length: DIMS }, () => f32(rand() * 2 - 1));
                const k = 1 + Math.floor(rand() * 15);
                const want = brute(visible, to, k, metric);
                const got = await near(guest, to, { k, metric });
                assert.deepEqual(got.items.map((r) => r.id), want.map((w) => w.id), `${metric} k=${k}`);
                assert.equal(got.totalItems, k);
                got.items.forEach((r, i) => {
                    assert.ok(Math.abs(r['@distance'] - want[i].d) < 1e-4 * Math.max(1, Math.abs(want[i].d)),
                        `${metric}: ${r['@distance']} vs ${want[i].d}`);
                });
            }
        }
        // the default k is 10, the default metric cosine
        const to = docs[4].v;
        const got = await near(guest, to);
        assert.deepEqual(got.items.map((r) => r.id), brute(visible, to, 10).map((w) => w.id));
        // the same vector as base64url of its float32 bytes (little-endian)
        const b64 = 'b64:' + Buffer.from(new Float32Array(to).buffer).toString('base64url');
        const got64 = await near(guest, b64);
        assert.deepEqual(got64.items, got.items);
    });

    test('the list rule and the filter choose the candidates; hidden records are never counted', async () => {
        const to = docs[0].v; // a hidden record's own vector
        const guestGot = await near(guest, to, { k: 100 });
        const visible = docs.filter((d) => d.published);
        assert.equal(guestGot.totalItems, visible.length);
        assert.ok(!guestGot.items.some((r) => !r.published));
        assert.deepEqual(guestGot.items.map((r) => r.id), brute(visible, to, 100).map((w) => w.id));
        // alice also sees her own hidden ones
        const pbA = client(srv.url);
        await pbA.collection('users').authWithPassword(alice.email, alice.password);
        const mine = docs.filter((d) => d.published || d.owner === alice.record.id);
        const aGot = await near(pbA, to, { k: 100 });
        assert.equal(aGot.totalItems, mine.length);
        assert.equal(aGot.items[0].id, docs[0].id);
        assert.equal(aGot.items[0]['@distance'], 0);
        // the filter
        const f = await near(guest, to, { k: 7, filter: 'group = 2' });
        assert.deepEqual(f.items.map((r) => r.id),
            brute(visible.filter((d) => d.group === 2), to, 7).map((w) => w.id));
        // skipTotal
        const s = await near(guest, to, { k: 7, skipTotal: true });
        assert.equal(s.totalItems, -1);
        assert.equal(s.items.length, 7);
    });

    test('paging within the k, expand and fields', async () => {
        const to = docs[7].v;
        const all = await near(guest, to, { k: 9 });
        const p1 = await near(guest, to, { k: 9, perPage: 4, page: 1 });
        const p3 = await near(guest, to, { k: 9, perPage: 4, page: 3 });
        const p4 = await near(guest, to, { k: 9, perPage: 4, page: 4 });
        assert.deepEqual(p1.items.map((r) => r.id), all.items.slice(0, 4).map((r) => r.id));
        assert.deepEqual(p3.items.map((r) => r.id), all.items.slice(8).map((r) => r.id));
        assert.equal(p1.totalPages, 3);
        assert.equal(p4.items.length, 0);
        const ex = await near(guest, to, { k: 3, expand: 'cat', fields: 'id,title,expand.cat.label,@distance' });
        for (const r of ex.items) {
            assert.deepEqual(Object.keys(r).sort(), ['@distance', 'expand', 'id', 'title']);
            assert.equal(r.expand.cat.label, 'general');
        }
    });

    test('to=@record:ID compares with a record the caller may view', async () => {
        const ref = docs[4];
        const got = await near(guest, `@record:${ref.id}`, { k: 5 });
        const visible = docs.filter((d) => d.published);
        assert.deepEqual(got.items.map((r) => r.id), brute(visible, ref.v, 5).map((w) => w.id));
        assert.equal(got.items[0].id, ref.id);
        // a hidden record, a missing one and one without a vector: the same 400
        const hidden = docs.find((d) => !d.published);
        for (const id of [hidden.id, 'nosuchrecord123']) {
            const body = await expectError(near(guest, `@record:${id}`), 400);
            assertFieldCode(body, 'to', 'validation_invalid_value');
        }
        const pbA = client(srv.url);
        await pbA.collection('users').authWithPassword(alice.email, alice.password);
        const own = docs.find((d) => !d.published && d.owner === alice.record.id);
        const ownGot = await near(pbA, `@record:${own.id}`, { k: 1 });
        assert.equal(ownGot.items[0].id, own.id);
    });

    test('every bad option is a 400 naming it', async () => {
        const to = JSON.stringify(docs[0].v);
        const cases = [
            [{ nearest: 'nope', to }, 'nearest'],
            [{ nearest: 'title', to }, 'nearest'],
            [{ nearest: 'emb' }, 'to'],
            [{ nearest: 'emb', to: '[1,2]' }, 'to'],
            [{ nearest: 'emb', to: '[1,2,3,4,5,6,7,"x"]' }, 'to'],
            [{ nearest: 'emb', to: '{"a":1}' }, 'to'],
            [{ nearest: 'emb', to: '[1,2,3,4,5,6,7,1e39]' }, 'to'],
            [{ nearest: 'emb', to: 'nonsense' }, 'to'],
            [{ nearest: 'emb', to: '@record:' }, 'to'],
            [{ nearest: 'emb', to: 'b64:AAAA' }, 'to'],
            [{ nearest: 'emb', to: 'b64:' + Buffer.from(new Float32Array(8).fill(NaN).buffer).toString('base64url') }, 'to'],
            [{ nearest: 'emb', to: 'b64:' + Buffer.from(new Float32Array(8).buffer).toString('base64') + '=' }, 'to'],
            [{ nearest: 'emb', to, k: '0' }, 'k'],
            [{ nearest: 'emb', to, k: '1001' }, 'k'],
            [{ nearest: 'emb', to, k: '3x' }, 'k'],
            [{ nearest: 'emb', to, k: '-2' }, 'k'],
            [{ nearest: 'emb', to, k: ' 5' }, 'k'],
            [{ nearest: 'emb', to, k: '99999999999999999999' }, 'k'],
            [{ nearest: 'emb', to: '@record:a b' }, 'to'],
            [{ nearest: 'emb', to, metric: 'manhattan' }, 'metric'],
            [{ nearest: 'emb', to, sort: '-created' }, 'sort'],
            [{ to }, 'to'],
            [{ k: '3' }, 'k'],
            [{ metric: 'l2' }, 'metric'],
            [{ exact: 'true' }, 'exact'],
            [{ nearest: 'emb', to, search: 'apple', searchSnippet: true }, 'searchSnippet'],
        ];
        for (const [q, name] of cases) {
            const body = await expectError(guest.collection('docs').getList(1, 10, q), 400, JSON.stringify(q));
            assert.ok(body.data?.[name], `${JSON.stringify(q)}: ${JSON.stringify(body)}`);
        }
        // a bad filter is the filter's 400
        await expectError(near(guest, docs[0].v, { filter: 'nope = 1' }), 400);
    });

    test('search and nearest together: fused by reciprocal rank', async () => {
        const to = docs[3].v; // cluster 0
        const k = 8;
        const got = await near(guest, to, { k, search: 'banana' });
        const visible = docs.filter((d) => d.published);
        // the expected fusion: text ranks among the visible banana docs
        // (relevance order from a plain search), vector ranks from brute force
        const text = await guest.collection('docs').getList(1, 1000, { search: 'banana', skipTotal: true });
        const vec = brute(visible, to, 1000);
        const score = new Map();
        text.items.forEach((r, i) => score.set(r.id, (score.get(r.id) || 0) + 1 / (60 + i + 1)));
        vec.forEach((w, i) => score.set(w.id, (score.get(w.id) || 0) + 1 / (60 + i + 1)));
        const vrank = new Map(vec.map((w, i) => [w.id, i]));
        const want = [...score.entries()].sort((a, b) => b[1] - a[1] ||
            (vrank.get(a[0]) ?? 1e9) - (vrank.get(b[0]) ?? 1e9)).slice(0, k);
        assert.deepEqual(got.items.map((r) => r.id), want.map((w) => w[0]));
        got.items.forEach((r, i) => assert.ok(Math.abs(r['@score'] - want[i][1]) < 1e-12));
        assert.equal(got.totalItems, k);
        // a banana doc near the query outranks both a far banana doc and a near non-banana one
        assert.ok(got.items[0].title.includes('banana'));
        // the record without a vector can be found by its words, its distance null
        const nv = await near(guest, to, { k: 1000, search: 'vector' });
        const item = nv.items.find((r) => r.title === 'no vector apple');
        assert.ok(item, 'the text-only match is in the fused list');
        assert.equal(item['@distance'], null);
        // hidden records stay out of both rankings
        assert.ok(!nv.items.some((r) => !r.published));
        // a search of no words is a plain nearest list
        const plain = await near(guest, to, { k: 5, search: '  ' });
        assert.deepEqual(plain.items.map((r) => r.id), brute(visible, to, 5).map((w) => w.id));
    });
});

describe('nearest through the approximate index', () => {
    let srv;
    let su;
    const DIMS = 16;
    const N = 2500; // past one batch of a PostgreSQL scan (2048 rows)
    const docs = [];
    let centres;

    before(async () => {
        // the index from 500 vectors on (10,000 by default)
        srv = await startServer({ flags: ['--vector-index-min-rows', '500'] });
        su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'big', listRule: 'hidden = false', viewRule: 'hidden = false',
            fields: [{ name: 'emb', type: 'vector', dimensions: DIMS }, { name: 'n', type: 'number' },
                { name: 'hidden', type: 'bool' }],
        });
        const rand = rng(1818);
        centres = Array.from({ length: 10 }, () => Array.from({ length: DIMS }, () => rand() * 2 - 1));
        for (let i = 0; i < N; i += 50) {
            const b = su.createBatch();
            for (let j = i; j < i + 50; j++) {
                const v = centres[j % 10].map((x) => f32(x + (rand() - 0.5) * 0.8));
                docs.push({ v, n: j, hidden: j % 17 === 0 });
                b.collection('big').create({ emb: v, n: j, hidden: j % 17 === 0 });
            }
            const res = await b.send();
            res.forEach((r, k) => { docs[i + k].id = r.body.id; });
        }
    });
    after(async () => {
        await srv?.stop();
        assertNoLeaks();
    });

    const near = (to, opts = {}) => client(srv.url).collection('big').getList(1, 50, {
        nearest: 'emb', to: JSON.stringify(to), skipTotal: true, ...opts,
    });
    const built = () => /msg="vector index built" table=big field=emb metric=cosine/.test(srv.stderr());

    test('recall@10 of the index against the exact scan', async () => {
        const rand = rng(99);
        const query = () => centres[Math.floor(rand() * 10)].map((x) => f32(x + (rand() - 0.5) * 0.8));
        // the first list starts the build (and is answered exactly meanwhile)
        const first = await near(query(), { k: 10 });
        assert.equal(first.items.length, 10);
        await until('the index', async () => built());
        let hits = 0;
        const Q = 40;
        for (let i = 0; i < Q; i++) {
            const q = query();
            const approx = await near(q, { k: 10 });
            const exact = await near(q, { k: 10, exact: true });
            const visible = docs.filter((d) => !d.hidden);
            assert.deepEqual(exact.items.map((r) => r.id),
                visible.map((d) => ({ id: d.id, d: DIST.cosine(q, d.v) }))
                    .sort((a, b) => a.d - b.d).slice(0, 10).map((x) => x.id));
            assert.equal(approx.items.length, 10);
            assert.ok(!approx.items.some((r) => r.hidden), 'a hidden record from the index');
            // each item's distance is its own, in order
            for (let j = 1; j < 10; j++) assert.ok(approx.items[j - 1]['@distance'] <= approx.items[j]['@distance']);
            const want = new Set(exact.items.map((r) => r.id));
            hits += approx.items.filter((r) => want.has(r.id)).length;
        }
        const recall = hits / (Q * 10);
        assert.ok(recall >= 0.9, `recall@10 ${recall}`);
    });

    test('the index follows creates, updates and deletes', async () => {
        await until('the index', async () => built());
        const far = Array.from({ length: DIMS }, (_, i) => (i % 2 ? 5 : -5));
        const r = await su.collection('big').create({ emb: far, n: -1 });
        await until('the new record found', async () =>
            (await near(far, { k: 1 })).items[0]?.id === r.id);
        const far2 = far.map((x) => -x);
        await su.collection('big').update(r.id, { emb: far2 });
        await until('the moved record found', async () =>
            (await near(far2, { k: 1 })).items[0]?.id === r.id);
        await su.collection('big').delete(r.id);
        const after1 = await near(far2, { k: 1 });
        assert.notEqual(after1.items[0]?.id, r.id);
        // a filter narrower than the candidates still gets its k (an exact scan)
        const f = await near(far2, { k: 5, filter: 'n >= 0 && n < 40' });
        assert.equal(f.items.length, 5);
        assert.ok(f.items.every((x) => x.n >= 0 && x.n < 40));
        // exact is a boolean
        const body = await expectError(near(far2, { exact: 'maybe' }), 400);
        assert.ok(body.data.exact, JSON.stringify(body));
    });
});

// exact=true scans the field's copy in memory (the index's contiguous
// vectors) when it can stand for the table, the table otherwise; either
// way the answer is the brute force's. The debug log says which served
// each list, so these tests see the copy used and cannot pass on the table
// scan alone: right after an update and a delete (the copy must be
// current), with a rule and a filter that exclude many of the nearest
// (more candidates taken), and after a truncate, which makes no record
// events (the candidates read back differ: the copy is distrusted, the
// table scanned, the copy rebuilt).
describe('exact nearest from the copy in memory', () => {
    let srv;
    let su;
    const DIMS = 16;
    const N = 600;
    let docs = [];
    let centres;
    const rand = rng(4242);

    const viewable = () => docs.filter((d) => !d.hidden);
    const brute = (rows, to, k, metric) => rows
        .map((d) => ({ id: d.id, d: DIST[metric](to, d.v) }))
        .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
        .slice(0, k).map((x) => x.id);
    const exact = (to, opts = {}) => client(srv.url).collection('ex').getList(1, 100, {
        nearest: 'emb', to: JSON.stringify(to), skipTotal: true, exact: true, ...opts,
    });
    const fromCopy = () => (srv.stderr().match(/msg="exact nearest from the vector copy" table=ex /g) || []).length;
    const built = (metric) => (srv.stderr().match(
        new RegExp(`msg="vector index built" table=ex field=emb metric=${metric}`, 'g')) || []).length;
    const query = () => centres[Math.floor(rand() * 8)].map((x) => f32(x + (rand() - 0.5) * 0.6));

    /** Creates n records in batches of 50 (every third hidden by the rule). */
    async function load(n) {
        for (let i = 0; i < n; i += 50) {
            const b = su.createBatch();
            const made = [];
            for (let j = i; j < Math.min(n, i + 50); j++) {
                const c = centres[j % 8];
                const d = { v: c.map((x) => f32(x + (rand() - 0.5) * 0.6)), n: j, hidden: j % 3 === 0 };
                made.push(d);
                b.collection('ex').create({ emb: d.v, n: d.n, hidden: d.hidden });
            }
            const res = await b.send();
            res.forEach((r, k) => { made[k].id = r.body.id; });
            docs.push(...made);
        }
    }

    before(async () => {
        // One instance even in the nginx run: with --redis the copy stands for nothing (exact lists scan the table).
        srv = await startServer({ cluster: false, flags: ['--log-level', 'debug'] });
        su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'ex', listRule: 'hidden = false', viewRule: 'hidden = false',
            fields: [{ name: 'emb', type: 'vector', dimensions: DIMS }, { name: 'n', type: 'number' },
                { name: 'hidden', type: 'bool' }],
        });
        centres = Array.from({ length: 8 }, () => Array.from({ length: DIMS }, () => rand() * 2 - 1));
        await load(N);
        // the first exact list of each metric starts its copy's build
        for (const metric of ['cosine', 'l2', 'dot']) {
            await exact(query(), { metric });
            await until(`the ${metric} copy`, async () => built(metric) >= 1);
        }
    });
    after(async () => {
        await srv?.stop();
        assertNoLeaks();
    });

    test('the brute force answer, from the copy, every metric, with a rule and a filter', async () => {
        const before1 = fromCopy();
        let lists = 0;
        for (const metric of ['cosine', 'l2', 'dot']) {
            for (let t = 0; t < 6; t++) {
                const q = query();
                const k = [1, 10, 37][t % 3];
                const got = await exact(q, { k, metric });
                assert.deepEqual(got.items.map((r) => r.id), brute(viewable(), q, k, metric), `${metric} k=${k}`);
                // a filter keeping 1 row in 20: the first candidates are too few, more are taken
                const f = await exact(q, { k, metric, filter: 'n < 30' });
                assert.deepEqual(f.items.map((r) => r.id),
                    brute(viewable().filter((d) => d.n < 30), q, k, metric), `${metric} k=${k} filtered`);
                assert.ok(f.items.every((r) => r.n < 30 && !r.hidden));
                lists += 2;
            }
        }
        assert.equal(fromCopy() - before1, lists, 'every list answered from the copy');
    });

    test('right after an update and a delete, the copy holds them', async () => {
        let served = 0;
        for (let t = 0; t < 8; t++) {
            const metric = ['cosine', 'l2'][t % 2];
            // a visible record moved onto a new point is its nearest at once
            const target = viewable()[Math.floor(rand() * viewable().length)];
            const to = Array.from({ length: DIMS }, () => f32(rand() * 6 - 3));
            await su.collection('ex').update(target.id, { emb: to });
            target.v = to;
            const c0 = fromCopy();
            const got = await exact(to, { k: 5, metric });
            assert.deepEqual(got.items.map((r) => r.id), brute(viewable(), to, 5, metric), `update ${t}`);
            assert.equal(got.items[0].id, target.id);
            // deleted, it is gone at once and the next takes its place
            await su.collection('ex').delete(target.id);
            docs = docs.filter((d) => d.id !== target.id);
            const after1 = await exact(to, { k: 5, metric });
            assert.deepEqual(after1.items.map((r) => r.id), brute(viewable(), to, 5, metric), `delete ${t}`);
            served += fromCopy() - c0;
        }
        // the lists waited for the thread to apply the changes (25 ms at most) rather than scan
        assert.ok(served >= 8, `only ${served} of 16 lists from the copy`);
    });

    test('a truncate (no events) is caught and the copy rebuilt', async () => {
        assert.equal(await su.collections.truncate('ex'), true);
        docs = [];
        const q = query();
        const none = await exact(q, { k: 5 });
        assert.equal(none.items.length, 0);
        await load(100);
        const got = await exact(q, { k: 7 });
        assert.deepEqual(got.items.map((r) => r.id), brute(viewable(), q, 7, 'cosine'));
        // the index thread checks the candidates the lists saw differ, and rebuilds
        await until('the copy distrusted', async () =>
            /msg="vector index differs from its table: rebuilt" table=ex field=emb/.test(srv.stderr()));
        // rebuilt from the table (and the new records' changes applied), the copy answers again
        await until('the rebuilt copy', async () => built('cosine') >= 2);
        await until('an answer from the copy', async () => {
            const c0 = fromCopy();
            const again = await exact(q, { k: 7 });
            assert.deepEqual(again.items.map((r) => r.id), brute(viewable(), q, 7, 'cosine'));
            return fromCopy() - c0 === 1;
        });
    });
});

// The index is saved to <dir>/vectors/<collection id>.<field id>.<dims>.<metric>.hnsw
// after its build and at the stop; a restart loads it instead of building,
// reconciled with the table: a record whose vector changed while the server
// was down, one deleted and one inserted behind its back (plain SQL, no
// events) are what the index then holds, so approximate lists equal the
// brute force. Deleting a collection deletes its file.
describe('the index saved and loaded across a restart', () => {
    test('loaded, reconciled with the rows changed meanwhile, nearest lists exact', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-vector-persist-'));
        const flags = ['--vector-index-min-rows', '100', '--log-level', 'debug'];
        const DIMS = 8;
        const N = 300;
        const rand = rng(777);
        const centres = Array.from({ length: 6 }, () => Array.from({ length: DIMS }, () => rand() * 2 - 1));
        const point = () => centres[Math.floor(rand() * 6)].map((x) => f32(x + (rand() - 0.5) * 0.5));
        let srv;
        try {
            srv = await startServer({ dir, superuser: true, cluster: false, flags });
            let su = await superuserClient(srv.url);
            const col = await su.collections.create({
                name: 'kept', listRule: '', viewRule: '',
                fields: [{ name: 'emb', type: 'vector', dimensions: DIMS }, { name: 'n', type: 'number' }],
            });
            const gone = await su.collections.create({
                name: 'gone', listRule: '', fields: [{ name: 'g', type: 'vector', dimensions: 3 }],
            });
            let docs = [];
            for (let i = 0; i < N; i += 50) {
                const b = su.createBatch();
                const made = [];
                for (let j = i; j < i + 50; j++) {
                    made.push({ v: point(), n: j });
                    b.collection('kept').create({ emb: made[made.length - 1].v, n: j });
                }
                const res = await b.send();
                res.forEach((r, k) => { made[k].id = r.body.id; });
                docs.push(...made);
            }
            await su.collection('gone').create({ g: [1, 2, 3] });
            const near = (url, to, opts = {}) => client(url).collection('kept').getList(1, 50, {
                nearest: 'emb', to: JSON.stringify(to), skipTotal: true, ...opts,
            });
            const brute = (to, k) => docs.map((d) => ({ id: d.id, d: DIST.cosine(to, d.v) }))
                .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1)).slice(0, k).map((x) => x.id);
            const fid = col.fields.find((f) => f.name === 'emb').id;
            const file = join(dir, 'vectors', `${col.id}.${fid}.${DIMS}.cosine.hnsw`);
            const goneFid = gone.fields.find((f) => f.name === 'g').id;
            const goneFile = join(dir, 'vectors', `${gone.id}.${goneFid}.3.cosine.hnsw`);

            // the first lists build both indexes from their tables, then save them
            await near(srv.url, point(), { k: 5 });
            await client(srv.url).collection('gone').getList(1, 5, { nearest: 'g', to: '[1,1,1]' });
            await until('both indexes built and saved', async () =>
                /msg="vector index built" table=kept field=emb metric=cosine vectors=300 from=table/.test(srv.stderr()) &&
                existsSync(file) && existsSync(goneFile));
            // deleting a collection deletes its file
            await su.collections.delete('gone');
            await until('the deleted collection\'s file gone', async () => !existsSync(goneFile));
            assert.ok(existsSync(file));
            // a change the running server applies, saved at the stop
            const moved = docs[10];
            moved.v = point();
            await su.collection('kept').update(moved.id, { emb: moved.v });
            await until('the change applied', async () =>
                (await near(srv.url, moved.v, { k: 1 })).items[0]?.id === moved.id);
            await srv.stop();
            assert.match(srv.stderr(), /msg="vector index saved" file=\S+\.hnsw bytes=\d+/);
            srv = null;
            assert.deepEqual(readdirSync(join(dir, 'vectors')).filter((f) => !f.endsWith('.log')), [
                `${col.id}.${fid}.${DIMS}.cosine.hnsw`]);

            // behind the server's back: one vector changed, one row deleted, one inserted
            const blob = (v) => Buffer.from(new Float32Array(v).buffer).toString('hex');
            const changed = docs[20];
            changed.v = point();
            const removed = docs[30];
            const added = { id: 'insertedbysql01', v: point(), n: 999 };
            const set = IS_PG ? 'decode(?, \'hex\')' : `X'${blob(changed.v)}'`;
            dbQuery(dir, `UPDATE kept SET emb = ${set} WHERE id = ?`,
                IS_PG ? [blob(changed.v), changed.id] : [changed.id], true);
            dbQuery(dir, 'DELETE FROM kept WHERE id = ?', [removed.id], true);
            const ins = IS_PG ? 'decode(?, \'hex\')' : `X'${blob(added.v)}'`;
            dbQuery(dir, `INSERT INTO kept (id, emb, n) VALUES (?, ${ins}, 999)`,
                IS_PG ? [added.id, blob(added.v)] : [added.id], true);
            docs = docs.filter((d) => d.id !== removed.id);
            docs.push(added);

            srv = await startServer({ dir, cluster: false, flags });
            su = await superuserClient(srv.url);
            // the first list loads the saved index, reconciled with the table
            await near(srv.url, point(), { k: 5 });
            await until('the index loaded', async () =>
                /msg="vector index built" table=kept field=emb metric=cosine vectors=300 from=file/.test(srv.stderr()));
            assert.match(srv.stderr(),
                /msg="vector index loaded" table=kept field=emb metric=cosine vectors=300 kept=298 added=1 changed=1 removed=1 /);
            assert.doesNotMatch(srv.stderr(), /from=table/, 'built from the table');
            // the rows changed behind its back are what it holds
            for (const d of [changed, added, moved]) {
                const got = await near(srv.url, d.v, { k: 1 });
                assert.equal(got.items[0].id, d.id);
            }
            const all = await near(srv.url, removed.v, { k: 50 });
            assert.ok(!all.items.some((r) => r.id === removed.id), 'a deleted row listed');
            // approximate lists (the index's candidates) equal the brute force and the exact lists
            for (let t = 0; t < 8; t++) {
                const q = point();
                const approx = await near(srv.url, q, { k: 10 });
                const exact = await near(srv.url, q, { k: 10, exact: true });
                assert.deepEqual(approx.items.map((r) => r.id), brute(q, 10), `query ${t}`);
                assert.deepEqual(exact.items.map((r) => r.id), brute(q, 10), `query ${t} exact`);
            }
            // the copy is current: exact lists are answered from it
            assert.match(srv.stderr(), /msg="exact nearest from the vector copy" table=kept /);
        } finally {
            await srv?.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('saved again after 1,000 changes: a crash then loses none of them', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-vector-resave-'));
        const flags = ['--vector-index-min-rows', '10'];
        let srv;
        try {
            srv = await startServer({ dir, superuser: true, cluster: false, flags });
            const su = await superuserClient(srv.url);
            await su.collections.create({
                name: 'often', listRule: '', fields: [{ name: 'e', type: 'vector', dimensions: 4 }],
            });
            const rand = rng(31);
            const vec = () => Array.from({ length: 4 }, () => f32(rand() * 2 - 1));
            const ids = [];
            // 1,100 records: 1,000 changes leave fewer tombstones than live nodes (no rebuild)
            for (let i = 0; i < 1100; i += 50) {
                const b = su.createBatch();
                for (let j = 0; j < 50; j++) b.collection('often').create({ e: vec() });
                (await b.send()).forEach((r) => ids.push(r.body.id));
            }
            const near = (to) => client(srv.url).collection('often').getList(1, 5, {
                nearest: 'e', to: JSON.stringify(to), skipTotal: true,
            });
            await near(vec());
            const saves = () => (srv.stderr().match(/msg="vector index saved"/g) || []).length;
            await until('built and saved', async () => saves() === 1);
            // saved again once 1,000 changes are applied (and the thread is idle)
            let last;
            for (let n = 0; n < 1000; n += 50) {
                const b = su.createBatch();
                for (let j = n; j < n + 50; j++) {
                    last = { id: ids[j], v: vec() };
                    b.collection('often').update(last.id, { e: last.v });
                }
                await b.send();
            }
            await until('saved after 1,000 changes', async () => saves() === 2);
            await srv.kill9(); // no save at the stop
            srv = await startServer({ dir, cluster: false, flags });
            assert.equal((await near(last.v)).items.length, 5);
            await until('the index loaded', async () => /msg="vector index loaded" table=often /.test(srv.stderr()));
            assert.match(srv.stderr(),
                /msg="vector index loaded" table=often field=e metric=cosine vectors=1100 kept=1100 added=0 changed=0 removed=0 /);
            await until('the last change found', async () => (await near(last.v)).items[0]?.id === last.id);
        } finally {
            await srv?.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('a file that does not decode is ignored: built from the table', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-vector-badfile-'));
        const flags = ['--vector-index-min-rows', '10'];
        let srv;
        try {
            srv = await startServer({ dir, superuser: true, cluster: false, flags });
            const su = await superuserClient(srv.url);
            const col = await su.collections.create({
                name: 'bad', listRule: '', fields: [{ name: 'e', type: 'vector', dimensions: 2 }],
            });
            const b = su.createBatch();
            for (let i = 0; i < 20; i++) b.collection('bad').create({ e: [i, 1] });
            await b.send();
            const near = () => client(srv.url).collection('bad').getList(1, 5, { nearest: 'e', to: '[1,0]' });
            await near();
            const fid = col.fields.find((f) => f.name === 'e').id;
            const file = join(dir, 'vectors', `${col.id}.${fid}.2.cosine.hnsw`);
            await until('the index saved', async () => existsSync(file));
            await srv.stop();
            srv = null;
            const { writeFileSync, readFileSync } = await import('node:fs');
            const bytes = readFileSync(file);
            writeFileSync(file, bytes.subarray(0, bytes.length - 3)); // truncated
            srv = await startServer({ dir, cluster: false, flags });
            const got = await near();
            assert.equal(got.items.length, 5);
            await until('built from the table', async () =>
                /msg="vector index built" table=bad field=e metric=cosine vectors=20 from=table/.test(srv.stderr()));
            assert.match(srv.stderr(), /msg="vector index file ignored: built from the table" table=bad .*why="does not decode"/);
        } finally {
            await srv?.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

// `tarmac db copy` from SQLite into PostgreSQL carries a vector column's
// bytes (BLOB into bytea): the copy answers the same nearest lists.
describe('vectors through tarmac db copy', { skip: !CAN_COPY_TO_PG }, () => {
    test('a copy into PostgreSQL holds the same vectors', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-vector-copy-'));
        const src = await startServer({ dir, superuser: true });
        let dst;
        try {
            const su = await superuserClient(src.url);
            await su.collections.create({
                name: 'pts', listRule: '', viewRule: '',
                fields: [{ name: 'v', type: 'vector', dimensions: 3 }, { name: 'label', type: 'text' }],
            });
            const vs = [[0.1, 0.2, 0.3], [1 / 3, -1, 2], [5, 5, -5], null];
            for (const [i, v] of vs.entries()) await su.collection('pts').create({ v, label: `p${i}` });
            const ask = async (url) => (await client(url).collection('pts').getList(1, 10, {
                nearest: 'v', to: '[1,1,1]', metric: 'l2',
            })).items.map((r) => [r.label, r.v, r['@distance']]);
            const all = async (url) => (await client(url).collection('pts').getFullList({ sort: 'label' }))
                .map((r) => [r.label, r.v]);
            const before = await ask(src.url);
            const rows = await all(src.url);
            await src.stop();
            const { url } = dbCopyToPostgres(src.dir, `vector_copy_${process.pid}`);
            dst = await startServer({ dir: src.dir, flags: [`--db=${url}`] });
            assert.deepEqual(await all(dst.url), rows);
            assert.deepEqual(await ask(dst.url), before);
            assert.equal(before.length, 3);
        } finally {
            await dst?.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
