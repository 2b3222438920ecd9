// The batch API (spec §9.1) through the JS SDK's createBatch(), which sends
// multipart with @jsonPayload, and raw JSON requests for the error shapes.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, makeUser, rawFetch,
} from './lib/util.mjs';

// A 1x1 PNG.
const PNG = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489' +
    '0000000d49444154789c6360f8cfc0f01f0005000201a5e2d1b70000000049454e44ae426082', 'hex');

describe('batch', () => {
    let srv;
    let su;
    let alice;
    let bob;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        await su.collections.create({
            name: 'notes',
            listRule: 'owner = @request.auth.id',
            viewRule: 'owner = @request.auth.id',
            createRule: 'owner = @request.auth.id',
            updateRule: 'owner = @request.auth.id',
            deleteRule: 'owner = @request.auth.id',
            fields: [
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'title', type: 'text', required: true },
                { name: 'n', type: 'number' },
                { name: 'pic', type: 'file', maxSelect: 1, maxSize: 100000 },
            ],
        }).then(async (c) => {
            // a self-relation needs the collection's id
            const fields = [...c.fields, { name: 'parent', type: 'relation', collectionId: c.id, maxSelect: 1 }];
            await su.collections.update(c.id, { fields });
        });
        await su.collections.create({
            name: 'tagged', listRule: '', viewRule: '', createRule: '@request.context = "batch"',
            fields: [{ name: 'label', type: 'text' }],
        });
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('creates, updates, upserts and deletes commit together', async () => {
        const keep = await alice.pb.collection('notes').create({ owner: alice.record.id, title: 'keep' });
        const gone = await alice.pb.collection('notes').create({ owner: alice.record.id, title: 'gone' });
        const b = alice.pb.createBatch();
        b.collection('notes').create({ id: 'batchparent0001', owner: alice.record.id, title: 'p' });
        // refers to the record created by the item before it, in the same transaction
        b.collection('notes').create({ owner: alice.record.id, title: 'child', parent: 'batchparent0001' }, { expand: 'parent' });
        b.collection('notes').update(keep.id, { 'n+': 5 });
        b.collection('notes').upsert({ id: keep.id, title: 'kept' });
        b.collection('notes').upsert({ id: 'batchupsert0001', owner: alice.record.id, title: 'new by upsert' });
        b.collection('notes').delete(gone.id);
        // updates the record the first item creates, before it is committed
        b.collection('notes').update('batchparent0001', { 'n+': 7 });
        const res = await b.send();
        assert.deepEqual(res.map((r) => r.status), [200, 200, 200, 200, 200, 204, 200]);
        assert.equal(res[6].body.n, 7);
        assert.equal(res[6].body.title, 'p');
        assert.equal(res[0].body.id, 'batchparent0001');
        assert.equal(res[1].body.expand.parent.title, 'p', 'item query (?expand) shapes its body');
        assert.equal(res[2].body.n, 5);
        assert.equal(res[3].body.title, 'kept');
        assert.equal(res[3].body.n, 5);
        assert.equal(res[4].body.id, 'batchupsert0001');
        assert.equal(res[5].body, null);
        await expectError(alice.pb.collection('notes').getOne(gone.id), 404);
        assert.equal((await alice.pb.collection('notes').getOne('batchupsert0001')).title, 'new by upsert');
    });

    test('each item answers with the record as it left it, not as the batch ended', async () => {
        const r = await alice.pb.collection('notes').create({ owner: alice.record.id, title: 'base', n: 1 });
        const b = alice.pb.createBatch();
        b.collection('notes').update(r.id, { 'n+': 10 });
        b.collection('notes').update(r.id, { 'n+': 100, title: 'second' }, { fields: 'id,title,n' });
        b.collection('notes').delete(r.id);
        b.collection('notes').create({ id: r.id, owner: alice.record.id, title: 'reborn' });
        const res = await b.send();
        assert.deepEqual(res.map((x) => x.status), [200, 200, 204, 200]);
        assert.equal(res[0].body.n, 11);
        assert.equal(res[0].body.title, 'base');
        assert.deepEqual(res[1].body, { id: r.id, title: 'second', n: 111 }, '?fields on an item');
        assert.equal(res[3].body.title, 'reborn');
        assert.equal(res[3].body.n, 0);
        // An update of a record a later item deletes still answers 200 with it.
        const g = await alice.pb.collection('notes').create({ owner: alice.record.id, title: 'short-lived' });
        const b2 = alice.pb.createBatch();
        b2.collection('notes').update(g.id, { title: 'changed' }, { expand: 'owner' });
        b2.collection('notes').delete(g.id);
        const res2 = await b2.send();
        assert.deepEqual(res2.map((x) => x.status), [200, 204]);
        assert.equal(res2[0].body.title, 'changed');
        assert.equal(res2[0].body.expand.owner.id, alice.record.id);
        await expectError(alice.pb.collection('notes').getOne(g.id), 404);
    });

    test('an upsert sees what earlier items of the batch created or deleted', async () => {
        const b = alice.pb.createBatch();
        b.collection('notes').create({ id: 'upsertsame00001', owner: alice.record.id, title: 'created', n: 1 });
        b.collection('notes').upsert({ id: 'upsertsame00001', title: 'then upserted', 'n+': 2 });
        const res = await b.send();
        assert.deepEqual(res.map((x) => x.status), [200, 200]);
        assert.equal(res[1].body.title, 'then upserted');
        assert.equal(res[1].body.n, 3, 'the upsert updated the record the first item created');
        const old = await alice.pb.collection('notes').create({ owner: alice.record.id, title: 'old', n: 5 });
        const b2 = alice.pb.createBatch();
        b2.collection('notes').delete(old.id);
        b2.collection('notes').upsert({ id: old.id, owner: alice.record.id, title: 'recreated' });
        const res2 = await b2.send();
        assert.deepEqual(res2.map((x) => x.status), [204, 200]);
        assert.equal(res2[1].body.title, 'recreated');
        assert.equal(res2[1].body.n, 0, 'a create: nothing of the deleted record survives');
        assert.equal((await alice.pb.collection('notes').getOne(old.id)).title, 'recreated');
    });

    test('the first failure rolls everything back (400 Batch transaction failed.)', async () => {
        const before = await alice.pb.collection('notes').getFullList();
        const b = alice.pb.createBatch();
        b.collection('notes').create({ owner: alice.record.id, title: 'never' });
        b.collection('notes').create({ owner: alice.record.id }); // title required
        b.collection('notes').create({ owner: alice.record.id, title: 'never either' });
        const err = await expectError(b.send(), 400);
        assert.equal(err.message, 'Batch transaction failed.');
        const f = err.data.requests['1'];
        assert.equal(f.code, 'batch_request_failed');
        assert.equal(f.response.status, 400);
        assert.equal(f.response.data.title.code, 'validation_required');
        assert.equal(err.data.requests['0'], undefined);
        const after = await alice.pb.collection('notes').getFullList();
        assert.equal(after.length, before.length, 'a failed batch left records behind');
    });

    test('a failure inside the transaction (rule, missing record) rolls back the earlier items', async () => {
        const mine = await alice.pb.collection('notes').create({ owner: alice.record.id, title: 'mine' });
        const b = bob.pb.createBatch();
        b.collection('notes').create({ owner: bob.record.id, title: 'bob first' });
        b.collection('notes').update(mine.id, { title: 'stolen' }); // not his: 404
        const err = await expectError(b.send(), 400);
        assert.equal(err.data.requests['1'].response.status, 404);
        assert.equal((await bob.pb.collection('notes').getFullList()).length, 0);
        assert.equal((await alice.pb.collection('notes').getOne(mine.id)).title, 'mine');

        const c = alice.pb.createBatch();
        c.collection('notes').create({ owner: alice.record.id, title: 'x' });
        c.collection('notes').create({ owner: bob.record.id, title: 'for bob' }); // createRule fails
        const e2 = await expectError(c.send(), 400);
        assert.equal(e2.data.requests['1'].response.status, 400);

        // An update of a record that exists nowhere, even in the batch: 404.
        const d = alice.pb.createBatch();
        d.collection('notes').create({ owner: alice.record.id, title: 'y' });
        d.collection('notes').update('nosuchrecord000', { title: 'z' });
        const e3 = await expectError(d.send(), 400);
        assert.equal(e3.data.requests['1'].response.status, 404);
    });

    test('rules see @request.context = "batch"', async () => {
        await expectError(client(srv.url).collection('tagged').create({ label: 'direct' }), 400);
        const b = client(srv.url).createBatch();
        b.collection('tagged').create({ label: 'via batch' });
        const res = await b.send();
        assert.equal(res[0].status, 200);
        assert.equal(res[0].body.label, 'via batch');
    });

    test('files in a batch: requests.<i>.<field> parts', async () => {
        // Straight to the server: a validating proxy (tests/e2e/prism.sh) re-reads
        // request bodies as text, which would mangle the PNG.
        const pb = client(srv.directUrl);
        pb.authStore.save(alice.pb.authStore.token, alice.pb.authStore.record);
        const b = pb.createBatch();
        b.collection('notes').create({
            owner: alice.record.id, title: 'with pic', pic: new File([PNG], 'dot.png', { type: 'image/png' }),
        });
        const res = await b.send();
        assert.equal(res[0].status, 200);
        assert.match(res[0].body.pic, /^dot_[a-z0-9]{10}\.png$/);
        const url = pb.files.getURL(res[0].body, res[0].body.pic);
        const got = await fetch(url);
        assert.equal(got.status, 200);
        assert.deepEqual(Buffer.from(await got.arrayBuffer()), PNG);
    });

    test('request shape errors: 400 Invalid batch request data.', async () => {
        const post = (json) => rawFetch(`${srv.url}/api/batch`, {
            method: 'POST', json, headers: { Authorization: su.authStore.token },
        });
        let r = await post({ requests: [] });
        assert.equal(r.status, 400);
        assert.equal(r.body.message, 'Invalid batch request data.');
        assert.equal(r.body.data.requests.code, 'validation_required');
        r = await post({ requests: [{ method: 'TRACE', url: '/api/x' }, { method: 'POST' }] });
        assert.equal(r.status, 400);
        assert.equal(r.body.data.requests['0'].method.code, 'validation_in_invalid');
        assert.equal(r.body.data.requests['1'].url.code, 'validation_required');
        r = await post({ requests: new Array(51).fill({ method: 'POST', url: '/api/collections/tagged/records' }) });
        assert.equal(r.status, 400);
        assert.equal(r.body.data.requests.code, 'validation_length_too_long');
        // A GET (or any non-record route) fails the whole batch.
        r = await post({
            requests: [
                { method: 'POST', url: '/api/collections/tagged/records', body: { label: 'no' } },
                { method: 'GET', url: '/api/collections/tagged/records' },
            ],
        });
        assert.equal(r.status, 400);
        assert.equal(r.body.message, 'Batch transaction failed.');
        assert.equal(r.body.data.requests['1'].response.status, 400);
        r = await post({ requests: [{ method: 'POST', url: '/api/collections/nosuch/records', body: {} }] });
        assert.equal(r.body.data.requests['0'].response.status, 404);
        // Straight to the server: a proxy would refuse the broken JSON itself.
        r = await rawFetch(`${srv.directUrl}/api/batch`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"requests": [',
        });
        assert.equal(r.status, 400);
        assert.equal(r.body.message, 'Failed to read the submitted batch data.');
        const labels = (await su.collection('tagged').getFullList()).map((x) => x.label);
        assert.ok(!labels.includes('no'), 'the failed batch wrote a record');
    });

    test('the server is healthy after all that', async () => {
        assert.equal((await rawFetch(`${srv.url}/api/health`)).status, 200);
        await srv.stop();
    });
});

