// The workers' response caches (a list page, a total, a record by id) serve
// an answer again only while the data is unchanged and the answer cannot
// depend on anything else: a write is seen by the next read, each requester
// gets the answer of its own rule, and a rule or filter that reads the clock
// (@now and the other date macros) is never answered from a cache.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, upsertSuperuser } from './lib/server.mjs';
import { client, superuserClient, expectError, makeUser } from './lib/util.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// "2006-01-02 15:04:05.000Z" ms from now.
const inMs = (ms) => new Date(Date.now() + ms).toISOString().replace('T', ' ');

describe('response caches', () => {
    let srv;
    let su;
    let guest;
    let alice;
    let bob;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        await su.collections.create({
            name: 'notes',
            listRule: '',
            viewRule: '',
            fields: [{ name: 'text', type: 'text' }],
        });
        await su.collections.create({
            name: 'mine',
            listRule: 'owner = @request.auth.id',
            viewRule: 'owner = @request.auth.id',
            fields: [
                { name: 'text', type: 'text' },
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
            ],
        });
        await su.collections.create({
            name: 'offers',
            listRule: 'until > @now',
            viewRule: 'until > @now',
            fields: [
                { name: 'text', type: 'text' },
                { name: 'until', type: 'date' },
            ],
        });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
    });

    test('a record read again after an update, a delete and a write elsewhere is current', async () => {
        const n = await su.collection('notes').create({ text: 'one' });
        for (let i = 0; i < 3; i++) assert.equal((await guest.collection('notes').getOne(n.id)).text, 'one');
        await su.collection('notes').update(n.id, { text: 'two' });
        assert.equal((await guest.collection('notes').getOne(n.id)).text, 'two');
        // another field set of the same record is another answer
        assert.deepEqual(await guest.collection('notes').getOne(n.id, { fields: 'text' }), { text: 'two' });
        const list = await guest.collection('notes').getList(1, 10, { filter: `id = "${n.id}"` });
        assert.equal(list.items[0].text, 'two');
        await su.collection('notes').delete(n.id);
        await expectError(guest.collection('notes').getOne(n.id), 404);
        const after = await guest.collection('notes').getList(1, 10, { filter: `id = "${n.id}"` });
        assert.equal(after.totalItems, 0);
    });

    test('each requester gets the answer of its own rule, however often asked', async () => {
        const m = await su.collection('mine').create({ text: 'secret', owner: alice.record.id });
        for (let i = 0; i < 3; i++) {
            assert.equal((await alice.pb.collection('mine').getOne(m.id)).text, 'secret');
            await expectError(bob.pb.collection('mine').getOne(m.id), 404);
            await expectError(guest.collection('mine').getOne(m.id), 404);
            assert.equal((await alice.pb.collection('mine').getList(1, 10)).totalItems, 1);
            assert.equal((await bob.pb.collection('mine').getList(1, 10)).totalItems, 0);
        }
        // the record handed to bob: the next read of each sees it
        await su.collection('mine').update(m.id, { owner: bob.record.id });
        await expectError(alice.pb.collection('mine').getOne(m.id), 404);
        assert.equal((await bob.pb.collection('mine').getOne(m.id)).text, 'secret');
        assert.equal((await alice.pb.collection('mine').getList(1, 10)).totalItems, 0);
    });

    test("a change to the requester's own record is seen by its next request", async () => {
        // the rule reads the auth record: the worker's memo of it must not outlive a write
        const users = await su.collections.getOne('users');
        await su.collections.update('users', {
            fields: [...users.fields, { name: 'role', type: 'text' }],
        });
        await su.collections.create({
            name: 'drafts',
            listRule: '@request.auth.role = "editor"',
            viewRule: '@request.auth.role = "editor"',
            fields: [{ name: 'text', type: 'text' }],
        });
        const d = await su.collection('drafts').create({ text: 'draft' });
        const carol = await makeUser(su, srv.url, { name: 'Carol', role: 'viewer' });
        for (let i = 0; i < 3; i++) {
            assert.equal((await carol.pb.collection('drafts').getList(1, 10)).totalItems, 0);
            await expectError(carol.pb.collection('drafts').getOne(d.id), 404);
        }
        await su.collection('users').update(carol.record.id, { role: 'editor' });
        assert.equal((await carol.pb.collection('drafts').getList(1, 10)).totalItems, 1);
        assert.equal((await carol.pb.collection('drafts').getOne(d.id)).text, 'draft');
        await su.collection('users').update(carol.record.id, { role: 'viewer' });
        await expectError(carol.pb.collection('drafts').getOne(d.id), 404);

        // a password change ends the old token at once, however often it was used before
        const token = carol.pb.authStore.token;
        const old = client(srv.url);
        old.authStore.save(token, carol.record);
        for (let i = 0; i < 3; i++) await old.collection('users').authRefresh();
        await su.collection('users').update(carol.record.id, {
            password: 'another-pass-1', passwordConfirm: 'another-pass-1',
        });
        await expectError(old.collection('users').authRefresh(), 401);
        const fresh = client(srv.url);
        await fresh.collection('users').authWithPassword(carol.email, 'another-pass-1');
        await fresh.collection('users').authRefresh();
    });

    test('a password reset by another process ends the old token within a second or so', async () => {
        // `tarmac superuser upsert` writes the database from its own process: no
        // count of this server's says so, and the memo of the record must age out
        const email = 'second-admin@example.com';
        await su.collection('_superusers').create({
            email, password: 'first-pass-123', passwordConfirm: 'first-pass-123',
        });
        const old = client(srv.url);
        await old.collection('_superusers').authWithPassword(email, 'first-pass-123');
        for (let i = 0; i < 3; i++) await old.collection('_superusers').authRefresh();
        upsertSuperuser(srv.dir, email, 'second-pass-456');
        const deadline = Date.now() + 4000;
        let status = 200;
        while (Date.now() < deadline) {
            try {
                await old.collection('_superusers').authRefresh();
            } catch (e) {
                status = e.status;
                break;
            }
            await sleep(100);
        }
        assert.equal(status, 401, 'the old token still works 4 s after the reset');
        const fresh = client(srv.url);
        await fresh.collection('_superusers').authWithPassword(email, 'second-pass-456');
    });

    test('a rule or filter that reads the clock follows the clock, not the cache', async () => {
        const soon = await su.collection('offers').create({ text: 'soon over', until: inMs(1500) });
        const later = await su.collection('offers').create({ text: 'open', until: inMs(3600e3) });
        const openTexts = async () =>
            (await guest.collection('offers').getFullList({ sort: 'text' })).map((r) => r.text);
        for (let i = 0; i < 3; i++) {
            assert.equal((await guest.collection('offers').getOne(soon.id)).text, 'soon over');
            assert.deepEqual(await openTexts(), ['open', 'soon over']);
            const f = await su.collection('offers').getList(1, 10, { filter: 'until > @now' });
            assert.equal(f.totalItems, 2);
        }
        await sleep(2000); // nothing is written meanwhile: only the time changed
        await expectError(guest.collection('offers').getOne(soon.id), 404);
        assert.deepEqual(await openTexts(), ['open']);
        const f = await su.collection('offers').getList(1, 10, { filter: 'until > @now' });
        assert.equal(f.totalItems, 1);
        assert.equal((await guest.collection('offers').getOne(later.id)).text, 'open');
    });
});
