// API rules (§4) seen by guests, owners and other users through the JS SDK.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertNoLeaks, makeUser,
} from './lib/util.mjs';

const OWNER = 'owner = @request.auth.id';

describe('API rules', () => {
    let srv;
    let su;
    let guest;
    let alice;
    let bob;
    let carol;
    const mine = { alice: [], bob: [] }; // record ids by owner

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        carol = await makeUser(su, srv.url, { name: 'Carol' });
        await su.collections.create({
            name: 'secrets',
            listRule: OWNER,
            viewRule: OWNER,
            createRule: '@request.auth.id != "" && owner = @request.auth.id',
            updateRule: OWNER,
            deleteRule: OWNER,
            fields: [
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'title', type: 'text' },
            ],
        });
        await su.collections.create({
            name: 'locked', // every rule null: superusers only
            fields: [{ name: 'title', type: 'text' }],
        });
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('owners create their own records', async () => {
        for (const t of ['a1', 'a2', 'a3']) {
            const r = await alice.pb.collection('secrets').create({ owner: alice.record.id, title: t });
            assert.equal(r.owner, alice.record.id);
            mine.alice.push(r.id);
        }
        for (const t of ['b1', 'b2']) {
            const r = await bob.pb.collection('secrets').create({ owner: bob.record.id, title: t });
            mine.bob.push(r.id);
        }
    });

    test('create with someone else as owner → 400, guest create → 400', async () => {
        let body = await expectError(alice.pb.collection('secrets').create({ owner: bob.record.id, title: 'forged' }), 400);
        assert.equal(body.message, 'Failed to create record.');
        assert.deepEqual(body.data, {});
        body = await expectError(alice.pb.collection('secrets').create({ title: 'no owner' }), 400);
        assert.deepEqual(body.data, {});
        body = await expectError(guest.collection('secrets').create({ title: 'guest' }), 400);
        assert.deepEqual(body.data, {});
        body = await expectError(guest.collection('secrets').create({ owner: alice.record.id, title: 'guest' }), 400);
        assert.equal((await su.collection('secrets').getFullList()).length, 5);
    });

    test('list shows only own records and totalItems counts only them', async () => {
        const a = await alice.pb.collection('secrets').getList(1, 50, { sort: 'title' });
        assert.equal(a.totalItems, 3);
        assert.equal(a.totalPages, 1);
        assert.deepEqual(a.items.map((r) => r.title), ['a1', 'a2', 'a3']);
        const a2 = await alice.pb.collection('secrets').getList(1, 2, { sort: 'title' });
        assert.equal(a2.totalItems, 3);
        assert.equal(a2.totalPages, 2);
        const b = await bob.pb.collection('secrets').getList(1, 50, { sort: 'title' });
        assert.equal(b.totalItems, 2);
        assert.deepEqual(b.items.map((r) => r.title), ['b1', 'b2']);
        const c = await carol.pb.collection('secrets').getList();
        assert.equal(c.totalItems, 0);
        assert.deepEqual(c.items, []);
        const g = await guest.collection('secrets').getList();
        assert.equal(g.totalItems, 0);
        assert.deepEqual(g.items, []);
        const s = await su.collection('secrets').getList();
        assert.equal(s.totalItems, 5, 'superusers bypass rules');
        // a client filter is ANDed with the rule
        const f = await alice.pb.collection('secrets').getList(1, 50, { filter: "title = 'b1' || title = 'a2'" });
        assert.deepEqual(f.items.map((r) => r.title), ['a2']);
        assert.equal(f.totalItems, 1);
        const full = await bob.pb.collection('secrets').getFullList();
        assert.equal(full.length, 2);
    });

    test("view of another's record → 404, own → 200", async () => {
        const own = await alice.pb.collection('secrets').getOne(mine.alice[0]);
        assert.equal(own.title, 'a1');
        let body = await expectError(bob.pb.collection('secrets').getOne(mine.alice[0]), 404);
        assert.equal(body.message, "The requested resource wasn't found.");
        await expectError(guest.collection('secrets').getOne(mine.alice[0]), 404);
        await expectError(alice.pb.collection('secrets').getOne(mine.bob[0]), 404);
        // indistinguishable from a missing record
        body = await expectError(bob.pb.collection('secrets').getOne('zzzzzzzzzzzzzzz'), 404);
        assert.equal(body.message, "The requested resource wasn't found.");
    });

    test("update of another's record → 404 and nothing changes", async () => {
        await expectError(bob.pb.collection('secrets').update(mine.alice[0], { title: 'pwned' }), 404);
        await expectError(guest.collection('secrets').update(mine.alice[0], { title: 'pwned' }), 404);
        await expectError(carol.pb.collection('secrets').update(mine.alice[0], { owner: carol.record.id }), 404);
        const r = await su.collection('secrets').getOne(mine.alice[0]);
        assert.equal(r.title, 'a1');
        assert.equal(r.owner, alice.record.id);
        const u = await alice.pb.collection('secrets').update(mine.alice[0], { title: 'a1 edited' });
        assert.equal(u.title, 'a1 edited');
    });

    test("delete of another's record → 404 and it still exists", async () => {
        await expectError(bob.pb.collection('secrets').delete(mine.alice[1]), 404);
        await expectError(guest.collection('secrets').delete(mine.alice[1]), 404);
        await su.collection('secrets').getOne(mine.alice[1]);
        assert.equal(await alice.pb.collection('secrets').delete(mine.alice[1]), true);
        await expectError(alice.pb.collection('secrets').getOne(mine.alice[1]), 404);
        await expectError(su.collection('secrets').getOne(mine.alice[1]), 404);
        assert.equal((await alice.pb.collection('secrets').getList()).totalItems, 2);
    });

    test('update rule is checked once, before the change (moving a record to another owner is allowed)', async () => {
        const u = await alice.pb.collection('secrets').update(mine.alice[2], { owner: bob.record.id });
        assert.equal(u.owner, bob.record.id);
        await expectError(alice.pb.collection('secrets').getOne(mine.alice[2]), 404);
        const b = await bob.pb.collection('secrets').getOne(mine.alice[2]);
        assert.equal(b.title, 'a3');
        assert.equal((await bob.pb.collection('secrets').getList()).totalItems, 3);
    });

    test('null rules: superusers only → 403 for users and guests', async () => {
        const rec = await su.collection('locked').create({ title: 'top secret' });
        for (const [who, pb] of [['user', alice.pb], ['guest', guest]]) {
            let body = await expectError(pb.collection('locked').getList(), 403, `${who} list`);
            assert.equal(body.message, 'Only superusers can perform this action.');
            await expectError(pb.collection('locked').getOne(rec.id), 403, `${who} view`);
            await expectError(pb.collection('locked').getOne('zzzzzzzzzzzzzzz'), 403, `${who} view of a missing id`);
            await expectError(pb.collection('locked').create({ title: 'x' }), 403, `${who} create`);
            await expectError(pb.collection('locked').update(rec.id, { title: 'x' }), 403, `${who} update`);
            body = await expectError(pb.collection('locked').delete(rec.id), 403, `${who} delete`);
            assert.equal(body.message, 'Only superusers can perform this action.');
        }
        const r = await su.collection('locked').getOne(rec.id);
        assert.equal(r.title, 'top secret');
        assert.equal((await su.collection('locked').getList()).totalItems, 1);
    });

    test('@request.* / @collection.* in a client filter → 403 for non-superusers', async () => {
        await expectError(alice.pb.collection('secrets').getList(1, 10, { filter: 'owner = @request.auth.id' }), 403);
        await expectError(guest.collection('secrets').getList(1, 10, { filter: '@request.auth.id = ""' }), 403);
        await expectError(alice.pb.collection('secrets').getFirstListItem('owner = @request.auth.id'), 403);
        await expectError(
            alice.pb.collection('secrets').getList(1, 10, { filter: "@collection.secrets.title ?= 'a1'" }), 403);
        await expectError(alice.pb.collection('secrets').getList(1, 10, { sort: '@request.auth.id' }), 403);
        // superusers may
        const s = await su.collection('secrets').getList(1, 10, { filter: 'owner = @request.auth.id' });
        assert.equal(s.totalItems, 0);
        const s2 = await su.collection('secrets').getList(1, 10, { filter: '@request.auth.id != ""' });
        assert.equal(s2.totalItems, 4);
    });

    test('@request. / @collection. filter 403 messages', async () => {
        let body = await expectError(
            alice.pb.collection('secrets').getList(1, 10, { filter: 'owner = @request.auth.id' }), 403);
        assert.equal(body.message, 'Only superusers can filter by @request.');
        body = await expectError(
            alice.pb.collection('secrets').getList(1, 10, { filter: "@collection.secrets.title ?= 'a1'" }), 403);
        assert.equal(body.message, 'Only superusers can filter by @collection.');
    });

    test('users collection default rules: only yourself', async () => {
        const l = await alice.pb.collection('users').getFullList();
        assert.deepEqual(l.map((u) => u.id), [alice.record.id]);
        await expectError(alice.pb.collection('users').getOne(bob.record.id), 404);
        await expectError(alice.pb.collection('users').update(bob.record.id, { name: 'x' }), 404);
        await expectError(alice.pb.collection('users').delete(bob.record.id), 404);
        assert.deepEqual((await guest.collection('users').getList()).items, []);
        const me = await alice.pb.collection('users').update(alice.record.id, { name: 'Alice A.' });
        assert.equal(me.name, 'Alice A.');
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
