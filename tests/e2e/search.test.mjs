// Full-text search (issue #18, item 1) through the JS SDK, on either engine
// (TARMAC_TEST_ENGINE): a collection's `search` option (fields, weights,
// language) validated and kept through create/update/export/import;
// getList(..., {search}) ranked by relevance, with prefixes, typos, every
// script and accents folded; combined with filter, sort, paging, skipTotal,
// expand and fields; under the list rule (a record the caller may not list
// is never found, counted, nor changes what the search does); snippets; the
// index following the schema (a field renamed or removed, the search
// changed, the collection renamed, deleted, exported and imported) and the
// records' writes, also a page large enough to stream.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, CAN_COPY_TO_PG, dbCopyToPostgres } from './lib/server.mjs';
import { dbQuery, IS_PG } from './lib/db.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, makeUser, rawFetch, SLOW,
} from './lib/util.mjs';

const START = '\u0002';
const END = '\u0003';

/** The titles of a list's items, in order. */
const titles = (list) => list.items.map((r) => r.title);
/** The words a snippet marks. */
const marked = (text) => [...text.matchAll(/\u0002([^\u0003]*)\u0003/g)].map((m) => m[1]);

/** The search objects of the database (their names begin with "_s:"). */
function searchObjects(dir) {
    const rows = IS_PG
        ? dbQuery(dir, "SELECT relname::text FROM pg_class WHERE relname LIKE '!_s:%' ESCAPE '!' " +
            "UNION ALL SELECT proname::text FROM pg_proc WHERE proname LIKE '!_s:%' ESCAPE '!'")
        : dbQuery(dir, "SELECT name FROM sqlite_master WHERE name LIKE '!_s:%' ESCAPE '!'");
    return rows.map((r) => r[0]).sort();
}

