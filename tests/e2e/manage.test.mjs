// manageRule (spec §6.13): a requester passing an auth collection's
// manageRule for a record may change its email, verified and password like a
// superuser; others may not.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, makeUser, expectError } from './lib/util.mjs';

describe('manageRule', () => {
    let srv;
    let su;
    let boss;
    let worker;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        await su.collections.update('users', {
            manageRule: '@request.auth.name = "Boss"',
            updateRule: 'id = @request.auth.id || @request.auth.name = "Boss"',
        });
        boss = await makeUser(su, srv.url, { name: 'Boss' });
        worker = await makeUser(su, srv.url, { name: 'Worker' });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('a user cannot verify themself', async () => {
        const e = await expectError(worker.pb.collection('users').update(worker.record.id, { verified: true }), 400);
        assert.equal(e.data.verified.code, 'validation_values_mismatch');
    });

    test('a manager changes email, verified and password without the old one', async () => {
        const email = `managed-${Date.now()}@example.com`;
        const rec = await boss.pb.collection('users').update(worker.record.id, {
            email, verified: true, password: 'managed12345', passwordConfirm: 'managed12345',
        });
        assert.equal(rec.verified, true);
        const auth = await client(srv.url).collection('users').authWithPassword(email, 'managed12345');
        assert.equal(auth.record.id, worker.record.id);
    });

    test('a non-manager changing another user is refused by the updateRule', async () => {
        const other = await makeUser(su, srv.url, { name: 'Other' });
        await expectError(other.pb.collection('users').update(boss.record.id, { name: 'x' }), 404);
    });

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
