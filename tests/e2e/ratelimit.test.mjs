// Rate limits (issue: auth): brute force on one account gets 429 with
// Retry-After through the SDK, and other accounts are not affected.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import http from 'node:http';
import { client, superuserClient, makeUser, clearOfWindowEdge } from './lib/util.mjs';

describe('rate limits', () => {
    let srv;
    let su;

    before(async () => {
        await clearOfWindowEdge(30000); // a block of this file takes well under 30 s
        srv = await startServer({ flags: ['--rate-limits=auth-identity=3/60s,/api/health=5/60s'] });
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('a brute force on one identity gets 429 with Retry-After', async () => {
        const victim = await makeUser(su, srv.url, { name: 'Victim' });
        const pb = client(srv.url);
        const statuses = [];
        for (let i = 0; i < 5; i++) {
            try {
                await pb.collection('users').authWithPassword(victim.email, 'wrong-password-' + i);
                statuses.push(200);
            } catch (e) {
                statuses.push(e.status);
            }
        }
        // makeUser logged in once already: the limit of 3 leaves 2 tries.
        assert.deepEqual(statuses, [400, 400, 429, 429, 429]);
        const res = await fetch(srv.url + '/api/collections/users/auth-with-password', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ identity: victim.email.toUpperCase(), password: 'x' }),
        });
        assert.equal(res.status, 429, 'identity case does not evade the limit');
        const retry = Number(res.headers.get('retry-after'));
        assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
        assert.deepEqual(await res.json(), { status: 429, message: 'Too Many Requests.', data: {} });
    });

    test('another identity still logs in', async () => {
        const other = await makeUser(su, srv.url, { name: 'Other' });
        const pb = client(srv.url);
        const auth = await pb.collection('users').authWithPassword(other.email, other.password);
        assert.ok(auth.token);
    });

    test('a path-prefix rule limits any route', async () => {
        const codes = [];
        for (let i = 0; i < 7; i++) codes.push((await fetch(srv.url + '/api/health')).status);
        assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
    });

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});

// A rule written for a collection's path holds however a request spells the
// collection (name in any case, id, percent-encoded), and a rule may name the
// collection by id; the per-IP auth rule holds for a percent-encoded endpoint.
describe('rate limits on the path as routed', () => {
    let srv;
    const POSTS_ID = 'pbc_rlposts001';
    const NOTES_ID = 'pbc_rlnotes001';

    before(async () => {
        await clearOfWindowEdge(30000); // a block of this file takes well under 30 s
        srv = await startServer({
            flags: [`--rate-limits=/api/collections/posts=6/60s,/api/collections/${NOTES_ID}/records=3/60s,auth-ip=4/60s`],
        });
        const su = await superuserClient(srv.url); // auth-ip: 1 of 4
        for (const [id, name] of [[POSTS_ID, 'posts'], [NOTES_ID, 'notes']]) {
            await su.collections.create({ id, name, listRule: '', fields: [{ name: 'title', type: 'text' }] });
        }
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    const get = async (path) => (await fetch(srv.url + path)).status;

    test('name in any case, id and percent-encoding share the collection rule', async () => {
        const spellings = [
            '/api/collections/posts/records',
            '/api/collections/POSTS/records',
            `/api/collections/${POSTS_ID}/records`,
            '/api/collections/p%6fsts/records',
            '/api/collections/%50osts/records?page=1',
            '/api/collections/Posts/records',
        ];
        const first = [];
        for (const p of spellings) first.push(await get(p));
        assert.deepEqual(first, [200, 200, 200, 200, 200, 200]);
        const then = [];
        for (const p of spellings) then.push(await get(p));
        assert.deepEqual(then, [429, 429, 429, 429, 429, 429]);
        assert.equal(await get('/api/collections/notes/records'), 200, 'another collection is not limited by it');
    });

    test('a rule naming the collection by id holds for its name', async () => {
        const codes = [];
        for (const p of ['/api/collections/notes/records', '/api/collections/NOTES/records', '/api/collections/n%6ftes/records',
            `/api/collections/${NOTES_ID}/records`]) {
            codes.push(await get(p));
        }
        // the previous test spent one request of this rule already
        assert.deepEqual(codes, [200, 200, 429, 429]);
    });

    test('the per-IP auth rule holds for a percent-encoded endpoint', async () => {
        const codes = [];
        for (const tail of ['auth-with-p%61ssword', 'auth-with-password', 'auth%2Dwith-password', 'auth-with-password']) {
            const res = await fetch(`${srv.url}/api/collections/users/${tail}`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ identity: 'nobody@example.com', password: 'wrong-password' }),
            });
            codes.push(res.status);
        }
        // the superuser login in before() was the first of 4
        assert.deepEqual(codes, [400, 400, 400, 429]);
    });

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});

describe('rate limits count the items of a batch', () => {
    let srv;
    let token;

    before(async () => {
        await clearOfWindowEdge(30000); // a block of this file takes well under 30 s
        srv = await startServer({ flags: ['--rate-limits=/api/collections/posts/records=4/60s'] });
        const su = await superuserClient(srv.url);
        token = su.authStore.token;
        await su.collections.create({ name: 'posts', listRule: '', createRule: '', fields: [{ name: 'title', type: 'text' }] });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    const batch = async (n) => (await fetch(srv.url + '/api/batch', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
            requests: Array.from({ length: n }, (_, i) => ({
                method: 'POST', url: '/api/collections/posts/records', body: { title: `t${i}` },
            })),
        }),
    })).status;

    /** The posts as a client on another address sees them (its own budget). */
    const count = () => new Promise((resolve, reject) => {
        const u = new URL(srv.url + '/api/collections/posts/records?perPage=50');
        http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, localAddress: '127.0.0.2',
            headers: { Authorization: token } }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve(JSON.parse(body).totalItems));
        }).on('error', reject);
    });

    test('a batch is no way around a path rule: over it, nothing runs', async () => {
        assert.equal(await batch(2), 200);
        assert.equal(await batch(3), 429, 'items 3 and 4 fit, the 5th does not');
        assert.equal(await count(), 2, 'the refused batch wrote nothing');
        assert.equal((await fetch(srv.url + '/api/collections/posts/records')).status, 429);
    });

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
