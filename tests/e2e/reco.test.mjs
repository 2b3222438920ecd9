// Recommendations (issue #19) through the SDK: a `_recommenders` record
// declares an interactions collection; interactions written through the
// records API update item-to-item similarity through `reco` jobs; users in
// two taste groups get their own group's items, the items' list rule and the
// caller's filter apply, items the user has are left out unless asked, new
// users get the popular ones, and a new interaction shows within a second.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, makeUser, expectError, SLOW, until } from './lib/util.mjs';


describe('recommendations', () => {
    let srv, su;
    const products = {};  // name -> record
    const groupA = [];    // users of taste group A
    const groupB = [];
    let rec;

    // Waits until no reco job is pending: the interactions are folded in.
    const settled = () => until('the reco jobs', async () => {
        const j = await su.send('/api/jobs', { query: { kind: 'reco', status: 'queued', perPage: 1 } });
        const f = await su.send('/api/jobs', { query: { kind: 'reco', status: 'running', perPage: 1 } });
        return j.totalItems === 0 && f.totalItems === 0;
    });
    const recommend = (pb, query = {}) => pb.send('/api/collections/products/recommendations', { query });
    const names = (res) => res.items.map((r) => r.name);

    before(async () => {
        srv = await startServer({});
        su = await superuserClient(srv.url);
        const users = await su.collections.getOne('users');
        await su.collections.create({ name: 'products', type: 'base',
            listRule: 'hidden = false', viewRule: 'hidden = false', fields: [
                { name: 'name', type: 'text' }, { name: 'group', type: 'text' },
                { name: 'hidden', type: 'bool' }] });
        const productsCol = await su.collections.getOne('products');
        await su.collections.create({ name: 'events', type: 'base',
            createRule: '@request.auth.id != "" && user = @request.auth.id', fields: [
                { name: 'user', type: 'relation', collectionId: users.id, maxSelect: 1 },
                { name: 'product', type: 'relation', collectionId: productsCol.id, maxSelect: 1 },
                { name: 'kind', type: 'select', maxSelect: 1, values: ['view', 'like', 'purchase'] },
                { name: 'created', type: 'autodate', onCreate: true }] });
        for (const g of ['a', 'b']) {
            for (let i = 1; i <= 6; i++) {
                products[`${g}${i}`] = await su.collection('products').create({ name: `${g}${i}`, group: g, hidden: false });
            }
        }
        products.secret = await su.collection('products').create({ name: 'secret', group: 'a', hidden: true });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
    });

    test('a recommender is checked when saved', async () => {
        const base = { name: 'shop', interactions: 'events', user: 'user', item: 'product', kind: 'kind',
            weights: { view: 1, like: 3, purchase: 10 }, halfLifeDays: 30, active: true };
        for (const [bad, field] of [[{ interactions: 'nope' }, 'interactions'], [{ user: 'product' }, 'user'],
            [{ item: 'kind' }, 'item'], [{ kind: 'colour' }, 'kind'], [{ weights: { view: 'x' } }, 'weights'],
            [{ halfLifeDays: 0.001 }, 'halfLifeDays']]) {
            const e = await expectError(su.collection('_recommenders').create({ ...base, ...bad }), 400);
            assert.ok(e.data[field], `${field}: ${JSON.stringify(e)}`);
        }
        rec = await su.collection('_recommenders').create(base);
        const e = await expectError(su.collection('_recommenders').create({ ...base, name: 'again' }), 400);
        assert.equal(e.data.item.code, 'validation_not_unique');
        // Only superusers see or change recommenders.
        const u = await makeUser(su, srv.url);
        await expectError(u.pb.collection('_recommenders').getFullList(), 403);
    });

    test('users in two taste groups get their own group\'s items', async () => {
        // Each user touches 4 of their group's 6 items (a different 4 each), with a
        // few cross-group views as noise.
        for (const [group, list] of [['a', groupA], ['b', groupB]]) {
            for (let u = 0; u < 6; u++) {
                const user = await makeUser(su, srv.url);
                list.push(user);
                for (let k = 0; k < 4; k++) {
                    const item = products[`${group}${((u + k) % 6) + 1}`];
                    await user.pb.collection('events').create({ user: user.record.id, product: item.id,
                        kind: k === 0 ? 'purchase' : k === 1 ? 'like' : 'view' });
                }
            }
        }
        // Noise: one user of a views a b item.
        await groupA[5].pb.collection('events').create({ user: groupA[5].record.id, product: products.b6.id, kind: 'view' });
        await settled();
        for (const [group, list] of [['a', groupA], ['b', groupB]]) {
            for (const user of list.slice(0, 3)) {
                const res = await recommend(user.pb, { limit: 2 });
                assert.equal(res.items.length, 2);
                for (const r of res.items) assert.equal(r.group, group, `${group}: ${names(res)}`);
                assert.ok(res.scores.every((s) => s.source === 'similar'), JSON.stringify(res.scores));
                // The items come in the scores' order, one score each.
                assert.deepEqual(res.items.map((r) => r.id), res.scores.map((s) => s.id));
                // Items the user has are left out ...
                const mine = (await su.collection('events').getFullList({ filter: `user = "${user.record.id}"` }))
                    .map((e) => e.product);
                for (const r of res.items) assert.ok(!mine.includes(r.id));
                // ... unless asked.
                const all = await recommend(user.pb, { limit: 6, includeSeen: true });
                assert.ok(all.items.some((r) => mine.includes(r.id)));
                assert.ok(all.items.slice(0, 4).every((r) => r.group === group), names(all));
            }
        }
    });

    test('rules, filter, expand-free fields, and who may ask', async () => {
        const a = groupA[0];
        // The hidden product shares group a's users but is never proposed.
        await su.send('/api/batch', { method: 'POST', body: { requests: groupA.slice(1).map((u) => ({
            method: 'POST', url: '/api/collections/events/records',
            body: { user: u.record.id, product: products.secret.id, kind: 'purchase' } })) } });
        await settled();
        const res = await recommend(a.pb, { limit: 20, includeSeen: true });
        assert.ok(!names(res).includes('secret'), names(res));
        // Nor its neighbours through it: its similar items are a 404.
        await expectError(a.pb.send(`/api/collections/products/records/${products.secret.id}/similar`), 404);
        // A filter over the items.
        const onlyB = await recommend(a.pb, { filter: 'group = "b"', limit: 3 });
        assert.ok(onlyB.items.length > 0 && onlyB.items.every((r) => r.group === 'b'), names(onlyB));
        const e = await expectError(recommend(a.pb, { filter: 'nope = 1' }), 400);
        assert.ok(e.message);
        // fields: the record as the list writes it (id kept for the order).
        const slim = await recommend(a.pb, { fields: 'name', limit: 2 });
        assert.deepEqual(Object.keys(slim.items[0]).sort(), ['id', 'name']);
        assert.deepEqual(slim.items.map((r) => r.id), slim.scores.map((s) => s.id));
        // Another user's recommendations: superusers only.
        await expectError(recommend(a.pb, { user: groupB[0].record.id }), 403);
        const theirs = await recommend(su, { user: groupB[0].record.id, limit: 2 });
        assert.ok(theirs.items.every((r) => r.group === 'b'), names(theirs));
        // Unknown parameters and bad values are refused.
        await expectError(recommend(a.pb, { sort: 'name' }), 400);
        await expectError(recommend(a.pb, { limit: 0 }), 400);
        await expectError(recommend(a.pb, { limit: 101 }), 400);
        await expectError(a.pb.send('/api/collections/users/recommendations'), 404);
    });

    test('cold start: a guest or a new user gets the popular; a new interaction shows at once', async () => {
        const guest = client(srv.url);
        const pop = await recommend(guest, { limit: 3 });
        assert.equal(pop.items.length, 3);
        assert.ok(pop.scores.every((s) => s.source === 'popular'));
        const scores = pop.scores.map((s) => s.score);
        assert.deepEqual(scores, [...scores].sort((x, y) => y - x));
        const fresh = await makeUser(su, srv.url);
        const before = await recommend(fresh.pb, { limit: 3 });
        assert.deepEqual(names(before), names(pop));
        // One like of a b item: b's neighbours come first within a second.
        const t0 = Date.now();
        await fresh.pb.collection('events').create({ user: fresh.record.id, product: products.b2.id, kind: 'like' });
        const after = await until('the new interaction', async () => {
            const r = await recommend(fresh.pb, { limit: 3 });
            return r.scores[0]?.source === 'similar' && r;
        });
        const ms = Date.now() - t0;
        assert.ok(after.items.every((r) => r.group === 'b'), names(after));
        assert.ok(!names(after).includes('b2'));
        console.log(`# a new interaction reflected in ${ms} ms`);
    });

    test('similar items, and a deleted interaction is taken back', async () => {
        const sim = await su.send(`/api/collections/products/records/${products.a1.id}/similar`, { query: { limit: 3 } });
        assert.equal(sim.items.length, 3);
        assert.ok(sim.items.every((r) => r.group === 'a' && r.name !== 'a1'), names(sim));
        await expectError(su.send(`/api/collections/products/records/${products.a1.id}/similar`, { query: { user: 'x' } }), 400);
        await expectError(su.send('/api/collections/products/records/nope/similar'), 404);
        // A user with one interaction, then none: back to the popular.
        const u = await makeUser(su, srv.url);
        const ev = await u.pb.collection('events').create({ user: u.record.id, product: products.a3.id, kind: 'purchase' });
        await settled();
        assert.equal((await recommend(u.pb, { limit: 1 })).scores[0].source, 'similar');
        await su.collection('events').delete(ev.id);
        await settled();
        assert.equal((await recommend(u.pb, { limit: 1 })).scores[0].source, 'popular');
        // An inactive recommender serves nothing.
        await su.collection('_recommenders').update(rec.id, { active: false });
        await expectError(recommend(u.pb), 404);
        await su.collection('_recommenders').update(rec.id, { active: true });
    });

    test('vector blending: an item nobody has touched is found by what it is like; rules hold', async () => {
        const users = await su.collections.getOne('users');
        const dishesCol = await su.collections.create({ name: 'dishes', type: 'base',
            listRule: 'hidden = false', viewRule: 'hidden = false', fields: [
                { name: 'name', type: 'text' }, { name: 'hidden', type: 'bool' },
                { name: 'emb', type: 'vector', dimensions: 3 }] });
        await su.collections.create({ name: 'tastes', type: 'base',
            createRule: '@request.auth.id != "" && user = @request.auth.id', fields: [
                { name: 'user', type: 'relation', collectionId: users.id, maxSelect: 1 },
                { name: 'dish', type: 'relation', collectionId: dishesCol.id, maxSelect: 1 }] });
        const def = { name: 'dishes', interactions: 'tastes', user: 'user', item: 'dish', active: true };
        const bad = await expectError(su.collection('_recommenders').create({ ...def, vectorField: 'name' }), 400);
        assert.ok(bad.data.vectorField, JSON.stringify(bad));
        const heavy = await expectError(su.collection('_recommenders').create({ ...def, vectorField: 'emb', vectorWeight: 2 }), 400);
        assert.ok(heavy.data.vectorWeight, JSON.stringify(heavy));
        const dishRec = await su.collection('_recommenders').create({ ...def, vectorField: 'emb' });
        const dish = {};
        const add = async (name, emb, hidden = false) => {
            dish[name] = await su.collection('dishes').create({ name, emb, hidden });
        };
        for (let i = 1; i <= 3; i++) {
            await add(`spicy${i}`, [1, 0.1 * i, 0]);
            await add(`sweet${i}`, [0.1 * i, 1, 0]);
        }
        await add('new spicy', [0.95, 0.05, 0.02]);       // no interaction ever
        await add('hidden spicy', [1, 0, 0.01], true);   // the list rule hides it
        const eaters = [];
        for (const [taste, n] of [['spicy', 3], ['sweet', 3]]) {
            for (let k = 0; k < n; k++) {
                const u = await makeUser(su, srv.url);
                eaters.push(u);
                for (const i of [1, 2, 3].filter((x) => x !== k + 1)) {
                    await u.pb.collection('tastes').create({ user: u.record.id, dish: dish[`${taste}${i}`].id });
                }
            }
        }
        await settled();
        const dishNames = (res) => res.items.map((r) => r.name);
        const similar = (id, query = {}) => eaters[0].pb.send(`/api/collections/dishes/records/${id}/similar`, { query });
        // Similar to spicy1: the untouched spicy dish comes from the vectors.
        const sim = await similar(dish.spicy1.id, { limit: 4 });
        assert.ok(dishNames(sim).includes('new spicy'), dishNames(sim));
        assert.ok(!dishNames(sim).includes('hidden spicy'), dishNames(sim));
        assert.equal(sim.scores.find((x) => x.id === dish['new spicy'].id).source, 'vector');
        assert.deepEqual(sim.items.map((r) => r.id), sim.scores.map((x) => x.id));
        // A spicy eater is offered the new spicy dish before any sweet one.
        const forMe = await eaters[0].pb.send('/api/collections/dishes/recommendations', { query: { limit: 3 } });
        const names3 = dishNames(forMe);
        assert.ok(names3.includes('new spicy'), names3);
        assert.ok(!names3.includes('hidden spicy'), names3);
        const firstSweet = names3.findIndex((x) => x.startsWith('sweet'));
        assert.ok(firstSweet === -1 || names3.indexOf('new spicy') < firstSweet, names3);
        // The caller's filter holds in the vector ranking too.
        const filtered = await similar(dish.spicy1.id, { limit: 4, filter: 'name != "new spicy"' });
        assert.ok(!dishNames(filtered).includes('new spicy'), dishNames(filtered));
        // Without the vector field the untouched dish is never proposed.
        await su.collection('_recommenders').update(dishRec.id, { vectorField: '' });
        const plain = await similar(dish.spicy1.id, { limit: 10 });
        assert.ok(!dishNames(plain).includes('new spicy'), dishNames(plain));
    });
});