describe('full-text search', () => {
    let srv;
    let su;
    let guest;
    let alice;
    let bob;
    let coll;
    const ids = {}; // title -> id

    const search = (pb, text, opts = {}) =>
        pb.collection('articles').getList(opts.page || 1, opts.perPage || 50, { search: text, ...opts });

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        coll = await su.collections.create({
            name: 'articles',
            listRule: 'published = true || owner = @request.auth.id',
            viewRule: 'published = true || owner = @request.auth.id',
            fields: [
                { name: 'title', type: 'text' },
                { name: 'body', type: 'editor' },
                { name: 'tags', type: 'select', maxSelect: 3, values: ['space', 'food', 'travel'] },
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'published', type: 'bool' },
                { name: 'rank', type: 'number' },
                { name: 'note', type: 'text', hidden: true },
            ],
            search: {
                fields: [{ name: 'title', weight: 4 }, { name: 'body', weight: 1 }, { name: 'tags', weight: 2 }],
            },
        });
        const docs = [
            // relevance: "rocket" in the title outranks it in the body; more
            // of it in a body of the same length outranks less
            { title: 'Rocket science', body: '<p>How engines lift off.</p>', tags: ['space'], rank: 1 },
            { title: 'Launch day', body: '<p>The rocket waits on the pad, a rocket made of steel.</p>', rank: 2 },
            { title: 'Quiet morning', body: '<p>The rocket is far away, and the sun comes up over it.</p>', rank: 3 },
            { title: 'Rock garden', body: '<p>Stones and moss.</p>', rank: 4 },
            { title: 'Café crème', body: '<p>A naïve résumé of Paris &amp; its <b>cafés</b>.</p>', tags: ['food'], rank: 5 },
            { title: 'हिन्दी भाषा', body: '<p>भारत की राजभाषा हिन्दी है</p>', tags: ['travel'], rank: 6 },
            { title: 'Москва зимой', body: '<p>Снег и мороз.</p>', tags: ['travel'], rank: 7 },
            { title: 'A house by the sea', body: '<p>Waves.</p>', rank: 8 },
            { title: 'A horse in the field', body: '<p>Grass.</p>', rank: 9 },
            { title: 'Zebrq sighting', body: '<p>A typo of a striped animal.</p>', rank: 10 },
        ];
        for (const d of docs) {
            const r = await su.collection('articles').create({ published: true, owner: alice.record.id, ...d });
            ids[d.title] = r.id;
        }
        // Bob's drafts: nobody else may list them.
        for (const d of [
            { title: 'Secret rocket plans', body: '<p>rocket rocket rocket</p>' },
            { title: 'Zebra notes', body: '<p>Only a zebra here.</p>' },
        ]) {
            const r = await su.collection('articles').create({ published: false, owner: bob.record.id, ...d });
            ids[d.title] = r.id;
        }
    });

    after(async () => {
        await srv?.stop();
    });

    test('the search option comes back as sent, and from the collection list and export', async () => {
        assert.deepEqual(coll.search, {
            fields: [{ name: 'title', weight: 4 }, { name: 'body', weight: 1 }, { name: 'tags', weight: 2 }],
            language: 'simple',
        });
        const again = await su.collections.getOne('articles');
        assert.deepEqual(again.search, coll.search);
        const all = await su.collections.getFullList();
        assert.deepEqual(all.find((c) => c.name === 'articles').search, coll.search);
        // a change that does not send it keeps it
        const changed = await su.collections.update('articles', { listRule: coll.listRule });
        assert.deepEqual(changed.search, coll.search);
        // a collection without one has no key at all (PocketBase's shape)
        assert.equal('search' in (await su.collections.getOne('users')), false);
    });

    test('relevance: the title outweighs the body, more matches outrank fewer', async () => {
        const list = await search(guest, 'rocket ');
        assert.deepEqual(titles(list), ['Rocket science', 'Launch day', 'Quiet morning']);
        assert.equal(list.totalItems, 3);
        assert.equal(list.totalPages, 1);
    });

    test('the last word is a prefix unless a blank ends the text', async () => {
        assert.deepEqual(new Set(titles(await search(guest, 'roc'))),
            new Set(['Rocket science', 'Launch day', 'Quiet morning', 'Rock garden']));
        assert.deepEqual(titles(await search(guest, 'rock ')), ['Rock garden']);
        assert.deepEqual(titles(await search(guest, 'rock')).length, 4);
        // every word must match; only the last is a prefix
        assert.deepEqual(titles(await search(guest, 'rocket sci')), ['Rocket science']);
        assert.deepEqual(titles(await search(guest, 'roc science')), []);
    });

    test('typos: one edit on a word of five letters or more', async () => {
        for (const typo of ['rokcet ', 'rocet ', 'rockett ', 'rucket ', 'rokcet']) {
            assert.deepEqual(new Set(titles(await search(guest, typo))),
                new Set(['Rocket science', 'Launch day', 'Quiet morning']), typo);
        }
        // two edits, or a short word, find nothing
        assert.deepEqual(titles(await search(guest, 'ruckat ')), []);
        assert.deepEqual(titles(await search(guest, 'rokc ')), []);
        // a word some record holds is meant as written: house is no horse
        assert.deepEqual(titles(await search(guest, 'house ')), ['A house by the sea']);
        assert.deepEqual(titles(await search(guest, 'horse ')), ['A horse in the field']);
        // a typo in a word followed by a right one
        assert.deepEqual(titles(await search(guest, 'rokcet scienc')), ['Rocket science']);
    });

    test('scripts and accents: Devanagari, Cyrillic, accents folded both ways', async () => {
        assert.deepEqual(titles(await search(guest, 'हिन्दी')), ['हिन्दी भाषा']);
        assert.deepEqual(titles(await search(guest, 'हिन्')), ['हिन्दी भाषा'], 'a prefix with a virama');
        assert.deepEqual(titles(await search(guest, 'राजभाषा ')), ['हिन्दी भाषा']);
        assert.deepEqual(titles(await search(guest, 'москва ')), ['Москва зимой']);
        assert.deepEqual(titles(await search(guest, 'МОРОЗ')), ['Москва зимой']);
        assert.deepEqual(titles(await search(guest, 'cafe creme')), ['Café crème']);
        assert.deepEqual(titles(await search(guest, 'RÉSUMÉ NAIVE ')), ['Café crème']);
        // tags (a select field) are searched too
        assert.deepEqual(new Set(titles(await search(guest, 'travel '))), new Set(['हिन्दी भाषा', 'Москва зимой']));
    });

    test('the list rule: a record the caller may not list is never found nor counted', async () => {
        const asGuest = await search(guest, 'rocket ');
        assert.equal(asGuest.items.some((r) => r.title === 'Secret rocket plans'), false);
        assert.equal(asGuest.totalItems, 3);
        const asAlice = await search(alice.pb, 'rocket ');
        assert.equal(asAlice.totalItems, 3);
        const asBob = await search(bob.pb, 'rocket ');
        assert.equal(asBob.totalItems, 4);
        // Bob's draft has the most of it: first for him
        assert.equal(asBob.items[0].title, 'Secret rocket plans');
        assert.equal(titles(await search(su, 'plans ')).length, 1);
        assert.equal((await search(guest, 'plans ')).totalItems, 0);
        // skipTotal and a second page say nothing more
        const paged = await search(guest, 'rocket ', { perPage: 2, page: 2 });
        assert.deepEqual(titles(paged), ['Quiet morning']);
        assert.equal(paged.totalItems, 3);
    });

    test('a hidden record changes nothing of what a search does (typos)', async () => {
        // Bob's hidden "zebra" must not make "zebra" a known word for others:
        // the guest's search widens to the visible "Zebrq" as if it were not there.
        assert.deepEqual(titles(await search(guest, 'zebra ')), ['Zebrq sighting']);
        // Bob, who sees his draft, gets the word as written
        assert.deepEqual(titles(await search(bob.pb, 'zebra ')), ['Zebra notes']);
        // a hidden field's words are not searchable: it cannot be in the search
        const body = await expectError(su.collections.update('articles', {
            search: { fields: [{ name: 'note' }] },
        }), 400);
        assert.equal(body.data.search.fields['0'].name.code, 'validation_invalid_value');
    });

    test('with filter, sort, expand, fields and paging', async () => {
        const filtered = await search(guest, 'rocket ', { filter: 'rank >= 2' });
        assert.deepEqual(titles(filtered), ['Launch day', 'Quiet morning']);
        assert.equal(filtered.totalItems, 2);
        // an explicit sort wins over relevance
        const sorted = await search(guest, 'rocket ', { sort: '-rank' });
        assert.deepEqual(titles(sorted), ['Quiet morning', 'Launch day', 'Rocket science']);
        // skipTotal
        const skipped = await search(guest, 'rocket ', { skipTotal: true, perPage: 1 });
        assert.equal(skipped.totalItems, -1);
        assert.deepEqual(titles(skipped), ['Rocket science']);
        // expand (users' own rules: the superuser may see Alice) and fields
        const ex = await search(su, 'rocket science', { expand: 'owner', fields: 'id,title,expand.owner.name' });
        assert.deepEqual(ex.items, [{ id: ids['Rocket science'], title: 'Rocket science', expand: { owner: { name: 'Alice' } } }]);
        // paging walks every match once
        const seen = [];
        for (let page = 1; page <= 3; page++) {
            seen.push(...titles(await search(guest, 'roc', { perPage: 2, page })));
        }
        assert.equal(seen.length, 4);
        assert.equal(new Set(seen).size, 4);
    });

    test('snippets: the best field, matches marked, HTML out, cut with an ellipsis', async () => {
        const list = await search(guest, 'rocket ', { searchSnippet: true });
        const byTitle = Object.fromEntries(list.items.map((r) => [r.title, r['@snippet']]));
        assert.deepEqual(byTitle['Rocket science'], { field: 'title', text: `${START}Rocket${END} science` });
        assert.equal(byTitle['Launch day'].field, 'body');
        assert.deepEqual(marked(byTitle['Launch day'].text), ['rocket', 'rocket']);
        assert.equal(byTitle['Launch day'].text.includes('<'), false, 'tags are taken out');
        // a multiple select reads as its values
        const food = await search(guest, 'food ', { searchSnippet: true });
        assert.deepEqual(food.items[0]['@snippet'], { field: 'tags', text: `${START}food${END}` });
        const cafe = await search(guest, 'cafes ', { searchSnippet: true });
        assert.equal(cafe.items[0]['@snippet'].field, 'body');
        assert.match(cafe.items[0]['@snippet'].text, /Paris & its \u0002cafés\u0003/);
        // a long body is cut around the match
        const long = await su.collection('articles').create({
            title: 'Long read', published: true, owner: alice.record.id,
            body: `<p>${'filler '.repeat(60)}needle ${'padding '.repeat(60)}</p>`,
        });
        const found = await search(guest, 'needle', { searchSnippet: true });
        const text = found.items[0]['@snippet'].text;
        assert.ok(text.startsWith('… ') && text.endsWith(' …'), text);
        assert.ok(text.length < 200, text);
        assert.deepEqual(marked(text), ['needle']);
        // fields= keeps it only when asked
        const picked = await search(guest, 'needle', { searchSnippet: true, fields: 'id,@snippet' });
        assert.deepEqual(Object.keys(picked.items[0]).sort(), ['@snippet', 'id']);
        const none = await search(guest, 'needle', { searchSnippet: true, fields: 'id' });
        assert.deepEqual(Object.keys(none.items[0]), ['id']);
        // no snippet unless asked
        assert.equal('@snippet' in (await search(guest, 'needle')).items[0], false);
        await su.collection('articles').delete(long.id);
    });

    test('the OpenAPI document and the typed models name search where a collection has one', async () => {
        const doc = (await rawFetch(`${srv.url}/api/docs/openapi.json`, {
            headers: { Authorization: su.authStore.token },
        })).body;
        const names = (p) => (doc.paths[p].get.parameters || []).map((x) => x.name);
        assert.ok(names('/api/collections/articles/records').includes('search'));
        assert.ok(names('/api/collections/articles/records').includes('searchSnippet'));
        assert.ok(!names('/api/collections/users/records').includes('search'));
        assert.ok(names('/api/collections/{collection}/records').includes('search'));
        assert.equal(doc.components.schemas.ArticlesRecord.properties['@snippet'].type, 'object');
        // and the TypeScript models give the searchable collection's records the key
        const ts = (await rawFetch(`${srv.url}/api/docs/types?lang=ts`, {
            headers: { Authorization: su.authStore.token },
        })).text;
        const articles = ts.slice(ts.indexOf('export type ArticlesRecord'));
        assert.match(articles.slice(0, articles.indexOf('\n};')), /"@snippet"\?: \{ field: string; text: string \}/);
        const users = ts.slice(ts.indexOf('export type UsersRecord'));
        assert.doesNotMatch(users.slice(0, users.indexOf('\n};')), /@snippet/);
    });

    test('bad input answers 400 naming the parameter', async () => {
        let body = await expectError(su.collection('users').getList(1, 10, { search: 'x' }), 400);
        assertFieldCode(body, 'search', 'validation_invalid_value');
        body = await expectError(search(guest, 'x'.repeat(1001)), 400);
        assertFieldCode(body, 'search', 'validation_invalid_value');
        body = await expectError(search(guest, Array.from({ length: 33 }, (_, i) => `w${i}`).join(' ')), 400);
        assertFieldCode(body, 'search', 'validation_invalid_value');
        body = await expectError(guest.collection('articles').getList(1, 10, { searchSnippet: true }), 400);
        assertFieldCode(body, 'searchSnippet', 'validation_invalid_value');
        body = await expectError(search(guest, 'x', { searchSnippet: 'maybe' }), 400);
        assertFieldCode(body, 'searchSnippet', 'validation_invalid_value');
        const raw = await rawFetch(`${srv.url}/api/collections/articles/records?search=%FF%FE`);
        assert.equal(raw.status, 400);
        assert.equal(raw.body.data.search.code, 'validation_invalid_value');
        // a filter error is still the filter's
        await expectError(search(guest, 'rocket', { filter: 'nosuch = 1' }), 400);
        // words the engine would read as syntax are only words
        for (const text of ['"rocket', 'rocket OR launch', 'NEAR(rocket)', "rocket') --", 'rocket:*', '-rocket', 'a & b | !c']) {
            const list = await search(guest, text);
            assert.ok(Array.isArray(list.items), text);
        }
        assert.deepEqual(titles(await search(guest, 'rocket OR horse ')), []);
        // a text of no word at all is no search: the list as it is
        assert.equal((await search(guest, ' !!! ')).totalItems, 10);
    });

    test('the search option is validated with field errors', async () => {
        const cases = [
            [{ fields: [] }, 'search.fields'],
            [{ fields: [{ name: 'nosuch' }] }, 'search.fields.0.name'],
            [{ fields: [{ name: 'rank' }] }, 'search.fields.0.name'],
            [{ fields: [{ name: 'title', weight: 0 }] }, 'search.fields.0.weight'],
            [{ fields: [{ name: 'title', weight: 'x' }] }, 'search.fields.0.weight'],
            [{ fields: [{ name: 'title', boost: 2 }] }, 'search.fields.0.boost'],
            [{ fields: [{ name: 'title' }, { name: 'title' }] }, 'search.fields.1.name'],
            [{ fields: [{ name: 'title' }], language: 'klingon' }, 'search.language'],
            [{ fields: [{ name: 'title' }], stemming: true }, 'search.stemming'],
            ['title', 'search'],
        ];
        for (const [value, path] of cases) {
            const body = await expectError(su.collections.create({
                name: 'bad_search', fields: [{ name: 'title', type: 'text' }, { name: 'rank', type: 'number' }],
                search: value,
            }), 400, JSON.stringify(value));
            let at = body.data;
            for (const k of path.split('.')) at = at?.[k];
            assert.ok(at && typeof at.code === 'string', `${JSON.stringify(value)}: ${path} in ${JSON.stringify(body)}`);
        }
        // five distinct weights: PostgreSQL ranks with four classes
        const five = await expectError(su.collections.create({
            name: 'bad_search', fields: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, type: 'text' })),
            search: { fields: ['a', 'b', 'c', 'd', 'e'].map((name, i) => ({ name, weight: i + 1 })) },
        }), 400);
        assert.equal(five.data.search.fields.code, 'validation_invalid_value');
        // an auth collection's email is shown per record: not searchable
        const email = await expectError(su.collections.update('users', {
            search: { fields: [{ name: 'email' }] },
        }), 400);
        assert.ok(email.data.search.fields['0'].name);
        // a view has no table to index
        const view = await expectError(su.collections.create({
            name: 'bad_view', type: 'view', viewQuery: 'SELECT id, title FROM articles',
            search: { fields: [{ name: 'title' }] },
        }), 400);
        assert.ok(view.data.search);
        await expectError(su.collections.getOne('bad_search'), 404);
    });

    test('english stems words and still matches prefixes and typos', async () => {
        await su.collections.create({
            name: 'notes', listRule: '', fields: [{ name: 'text', type: 'text' }],
            search: { fields: [{ name: 'text' }], language: 'english' },
        });
        for (const text of ['She runs every day', 'Running shoes', 'The runner', 'Quiet reading']) {
            await su.collection('notes').create({ text });
        }
        const find = async (q) => (await guest.collection('notes').getList(1, 10, { search: q })).items
            .map((r) => r.text).sort();
        assert.deepEqual(await find('running '), ['Running shoes', 'She runs every day']);
        assert.deepEqual(await find('run '), ['Running shoes', 'She runs every day']);
        assert.deepEqual(await find('runn'), ['Running shoes', 'The runner']);
        assert.deepEqual(await find('runing '), ['Running shoes', 'She runs every day']);
        assert.deepEqual(await find('the '), ['The runner'], 'no stop words');
        const snip = await guest.collection('notes').getList(1, 10, { search: 'runn', searchSnippet: true });
        for (const r of snip.items) assert.equal(marked(r['@snippet'].text).length, 1, JSON.stringify(r));
        await su.collections.delete('notes');
    });

    test('the index follows the records: create, update, delete, any writer', async () => {
        const r = await su.collection('articles').create({ title: 'Ephemeral quasar', published: true, owner: alice.record.id });
        assert.deepEqual(titles(await search(guest, 'quasar ')), ['Ephemeral quasar']);
        await su.collection('articles').update(r.id, { title: 'Ephemeral pulsar' });
        assert.deepEqual(titles(await search(guest, 'quasar ')), []);
        assert.deepEqual(titles(await search(guest, 'pulsar ')), ['Ephemeral pulsar']);
        assert.deepEqual(titles(await search(guest, 'plusar ')), ['Ephemeral pulsar']);
        await su.collection('articles').update(r.id, { published: false });
        assert.deepEqual(titles(await search(guest, 'pulsar ')), []);
        await su.collection('articles').delete(r.id);
        assert.deepEqual(titles(await search(su, 'pulsar ')), []);
        // its words are gone from the vocabulary too: no typo finds them
        assert.deepEqual(titles(await search(su, 'plusar ')), []);
        // the totals follow (counts are cached per data version)
        const before = (await search(guest, 'rocket ')).totalItems;
        const extra = await su.collection('articles').create({ title: 'Another rocket', published: true, owner: alice.record.id });
        assert.equal((await search(guest, 'rocket ')).totalItems, before + 1);
        await su.collection('articles').delete(extra.id);
        assert.equal((await search(guest, 'rocket ')).totalItems, before);
        if (IS_PG) {
            // a writer beside the API: the triggers keep the index in step
            dbQuery(srv.dir, 'UPDATE articles SET title = ? WHERE id = ?', ['Rock garden of stones', ids['Rock garden']], true);
            assert.deepEqual(titles(await search(guest, 'garden of')), ['Rock garden of stones']);
            dbQuery(srv.dir, 'UPDATE articles SET title = ? WHERE id = ?', ['Rock garden', ids['Rock garden']], true);
        } else {
            // SQLite: the index's tokenizer is tarmac's own, so another program's
            // write to a searchable collection fails whole, as documented
            assert.throws(() => dbQuery(srv.dir, 'UPDATE articles SET title = ? WHERE id = ?',
                ['Rock garden of stones', ids['Rock garden']], true), /no such tokenizer: tarmac/);
            assert.deepEqual(titles(await search(guest, 'garden ')), ['Rock garden']);
        }
    });

    test('a page large enough to stream keeps every snippet', async () => {
        await su.collections.create({
            name: 'big', listRule: '', fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'editor' }],
            search: { fields: [{ name: 'title', weight: 2 }, { name: 'body' }] },
        });
        const body = 'lorem ipsum dolor '.repeat(2000); // ~36 KB each: 40 records pass 1 MiB
        await Promise.all(Array.from({ length: 40 }, (_, i) =>
            su.collection('big').create({ title: `galaxy ${i}`, body })));
        const list = await guest.collection('big').getList(1, 100, { search: 'galaxy', searchSnippet: true });
        assert.equal(list.items.length, 40);
        assert.equal(list.totalItems, 40);
        for (const r of list.items) {
            assert.equal(r['@snippet'].field, 'title', JSON.stringify(r['@snippet']));
            assert.deepEqual(marked(r['@snippet'].text), ['galaxy']);
        }
        // it was streamed (past 1 MiB), the snippets made before the head went out
        const raw = await rawFetch(`${srv.url}/api/collections/big/records?perPage=100&search=galaxy&searchSnippet=1`);
        assert.equal(raw.headers.get('transfer-encoding'), 'chunked');
        assert.equal(raw.body.items.filter((r) => marked(r['@snippet'].text)[0] === 'galaxy').length, 40);
        await su.collections.delete('big');
    });

    test('schema changes: a field renamed or removed, the search changed, the collection renamed', async () => {
        const fields = (await su.collections.getOne('articles')).fields;
        const title = fields.find((f) => f.name === 'title');
        // rename title -> headline: the search follows it
        let c = await su.collections.update('articles', {
            fields: fields.map((f) => (f.id === title.id ? { ...f, name: 'headline' } : f)),
        });
        assert.deepEqual(c.search.fields.map((f) => f.name), ['headline', 'body', 'tags']);
        let list = await search(guest, 'science ');
        assert.deepEqual(list.items.map((r) => r.headline), ['Rocket science']);
        // remove the body field: it leaves the search, its words with it
        c = await su.collections.update('articles', {
            fields: c.fields.filter((f) => f.name !== 'body'),
        });
        assert.deepEqual(c.search.fields.map((f) => f.name), ['headline', 'tags']);
        assert.equal((await search(guest, 'engines ')).totalItems, 0);
        assert.equal((await search(guest, 'science ')).totalItems, 1);
        // change the search: tags only
        c = await su.collections.update('articles', { search: { fields: [{ name: 'tags' }] } });
        assert.equal((await search(guest, 'science ')).totalItems, 0);
        assert.equal((await search(guest, 'space ')).totalItems, 1);
        // rename the collection
        c = await su.collections.update('articles', { name: 'posts', search: { fields: [{ name: 'headline' }] } });
        const posts = await guest.collection('posts').getList(1, 10, { search: 'science ' });
        assert.deepEqual(posts.items.map((r) => r.headline), ['Rocket science']);
        // drop the search: its objects go, and searching is refused
        const withSearch = searchObjects(srv.dir);
        assert.ok(withSearch.length >= 3, JSON.stringify(withSearch));
        c = await su.collections.update('posts', { search: null });
        assert.equal('search' in c, false);
        assert.deepEqual(searchObjects(srv.dir), []);
        await expectError(guest.collection('posts').getList(1, 10, { search: 'science' }), 400);
        // and back
        c = await su.collections.update('posts', { search: { fields: [{ name: 'headline' }] } });
        assert.equal((await guest.collection('posts').getList(1, 10, { search: 'science' })).totalItems, 1);
    });

    test('export and import keep the search, and delete takes the index along', async () => {
        const exported = (await su.collections.getFullList()).filter((c) => c.name === 'posts');
        assert.deepEqual(exported[0].search, { fields: [{ name: 'headline', weight: 1 }], language: 'simple' });
        // into a fresh server: the index is made and filled as the records come
        const other = await startServer();
        try {
            const su2 = await superuserClient(other.url);
            const users = (await su.collections.getOne('users'));
            await su2.collections.import([users, ...exported], false);
            const c2 = await su2.collections.getOne('posts');
            assert.deepEqual(c2.search, exported[0].search);
            await su2.collection('posts').create({ headline: 'Imported rocket', published: true });
            const found = await client(other.url).collection('posts').getList(1, 10, { search: 'rocket' });
            assert.deepEqual(found.items.map((r) => r.headline), ['Imported rocket']);
        } finally {
            await other.stop();
        }
        // an import that changes the search rebuilds it
        await su.collections.import([{ ...exported[0], search: { fields: [{ name: 'tags' }], language: 'english' } }], false);
        assert.equal((await guest.collection('posts').getList(1, 10, { search: 'space' })).totalItems, 1);
        assert.equal((await guest.collection('posts').getList(1, 10, { search: 'science ' })).totalItems, 0);
        // delete: nothing of the index is left
        await su.collections.delete('posts');
        assert.deepEqual(searchObjects(srv.dir), []);
    });

    test('no response leaked a secret', () => assertNoLeaks());
});

