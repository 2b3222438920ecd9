// Relation paths in a client's filter or sort may not reach records the
// client could not list (issue #20 item 1; PocketBase >= v0.32): a hop into
// a collection whose listRule is null is refused (400) for non-superusers,
// and otherwise the target's listRule, evaluated as the requester, is ANDed
// into the hop. Each path kind is attacked with the same extraction loop a
// guest used to recover a private title one character at a time; the loop
// itself is proven by the owner, who does recover the title through it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, expectError, makeUser, SLOW } from './lib/util.mjs';

globalThis.EventSource = EventSource;

const SECRET = 'alice private plans';
const BODY = 'launch on friday';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ';
const OWNER = 'owner = @request.auth.id';

/** Escapes a filter string literal. */
function lit(s) {
    return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The attack: grows a prefix one character at a time while
 * `list(filterFor(prefix + c + '%'))` reports a match. Returns what it found.
 * `max` bounds it, so a working attack stops after a few characters.
 */
async function extract(list, filterFor, max = 6) {
    let found = '';
    for (let n = 0; n < max; n++) {
        let next = null;
        for (const c of ALPHABET) {
            if (await list(filterFor(lit(`${found}${c}%`)))) { next = c; break; }
        }
        if (next === null) break;
        found += next;
    }
    return found;
}

/** A list probe: true when the filter matches at least one record. */
function prober(pb, coll, extra = {}) {
    return async (filter) => {
        const r = await pb.collection(coll).getList(1, 1, { filter, ...extra });
        return r.totalItems > 0;
    };
}

describe('relation filters respect the target listRule', () => {
    let srv;
    let su;
    let guest;
    let alice;
    let bob;
    let post;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'alicesecretname' });
        bob = await makeUser(su, srv.url, { name: 'bob' });
        await su.collections.create({
            name: 'topics', listRule: '', viewRule: '',
            fields: [{ name: 'name', type: 'text' }],
        });
        const topics = await su.collection('topics').create({ name: 'general' });
        await su.collections.create({
            name: 'vault', // listRule null: superusers only
            fields: [{ name: 'code', type: 'text' }],
        });
        const vault = await su.collection('vault').create({ code: 'zzz' });
        await su.collections.create({
            name: 'posts', listRule: OWNER, viewRule: OWNER,
            fields: [
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'topic', type: 'relation', collectionId: (await su.collections.getOne('topics')).id, maxSelect: 1 },
                { name: 'title', type: 'text' },
                { name: 'body', type: 'text' },
            ],
        });
        const postsId = (await su.collections.getOne('posts')).id;
        await su.collections.create({
            name: 'comments', listRule: '', viewRule: '',
            fields: [
                { name: 'post', type: 'relation', collectionId: postsId, maxSelect: 1 },
                { name: 'posts', type: 'relation', collectionId: postsId, maxSelect: 9 },
                { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'vault', type: 'relation', collectionId: (await su.collections.getOne('vault')).id, maxSelect: 1 },
                { name: 'text', type: 'text' },
            ],
        });
        // A rule written by a superuser keeps full access through relations.
        await su.collections.create({
            name: 'replies', listRule: "post.title != ''", viewRule: '',
            fields: [
                { name: 'post', type: 'relation', collectionId: postsId, maxSelect: 1 },
                { name: 'text', type: 'text' },
            ],
        });
        post = await su.collection('posts').create({
            owner: alice.record.id, topic: topics.id, title: SECRET, body: BODY,
        });
        const other = await su.collection('posts').create({
            owner: alice.record.id, topic: topics.id, title: 'another one', body: 'b',
        });
        await su.collection('comments').create({
            post: post.id, posts: [post.id, other.id], author: alice.record.id, vault: vault.id, text: 'hi',
        });
        await su.collection('replies').create({ post: post.id, text: 'public reply' });
    });
    after(async () => {
        for (const pb of [guest, alice?.pb, bob?.pb]) pb?.realtime.unsubscribe().catch(() => {});
        if (srv && !srv.exited) await srv.kill9();
    });

    const paths = [
        ['single relation', 'comments', (p) => `post.title ~ ${p}`, 'alice'],
        ['another field', 'comments', (p) => `post.body ~ ${p}`, 'launc'],
        ['a users relation', 'comments', (p) => `author.name ~ ${p}`, 'alice'],
        ['multi relation, any', 'comments', (p) => `posts.title ?~ ${p}`, 'a'],
        ['back-relation', 'topics', (p) => `posts_via_topic.title ?~ ${p}`, 'a'],
    ];

    for (const [kind, coll, filterFor, ownerFinds] of paths) {
        test(`${kind}: the extraction loop finds nothing for a guest or another user`, async () => {
            assert.equal(await extract(prober(guest, coll), filterFor), '', 'guest');
            assert.equal(await extract(prober(bob.pb, coll), filterFor), '', 'bob');
            // The same loop works for the owner, so it is a real attack.
            const mine = await extract(prober(alice.pb, coll), filterFor, 5);
            assert.ok(mine.startsWith(ownerFinds), `owner recovers ${JSON.stringify(mine)}`);
        });
    }

    test('multi relation, all values: a hidden record is not among the values', async () => {
        // "posts.title ~ 'a%'" is true when every linked post's title starts
        // with 'a' (§3.7): both of alice's do; to anyone else there are none.
        assert.equal((await alice.pb.collection('comments').getList(1, 1, { filter: "posts.title ~ 'a%'" })).totalItems, 1);
        assert.equal((await alice.pb.collection('comments').getList(1, 1, { filter: "posts.title ~ 'al%'" })).totalItems, 0);
        for (const pb of [guest, bob.pb]) {
            assert.equal((await pb.collection('comments').getList(1, 1, { filter: "posts.title ~ 'a%'" })).totalItems, 0);
            assert.equal((await pb.collection('comments').getList(1, 1, { filter: "post.title = ''" })).totalItems, 1);
        }
    });

    test('sort through a relation does not order by hidden values', async () => {
        // Several comments on posts whose titles sort in a known order.
        const ids = [];
        for (const t of ['m3', 'm1', 'm2']) {
            const p = await su.collection('posts').create({ owner: alice.record.id, title: t });
            ids.push((await su.collection('comments').create({ post: p.id, text: 'sort' })).id);
        }
        const order = async (pb, sort) => (await pb.collection('comments').getFullList({
            filter: "text = 'sort'", sort,
        })).map((r) => r.id);
        const up = await order(alice.pb, 'post.title,id');
        assert.deepEqual(up, [ids[1], ids[2], ids[0]]);
        assert.deepEqual(await order(alice.pb, '-post.title,id'), [ids[0], ids[2], ids[1]]);
        for (const pb of [guest, bob.pb]) {
            assert.deepEqual(await order(pb, 'post.title,id'), await order(pb, '-post.title,id'));
            assert.deepEqual(await order(pb, 'post.title,id'), [...ids].sort());
        }
    });

    test('a hop into a superusers-only collection is refused with 400', async () => {
        for (const pb of [guest, bob.pb]) {
            await expectError(pb.collection('comments').getList(1, 1, { filter: "vault.code = 'zzz'" }), 400);
            await expectError(pb.collection('comments').getList(1, 1, { sort: 'vault.code' }), 400);
            // @collection in a client filter is for superusers only (as in PocketBase).
            await expectError(pb.collection('comments').getList(1, 1, { filter: "@collection.posts.title ?~ 'a%'" }), 403);
        }
        const r = await su.collection('comments').getList(1, 1, { filter: "vault.code = 'zzz'" });
        assert.equal(r.totalItems, 1, 'a superuser keeps full access');
    });

    test('rules written by superusers keep full access through relations', async () => {
        const r = await guest.collection('replies').getList(1, 5);
        assert.equal(r.totalItems, 1);
        const s = await su.collection('comments').getList(1, 1, { filter: `post.title = ${lit(SECRET)}` });
        assert.equal(s.totalItems, 1);
    });

    test('realtime options.filter through a relation: no event reveals a hidden field', async () => {
        const got = { guest: [], bob: [], alice: [] };
        const match = `post.title ~ ${lit('alice p%')}`;
        await guest.collection('comments').subscribe('*', (e) => got.guest.push(e), { filter: match });
        await bob.pb.collection('comments').subscribe('*', (e) => got.bob.push(e), { filter: match });
        await alice.pb.collection('comments').subscribe('*', (e) => got.alice.push(e), { filter: match });
        // A marker every client sees, after the event under test.
        const marks = { guest: [], bob: [] };
        await guest.collection('topics').subscribe('*', (e) => marks.guest.push(e));
        await bob.pb.collection('topics').subscribe('*', (e) => marks.bob.push(e));
        await su.collection('comments').create({ post: post.id, text: 'live' });
        await su.collection('topics').create({ name: 'marker' });
        const end = Date.now() + 10000 * SLOW;
        while (Date.now() < end && !(got.alice.length && marks.guest.length && marks.bob.length)) {
            await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(got.alice.length, 1, 'the owner gets the event');
        assert.ok(marks.guest.length && marks.bob.length, 'markers arrived');
        assert.equal(got.guest.length, 0, 'guest got the event');
        assert.equal(got.bob.length, 0, 'bob got the event');
    });
});
