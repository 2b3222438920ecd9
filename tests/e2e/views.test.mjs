// View collections (spec §5.1, PocketBase's "view" type) through the JS SDK:
// a view over a base collection with a join and an aggregate, its fields
// inferred from the query, read through list/getOne/filter/sort/expand/
// fields with its own rules (a user sees only what the view rule allows),
// writes refused, bad queries refused with their reason, no realtime events
// of its own, a source change that breaks it refused, and an export imported
// again (also into an empty server, views listed before their sources).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { spawnSync } from 'node:child_process';
import { startServer, ENGINE, dbUrl } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, rawFetch, SLOW,
} from './lib/util.mjs';

globalThis.EventSource = EventSource;

const PG = ENGINE === 'postgresql';
// total() is SQLite's; CAST(... AS REAL) makes the same number field on PostgreSQL.
const STATS_QUERY = `SELECT p.id, p.title, p.owner, p.published, count(c.id) AS comments,
    ${PG ? 'CAST(coalesce(sum(c.score), 0) AS REAL)' : 'total(c.score)'} AS score, max(c.body) AS last, p.id AS post
  FROM posts p LEFT JOIN comments c ON c.post = p.id
  GROUP BY p.id`;
// What only PostgreSQL can be asked: each refused at viewQuery.
const PG_BAD = {
    'a data-modifying CTE': 'WITH d AS (DELETE FROM comments RETURNING id) SELECT id FROM d',
    'FOR UPDATE': 'SELECT id FROM posts FOR UPDATE',
    'FOR SHARE in a subquery': 'SELECT id FROM (SELECT id FROM posts FOR SHARE) x',
    'SELECT INTO': 'SELECT id INTO newtable FROM posts',
    pg_read_file: "SELECT id, pg_read_file('/etc/passwd') AS f FROM posts",
    pg_sleep: 'SELECT id, CASE WHEN pg_sleep(5) IS NULL THEN 1 END AS s FROM posts',
    set_config: "SELECT id, set_config('default_transaction_read_only', 'off', false) AS s FROM posts",
    nextval: "SELECT id, nextval('posts_rowid_seq') AS n FROM posts",
    current_setting: "SELECT id, current_setting('data_directory') AS s FROM posts",
    query_to_xml: "SELECT id, table_to_xml('_superusers', true, true, '') AS x FROM posts",
    'a whole row of users': 'SELECT id, row_to_json(u) AS u FROM users u',
    'a whole row in a subquery': 'SELECT x.id, x.r AS r FROM (SELECT u.id, u AS r FROM users u) x',
    pg_authid: 'SELECT p.id, (SELECT count(*) FROM pg_authid) AS n FROM posts p',
    'a catalog view': 'SELECT p.id, (SELECT max(passwd) FROM pg_shadow) AS n FROM posts p',
    'information_schema': 'SELECT table_name AS id FROM information_schema.tables',
    'a sequence': 'SELECT last_value AS id FROM posts_rowid_seq',
    'a prepared parameter': 'SELECT id FROM posts WHERE title = $1',
    'a trailing statement after a comment': 'SELECT id FROM posts; -- x\nDELETE FROM posts',
};
const PG_MSGS = [
    [/found .*data-modifying/, 'WITH d AS (DELETE FROM comments RETURNING id) SELECT id FROM d'],
    [/FOR UPDATE/, 'SELECT id FROM posts FOR UPDATE'],
    [/found a call of pg_read_file/, "SELECT id, pg_read_file('/etc/passwd') AS f FROM posts"],
    [/found a call of pg_sleep/, 'SELECT id, CASE WHEN pg_sleep(5) IS NULL THEN 1 END AS s FROM posts'],
    [/found a call of set_config/, "SELECT id, set_config('a.b', 'c', false) AS s FROM posts"],
    [/found a call of nextval/, "SELECT id, nextval('posts_rowid_seq') AS n FROM posts"],
    [/users\.password/, 'SELECT id, row_to_json(u) AS u FROM users u'],
    [/pg_catalog\.pg_authid/, 'SELECT p.id, (SELECT count(*) FROM pg_authid) AS n FROM posts p'],
    [/multiple statements/, 'SELECT id FROM posts; -- x\nDELETE FROM posts'],
    [/found DELETE/, 'DELETE FROM posts'],
];
const STATS_RULE = 'published = true || owner = @request.auth.id';