describe('search through a backup and its restore', () => {
    let srv;
    after(async () => {
        await srv?.stop();
    });

    test('a restored backup searches as it did, and its triggers still run', async () => {
        srv = await startServer();
        const su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'docs', listRule: '', fields: [{ name: 'title', type: 'text' }],
            search: { fields: [{ name: 'title' }], language: 'english' },
        });
        const alpha = await su.collection('docs').create({ title: 'alpha centauri' });
        assert.equal(await su.backups.create('search.zip'), true);
        await su.collection('docs').create({ title: 'beta pictoris' });
        await su.collection('docs').update(alpha.id, { title: 'gamma draconis' });
        const count = async (q) => (await su.collection('docs').getList(1, 10, { search: q })).totalItems;
        assert.equal(await count('centauri '), 0);
        assert.equal(await su.backups.restore('search.zip'), true);
        const deadline = Date.now() + 60000 * SLOW;
        let back = false;
        while (!back && Date.now() < deadline) {
            try {
                back = (await count('centauri ')) === 1;
            } catch {
                /* restarting */
            }
            if (!back) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(back, 'the restored record is found');
        assert.equal(await count('pictoris '), 0);
        assert.equal(await count('draconis '), 0);
        assert.equal(await count('centaury '), 1, 'typos read the restored vocabulary');
        await su.collection('docs').create({ title: 'delta cephei' });
        assert.equal(await count('cephei '), 1);
    });
});

