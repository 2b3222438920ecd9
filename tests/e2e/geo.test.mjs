// Points (issue #18, item 3) through the JS SDK, on either engine: every
// geoPoint field gets a point index (an R*Tree on SQLite, a B-tree over
// latitude and longitude on PostgreSQL) that a distance filter
// `geoDistance(loc.lon, loc.lat, X, Y) < R` reads a box of, and `sort`
// takes geoDistance(...) for nearest first. Checked against a brute-force
// answer over seeded random points (clusters, the antimeridian, a pole),
// under the list rule, with the index following the records and the schema.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { dbQuery, IS_PG } from './lib/db.mjs';
import { client, superuserClient, expectError, assertNoLeaks } from './lib/util.mjs';

/** A seeded PRNG (mulberry32): the same points on every run. */
function rng(seed) {
    return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = seed;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** geoDistance as the server computes it (spherical law of cosines, km). */
function dist(lon1, lat1, lon2, lat2) {
    const r = (d) => (d * Math.PI) / 180;
    return 6371 * Math.acos(Math.min(1, Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.cos(r(lon2) - r(lon1))
        + Math.sin(r(lat1)) * Math.sin(r(lat2))));
}

describe('points: distance filters and nearest first', () => {
    let srv;
    let su;
    let guest;
    let coll;
    const places = []; // {id, name, lon, lat, open}

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        coll = await su.collections.create({
            name: 'places', listRule: 'open = true', viewRule: 'open = true',
            fields: [
                { name: 'name', type: 'text' }, { name: 'open', type: 'bool' },
                { name: 'loc', type: 'geoPoint' }, { name: 'home', type: 'geoPoint' },
            ],
        });
        const rand = rng(18);
        const centres = [[12.5, 41.9], [179.8, -17.7], [-179.9, 65.0], [10.0, 89.6], [-74.0, 40.7]];
        const batch = [];
        for (let i = 0; i < 300; i++) {
            let lon;
            let lat;
            if (i < 250) {
                const [cx, cy] = centres[i % centres.length];
                lon = cx + (rand() - 0.5) * 6;
                lat = Math.max(-90, Math.min(90, cy + (rand() - 0.5) * 4));
                if (lon > 180) lon -= 360;
                if (lon < -180) lon += 360;
            } else {
                lon = rand() * 360 - 180;
                lat = rand() * 180 - 90;
            }
            lon = Math.round(lon * 1e6) / 1e6;
            lat = Math.round(lat * 1e6) / 1e6;
            batch.push({ name: `p${i}`, open: rand() < 0.8, loc: { lon, lat }, home: { lon: -lon, lat: -lat } });
        }
        for (let i = 0; i < batch.length; i += 25) {
            const made = await Promise.all(batch.slice(i, i + 25).map((b) => su.collection('places').create(b)));
            made.forEach((r, k) => places.push({ ...batch[i + k], id: r.id, lon: batch[i + k].loc.lon, lat: batch[i + k].loc.lat }));
        }
    });

    after(async () => {
        await srv?.stop();
    });

    /** The names a guest should get within r km of (x, y), nearest first. */
    function expected(x, y, r, { all = false } = {}) {
        return places.filter((p) => (all || p.open) && dist(p.lon, p.lat, x, y) < r)
            .sort((a, b) => dist(a.lon, a.lat, x, y) - dist(b.lon, b.lat, x, y));
    }

    /** Whether a point sits so close to the edge that rounding may put it either side. */
    const onEdge = (p, x, y, r) => Math.abs(dist(p.lon, p.lat, x, y) - r) < 1e-6;

    const CASES = [
        ['Rome, 120 km', 12.5, 41.9, 120],
        ['Rome, 400 km', 12.5, 41.9, 400],
        ['the antimeridian from the east', 179.9, -17.7, 250],
        ['the antimeridian from the west', -179.95, -17.5, 300],
        ['the antimeridian up north', 179.99, 65.0, 150],
        ['a pole', 0, 89.9, 80],
        ['around a pole', 120, 88.5, 300],
        ['New York, 1 km', -74.0, 40.7, 1],
        ['everywhere', 0, 0, 30000],
        ['nothing', 12.5, 41.9, 0],
    ];

    for (const [what, x, y, r] of CASES) {
        test(`within a radius: ${what}`, async () => {
            const want = expected(x, y, r);
            const got = await guest.collection('places').getFullList({
                filter: `geoDistance(loc.lon, loc.lat, ${x}, ${y}) < ${r}`, batch: 500,
            });
            const gotIds = new Set(got.map((g) => g.id));
            for (const p of want) {
                assert.ok(gotIds.has(p.id) || onEdge(p, x, y, r), `${p.name} (${p.lon}, ${p.lat}) missing`);
            }
            const wantIds = new Set(want.map((p) => p.id));
            for (const g of got) {
                const p = places.find((q) => q.id === g.id);
                assert.ok(p.open, `${p.name} is not open`);
                assert.ok(wantIds.has(g.id) || onEdge(p, x, y, r), `${p.name} (${p.lon}, ${p.lat}) too far`);
            }
            // the centre first, the count as a page tells it
            const page = await guest.collection('places').getList(1, 1, {
                filter: `geoDistance(${x}, ${y}, loc.lon, loc.lat) <= ${r}`,
            });
            assert.equal(page.totalItems, got.length);
        });
    }

    test('nearest first: sort by geoDistance, a radius for the index', async () => {
        for (const [x, y] of [[12.5, 41.9], [179.95, -17.7], [-74, 40.7]]) {
            const want = expected(x, y, 500).slice(0, 10).map((p) => p.name);
            const page = await guest.collection('places').getList(1, 10, {
                filter: `geoDistance(loc.lon, loc.lat, ${x}, ${y}) < 500`,
                sort: `geoDistance(loc.lon, loc.lat, ${x}, ${y}),name`,
            });
            assert.deepEqual(page.items.map((p) => p.name), want, `${x}, ${y}`);
        }
        // farthest first, with another field after it, no filter at all
        const far = await su.collection('places').getList(1, 3, { sort: '-geoDistance(loc.lon, loc.lat, 12.5, 41.9),-name' });
        const wantFar = expected(12.5, 41.9, 1e9, { all: true }).reverse().slice(0, 3).map((p) => p.name);
        assert.deepEqual(far.items.map((p) => p.name), wantFar);
        // a sort term that is a function needs its arguments right
        for (const bad of ['geoDistance(loc.lon, loc.lat)', 'geoDistance(loc.lon, loc.lat, 1, 2', 'nosuch(loc.lon)',
            'geoDistance(nosuch.lon, loc.lat, 1, 2)', '12']) {
            await expectError(guest.collection('places').getList(1, 1, { sort: bad }), 400, bad);
        }
    });

    test('nearest first without totals: the box cut to the page answers as the whole box', async () => {
        // A page sorted by one geoDistance under a filter bounding it, without
        // totals, first reads a cut box (record_read.c near_cut): every page,
        // dense or sparse, under an OR and with the rule, is the one the whole
        // box gives (with totals, no cut), and the one computed here.
        for (const [, x, y, r] of CASES) {
            const d = `geoDistance(loc.lon, loc.lat, ${x}, ${y})`;
            const want = expected(x, y, r).map((p) => p.name);
            for (const perPage of [1, 3, 10]) {
                for (let page = 1; page <= 3; page++) {
                    const opts = { filter: `${d} < ${r}`, sort: d };
                    const cut = await guest.collection('places').getList(page, perPage, { ...opts, skipTotal: true });
                    const whole = await guest.collection('places').getList(page, perPage, opts);
                    const names = cut.items.map((p) => p.name);
                    assert.deepEqual(names, whole.items.map((p) => p.name), `${x}, ${y}, ${r}: page ${page} of ${perPage}`);
                    // the distances computed here (records at the same distance, as at
                    // a pole, come in the server's order: by rowid)
                    const slice = want.slice((page - 1) * perPage, page * perPage);
                    const km = (n) => {
                        const q = places.find((p) => p.name === n);
                        return dist(q.lon, q.lat, x, y).toFixed(6);
                    };
                    if (!slice.some((n) => onEdge(places.find((p) => p.name === n), x, y, r))) {
                        assert.deepEqual(names.map(km), slice.map(km), `${x}, ${y}, ${r}: page ${page} of ${perPage}, here`);
                    }
                }
            }
        }
        // under an OR: a far record named in the filter comes in by its distance
        const far = places.filter((p) => p.open).sort((a, b) => dist(b.lon, b.lat, 12.5, 41.9) -
            dist(a.lon, a.lat, 12.5, 41.9))[0];
        const d = 'geoDistance(loc.lon, loc.lat, 12.5, 41.9)';
        for (const perPage of [5, 60]) {
            const opts = { filter: `(${d} < 200 || name = '${far.name}')`, sort: `+${d}` };
            const cut = await guest.collection('places').getList(1, perPage, { ...opts, skipTotal: true });
            const whole = await guest.collection('places').getList(1, perPage, opts);
            assert.deepEqual(cut.items.map((p) => p.name), whole.items.map((p) => p.name));
            assert.equal(whole.items.some((p) => p.name === far.name), perPage === 60);
        }
    });

    test('another geoPoint field, and shapes that read no index, answer the same', async () => {
        const viaHome = await guest.collection('places').getFullList({
            filter: 'geoDistance(home.lon, home.lat, -12.5, -41.9) < 400', batch: 500,
        });
        assert.deepEqual(new Set(viaHome.map((p) => p.id)), new Set(expected(12.5, 41.9, 400).map((p) => p.id)));
        // a radius that is a field's value, or an OR: no box, the same answer
        const orred = await guest.collection('places').getFullList({
            filter: 'geoDistance(loc.lon, loc.lat, 12.5, 41.9) < 120 || name = "none"', batch: 500,
        });
        assert.deepEqual(new Set(orred.map((p) => p.id)), new Set(expected(12.5, 41.9, 120).map((p) => p.id)));
        const mixed = await guest.collection('places').getFullList({
            filter: 'geoDistance(loc.lon, loc.lat, 12.5, 41.9) < geoDistance(home.lon, home.lat, 0, 0)', batch: 500,
        });
        const want = places.filter((p) => p.open && dist(p.lon, p.lat, 12.5, 41.9) < dist(-p.lon, -p.lat, 0, 0));
        assert.equal(mixed.length, want.length);
    });

    test('the index follows the records and the schema', async () => {
        const key = coll.id;
        const count = () => (IS_PG
            ? dbQuery(srv.dir, 'SELECT count(*) FROM pg_indexes WHERE indexname LIKE ?', [`_s:${key}:g%`])[0][0]
            : dbQuery(srv.dir, `SELECT count(*) FROM "_s:${key}:g0"`)[0][0]);
        if (!IS_PG) assert.equal(Number(count()), places.length);
        else assert.equal(Number(count()), 2);
        const r = await su.collection('places').create({ name: 'new', open: true, loc: { lon: 12.51, lat: 41.91 } });
        const near = () => guest.collection('places').getFullList({ filter: 'geoDistance(loc.lon, loc.lat, 12.51, 41.91) < 0.001' });
        assert.deepEqual((await near()).map((p) => p.name), ['new']);
        await su.collection('places').update(r.id, { loc: { lon: -12.51, lat: 41.91 } });
        assert.deepEqual(await near(), []);
        await su.collection('places').update(r.id, { loc: { lon: 12.51, lat: 41.91 } });
        assert.deepEqual((await near()).map((p) => p.name), ['new']);
        await su.collection('places').delete(r.id);
        assert.deepEqual(await near(), []);
        if (!IS_PG) assert.equal(Number(count()), places.length);
        // a renamed collection keeps its index; a field removed takes its own
        let c = await su.collections.update('places', { name: 'spots' });
        assert.equal((await guest.collection('spots').getFullList({
            filter: 'geoDistance(loc.lon, loc.lat, 12.5, 41.9) < 120',
        })).length, expected(12.5, 41.9, 120).length);
        c = await su.collections.update('spots', { fields: c.fields.filter((f) => f.name !== 'home') });
        const left = IS_PG
            ? dbQuery(srv.dir, 'SELECT indexname FROM pg_indexes WHERE indexname LIKE ?', [`_s:${key}:g%`])
            : dbQuery(srv.dir, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?", [`_s:${key}:g_`]);
        assert.deepEqual(left.map((x) => x[0]), [`_s:${key}:g0`]);
        await su.collections.delete('spots');
        const gone = IS_PG
            ? dbQuery(srv.dir, 'SELECT indexname FROM pg_indexes WHERE indexname LIKE ?', [`_s:${key}%`])
            : dbQuery(srv.dir, 'SELECT name FROM sqlite_master WHERE name LIKE ?', [`_s:${key}%`]);
        assert.deepEqual(gone, []);
    });

    test('no response leaked a secret', () => assertNoLeaks());
});
