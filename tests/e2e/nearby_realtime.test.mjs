// Nearby realtime (issue #18, item 3): a subscription whose options filter
// by geoDistance(...) gets only the records within that radius of its point
// (a customer following the couriers near them), under the list rule as any
// subscription; a courier outside the radius, or moving there, is not
// delivered; another subscriber's radius is its own.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startServer, SLOW } from './lib/server.mjs';
import { client, superuserClient, assertNoLeaks } from './lib/util.mjs';

globalThis.EventSource = EventSource;
const WAIT_MS = 10000 * SLOW;

async function waitFor(list, pred, what) {
    const end = Date.now() + WAIT_MS;
    while (Date.now() < end) {
        if (pred(list)) return;
        await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(list)}`);
}

describe('nearby realtime', () => {
    let srv;
    let su;
    const subs = [];

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'couriers', listRule: 'active = true', viewRule: 'active = true',
            fields: [{ name: 'name', type: 'text' }, { name: 'loc', type: 'geoPoint' },
                { name: 'active', type: 'bool' }],
        });
    });
    after(async () => {
        for (const pb of subs) pb.realtime.unsubscribe();
        await srv?.stop();
        assertNoLeaks();
    });

    // Rome's Colosseum, and Milan's Duomo (about 480 km away)
    const ROME = { lon: 12.4922, lat: 41.8902 };
    const MILAN = { lon: 9.1916, lat: 45.4642 };
    const near = (p) => `geoDistance(loc.lon, loc.lat, ${p.lon}, ${p.lat}) < 3`;

    async function follow(p) {
        const pb = client(srv.url);
        subs.push(pb);
        const got = [];
        await pb.collection('couriers').subscribe('*', (e) => got.push(e), { filter: near(p) });
        return got;
    }

    test('only the records within the radius are delivered, per subscriber', async () => {
        const rome = await follow(ROME);
        const milan = await follow(MILAN);
        const c = su.collection('couriers');
        // 1.1 km from the Colosseum; 480 km; just past 3 km; hidden by the rule
        const a = await c.create({ name: 'near', loc: { lon: 12.4922, lat: 41.9001 }, active: true });
        await c.create({ name: 'far', loc: MILAN, active: true });
        await c.create({ name: 'edge', loc: { lon: 12.4922, lat: 41.9182 }, active: true });
        await c.create({ name: 'hidden', loc: ROME, active: false });
        await waitFor(rome, (l) => l.length >= 1, 'the near courier');
        await waitFor(milan, (l) => l.length >= 1, 'the Milan courier');
        // moves: into Rome's radius, then out of it
        await c.update(a.id, { loc: { lon: 12.4950, lat: 41.8910 } });
        await waitFor(rome, (l) => l.length >= 2, 'the near courier moving');
        await c.update(a.id, { loc: MILAN });
        await waitFor(milan, (l) => l.length >= 2, 'the courier arriving in Milan');
        await new Promise((r) => setTimeout(r, 300 * SLOW));
        assert.deepEqual(rome.map((e) => [e.action, e.record.name]), [['create', 'near'], ['update', 'near']]);
        assert.deepEqual(milan.map((e) => [e.action, e.record.name]), [['create', 'far'], ['update', 'near']]);
    });
});
