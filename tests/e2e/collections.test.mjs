// Collections management API (§5.2, §5.6) through the official JS SDK.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, DATE_RE, ID_RE,
} from './lib/util.mjs';

const POSTS = {
    name: 'posts',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '@request.auth.id != ""',
    updateRule: 'author = @request.auth.id',
    deleteRule: null,
    fields: [
        { name: 'title', type: 'text', required: true, max: 100 },
        { name: 'views', type: 'number' },
        { name: 'published', type: 'bool' },
        { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
        { name: 'tags', type: 'select', maxSelect: 5, values: ['go', 'c', 'js', 'x'] },
        { name: 'meta', type: 'json' },
        { name: 'publishedAt', type: 'date' },
        { name: 'created', type: 'autodate', onCreate: true },
        { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
};

describe('collections API', () => {
    let srv;
    let su;
    let posts;
    let comments;
    let user; // {record, pb}

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('superuser auth: token, record and authStore', async () => {
        assert.ok(su.authStore.isValid, 'authStore.isValid');
        assert.ok(su.authStore.isSuperuser, 'authStore.isSuperuser');
        assert.equal(su.authStore.record.collectionName, '_superusers');
        assert.equal(su.authStore.record.collectionId, 'pbc_3142635823');
        assert.equal(su.authStore.record.email, 'admin@example.com');
    });

    test('system collections are listed', async () => {
        const all = await su.collections.getFullList();
        const names = all.map((c) => c.name);
        assert.ok(names.includes('_superusers'), `names: ${names}`);
        assert.ok(names.includes('users'), `names: ${names}`);
        const users = all.find((c) => c.name === 'users');
        assert.equal(users.id, '_pb_users_auth_');
        assert.equal(users.type, 'auth');
    });

    test('create a base collection with every core field type and rules', async () => {
        posts = await su.collections.create(POSTS);
        assert.equal(posts.name, 'posts');
        assert.equal(posts.type, 'base');
        assert.equal(posts.id, 'pbc_1125843985', 'deterministic id pbc_<crc32(type+name)>');
        assert.equal(posts.system, false);
        assert.equal(posts.listRule, '');
        assert.equal(posts.viewRule, '');
        assert.equal(posts.createRule, '@request.auth.id != ""');
        assert.equal(posts.updateRule, 'author = @request.auth.id');
        assert.equal(posts.deleteRule, null);
        assert.match(posts.created, DATE_RE);
        assert.match(posts.updated, DATE_RE);
        assert.ok(Array.isArray(posts.indexes));
        const byName = Object.fromEntries(posts.fields.map((f) => [f.name, f]));
        assert.deepEqual(posts.fields.map((f) => f.name),
            ['id', 'title', 'views', 'published', 'author', 'tags', 'meta', 'publishedAt', 'created', 'updated']);
        assert.equal(byName.id.type, 'text');
        assert.equal(byName.id.system, true);
        assert.equal(byName.id.primaryKey, true);
        assert.equal(byName.id.pattern, '^[a-z0-9]+$');
        assert.equal(byName.title.id, 'text724990059', 'field id <type><crc32(name)>');
        assert.equal(byName.title.required, true);
        assert.equal(byName.title.max, 100);
        assert.equal(byName.author.collectionId, '_pb_users_auth_');
        assert.equal(byName.author.maxSelect, 1);
        assert.deepEqual(byName.tags.values, ['go', 'c', 'js', 'x']);
        assert.equal(byName.tags.maxSelect, 5);
        assert.equal(byName.updated.onUpdate, true);
        for (const f of posts.fields) {
            assert.equal(typeof f.id, 'string');
            assert.ok(f.id.length > 0, `field ${f.name} has an id`);
            assert.equal(typeof f.hidden, 'boolean');
        }
    });

    test('create a collection with a cascade-delete relation to posts', async () => {
        comments = await su.collections.create({
            name: 'comments',
            listRule: '',
            viewRule: '',
            fields: [
                { name: 'post', type: 'relation', collectionId: posts.id, cascadeDelete: true, maxSelect: 1, required: true },
                { name: 'message', type: 'text' },
            ],
        });
        const post = comments.fields.find((f) => f.name === 'post');
        assert.equal(post.type, 'relation');
        assert.equal(post.collectionId, posts.id);
        assert.equal(post.cascadeDelete, true);
        assert.equal(post.required, true);
        // new collections default to superuser-only (null) rules when not given
        assert.equal(comments.createRule, null);
        assert.equal(comments.updateRule, null);
        assert.equal(comments.deleteRule, null);
    });

    test('getOne by name, by id and by name in another case', async () => {
        const a = await su.collections.getOne('posts');
        const b = await su.collections.getOne(posts.id);
        const c = await su.collections.getOne('POSTS');
        assert.equal(a.id, posts.id);
        assert.equal(b.name, 'posts');
        assert.equal(c.id, posts.id);
        assert.deepEqual(a.fields, posts.fields);
    });

    test('getOne of a missing collection is 404', async () => {
        await expectError(su.collections.getOne('nope_nope'), 404);
    });

    test('getList with filter and sort', async () => {
        const res = await su.collections.getList(1, 30, { filter: "name = 'posts' || name = 'comments'", sort: '-name' });
        assert.equal(res.page, 1);
        assert.equal(res.perPage, 30);
        assert.equal(res.totalItems, 2);
        assert.equal(res.totalPages, 1);
        assert.deepEqual(res.items.map((c) => c.name), ['posts', 'comments']);
        const sys = await su.collections.getList(1, 50, { filter: 'system = true' });
        assert.ok(sys.items.some((c) => c.name === '_superusers'), JSON.stringify(sys.items.map((c) => c.name)));
        assert.ok(sys.items.every((c) => c.system === true));
        const auth = await su.collections.getList(1, 50, { filter: "type = 'auth'" });
        assert.deepEqual(auth.items.map((c) => c.name).sort(), ['_superusers', 'users']);
    });

    test('fields picker applies to collection responses', async () => {
        const res = await su.collections.getList(1, 30, { filter: "name = 'posts'", fields: 'id,name' });
        assert.deepEqual(res.items, [{ id: posts.id, name: 'posts' }]);
        assert.equal(res.totalItems, 1);
        const one = await su.collections.getOne('posts', { fields: 'name,fields.name' });
        assert.deepEqual(one, { name: 'posts', fields: posts.fields.map((f) => ({ name: f.name })) });
    });

    test('records of the new collection work and keep their data', async () => {
        const rec = await su.collection('posts').create({ title: 'first', views: 3, tags: ['go', 'c'], meta: { a: 1 } });
        assert.match(rec.id, ID_RE);
        assert.equal(rec.title, 'first');
        assert.equal(rec.views, 3);
        assert.equal(rec.published, false);
        assert.equal(rec.author, '');
        assert.deepEqual(rec.tags, ['go', 'c']);
        assert.deepEqual(rec.meta, { a: 1 });
        assert.equal(rec.publishedAt, '');
        assert.match(rec.created, DATE_RE);
        assert.match(rec.updated, DATE_RE);
        const c = await su.collection('comments').create({ post: rec.id, message: 'hi' });
        assert.equal(c.post, rec.id);
    });

    test('update: add a field, rename a field, change rules; data is kept', async () => {
        let art = await su.collections.create({
            name: 'articles',
            listRule: null,
            fields: [
                { name: 'title', type: 'text' },
                { name: 'body', type: 'text' },
                { name: 'score', type: 'number' },
            ],
        });
        const r1 = await su.collection('articles').create({ title: 'hello', body: 'world', score: 7 });

        const fields = art.fields.map((f) => (f.name === 'title' ? { ...f, name: 'headline' } : f));
        fields.push({ name: 'subtitle', type: 'text', max: 50 });
        art = await su.collections.update('articles', { fields, listRule: '', viewRule: 'id != ""' });
        assert.deepEqual(art.fields.map((f) => f.name), ['id', 'headline', 'body', 'score', 'subtitle']);
        const oldTitle = fields.find((f) => f.name === 'headline');
        assert.equal(art.fields.find((f) => f.name === 'headline').id, oldTitle.id, 'renamed field keeps its id');
        assert.equal(art.listRule, '');
        assert.equal(art.viewRule, 'id != ""');

        const got = await su.collection('articles').getOne(r1.id);
        assert.equal(got.headline, 'hello', 'renamed column keeps its data');
        assert.equal(got.body, 'world');
        assert.equal(got.score, 7);
        assert.equal(got.subtitle, '');
        assert.ok(!('title' in got), 'old field name is gone');

        const upd = await su.collection('articles').update(r1.id, { subtitle: 'sub' });
        assert.equal(upd.subtitle, 'sub');
        const found = await su.collection('articles').getList(1, 10, { filter: "headline = 'hello'" });
        assert.equal(found.totalItems, 1);

        // the new listRule is in force for guests
        const guest = client(srv.url);
        const gl = await guest.collection('articles').getList();
        assert.equal(gl.totalItems, 1);

        // removing a field drops it from the records
        const fewer = art.fields.filter((f) => f.name !== 'score');
        art = await su.collections.update('articles', { fields: fewer });
        const got2 = await su.collection('articles').getOne(r1.id);
        assert.ok(!('score' in got2), JSON.stringify(got2));
        assert.equal(got2.headline, 'hello');
        assert.equal(got2.subtitle, 'sub');
    });

    test('scaffolds', async () => {
        const s = await su.collections.getScaffolds();
        for (const type of ['base', 'auth', 'view']) {
            assert.ok(s[type], `scaffold ${type}`);
            assert.equal(s[type].type, type);
            assert.equal(s[type].id, '');
            assert.equal(s[type].name, '');
            assert.ok(Array.isArray(s[type].fields));
            if (type !== 'view') {
                assert.ok(s[type].fields.some((f) => f.name === 'id' && f.primaryKey === true), `${type} has the id field`);
            }
        }
        // A view's fields come from its query (PocketBase's scaffold has none either).
        assert.deepEqual(s.view.fields, []);
        const authFields = s.auth.fields.map((f) => f.name);
        for (const f of ['password', 'tokenKey', 'email', 'emailVisibility', 'verified']) {
            assert.ok(authFields.includes(f), `auth scaffold has ${f}: ${authFields}`);
        }
        assert.ok('viewQuery' in s.view);
        assert.ok(s.auth.passwordAuth, 'auth scaffold has passwordAuth');
    });

    test('import (deleteMissing=false): creates new, updates existing, keeps the rest', async () => {
        const art = await su.collections.getOne('articles');
        const ok = await su.collections.import([
            {
                name: 'imported_tags',
                type: 'base',
                listRule: '',
                fields: [{ name: 'label', type: 'text', required: true }, { name: 'weight', type: 'number' }],
            },
            { ...art, fields: [...art.fields, { name: 'extra', type: 'bool' }] },
        ], false);
        assert.equal(ok, true);
        const imp = await su.collections.getOne('imported_tags');
        assert.deepEqual(imp.fields.map((f) => f.name), ['id', 'label', 'weight']);
        assert.equal(imp.listRule, '');
        const art2 = await su.collections.getOne('articles');
        assert.ok(art2.fields.some((f) => f.name === 'extra'), JSON.stringify(art2.fields.map((f) => f.name)));
        // everything not in the import still exists
        await su.collections.getOne('posts');
        await su.collections.getOne('comments');
        const r = await su.collection('imported_tags').create({ label: 'x', weight: 2 });
        assert.equal(r.label, 'x');
    });

    test('import with an invalid collection fails with 400 and changes nothing', async () => {
        const body = await expectError(su.collections.import([
            { name: 'imported_ok', fields: [{ name: 'a', type: 'text' }] },
            { name: 'imported_bad', fields: [{ name: 'a', type: 'no_such_type' }] },
        ], false), 400);
        assert.equal(body.message, 'Failed to import collections.');
        await expectError(su.collections.getOne('imported_ok'), 404, 'import is all-or-nothing');
    });

    test('truncate removes every record', async () => {
        const col = await su.collections.create({ name: 'scratch', fields: [{ name: 'n', type: 'number' }] });
        for (let i = 1; i <= 5; i++) await su.collection('scratch').create({ n: i });
        assert.equal((await su.collection('scratch').getList()).totalItems, 5);
        assert.equal(await su.collections.truncate('scratch'), true);
        const after = await su.collection('scratch').getList();
        assert.equal(after.totalItems, 0);
        assert.deepEqual(after.items, []);
        // the collection itself is still there and usable
        await su.collection('scratch').create({ n: 9 });
        assert.equal((await su.collections.getOne(col.id)).name, 'scratch');
    });

    test('delete a collection', async () => {
        assert.equal(await su.collections.delete('scratch'), true);
        await expectError(su.collections.getOne('scratch'), 404);
        await expectError(su.collection('scratch').getList(), 404, 'records of a deleted collection');
        // the name can be reused
        const again = await su.collections.create({ name: 'scratch', fields: [{ name: 'other', type: 'text' }] });
        const r = await su.collection('scratch').create({ other: 'fresh' });
        assert.equal(r.other, 'fresh');
        assert.equal((await su.collection('scratch').getList()).totalItems, 1);
        await su.collections.delete(again.id);
    });

    test('delete refused while another collection references it, and for system collections', async () => {
        await expectError(su.collections.delete('posts'), 400, 'posts is referenced by comments.post');
        await su.collections.getOne('posts');
        await expectError(su.collections.delete('_superusers'), 400, 'system collection');
    });

    test('validation: duplicate name (any case) → 400 data.name', async () => {
        let body = await expectError(su.collections.create({ name: 'posts' }), 400);
        assert.equal(body.message, 'Failed to create collection.');
        assertFieldCode(body, 'name', 'validation_collection_name_exists');
        body = await expectError(su.collections.create({ name: 'Posts' }), 400);
        assertFieldCode(body, 'name', 'validation_collection_name_exists');
    });

    test('validation: invalid rule → 400 validation_invalid_rule on that rule', async () => {
        let body = await expectError(su.collections.create({
            name: 'badrule', listRule: 'title = @request.nope', fields: [{ name: 'title', type: 'text' }],
        }), 400);
        assertFieldCode(body, 'listRule', 'validation_invalid_rule');
        body = await expectError(su.collections.create({
            name: 'badrule', viewRule: 'nosuchfield = 1', fields: [{ name: 'title', type: 'text' }],
        }), 400);
        assertFieldCode(body, 'viewRule', 'validation_invalid_rule');
        body = await expectError(su.collections.update('posts', { updateRule: 'title = (' }), 400);
        assert.equal(body.message, 'Failed to update collection.');
        assertFieldCode(body, 'updateRule', 'validation_invalid_rule');
        await expectError(su.collections.getOne('badrule'), 404);
        assert.equal((await su.collections.getOne('posts')).updateRule, 'author = @request.auth.id');
    });

    test('a unique index the stored rows break: 400 "Failed to update collection.", nothing changed', async () => {
        const c = await su.collections.create({ name: 'dupes', fields: [{ name: 'code', type: 'text' }] });
        await su.collection('dupes').create({ code: 'same' });
        await su.collection('dupes').create({ code: 'same' });
        const body = await expectError(su.collections.update('dupes', {
            indexes: ['CREATE UNIQUE INDEX idx_dupes_code ON dupes (code)'],
        }), 400);
        assert.equal(body.message, 'Failed to update collection.');
        assert.deepEqual((await su.collections.getOne(c.id)).indexes, []);
        assert.equal((await su.collection('dupes').getFullList()).length, 2);
        await su.collections.delete('dupes');
    });

    test('validation: a field keeps its type (validation_field_type_change)', async () => {
        const c = await su.collections.create({ name: 'typed', fields: [{ name: 'n', type: 'number' }] });
        const f = c.fields.find((x) => x.name === 'n');
        const fields = c.fields.map((x) => (x.id === f.id ? { ...x, type: 'text' } : x));
        const body = await expectError(su.collections.update('typed', { fields }), 400);
        const i = fields.findIndex((x) => x.id === f.id);
        assert.equal(body.data.fields[i].code, 'validation_field_type_change', JSON.stringify(body));
        assert.equal((await su.collections.getOne('typed')).fields.find((x) => x.name === 'n').type, 'number');
        await su.collections.delete('typed');
    });

    test('validation: identityFields need a UNIQUE index', async () => {
        const fields = [{ name: 'username', type: 'text' }];
        let body = await expectError(su.collections.create({
            name: 'members', type: 'auth', fields, passwordAuth: { enabled: true, identityFields: ['email', 'username'] },
        }), 400);
        assert.equal(body.data.passwordAuth.identityFields.code, 'validation_missing_unique_constraint', JSON.stringify(body));
        body = await expectError(su.collections.create({
            name: 'members', type: 'auth', fields, passwordAuth: { enabled: true, identityFields: ['nosuch'] },
        }), 400);
        assert.equal(body.data.passwordAuth.identityFields.code, 'validation_missing_field', JSON.stringify(body));
        const ok = await su.collections.create({
            name: 'members', type: 'auth', fields,
            indexes: ['CREATE UNIQUE INDEX idx_members_username ON members (username)'],
            passwordAuth: { enabled: true, identityFields: ['email', 'username'] },
        });
        assert.deepEqual(ok.passwordAuth.identityFields, ['email', 'username']);
        await su.collections.delete('members');
    });

    test('concurrent schema changes are all kept (none lost from memory to a shared group commit)', async () => {
        const names = Array.from({ length: 12 }, (_, i) => `burst_${i}`);
        await Promise.all(names.map((name) => su.collections.create({
            name, listRule: '', createRule: '', fields: [{ name: 't', type: 'text' }],
        })));
        const listed = (await su.collections.getFullList({ filter: "name ~ 'burst_'" })).map((c) => c.name).sort();
        assert.deepEqual(listed, [...names].sort());
        // And updates racing each other: every field added survives.
        await Promise.all(names.map((name) => su.collections.update(name, {
            fields: [{ name: 't', type: 'text' }, { name: 'extra', type: 'number' }],
        })));
        for (const name of names) {
            const r = await su.collection(name).create({ t: 'x', extra: 2 });
            assert.equal(r.extra, 2, name);
        }
        await Promise.all(names.map((name) => su.collections.delete(name)));
        assert.equal((await su.collections.getFullList({ filter: "name ~ 'burst_'" })).length, 0);
    });

    test('validation: invalid collection and field names', async () => {
        let body = await expectError(su.collections.create({ name: 'bad name!' }), 400);
        assert.ok(body.data.name?.code, JSON.stringify(body));
        body = await expectError(su.collections.create({
            name: 'badfields', fields: [{ name: 'a', type: 'text' }, { name: 'a', type: 'number' }],
        }), 400);
        assert.ok(body.data.fields, `duplicate field names: ${JSON.stringify(body)}`);
        body = await expectError(su.collections.create({
            name: 'badfields', fields: [{ name: 'expand', type: 'text' }],
        }), 400);
        assert.ok(body.data.fields, `reserved field name: ${JSON.stringify(body)}`);
    });

    test('non-superuser → 403, guest → 401', async () => {
        user = await makeUser(su, srv.url);
        const guest = client(srv.url);
        let body = await expectError(guest.collections.getList(), 401);
        assert.equal(body.message, 'The request requires valid record authorization token.');
        await expectError(guest.collections.getOne('posts'), 401);
        await expectError(guest.collections.create({ name: 'guest_made' }), 401);
        await expectError(guest.collections.getScaffolds(), 401);
        body = await expectError(user.pb.collections.getList(), 403);
        assert.equal(body.message, 'The authorized record is not allowed to perform this action.');
        await expectError(user.pb.collections.getOne('posts'), 403);
        await expectError(user.pb.collections.create({ name: 'user_made' }), 403);
        await expectError(user.pb.collections.update('posts', { listRule: null }), 403);
        await expectError(user.pb.collections.delete('comments'), 403);
        await expectError(user.pb.collections.truncate('posts'), 403);
        await expectError(user.pb.collections.import([{ name: 'user_imp' }], false), 403);
        await expectError(user.pb.collections.getScaffolds(), 403);
        await expectError(su.collections.getOne('user_made'), 404);
        assert.equal((await su.collections.getOne('posts')).listRule, '');
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
