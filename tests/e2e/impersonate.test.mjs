// Impersonation (spec §6.4): a superuser gets a non-refreshable token of
// another auth record. The success path through the SDK's impersonate(),
// and every error path: no auth, a non-superuser, an unknown collection or
// record, a bad duration.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getTokenPayload } from 'pocketbase';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, makeUser, expectError, assertFieldCode, assertNoLeaks, rawFetch,
} from './lib/util.mjs';

describe('impersonate', () => {
    let srv;
    let su;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('a superuser gets a token of the record that is not refreshed', async () => {
        const u = await makeUser(su, srv.url, { name: 'Imp' });
        const as = await su.collection('users').impersonate(u.record.id, 3600);
        assert.equal(as.authStore.record.id, u.record.id);
        const payload = getTokenPayload(as.authStore.token);
        assert.equal(payload.id, u.record.id);
        assert.equal(payload.refreshable, false);
        const lifetime = payload.exp - Math.floor(Date.now() / 1000);
        assert.ok(lifetime > 3500 && lifetime <= 3600, `lifetime ${lifetime}`);
        // The token acts as the user...
        const me = await as.collection('users').getOne(u.record.id);
        assert.equal(me.name, 'Imp');
        // ...and auth-refresh gives the same token back, not a longer one.
        const before = as.authStore.token;
        const refreshed = await as.collection('users').authRefresh();
        assert.equal(refreshed.token, before);
        assert.equal(refreshed.record.id, u.record.id);
    });

    test('without a duration the collection default applies', async () => {
        const u = await makeUser(su, srv.url);
        const res = await rawFetch(`${srv.url}/api/collections/users/impersonate/${u.record.id}`, {
            method: 'POST', headers: { Authorization: su.authStore.token }, json: {},
        });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.record.id, u.record.id);
        const payload = getTokenPayload(res.body.token);
        assert.ok(payload.exp > Math.floor(Date.now() / 1000) + 60, JSON.stringify(payload));
    });

    test('guests get 401, users 403, even for themselves', async () => {
        const u = await makeUser(su, srv.url);
        await expectError(client(srv.url).collection('users').impersonate(u.record.id, 60), 401);
        const other = await makeUser(su, srv.url);
        await expectError(u.pb.collection('users').impersonate(other.record.id, 60), 403);
        await expectError(u.pb.collection('users').impersonate(u.record.id, 60), 403);
    });

    test('unknown records and collections are 404, base collections too', async () => {
        await expectError(su.collection('users').impersonate('nosuchrecord123', 60), 404);
        await expectError(su.collection('nosuchcollection').impersonate('x', 60), 404);
        const name = `imp_base_${Date.now().toString(36)}`;
        await su.collections.create({ name, type: 'base', fields: [{ name: 'title', type: 'text' }] });
        const rec = await su.collection(name).create({ title: 't' });
        await expectError(su.collection(name).impersonate(rec.id, 60), 404);
    });

    test('a negative, absurd or non-integer duration is 400 on the field', async () => {
        const u = await makeUser(su, srv.url);
        for (const duration of [-1, 400 * 365 * 86400]) {
            const res = await rawFetch(`${srv.url}/api/collections/users/impersonate/${u.record.id}`, {
                method: 'POST', headers: { Authorization: su.authStore.token }, json: { duration },
            });
            assert.equal(res.status, 400, `${duration}: ${res.text}`);
            assertFieldCode(res.body, 'duration', 'validation_min_greater_equal_than_required');
        }
        for (const duration of ['3600', 1.5, true, [60], { s: 1 }]) {
            const res = await rawFetch(`${srv.url}/api/collections/users/impersonate/${u.record.id}`, {
                method: 'POST', headers: { Authorization: su.authStore.token }, json: { duration },
            });
            assert.equal(res.status, 400, `${JSON.stringify(duration)}: ${res.text}`);
            assertFieldCode(res.body, 'duration', 'validation_invalid_value');
        }
        const bad = await rawFetch(`${srv.url}/api/collections/users/impersonate/${u.record.id}`, {
            method: 'POST', headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
            body: '{"duration":',
        });
        assert.equal(bad.status, 400, bad.text);
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