describe('batch turned off', () => {
    let srv;
    before(async () => { srv = await startServer({ flags: ['--batch-max-requests=0'] }); });
    after(async () => { if (srv && !srv.exited) await srv.kill9(); });
    test('403 Batch requests are not allowed.', async () => {
        const su = await superuserClient(srv.url);
        const b = su.createBatch();
        b.collection('users').create({ email: 'x@example.com', password: 'password123', passwordConfirm: 'password123' });
        const err = await expectError(b.send(), 403);
        assert.equal(err.message, 'Batch requests are not allowed.');
        await srv.stop();
    });
});

describe('batch timeout', () => {
    let srv;
    // 1 ms: the first item's password hash alone takes longer, so the batch
    // runs out of time before its second item.
    before(async () => { srv = await startServer({ flags: ['--batch-timeout=1ms'] }); });
    after(async () => { if (srv && !srv.exited) await srv.kill9(); });
    test('400 Batch transaction failed. with data {}, nothing written', async () => {
        const su = await superuserClient(srv.url);
        const b = su.createBatch();
        for (const n of [1, 2]) {
            b.collection('users').create({
                email: `late${n}@example.com`, password: 'password123', passwordConfirm: 'password123',
            });
        }
        const err = await expectError(b.send(), 400);
        assert.equal(err.message, 'Batch transaction failed.');
        assert.deepEqual(err.data, {});
        const left = await su.collection('users').getFullList({ filter: 'email ~ "late"' });
        assert.equal(left.length, 0);
        await srv.stop();
    });
});
