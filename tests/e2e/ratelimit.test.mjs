// Rate limits (issue: auth): brute force on one account gets 429 with
// Retry-After through the SDK, and other accounts are not affected.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, makeUser } from './lib/util.mjs';

describe('rate limits', () => {
    let srv;
    let su;

    before(async () => {
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