// A data directory whose search indexes an older tarmac made (no prefix
// indexes; English words kept unstemmed only where porter changed them):
// the first start makes them again (data version 2), and only once.
describe('search indexes an older tarmac made', { skip: IS_PG }, () => {
    test('are made again when the directory is opened, then left alone', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-search-upgrade-'));
        let srv = await startServer({ dir, superuser: true });
        try {
            let su = await superuserClient(srv.url);
            const coll = await su.collections.create({
                name: 'books', listRule: '', fields: [{ name: 'title', type: 'text' }],
                search: { fields: [{ name: 'title' }], language: 'english' },
            });
            for (const title of ['library of running dogs', 'lighthouse keeper', 'the happy cat']) {
                await su.collection('books').create({ title });
            }
            await srv.stop();
            const table = `_s:${coll.id}`;
            const schemaOf = () => dbQuery(dir, 'SELECT sql FROM sqlite_master WHERE name = ?', [table])[0][0];
            assert.match(schemaOf(), /prefix = '2 3 4'/);
            // What an older tarmac wrote: the table without prefix indexes, no
            // record of the upgrade.
            const r = spawnSync('/usr/bin/python3', ['-c', [
                'import sqlite3, sys',
                'con = sqlite3.connect(sys.argv[1])',
                'con.execute("PRAGMA writable_schema = ON")',
                'con.execute("UPDATE sqlite_master SET sql = replace(sql, ?, \'\') WHERE name = ?", ' +
                    '(", prefix = \'2 3 4\'", sys.argv[2]))',
                'con.execute("DELETE FROM _params WHERE id = \'tarmac.dataVersion\'")',
                'con.commit()',
            ].join('\n'), join(dir, 'data.db'), table], { encoding: 'utf8' });
            assert.equal(r.status, 0, r.stderr);
            assert.doesNotMatch(schemaOf(), /prefix/);

            srv = await startServer({ dir });
            assert.equal(srv.stderr().includes('search index made again'), true, 'the upgrade is logged');
            assert.match(schemaOf(), /prefix = '2 3 4'/);
            su = await superuserClient(srv.url);
            const found = async (q) => titles(await su.collection('books').getList(1, 10, { search: q })).sort();
            assert.deepEqual(await found('li'), ['library of running dogs', 'lighthouse keeper']);
            assert.deepEqual(await found('runn'), ['library of running dogs']);
            assert.deepEqual(await found('hap'), ['the happy cat']);
            assert.deepEqual(await found('dog '), ['library of running dogs'], 'whole words stem');
            // The index still follows the records.
            await su.collection('books').create({ title: 'lime tree' });
            assert.deepEqual(await found('li'), ['library of running dogs', 'lighthouse keeper', 'lime tree']);
            await srv.stop();

            srv = await startServer({ dir });
            assert.equal(srv.stderr().includes('search index made again'), false, 'made again twice');
        } finally {
            await srv.stop().catch(() => {});
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

// `tarmac db copy` from SQLite into PostgreSQL: the search indexes are not
// copied (store_tables leaves them out) but made on the target, and filled
// as the rows arrive. Needs the test cluster (TARMAC_TEST_PG) and SQLite.
describe('search through tarmac db copy', { skip: !CAN_COPY_TO_PG }, () => {
    test('a copy into PostgreSQL searches as the SQLite server did', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-search-copy-'));
        const src = await startServer({ dir, superuser: true });
        let dst;
        try {
            const su = await superuserClient(src.url);
            await su.collections.create({
                name: 'books', listRule: '', fields: [{ name: 'title', type: 'text' }, { name: 'blurb', type: 'editor' }],
                search: { fields: [{ name: 'title', weight: 3 }, { name: 'blurb' }] },
            });
            for (const [title, blurb] of [['Dune', '<p>Spice and sand worms</p>'], ['Foundation', '<p>A galactic empire falls</p>'],
                ['Hyperion', '<p>Pilgrims and the Shrike</p>']]) {
                await su.collection('books').create({ title, blurb });
            }
            const ask = async (url, q) => (await client(url).collection('books').getList(1, 10, { search: q, searchSnippet: true }))
                .items.map((r) => [r.title, r['@snippet'].text]);
            const queries = ['galactic', 'galatcic ', 'pilgrim', 'dune worms'];
            const before = [];
            for (const q of queries) before.push(await ask(src.url, q));
            await src.stop();
            const { url, output } = dbCopyToPostgres(src.dir, `search_copy_${process.pid}`);
            assert.doesNotMatch(output, /_s:/, 'the index is not copied as a table');
            dst = await startServer({ dir: src.dir, flags: [`--db=${url}`] });
            for (let i = 0; i < queries.length; i++) {
                assert.deepEqual(await ask(dst.url, queries[i]), before[i], queries[i]);
            }
            assert.deepEqual(before[0], [['Foundation', 'A \u0002galactic\u0003 empire falls']]);
            const su2 = await superuserClient(dst.url);
            await su2.collection('books').create({ title: 'Solaris', blurb: '<p>An ocean that thinks</p>' });
            assert.deepEqual((await ask(dst.url, 'ocean')).map((x) => x[0]), ['Solaris']);
        } finally {
            await dst?.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