describe('view collections', () => {
    let srv;
    let su;
    let guest;
    let alice;
    let bob;
    const posts = {}; // title -> id

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        await su.collections.create({
            name: 'posts', listRule: '', viewRule: '', createRule: '@request.auth.id != ""',
            fields: [
                { name: 'title', type: 'text', max: 120 },
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'published', type: 'bool' },
            ],
        });
        await su.collections.create({
            name: 'comments', listRule: '', viewRule: '', createRule: '@request.auth.id != ""',
            fields: [
                { name: 'post', type: 'relation', collectionId: 'posts', maxSelect: 1 },
                { name: 'body', type: 'text' },
                { name: 'score', type: 'number' },
            ],
        });
        const make = async (who, title, published, comments) => {
            const p = await who.pb.collection('posts').create({ title, owner: who.record.id, published });
            posts[title] = p.id;
            for (const [body, score] of comments) {
                await who.pb.collection('comments').create({ post: p.id, body, score });
            }
        };
        await make(alice, 'alice public', true, [['a', 1], ['b', 2], ['c', 3.5]]);
        await make(alice, 'alice draft', false, [['d', 1]]);
        await make(bob, 'bob draft', false, []);
        await make(bob, 'bob public', true, [['e', 10]]);
    });
    after(async () => {
        for (const pb of [su, alice?.pb, bob?.pb]) pb?.realtime.unsubscribe().catch(() => {});
        if (srv && !srv.exited) await srv.kill9();
    });

    test('a superuser creates a view; its fields come from the query', async () => {
        const v = await su.collections.create({
            name: 'post_stats', type: 'view', listRule: STATS_RULE, viewRule: STATS_RULE,
            viewQuery: STATS_QUERY,
            fields: [{ name: 'ignored', type: 'bool' }], // a view's fields are its query's
        });
        assert.equal(v.type, 'view');
        assert.equal(v.viewQuery, STATS_QUERY);
        assert.equal(v.createRule, null);
        assert.deepEqual(v.indexes, []);
        const by = Object.fromEntries(v.fields.map((f) => [f.name, f]));
        assert.deepEqual(v.fields.map((f) => f.name),
            ['id', 'title', 'owner', 'published', 'comments', 'score', 'last', 'post']);
        assert.equal(by.id.type, 'text');
        assert.equal(by.id.primaryKey, true);
        assert.equal(by.title.type, 'text');
        assert.equal(by.title.max, 120, 'a copied field keeps its options');
        assert.equal(by.owner.type, 'relation');
        assert.equal(by.owner.collectionId, '_pb_users_auth_');
        assert.equal(by.published.type, 'bool');
        assert.equal(by.comments.type, 'number');
        assert.equal(by.comments.onlyInt, true, 'count(...) is an integer');
        assert.equal(by.score.type, 'number');
        assert.equal(by.score.onlyInt, false, 'total(...) is a number');
        assert.equal(by.last.type, 'json', 'any other expression is json');
        assert.equal(by.post.type, 'relation', 'an id is a relation to its collection');
        assert.equal(by.post.collectionId, (await su.collections.getOne('posts')).id);
        assert.equal(by.post.maxSelect, 1);
        const again = await su.collections.getOne('post_stats');
        assert.deepEqual(again.fields, v.fields);
    });

    test('list, getOne and totals follow the view rule per requester', async () => {
        const titles = (items) => items.map((r) => r.title).sort();
        const g = await guest.collection('post_stats').getList(1, 30);
        assert.deepEqual(titles(g.items), ['alice public', 'bob public']);
        assert.equal(g.totalItems, 2);
        const a = await alice.pb.collection('post_stats').getList(1, 30);
        assert.deepEqual(titles(a.items), ['alice draft', 'alice public', 'bob public']);
        assert.equal(a.totalItems, 3);
        const b = await bob.pb.collection('post_stats').getFullList();
        assert.deepEqual(titles(b), ['alice public', 'bob draft', 'bob public']);
        const s = await su.collection('post_stats').getList(1, 2);
        assert.equal(s.totalItems, 4);
        assert.equal(s.totalPages, 2);
        const one = await alice.pb.collection('post_stats').getOne(posts['alice public']);
        assert.equal(one.collectionName, 'post_stats');
        assert.equal(one.comments, 3);
        assert.equal(one.score, 6.5);
        assert.equal(one.last, 'c');
        assert.equal(one.published, true);
        assert.equal(one.post, posts['alice public']);
        await expectError(bob.pb.collection('post_stats').getOne(posts['alice draft']), 404,
            'another user\'s draft');
        await expectError(guest.collection('post_stats').getOne(posts['bob draft']), 404, 'a guest');
        const mine = await alice.pb.collection('post_stats').getOne(posts['alice draft']);
        assert.equal(mine.comments, 1);
        const empty = await su.collection('post_stats').getOne(posts['bob draft']);
        assert.equal(empty.comments, 0);
        assert.equal(empty.score, 0);
        assert.equal(empty.last, null);
        const skip = await guest.collection('post_stats').getList(1, 30, { skipTotal: true });
        assert.equal(skip.totalItems, -1);
    });

    test('filter, sort, fields and expand through the inferred relations', async () => {
        const l = await alice.pb.collection('post_stats').getFullList({
            filter: 'comments >= 1 && score > 0', sort: '-comments,title',
        });
        assert.deepEqual(l.map((r) => r.title), ['alice public', 'alice draft', 'bob public']);
        const f = await guest.collection('post_stats').getFirstListItem(`title ~ "bob"`);
        assert.equal(f.title, 'bob public');
        const picked = await guest.collection('post_stats').getList(1, 30, { fields: 'id,comments', sort: 'comments' });
        assert.deepEqual(picked.items.map((r) => Object.keys(r).sort()), [['comments', 'id'], ['comments', 'id']]);
        assert.deepEqual(picked.items.map((r) => r.comments), [1, 3]);
        // owner expands into users, whose own viewRule still applies: alice sees herself only.
        const ex = await alice.pb.collection('post_stats').getFullList({ expand: 'owner,post', sort: 'title' });
        const byTitle = Object.fromEntries(ex.map((r) => [r.title, r]));
        assert.equal(byTitle['alice public'].expand.owner.id, alice.record.id);
        assert.equal(byTitle['bob public'].expand?.owner, undefined, 'bob is not alice\'s to see');
        assert.equal(byTitle['bob public'].expand.post.title, 'bob public');
        const suEx = await su.collection('post_stats').getOne(posts['bob draft'], { expand: 'owner' });
        assert.equal(suEx.expand.owner.id, bob.record.id);
        // a filter reaching through the relation
        const viaRel = await su.collection('post_stats').getFullList({ filter: `owner.name = "Bob"` });
        assert.equal(viaRel.length, 2);
        // a filter on the json field of an expression
        const j = await su.collection('post_stats').getFullList({ filter: 'last = "e"' });
        assert.deepEqual(j.map((r) => r.title), ['bob public']);
        // a back-relation into the view from its source
        const back = await su.collection('posts').getOne(posts['alice public'], { expand: 'post_stats_via_post' });
        assert.equal(back.expand.post_stats_via_post[0].comments, 3);
        await expectError(guest.collection('post_stats').getList(1, 30, { filter: 'nope = 1' }), 400, 'unknown field');
        await expectError(guest.collection('post_stats').getList(1, 30, { sort: '@rowid' }), 400, '@rowid');
    });

    test('records of a view cannot be written, not even by a superuser', async () => {
        for (const pb of [su, alice.pb, guest]) {
            let body = await expectError(pb.collection('post_stats').create({ title: 'x' }), 400, 'create');
            assert.equal(body.message, 'Unsupported collection type.');
            body = await expectError(pb.collection('post_stats').update(posts['alice public'], { title: 'x' }), 400, 'update');
            assert.equal(body.message, 'Unsupported collection type.');
            body = await expectError(pb.collection('post_stats').delete(posts['alice public']), 400, 'delete');
            assert.equal(body.message, 'Unsupported collection type.');
        }
        const batch = su.createBatch();
        batch.collection('post_stats').create({ title: 'x' });
        await expectError(batch.send(), 400, 'batch');
        await expectError(su.collections.truncate('post_stats'), 400, 'truncate');
        let body = await expectError(su.collections.update('post_stats', { createRule: '' }), 400, 'a createRule');
        assertFieldCode(body, 'createRule', 'validation_nil');
        body = await expectError(su.collections.update('post_stats', { indexes: ['CREATE INDEX x ON post_stats (title)'] }), 400, 'an index');
        assertFieldCode(body, 'indexes', 'validation_indexes_not_supported');
        assert.equal((await su.collection('posts').getOne(posts['alice public'])).title, 'alice public');
    });

    test('queries that are not one read-only SELECT of readable data are refused', async () => {
        const bad = {
            'two statements': 'SELECT id FROM posts; SELECT id FROM comments',
            'a trailing write': 'SELECT id FROM posts; DELETE FROM posts',
            INSERT: "INSERT INTO posts (id, title) VALUES ('x1x1x1x1x1x1x1x', 'x') RETURNING id",
            UPDATE: "UPDATE posts SET title = 'x' RETURNING id",
            DELETE: 'DELETE FROM comments RETURNING id',
            PRAGMA: 'PRAGMA table_info(posts)',
            ATTACH: "ATTACH '/tmp/x.db' AS x",
            'a pragma function': "SELECT name AS id FROM pragma_table_info('posts')",
            'no id column': 'SELECT title FROM posts',
            'a syntax error': 'SELEC id FROM posts',
            'a missing table': 'SELECT id FROM nowhere',
            'a wildcard': 'SELECT * FROM posts',
            // PostgreSQL names it "count"
            ...(PG ? {} : { 'a column without a name': 'SELECT id, count(*) FROM posts' }),
            'password hashes': 'SELECT id, password FROM _superusers',
            'a password in a CTE': 'WITH h AS (SELECT id, password AS x FROM users) SELECT id, length(x) AS n FROM h',
            'token keys': 'SELECT id, tokenKey FROM users',
            'the schema table': 'SELECT id, data FROM _collections',
            'sqlite_master': 'SELECT name AS id FROM sqlite_master',
            ...(PG ? PG_BAD : {}),
        };
        for (const [what, viewQuery] of Object.entries(bad)) {
            const body = await expectError(su.collections.create({ name: 'bad_view', type: 'view', listRule: '', viewQuery }),
                400, what);
            assert.equal(body.message, 'Failed to create collection.', what);
            assertFieldCode(body, 'viewQuery', 'validation_invalid_view_query');
            assert.match(body.data.viewQuery.message, /^Invalid query - /, what);
        }
        const msg = async (viewQuery) => (await expectError(su.collections.create({ name: 'bad_view', type: 'view', viewQuery }), 400)).data.viewQuery.message;
        assert.match(await msg('SELECT id FROM posts; SELECT 1'), /multiple statements/);
        assert.match(await msg('DELETE FROM posts'), /found DELETE/);
        assert.match(await msg('PRAGMA table_info(posts)'), PG ? /syntax error/ : /found PRAGMA/);
        if (PG) {
            for (const [re, q] of PG_MSGS) assert.match(await msg(q), re, q);
            // the refusals left no view behind (temporary or not), the writer's transaction goes on
            const views = spawnSync('psql', ['-qAtX', dbUrl(srv.dir), '-c',
                'SELECT string_agg(viewname, \',\' ORDER BY viewname) FROM pg_views WHERE schemaname NOT IN (\'pg_catalog\', \'information_schema\')'],
            { encoding: 'utf8' });
            assert.equal(views.status, 0, views.stderr);
            assert.equal(views.stdout.trim(), 'post_stats');
            const p = await alice.pb.collection('posts').create({ title: 'after', owner: alice.record.id });
            await su.collection('posts').delete(p.id);
        }
        assert.match(await msg('SELECT title FROM posts'), /missing required id column/);
        assert.match(await msg('SELECT id, password FROM _superusers'), /_superusers\.password/);
        assert.match(await msg('SELEC id FROM posts'), /syntax error/);
        // nothing was made, nothing was written
        await expectError(su.collections.getOne('bad_view'), 404);
        assert.equal((await su.collection('posts').getFullList()).length, 4);
        assert.equal((await su.collection('comments').getFullList()).length, 5);
        // only superusers declare views
        await expectError(alice.pb.collections.create({ name: 'mine', type: 'view', viewQuery: 'SELECT id FROM posts' }), 403);
        await expectError(guest.collections.create({ name: 'mine', type: 'view', viewQuery: 'SELECT id FROM posts' }), 401);
    });

    test('views make no realtime events of their own', async () => {
        const viewEvents = [];
        const postEvents = [];
        await su.collection('post_stats').subscribe('*', (e) => viewEvents.push(e));
        await su.collection('posts').subscribe('*', (e) => postEvents.push(e));
        const p = await alice.pb.collection('posts').create({ title: 'live', owner: alice.record.id, published: true });
        await alice.pb.collection('comments').create({ post: p.id, body: 'z', score: 1 });
        const end = Date.now() + 10000 * SLOW;
        while (!postEvents.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        assert.equal(postEvents[0]?.action, 'create');
        // events reach one client in commit order: the view's would be here by now
        assert.deepEqual(viewEvents, []);
        await su.realtime.unsubscribe();
        assert.equal((await guest.collection('post_stats').getOne(p.id)).comments, 1, 'the view reads the new rows');
        await su.collection('posts').delete(p.id);
    });

    test('a source change that breaks the view is refused; others make it again', async () => {
        const src = await su.collections.getOne('posts');
        // drop "title", which the view reads
        let body = await expectError(su.collections.update('posts', { fields: src.fields.filter((f) => f.name !== 'title') }),
            400, 'drop a column the view reads');
        assert.match(body.message, /post_stats/);
        assert.match(body.message, PG ? /column p\.title does not exist/ : /no such column/);
        // rename the table the view reads
        body = await expectError(su.collections.update('posts', { name: 'articles' }), 400, 'rename');
        assert.match(body.message, /post_stats/);
        // delete a collection the view reads
        body = await expectError(su.collections.delete('comments'), 400, 'delete');
        assert.match(body.message, /post_stats/);
        assert.ok((await su.collections.getOne('posts')).fields.some((f) => f.name === 'title'));
        // a change the view survives: a new field, a new max on title
        const fields = src.fields.map((f) => (f.name === 'title' ? { ...f, max: 300 } : f));
        fields.push({ name: 'extra', type: 'text' });
        await su.collections.update('posts', { fields });
        const v = await su.collections.getOne('post_stats');
        assert.equal(v.fields.find((f) => f.name === 'title').max, 300, 'the copied field follows its source');
        assert.equal((await guest.collection('post_stats').getOne(posts['alice public'])).comments, 3);
        // a view's own query and rules change like any collection's
        const wider = STATS_QUERY.replace('p.id AS post', 'p.id AS post, p.extra');
        const updated = await su.collections.update('post_stats', { listRule: '', viewQuery: wider });
        assert.equal(updated.fields.at(-1).name, 'extra');
        const all = await guest.collection('post_stats').getFullList();
        assert.equal(all.length, 4, 'listRule "" now');
        assert.equal(all[0].extra, '');
    });

    test('export and import again, also into an empty server with views listed first', async () => {
        const exported = await su.collections.getFullList();
        const names = exported.map((c) => c.name);
        assert.ok(names.includes('post_stats'));
        // the same definitions again: nothing changes
        await su.collections.import(exported, false);
        assert.equal((await guest.collection('post_stats').getFullList()).length, 4);
        // a view over the view, then a second server importing views before their sources
        await su.collections.create({
            name: 'busy_posts', type: 'view', listRule: '', viewRule: '',
            viewQuery: 'SELECT s.id, s.title, s.comments, s.id AS stats FROM post_stats s WHERE s.comments > 1',
        });
        const busy = await su.collections.getOne('busy_posts');
        assert.equal(busy.fields.find((f) => f.name === 'comments').type, 'number');
        assert.equal(busy.fields.find((f) => f.name === 'stats').collectionId, (await su.collections.getOne('post_stats')).id);
        const all = (await su.collections.getFullList()).filter((c) => !c.system || c.name === 'users');
        const viewsFirst = [...all.filter((c) => c.type === 'view').reverse(), ...all.filter((c) => c.type !== 'view')];
        const other = await startServer();
        try {
            const su2 = await superuserClient(other.url);
            await su2.collections.import(viewsFirst, false);
            const got = await su2.collections.getOne('busy_posts');
            assert.deepEqual(got.fields.map((f) => [f.name, f.type]), busy.fields.map((f) => [f.name, f.type]));
            const u = await su2.collection('users').create({ email: 'x@example.com', password: 'userpass123', passwordConfirm: 'userpass123' });
            const p = await su2.collection('posts').create({ title: 'one', owner: u.id, published: true });
            await su2.collection('comments').create({ post: p.id, body: 'a' });
            await su2.collection('comments').create({ post: p.id, body: 'b' });
            const rows = await client(other.url).collection('busy_posts').getFullList({ expand: 'stats' });
            assert.equal(rows.length, 1);
            assert.equal(rows[0].comments, 2);
            assert.equal(rows[0].expand.stats.title, 'one');
            // deleteMissing removes views before the collections they read
            const keep = (await su2.collections.getFullList()).filter((c) => c.system || c.name === 'users' || c.name === 'posts' || c.name === 'comments');
            await su2.collections.import(keep, true);
            await expectError(su2.collections.getOne('busy_posts'), 404);
            await expectError(su2.collections.getOne('post_stats'), 404);
        } finally {
            await other.stop();
        }
    });

    test('once the views are deleted, their sources may go', async () => {
        let body = await expectError(su.collections.delete('post_stats'), 400, 'a view read by another view');
        assert.match(body.message, /busy_posts/);
        await su.collections.delete('busy_posts');
        await su.collections.delete('post_stats');
        const r = await rawFetch(`${srv.url}/api/collections/post_stats/records`);
        assert.equal(r.status, 404);
        await su.collections.delete('comments');
        await su.collections.delete('posts');
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
