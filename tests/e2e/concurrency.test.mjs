// Many signed-in users at once (issue #10): on PostgreSQL a worker serves
// requests as tasks that wait for the database side by side, so nothing one
// request keeps in the worker's memory (the memo of verified tokens, the
// statement slots) may change under another. Every owner-checked create and
// read of 32 users, 25 each, in flight together, must succeed and be theirs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { superuserClient, makeUser } from './lib/util.mjs';

describe('concurrency', () => {
    let srv;
    let su;

    before(async () => {
        srv = await startServer({ flags: ['--workers=1'] });
        su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'notes',
            type: 'base',
            listRule: 'owner = @request.auth.id',
            viewRule: 'owner = @request.auth.id',
            createRule: '@request.auth.id != "" && owner = @request.auth.id',
            fields: [
                { name: 'text', type: 'text' },
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
            ],
        });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('32 users creating and reading their own notes at once all succeed', async () => {
        const users = [];
        for (let i = 0; i < 32; i++) users.push(await makeUser(su, srv.url));
        const failures = [];
        await Promise.all(users.map(async (u) => {
            for (let k = 0; k < 25; k++) {
                try {
                    const rec = await u.pb.collection('notes').create({ text: `n${k}`, owner: u.record.id });
                    const back = await u.pb.collection('notes').getOne(rec.id);
                    if (back.owner !== u.record.id) failures.push(`${u.email}: read another's note`);
                } catch (e) {
                    failures.push(`${u.email}: ${e.status} ${e.message}`);
                }
            }
        }));
        assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of 800 failed`);
        for (const u of users.slice(0, 4)) {
            const list = await u.pb.collection('notes').getList(1, 50);
            assert.equal(list.totalItems, 25);
            assert.ok(list.items.every((n) => n.owner === u.record.id));
        }
    });
});
