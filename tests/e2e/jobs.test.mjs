// Jobs and webhooks through the official SDK (issue #12): pb.crons lists the
// _schedules records and runs one now; the webhook and schedule collections
// are managed with the ordinary record service; guests are refused.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, expectError, SLOW } from './lib/util.mjs';

describe('jobs', () => {
    let srv;
    let su;
    let receiver;
    const seen = [];

    before(async () => {
        receiver = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
                res.writeHead(200).end();
            });
        });
        await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
        srv = await startServer({ flags: ['--allow-private-network'] });
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        receiver.close();
    });

    test('pb.crons lists the schedules and runs one', async () => {
        const url = `http://127.0.0.1:${receiver.address().port}/cron`;
        await su.collection('_schedules').create({
            name: 'report', cron: '0 3 * * *', kind: 'http', payload: { url }, active: true,
        });
        const list = await su.crons.getFullList();
        assert.deepEqual(list, [{ id: 'report', expression: '0 3 * * *' }]);
        assert.equal(await su.crons.run('report'), true);
        const deadline = Date.now() + 10000 * SLOW;
        while (!seen.some((s) => s.headers['x-tarmac-job-id']) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(seen.some((s) => s.headers['x-tarmac-job-id']), 'the run was delivered');
        await expectError(client(srv.url).crons.getFullList(), 401);
    });

    test('a webhook made with the SDK delivers a signed create', async () => {
        const url = `http://127.0.0.1:${receiver.address().port}/hook`;
        await su.collections.create({
            name: 'orders', type: 'base', fields: [{ name: 'total', type: 'number' }],
        });
        await su.collection('_webhooks').create({
            collection: 'orders', events: ['create'], url, secret: 'shh', active: true,
        });
        const order = await su.collection('orders').create({ total: 42 });
        const deadline = Date.now() + 10000 * SLOW;
        let hit;
        while (!hit && Date.now() < deadline) {
            hit = seen.find((s) => s.headers['x-tarmac-event-id']);
            if (!hit) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(hit, 'delivered');
        const body = JSON.parse(hit.body.toString());
        assert.equal(body.record.id, order.id);
        assert.equal(body.record.total, 42);
        const sig = Object.fromEntries(hit.headers['x-tarmac-signature'].split(',').map((p) => p.split('=')));
        const want = createHmac('sha256', 'shh').update(`${sig.t}.`).update(hit.body).digest('hex');
        assert.equal(sig.v1, want);
    });
});
