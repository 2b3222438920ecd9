// Records CRUD, list/search, filter, sort, expand, fields, modifiers,
// validation and deletes (§2, §3) through the official JS SDK.
//
// The query tests run first against a fixed data set seeded in before();
// the tests that add or remove records come after them and clean up.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, DATE_RE, ID_RE,
} from './lib/util.mjs';

const TRICKY = "it's \"quoted\" \\ ok";

describe('records API', () => {
    let srv;
    let su;
    let guest;
    let alice; // {record, pb}
    let bob;
    const P = {}; // seeded posts by key
    const C = {}; // seeded comments by key

    const titles = (items) => items.map((r) => r.title);
    const sorted = (a) => [...a].sort();
    // Titles matched by a filter (superuser, whole collection).
    const match = async (filter, opts = {}) => {
        const res = await su.collection('posts').getList(1, 100, { filter, ...opts });
        return sorted(titles(res.items));
    };

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });

        const posts = await su.collections.create({
            name: 'posts',
            listRule: '',
            viewRule: '',
            createRule: '@request.auth.id != ""',
            updateRule: 'author = @request.auth.id',
            deleteRule: 'author = @request.auth.id',
            fields: [
                { name: 'title', type: 'text', required: true, max: 50 },
                { name: 'views', type: 'number' },
                { name: 'published', type: 'bool' },
                { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'editors', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 10 },
                { name: 'tags', type: 'select', maxSelect: 5, values: ['go', 'c', 'js', 'x', 'rust'] },
                { name: 'meta', type: 'json' },
                { name: 'body', type: 'text' },
                { name: 'slug', type: 'text' },
                { name: 'publishedAt', type: 'date' },
                { name: 'created', type: 'autodate', onCreate: true },
                { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
            ],
            indexes: ["CREATE UNIQUE INDEX `idx_posts_slug` ON `posts` (`slug`) WHERE `slug` != ''"],
        });
        await su.collections.create({
            name: 'comments',
            listRule: '',
            viewRule: '',
            createRule: '@request.auth.id != ""',
            fields: [
                { name: 'post', type: 'relation', collectionId: posts.id, cascadeDelete: true, maxSelect: 1, required: true },
                { name: 'message', type: 'text' },
                { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
            ],
        });
        await su.collections.create({
            name: 'pins',
            listRule: '',
            viewRule: '',
            fields: [
                { name: 'post', type: 'relation', collectionId: posts.id, cascadeDelete: false, maxSelect: 1, required: true },
            ],
        });

        const future = new Date(Date.now() + 10 * 86400e3).toISOString().replace('T', ' ');
        const a = alice.record.id;
        const b = bob.record.id;
        const seed = {
            alpha: {
                title: 'Alpha', views: 10, published: true, author: a, tags: ['go', 'c'], editors: [a, b],
                meta: { level: 1, kind: 'a' }, slug: 'alpha', publishedAt: '2024-01-01 10:00:00.000Z',
                body: '<p>Hello   <b>world</b>, this is a long body text</p>',
            },
            beta: {
                title: 'beta', views: 5, published: false, author: b, tags: ['js'], editors: [b],
                meta: { level: 2 }, slug: 'beta', publishedAt: future,
            },
            gamma: {
                title: 'Gamma', views: 10, published: true, author: a, tags: ['go', 'rust', 'x'], editors: [],
                slug: 'gamma',
            },
            tricky: { title: TRICKY, views: 0, published: false, tags: [] },
            sale: { title: '100% off_sale', views: 1, tags: ['c'] },
        };
        for (const [k, v] of Object.entries(seed)) P[k] = await su.collection('posts').create(v);
        C.nice = await su.collection('comments').create({ post: P.alpha.id, message: 'nice', author: b });
        C.great = await su.collection('comments').create({ post: P.alpha.id, message: 'great', author: a });
        C.meh = await su.collection('comments').create({ post: P.beta.id, message: 'meh', author: a });
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    // ------------------------------------------------------------------ shape

    test('record JSON shape', async () => {
        const r = await guest.collection('posts').getOne(P.alpha.id);
        assert.equal(r.collectionName, 'posts');
        assert.equal(r.collectionId, 'pbc_1125843985');
        assert.match(r.id, ID_RE);
        assert.equal(r.title, 'Alpha');
        assert.equal(r.views, 10);
        assert.equal(r.published, true);
        assert.equal(r.author, alice.record.id);
        assert.deepEqual(r.editors, [alice.record.id, bob.record.id]);
        assert.deepEqual(r.tags, ['go', 'c']);
        assert.deepEqual(r.meta, { level: 1, kind: 'a' });
        assert.equal(r.publishedAt, '2024-01-01 10:00:00.000Z');
        assert.match(r.created, DATE_RE);
        assert.match(r.updated, DATE_RE);
        assert.ok(!('expand' in r) || Object.keys(r.expand).length === 0, 'no expand requested');
        const t = await guest.collection('posts').getOne(P.tricky.id);
        assert.equal(t.title, TRICKY);
        assert.equal(t.author, '', 'empty single relation is ""');
        assert.deepEqual(t.editors, [], 'empty multi relation is []');
        assert.deepEqual(t.tags, [], 'empty multi select is []');
        assert.equal(t.meta, null, 'empty json is null');
        assert.equal(t.publishedAt, '', 'empty date is ""');
        assert.equal(t.body, '');
    });

    test('collection name in the path is case-insensitive, the id works too', async () => {
        const a = await guest.collection('POSTS').getOne(P.alpha.id);
        const b = await guest.collection('pbc_1125843985').getOne(P.alpha.id);
        assert.equal(a.id, P.alpha.id);
        assert.equal(b.id, P.alpha.id);
    });

    test('getOne / getList of unknown collection or record → 404', async () => {
        await expectError(guest.collection('posts').getOne('zzzzzzzzzzzzzzz'), 404);
        await expectError(guest.collection('nope').getOne(P.alpha.id), 404);
        await expectError(guest.collection('nope').getList(), 404);
    });

    // ------------------------------------------------------------------ list

    test('getList pagination', async () => {
        const p1 = await guest.collection('posts').getList(1, 2, { sort: 'title' });
        assert.equal(p1.page, 1);
        assert.equal(p1.perPage, 2);
        assert.equal(p1.totalItems, 5);
        assert.equal(p1.totalPages, 3);
        // SQLite BINARY collation: digits < upper case < lower case
        assert.deepEqual(titles(p1.items), ['100% off_sale', 'Alpha']);
        const p2 = await guest.collection('posts').getList(2, 2, { sort: 'title' });
        assert.deepEqual(titles(p2.items), ['Gamma', 'beta']);
        const p3 = await guest.collection('posts').getList(3, 2, { sort: 'title' });
        assert.deepEqual(titles(p3.items), [TRICKY]);
        const p4 = await guest.collection('posts').getList(4, 2, { sort: 'title' });
        assert.deepEqual(p4.items, []);
        assert.equal(p4.totalItems, 5);
    });

    test('getList skipTotal → totals are -1', async () => {
        const r = await guest.collection('posts').getList(1, 3, { skipTotal: true, sort: 'title' });
        assert.equal(r.totalItems, -1);
        assert.equal(r.totalPages, -1);
        assert.equal(r.items.length, 3);
    });

    test('perPage is clamped to 1000 and echoed', async () => {
        const r = await guest.collection('posts').getList(1, 5000);
        assert.equal(r.perPage, 1000);
        assert.equal(r.items.length, 5);
    });

    test('getFullList sends perPage=1000&skipTotal=1 and loops over pages', async () => {
        const urls = [];
        const pb = client(srv.url);
        const orig = pb.beforeSend;
        pb.beforeSend = (u, o) => {
            urls.push(u + '?' + new URLSearchParams(o.query).toString());
            return orig(u, o);
        };
        const all = await pb.collection('posts').getFullList();
        assert.equal(all.length, 5);
        assert.equal(urls.length, 1);
        assert.match(urls[0], /perPage=1000/);
        assert.match(urls[0], /skipTotal=1/);

        urls.length = 0;
        const batched = await pb.collection('posts').getFullList({ batch: 2, sort: 'title' });
        assert.deepEqual(titles(batched), ['100% off_sale', 'Alpha', 'Gamma', 'beta', TRICKY]);
        assert.equal(new Set(batched.map((r) => r.id)).size, 5);
        assert.equal(urls.length, 3, `requests: ${urls.join('\n')}`);
    });

    test('getFirstListItem with pb.filter() placeholders (JSON-escaped quotes and backslash)', async () => {
        const f = guest.filter('title = {:t}', { t: TRICKY });
        assert.equal(f, 'title = "it\'s \\"quoted\\" \\\\ ok"');
        const r = await guest.collection('posts').getFirstListItem(f);
        assert.equal(r.id, P.tricky.id);
        const r2 = await guest.collection('posts').getFirstListItem(guest.filter('views = {:v} && published = {:p}', { v: 5, p: false }));
        assert.equal(r2.id, P.beta.id);
        // no match: the SDK itself turns the empty list into a 404 ClientResponseError
        await assert.rejects(guest.collection('posts').getFirstListItem('title = "no such title"'),
            (e) => e.status === 404);
    });

    // ------------------------------------------------------------------ filter

    test('filter: = and != on numbers and text', async () => {
        assert.deepEqual(await match('views = 10'), ['Alpha', 'Gamma']);
        assert.deepEqual(await match('views != 10'), sorted(['beta', TRICKY, '100% off_sale']));
        assert.deepEqual(await match("title = 'beta'"), ['beta']);
        assert.deepEqual(await match("'beta' = title"), ['beta']);
        assert.deepEqual(await match('published = true'), ['Alpha', 'Gamma']);
        assert.deepEqual(await match('published = false && views > 0'), sorted(['beta', '100% off_sale']));
    });

    test('filter: > >= < <=', async () => {
        assert.deepEqual(await match('views > 5'), ['Alpha', 'Gamma']);
        assert.deepEqual(await match('views >= 5'), ['Alpha', 'Gamma', 'beta']);
        assert.deepEqual(await match('views < 1'), [TRICKY]);
        assert.deepEqual(await match('views <= 1'), sorted([TRICKY, '100% off_sale']));
        assert.deepEqual(await match('views > 2.5 && views < 7.5'), ['beta']);
    });

    test('filter: ~ contains (case-insensitive), explicit wildcard, escaping, !~', async () => {
        assert.deepEqual(await match("title ~ 'ALP'"), ['Alpha']);
        assert.deepEqual(await match("title ~ 'amm'"), ['Gamma']);
        assert.deepEqual(await match("title ~ 'a%'"), ['Alpha'], 'explicit % = starts with');
        assert.deepEqual(await match("title ~ '%a'"), ['Alpha', 'Gamma', 'beta'], 'explicit % = ends with');
        assert.deepEqual(await match("title ~ 'off_sale'"), ['100% off_sale'], '_ is literal without %');
        assert.deepEqual(await match("title ~ 'f_s'"), ['100% off_sale']);
        assert.deepEqual(await match("title ~ 'x_y'"), []);
        assert.deepEqual(await match("title !~ 'a'"), [TRICKY]);
        assert.deepEqual(await match('title ~ "\\\\"'), [TRICKY], 'escaped backslash');
    });

    test('filter: null / empty semantics', async () => {
        assert.deepEqual(await match("author = ''"), sorted([TRICKY, '100% off_sale']));
        assert.deepEqual(await match('author = null'), sorted([TRICKY, '100% off_sale']));
        assert.deepEqual(await match("author != ''"), ['Alpha', 'Gamma', 'beta']);
        assert.deepEqual(await match("publishedAt = ''"), sorted(['Gamma', TRICKY, '100% off_sale']));
        assert.deepEqual(await match('tags:length = 0'), [TRICKY]);
    });

    test('filter: relation paths (single, multi with ?= / =, back-relation)', async () => {
        assert.deepEqual(await match("author.name = 'Alice'"), ['Alpha', 'Gamma']);
        assert.deepEqual(await match("editors.name ?= 'Bob'"), ['Alpha', 'beta']);
        assert.deepEqual(await match("editors.name ?= 'Alice'"), ['Alpha']);
        assert.deepEqual(await match("editors.name = 'Bob'"), ['beta'], 'all editors are Bob');
        assert.deepEqual(await match(`editors.id ?= '${alice.record.id}'`), ['Alpha']);
        assert.deepEqual(await match("comments_via_post.message ?= 'meh'"), ['beta']);
        assert.deepEqual(await match("comments_via_post.author.name ?= 'Bob'"), ['Alpha']);
    });

    test('filter: multi select :each, :length, bare field is JSON text', async () => {
        assert.deepEqual(await match("tags:each ?= 'go'"), ['Alpha', 'Gamma']);
        assert.deepEqual(await match("tags:each ?= 'c'"), sorted(['Alpha', '100% off_sale']));
        assert.deepEqual(await match('tags:length > 1'), ['Alpha', 'Gamma']);
        assert.deepEqual(await match('tags:length = 1'), sorted(['beta', '100% off_sale']));
        assert.deepEqual(await match("tags:each != 'go' && tags:length > 0"), sorted(['beta', '100% off_sale']));
        assert.deepEqual(await match("tags ?= 'go'"), [], 'bare multi field is its JSON text');
        assert.deepEqual(await match("tags:length > 1 && tags:each ?= 'rust'"), ['Gamma']);
    });

    test('filter: json paths', async () => {
        assert.deepEqual(await match('meta.level = 1'), ['Alpha']);
        assert.deepEqual(await match("meta.kind = 'a'"), ['Alpha']);
        assert.deepEqual(await match('meta.level >= 1'), ['Alpha', 'beta']);
    });

    test('filter: && binds tighter than ||, parentheses group', async () => {
        assert.deepEqual(await match("title = 'Alpha' || title = 'beta' && views > 100"), ['Alpha']);
        assert.deepEqual(await match("(title = 'Alpha' || title = 'beta') && views > 100"), []);
        assert.deepEqual(await match("published = true && (views > 50 || title = 'Gamma')"), ['Gamma']);
        assert.deepEqual(await match("((views = 10) && (title ~ 'amm' || title ~ 'lph'))"), ['Alpha', 'Gamma']);
        assert.deepEqual(await match("views = 5 || views = 1 || views = 0"), sorted(['beta', '100% off_sale', TRICKY]));
    });

    test('filter: datetime macros and date strings', async () => {
        assert.deepEqual(await match("publishedAt != '' && publishedAt < @now"), ['Alpha']);
        assert.deepEqual(await match('publishedAt > @now'), ['beta']);
        assert.equal((await match('created <= @now')).length, 5);
        assert.equal((await match('created > @yesterday')).length, 5);
        assert.deepEqual(await match('created > @tomorrow'), []);
        assert.deepEqual(await match("publishedAt >= '2024-01-01' && publishedAt < '2024-01-02'"), ['Alpha']);
    });

    test('filter: invalid filters → 400 with empty data', async () => {
        for (const f of ['title = ', 'nosuchfield = 1', "(title = 'a'", 'title === 1', '   ', "title = {:x}"]) {
            const body = await expectError(guest.collection('posts').getList(1, 10, { filter: f }), 400, `filter ${JSON.stringify(f)}`);
            assert.deepEqual(body.data, {}, `filter ${JSON.stringify(f)}: ${JSON.stringify(body)}`);
        }
    });

    // ------------------------------------------------------------------ sort

    test('sort: multi-field -views,title', async () => {
        const r = await guest.collection('posts').getList(1, 10, { sort: '-views,title' });
        assert.deepEqual(titles(r.items), ['Alpha', 'Gamma', 'beta', '100% off_sale', TRICKY]);
        const r2 = await guest.collection('posts').getList(1, 10, { sort: '+views,-title' });
        assert.deepEqual(titles(r2.items), [TRICKY, '100% off_sale', 'beta', 'Gamma', 'Alpha']);
        const r3 = await su.collection('posts').getList(1, 10, { sort: '-author.name,title', filter: "author != ''" });
        assert.deepEqual(titles(r3.items), ['beta', 'Alpha', 'Gamma']);
        // A guest may not list users: the authors' names do not order the page.
        const r4 = await guest.collection('posts').getList(1, 10, { sort: '-author.name,title', filter: "author != ''" });
        assert.deepEqual(titles(r4.items), ['Alpha', 'Gamma', 'beta']);
    });

    test('sort: @random returns every record, not always in the same order', async () => {
        const orders = new Set();
        for (let i = 0; i < 12; i++) {
            const r = await guest.collection('posts').getList(1, 10, { sort: '@random' });
            assert.equal(r.items.length, 5);
            assert.equal(r.totalItems, 5);
            assert.equal(new Set(r.items.map((x) => x.id)).size, 5);
            orders.add(r.items.map((x) => x.id).join(','));
        }
        assert.ok(orders.size > 1, 'twelve @random lists all came back in the same order');
    });

    test('sort: invalid sort → 400', async () => {
        for (const s of ['nosuchfield', 'title,', "'title'"]) {
            await expectError(guest.collection('posts').getList(1, 10, { sort: s }), 400, `sort ${JSON.stringify(s)}`);
        }
    });

    // ------------------------------------------------------------------ expand

    test('expand: single relation', async () => {
        const r = await su.collection('posts').getOne(P.alpha.id, { expand: 'author' });
        assert.equal(r.expand.author.id, alice.record.id);
        assert.equal(r.expand.author.name, 'Alice');
        assert.equal(r.expand.author.collectionName, 'users');
        assert.equal(r.expand.author.collectionId, '_pb_users_auth_');
    });

    test('expand: multi relation → array in stored order', async () => {
        const r = await su.collection('posts').getOne(P.alpha.id, { expand: 'editors' });
        assert.ok(Array.isArray(r.expand.editors));
        assert.deepEqual(r.expand.editors.map((u) => u.name), ['Alice', 'Bob']);
    });

    test('expand: back-relation comments_via_post', async () => {
        const r = await su.collection('posts').getOne(P.alpha.id, { expand: 'comments_via_post' });
        assert.ok(Array.isArray(r.expand.comments_via_post));
        assert.deepEqual(sorted(r.expand.comments_via_post.map((c) => c.message)), ['great', 'nice']);
        for (const c of r.expand.comments_via_post) {
            assert.equal(c.collectionName, 'comments');
            assert.equal(c.post, P.alpha.id);
        }
        const list = await su.collection('posts').getList(1, 10, { expand: 'comments_via_post', sort: 'title' });
        const g = list.items.find((p) => p.title === 'Gamma');
        assert.ok(!g.expand?.comments_via_post || g.expand.comments_via_post.length === 0);
        const b = list.items.find((p) => p.title === 'beta');
        assert.deepEqual(b.expand.comments_via_post.map((c) => c.message), ['meh']);
    });

    test('expand: nested post.author and several paths at once', async () => {
        const c = await su.collection('comments').getOne(C.nice.id, { expand: 'post.author,author' });
        assert.equal(c.expand.post.id, P.alpha.id);
        assert.equal(c.expand.post.expand.author.name, 'Alice');
        assert.equal(c.expand.author.name, 'Bob');
        const list = await su.collection('comments').getList(1, 10, { expand: 'post.editors', sort: 'message' });
        assert.deepEqual(list.items.map((x) => x.message), ['great', 'meh', 'nice']);
        assert.deepEqual(list.items[1].expand.post.expand.editors.map((u) => u.name), ['Bob']);
    });

    test('expand: viewRule of the target applies (guest cannot see users), unknown paths are ignored', async () => {
        const r = await guest.collection('posts').getOne(P.alpha.id, { expand: 'author,nosuch,comments_via_post' });
        assert.ok(!r.expand?.author, `guest must not get users expanded: ${JSON.stringify(r.expand)}`);
        assert.equal(r.expand.comments_via_post.length, 2);
        const own = await alice.pb.collection('posts').getOne(P.alpha.id, { expand: 'author' });
        assert.equal(own.expand.author.id, alice.record.id, 'alice may view herself');
        assert.equal(own.expand.author.email, alice.email, 'own email visible in expand');
    });

    test('fields: picks keys incl. expand.author.name', async () => {
        const r = await su.collection('posts').getList(1, 10, {
            filter: "title = 'Alpha'", expand: 'author', fields: 'id,title,expand.author.name',
        });
        assert.equal(r.items.length, 1);
        assert.deepEqual(r.items[0], { id: P.alpha.id, title: 'Alpha', expand: { author: { name: 'Alice' } } });
        assert.equal(r.totalItems, 1, 'fields applies to items only');
        const one = await su.collection('posts').getOne(P.alpha.id, { fields: '*,expand.author.name', expand: 'author' });
        assert.equal(one.views, 10);
        assert.deepEqual(one.expand, { author: { name: 'Alice' } });
    });

    test('fields: :excerpt(10,true) strips HTML and cuts', async () => {
        const r = await guest.collection('posts').getOne(P.alpha.id, { fields: 'id,body:excerpt(10,true)' });
        assert.deepEqual(r, { id: P.alpha.id, body: 'Hello worl...' });
        const r2 = await guest.collection('posts').getOne(P.alpha.id, { fields: 'body:excerpt(200),title' });
        assert.deepEqual(r2, { body: 'Hello world, this is a long body text', title: 'Alpha' });
    });

    // ------------------------------------------------------------------ CRUD

    test('CRUD as superuser', async () => {
        const c = await su.collection('posts').create({ title: 'su post', views: 1, meta: [1, 'two'] });
        assert.match(c.id, ID_RE);
        assert.deepEqual(c.meta, [1, 'two']);
        const u = await su.collection('posts').update(c.id, { title: 'su post 2', published: true });
        assert.equal(u.title, 'su post 2');
        assert.equal(u.published, true);
        assert.equal(u.views, 1, 'partial update keeps other fields');
        assert.equal(u.created, c.created);
        assert.ok(u.updated >= c.updated);
        const g = await su.collection('posts').getOne(c.id);
        assert.deepEqual(g, u);
        assert.equal(await su.collection('posts').delete(c.id), true);
        await expectError(su.collection('posts').getOne(c.id), 404);
        await expectError(su.collection('posts').delete(c.id), 404);
        await expectError(su.collection('posts').update(c.id, { title: 'x' }), 404);
    });

    test('CRUD as users: owner vs other user vs guest', async () => {
        const c = await alice.pb.collection('posts').create({ title: 'by alice', author: alice.record.id });
        assert.equal(c.author, alice.record.id);
        const got = await guest.collection('posts').getOne(c.id);
        assert.equal(got.title, 'by alice');
        const u = await alice.pb.collection('posts').update(c.id, { title: 'by alice 2' });
        assert.equal(u.title, 'by alice 2');
        await expectError(bob.pb.collection('posts').update(c.id, { title: 'hijack' }), 404);
        await expectError(bob.pb.collection('posts').delete(c.id), 404);
        await expectError(guest.collection('posts').update(c.id, { title: 'hijack' }), 404);
        let body = await expectError(guest.collection('posts').create({ title: 'guest post' }), 400);
        assert.equal(body.message, 'Failed to create record.');
        body = await expectError(guest.collection('comments').delete(C.nice.id), 403, 'null deleteRule');
        assert.equal(body.message, 'Only superusers can perform this action.');
        assert.equal((await su.collection('posts').getOne(c.id)).title, 'by alice 2');
        assert.equal(await alice.pb.collection('posts').delete(c.id), true);
        await expectError(guest.collection('posts').getOne(c.id), 404);
    });

    test('client-chosen id on create', async () => {
        const id = 'abcdefghij12345';
        const c = await su.collection('posts').create({ id, title: 'custom id' });
        assert.equal(c.id, id);
        assert.equal((await guest.collection('posts').getOne(id)).title, 'custom id');
        let body = await expectError(su.collection('posts').create({ id, title: 'dup id' }), 400, 'duplicate id');
        assert.ok(body.data.id?.code, JSON.stringify(body));
        body = await expectError(su.collection('posts').create({ id: 'ABC.def/ghi1234', title: 'bad id' }), 400);
        assert.ok(body.data.id?.code, JSON.stringify(body));
        body = await expectError(su.collection('posts').create({ id: 'short', title: 'bad id' }), 400);
        assert.ok(body.data.id?.code, JSON.stringify(body));
        // the id cannot change
        await su.collection('posts').delete(id);
    });

    test('the id of a record cannot change (validation_pk_change)', async () => {
        const c = await su.collection('posts').create({ title: 'fixed id' });
        try {
            const body = await expectError(su.collection('posts').update(c.id, { id: 'zyxwvutsrq54321' }), 400);
            assertFieldCode(body, 'id', 'validation_pk_change');
            await expectError(su.collection('posts').getOne('zyxwvutsrq54321'), 404);
        } finally {
            await su.collection('posts').delete(c.id).catch(() => {});
            await su.collection('posts').delete('zyxwvutsrq54321').catch(() => {});
        }
    });

    test('update with modifiers views+, tags+, tags-, +tags, editors-', async () => {
        const c = await su.collection('posts').create({
            title: 'mods', views: 1, tags: ['go', 'c'], editors: [alice.record.id, bob.record.id],
        });
        let u = await su.collection('posts').update(c.id, { 'views+': 2, 'tags+': 'x', 'tags-': 'go' });
        assert.equal(u.views, 3);
        assert.deepEqual(u.tags, ['c', 'x']);
        u = await su.collection('posts').update(c.id, { 'views-': 5, '+tags': ['rust'], 'editors-': alice.record.id });
        assert.equal(u.views, -2);
        assert.deepEqual(u.tags, ['rust', 'c', 'x']);
        assert.deepEqual(u.editors, [bob.record.id]);
        u = await su.collection('posts').update(c.id, { 'tags+': ['c', 'js'] });
        assert.deepEqual(u.tags, ['rust', 'c', 'x', 'js'], 'append deduplicates');
        const g = await su.collection('posts').getOne(c.id);
        assert.deepEqual(g.tags, u.tags);
        assert.equal(g.views, -2);
        await su.collection('posts').delete(c.id);
    });

    test('validation: required, max length, select value, missing relation id', async () => {
        let body = await expectError(su.collection('posts').create({ views: 1 }), 400);
        assert.equal(body.message, 'Failed to create record.');
        assertFieldCode(body, 'title', 'validation_required');
        body = await expectError(su.collection('posts').create({ title: 'x'.repeat(51) }), 400);
        assertFieldCode(body, 'title', 'validation_max_text_constraint');
        body = await expectError(su.collection('posts').create({ title: 'ok', tags: ['go', 'nope'] }), 400);
        assertFieldCode(body, 'tags', 'validation_invalid_value');
        body = await expectError(su.collection('posts').create({ title: 'ok', author: 'zzzzzzzzzzzzzzz' }), 400);
        assertFieldCode(body, 'author', 'validation_missing_rel_records');
        body = await expectError(su.collection('posts').create({ title: 'ok', tags: ['go', 'c', 'js', 'x', 'rust', 'go2'] }), 400);
        assert.ok(body.data.tags?.code, JSON.stringify(body));
        // update validation
        body = await expectError(su.collection('posts').update(P.beta.id, { title: '' }), 400);
        assert.equal(body.message, 'Failed to update record.');
        assertFieldCode(body, 'title', 'validation_required');
        assert.equal((await su.collection('posts').getOne(P.beta.id)).title, 'beta');
        assert.equal((await su.collection('posts').getFullList()).length, 5, 'no record was created');
    });

    test('validation: every invalid field is reported in one response', async () => {
        const body = await expectError(su.collection('posts').create({ tags: ['nope'], author: 'zzzzzzzzzzzzzzz' }), 400);
        assertFieldCode(body, 'title', 'validation_required');
        assertFieldCode(body, 'tags', 'validation_invalid_value');
        assertFieldCode(body, 'author', 'validation_missing_rel_records');
    });

    test('email and url onlyDomains / exceptDomains are enforced (any case, any port)', async () => {
        await su.collections.create({
            name: 'contacts', listRule: '', createRule: '',
            fields: [
                { name: 'work', type: 'email', onlyDomains: ['corp.example'] },
                { name: 'home', type: 'email', exceptDomains: ['spam.example'] },
                { name: 'site', type: 'url', exceptDomains: ['evil.example'] },
                { name: 'docs', type: 'url', onlyDomains: ['docs.example'] },
            ],
        });
        const c = guest.collection('contacts');
        const ok = await c.create({ work: 'a@corp.example', home: 'b@mail.example', site: 'https://good.example/x', docs: 'https://u@DOCS.example:8443/p?q' });
        assert.equal(ok.work, 'a@corp.example');
        const body = await expectError(c.create({
            work: 'a@other.example', home: 'b@SPAM.example', site: 'http://evil.example:80/', docs: 'https://docs.example.evil/',
        }), 400);
        assert.equal(body.data.work.code, 'validation_email_domain_not_allowed');
        assert.equal(body.data.home.code, 'validation_email_domain_not_allowed');
        assert.equal(body.data.site.code, 'validation_url_domain_not_allowed');
        assert.equal(body.data.docs.code, 'validation_url_domain_not_allowed');
        const both = await expectError(su.collections.create({
            name: 'contacts2', fields: [{ name: 'e', type: 'email', onlyDomains: ['a.example'], exceptDomains: ['b.example'] }],
        }), 400);
        const idx = Object.keys(both.data.fields)[0];
        assert.equal(both.data.fields[idx].exceptDomains.code, 'validation_empty', JSON.stringify(both));
        await su.collections.delete('contacts');
    });

    test('autogeneratePattern fills text fields and ids; patterns it cannot generate are refused', async () => {
        await su.collections.create({
            name: 'invoices', listRule: '', createRule: '',
            fields: [
                { name: 'id', type: 'text', primaryKey: true, required: true, autogeneratePattern: 'inv_[a-f0-9]{12}', pattern: '^[a-z0-9_]+$', min: 1, max: 50 },
                { name: 'number', type: 'text', autogeneratePattern: 'INV-[0-9]{6}' },
                { name: 'code', type: 'text', autogeneratePattern: '(red|blue)-\\d{2}' },
            ],
        });
        const seen = new Set();
        for (let i = 0; i < 5; i++) {
            const r = await guest.collection('invoices').create({});
            assert.match(r.id, /^inv_[a-f0-9]{12}$/);
            assert.match(r.number, /^INV-[0-9]{6}$/);
            assert.match(r.code, /^(red|blue)-[0-9]{2}$/);
            seen.add(r.number);
        }
        assert.ok(seen.size > 1, 'generated values differ');
        const given = await guest.collection('invoices').create({ number: 'mine' });
        assert.equal(given.number, 'mine');
        for (const bad of ['a.b', '[^a]{3}', 'x{2,}']) {
            const body = await expectError(su.collections.create({
                name: 'badpat', fields: [{ name: 't', type: 'text', autogeneratePattern: bad }],
            }), 400);
            const idx = Object.keys(body.data.fields)[0];
            assert.equal(body.data.fields[idx].autogeneratePattern.code, 'validation_invalid_regex', JSON.stringify(body));
        }
        await su.collections.delete('invoices');
    });

    test('text patterns are read as PocketBase (Go RE2) reads them; unsupported ones are refused', async () => {
        await su.collections.create({
            name: 'codes', listRule: '', createRule: '',
            fields: [
                { name: 'pin', type: 'text', pattern: '^\\d{6}$' },
                { name: 'handle', type: 'text', pattern: '^[\\w.-]+$' },
            ],
        });
        const c = guest.collection('codes');
        assert.equal((await c.create({ pin: '123456', handle: 'a.b-c_9' })).pin, '123456');
        const body = await expectError(c.create({ pin: 'dddddd', handle: 'a b' }), 400);
        assert.equal(body.data.pin.code, 'validation_invalid_format');
        assert.equal(body.data.handle.code, 'validation_invalid_format');
        for (const bad of ['(?i)abc', 'a*?', '\\bword\\b', '(unclosed']) {
            const e = await expectError(su.collections.create({
                name: 'badre', fields: [{ name: 't', type: 'text', pattern: bad }],
            }), 400);
            const idx = Object.keys(e.data.fields)[0];
            assert.equal(e.data.fields[idx].pattern.code, 'validation_invalid_regex', `${bad}: ${JSON.stringify(e)}`);
        }
        await su.collections.delete('codes');
    });

    test('unique index violation → 400 validation_not_unique', async () => {
        let body = await expectError(su.collection('posts').create({ title: 'dup slug', slug: 'alpha' }), 400);
        assertFieldCode(body, 'slug', 'validation_not_unique');
        body = await expectError(su.collection('posts').update(P.beta.id, { slug: 'gamma' }), 400);
        assertFieldCode(body, 'slug', 'validation_not_unique');
        // the partial index allows several empty slugs
        const a = await su.collection('posts').create({ title: 'no slug 1' });
        const b = await su.collection('posts').create({ title: 'no slug 2' });
        await su.collection('posts').delete(a.id);
        await su.collection('posts').delete(b.id);
    });

    test('delete cascades to comments (cascadeDelete)', async () => {
        const p = await su.collection('posts').create({ title: 'to delete' });
        const c1 = await su.collection('comments').create({ post: p.id, message: 'c1' });
        const c2 = await su.collection('comments').create({ post: p.id, message: 'c2' });
        assert.equal(await su.collection('posts').delete(p.id), true);
        await expectError(su.collection('comments').getOne(c1.id), 404);
        await expectError(su.collection('comments').getOne(c2.id), 404);
        await su.collection('comments').getOne(C.nice.id); // others untouched
    });

    test('delete refused while a required non-cascade relation points at the record', async () => {
        const p = await su.collection('posts').create({ title: 'pinned' });
        const pin = await su.collection('pins').create({ post: p.id });
        const body = await expectError(su.collection('posts').delete(p.id), 400);
        assert.equal(body.message, 'Failed to delete record. Make sure that the record is not part of a required relation reference.');
        assert.equal((await su.collection('posts').getOne(p.id)).title, 'pinned');
        assert.equal((await su.collection('pins').getOne(pin.id)).post, p.id);
        await su.collection('pins').delete(pin.id);
        assert.equal(await su.collection('posts').delete(p.id), true);
    });

    test('delete of a referenced user clears optional relations', async () => {
        const carol = await makeUser(su, srv.url, { name: 'Carol' });
        const p = await su.collection('posts').create({
            title: 'carol', author: carol.record.id, editors: [carol.record.id, bob.record.id],
        });
        assert.equal(await su.collection('users').delete(carol.record.id), true);
        const g = await su.collection('posts').getOne(p.id);
        assert.equal(g.author, '');
        assert.deepEqual(g.editors, [bob.record.id]);
        await su.collection('posts').delete(p.id);
    });

    test('a repeated list reflects every write at once (cached pages and totals)', async () => {
        // The same page asked twice, with a create, an update and a delete in
        // between: each answer must show the write that preceded it.
        const page = () => guest.collection('posts').getList(1, 200, { filter: 'views >= 0', sort: 'title' });
        const before = await page();
        const again = await page();
        assert.equal(again.totalItems, before.totalItems);
        const rec = await alice.pb.collection('posts').create({ title: 'Cache probe', author: alice.record.id, views: 1 });
        const afterCreate = await page();
        assert.equal(afterCreate.totalItems, before.totalItems + 1);
        assert.ok(titles(afterCreate.items).includes('Cache probe'));
        await alice.pb.collection('posts').update(rec.id, { title: 'Cache probe 2' });
        const afterUpdate = await page();
        assert.ok(titles(afterUpdate.items).includes('Cache probe 2'));
        assert.ok(!titles(afterUpdate.items).includes('Cache probe'));
        await alice.pb.collection('posts').delete(rec.id);
        const afterDelete = await page();
        assert.equal(afterDelete.totalItems, before.totalItems);
        assert.ok(!titles(afterDelete.items).includes('Cache probe 2'));
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
