// The request log (issue #15, item 2; PocketBase's apis/logs.go) through the
// JS SDK: pb.logs.getList with filter and sort, getOne, getStats, as a
// superuser after a few requests (a failed one found by data.status and
// data.url); a user refused (403), a guest (401), an unknown filter field
// refused (400). Entries are written by the log's thread within ~100 ms.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertNoLeaks, makeUser, rawFetch, uniq, SLOW, DATE_RE,
} from './lib/util.mjs';

const settle = () => new Promise((r) => setTimeout(r, 500 * SLOW));

describe('request log', () => {
    let srv;
    let su;
    const mark = uniq('logmark');

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        // A failed request carrying the marker, and a few that succeed.
        await rawFetch(`${srv.url}/api/collections/${mark}/records?x=1`, {
            headers: { 'User-Agent': 'logs-e2e/1', Referer: 'http://ref.example/' },
        });
        await rawFetch(`${srv.url}/api/health?m=${mark}`);
        await su.collection('users').getList(1, 1, { filter: `email = "${mark}"` });
        await settle();
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
    });

    test('getList finds the failed request by data.status and data.url', async () => {
        const list = await su.logs.getList(1, 10, {
            filter: `data.status >= 400 && data.url ~ "${mark}"`, sort: '-created',
        });
        assert.equal(list.totalItems, 1, JSON.stringify(list));
        assert.equal(list.page, 1);
        assert.equal(list.perPage, 10);
        const e = list.items[0];
        assert.equal(e.level, 8);
        assert.match(e.created, DATE_RE);
        assert.equal(e.message, `GET /api/collections/${mark}/records?x=1`);
        assert.equal(e.data.type, 'request');
        assert.equal(e.data.method, 'GET');
        assert.equal(e.data.status, 404);
        assert.equal(e.data.url, `/api/collections/${mark}/records?x=1`);
        assert.equal(e.data.userAgent, 'logs-e2e/1');
        assert.equal(e.data.referer, 'http://ref.example/');
        assert.equal(typeof e.data.error, 'string');
        assert.equal(typeof e.data.execTime, 'number');
        assert.equal(e.data.auth, '');
    });

    test('the successful requests are logged too, sorted newest first', async () => {
        const all = await su.logs.getList(1, 50, { filter: `data.url ~ "${mark}"`, sort: '-created' });
        assert.equal(all.totalItems, 3, JSON.stringify(all.items.map((i) => i.data.url)));
        for (let i = 1; i < all.items.length; i++) {
            assert.ok(all.items[i - 1].created >= all.items[i].created, 'newest first');
        }
        const ok = all.items.filter((i) => i.data.status === 200);
        assert.equal(ok.length, 2);
        const asSu = ok.find((i) => i.data.url.startsWith('/api/collections/users/records'));
        assert.ok(asSu, JSON.stringify(ok));
        assert.equal(asSu.data.auth, '_superusers');
        assert.equal(asSu.level, 0);
        const up = await su.logs.getList(1, 50, { filter: `data.url ~ "${mark}"`, sort: 'created' });
        assert.deepEqual(up.items.map((i) => i.id), all.items.map((i) => i.id).reverse());
    });

    test('ties of a sort go by id: reversed, the list is exactly reversed; pages neither repeat nor skip', async () => {
        // every entry of the mark is a GET: all of them tie on data.method
        const filter = `data.url ~ "${mark}" && data.url !~ "/api/logs"`;
        const ids = async (sort, page = 1, perPage = 50) =>
            (await su.logs.getList(page, perPage, { filter, sort })).items.map((i) => i.id);
        const up = await ids('data.method');
        assert.equal(up.length, 3);
        assert.deepEqual(up, [...up].sort(), 'ties in the order of their ids');
        assert.deepEqual(await ids('-data.method'), [...up].reverse());
        const paged = [];
        for (let page = 1; page <= up.length; page++) paged.push(...await ids('data.method', page, 1));
        assert.deepEqual(paged, up);
    });

    test('getOne returns the entry; an unknown id is a 404', async () => {
        const { items } = await su.logs.getList(1, 1, { filter: `data.status >= 400 && data.url ~ "${mark}"` });
        const one = await su.logs.getOne(items[0].id);
        assert.deepEqual(one, items[0]);
        await expectError(su.logs.getOne('nosuchlogid1234'), 404, 'unknown id');
    });

    test('getStats counts the entries by hour', async () => {
        const stats = await su.logs.getStats({ filter: `data.url ~ "${mark}"` });
        assert.ok(Array.isArray(stats) && stats.length >= 1, JSON.stringify(stats));
        for (const s of stats) {
            assert.deepEqual(Object.keys(s).sort(), ['date', 'total']);
            assert.match(s.date, /:00:00\.000Z$/);
        }
        assert.equal(stats.reduce((n, s) => n + s.total, 0), 3);
        const failed = await su.logs.getStats({ filter: `data.status >= 400 && data.url ~ "${mark}"` });
        assert.equal(failed.reduce((n, s) => n + s.total, 0), 1);
    });

    test('a user is refused (403), a guest (401)', async () => {
        const u = await makeUser(su, srv.url);
        await expectError(u.pb.logs.getList(1, 10), 403, 'user list');
        await expectError(u.pb.logs.getStats(), 403, 'user stats');
        const guest = client(srv.url);
        await expectError(guest.logs.getList(1, 10), 401, 'guest list');
        await expectError(guest.logs.getOne('nosuchlogid1234'), 401, 'guest view');
        await expectError(guest.logs.getStats(), 401, 'guest stats');
    });

    test('an unknown filter field is refused (400)', async () => {
        const body = await expectError(su.logs.getList(1, 10, { filter: 'nope = 1' }), 400, 'list');
        assert.match(body.message, /nope/);
        await expectError(su.logs.getStats({ filter: 'nope = 1' }), 400, 'stats');
        await expectError(su.logs.getList(1, 10, { sort: '-nope' }), 400, 'sort');
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
