// Durability: every create the server acknowledged (HTTP 200) survives a
// kill -9 of the server in the middle of a write load.
//
// Runs a release build: $TARMAC_CRASH_BIN, else $TARMAC_BIN unless that is an
// ASan build (path containing /asan/), else build/release/tarmac.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, SLOW, BIN, RELEASE_BIN } from './lib/server.mjs';
import { superuserClient, expectError } from './lib/util.mjs';

const LOOPS = 8;
const LOAD_MS = 3000;
const ROUNDS = 2;
const CRASH_BIN = process.env.TARMAC_CRASH_BIN || (BIN.includes('/asan/') ? RELEASE_BIN : BIN);

/**
 * Runs LOOPS concurrent create loops against url until stop() is called or the
 * server goes away. Resolves to {acked: [ids], failed: n} when every loop ended.
 */
function startLoad(url, round) {
    const acked = [];
    let failed = 0;
    let stopped = false;
    const loop = async (n) => {
        let i = 0;
        while (!stopped) {
            i += 1;
            let res;
            try {
                res = await fetch(`${url}/api/collections/notes/records`, {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ text: `r${round} loop${n} #${i}`, n: i }),
                    signal: AbortSignal.timeout(10000 * SLOW),
                });
            } catch {
                failed += 1; // connection refused/reset: the server is gone
                if (stopped) break;
                await sleep(5);
                continue;
            }
            let body = null;
            try { body = await res.json(); } catch { /* cut off mid-body: not acknowledged */ }
            if (res.status === 200 && body && typeof body.id === 'string') {
                acked.push({ id: body.id, text: body.text });
            } else {
                failed += 1;
            }
        }
    };
    const done = Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
    return {
        acked,
        stop: async () => { stopped = true; await done; return { acked, failed }; },
    };
}

/** getOne for every acknowledged id (8 at a time); returns the missing ones. */
async function missingIds(url, acked) {
    const su = await superuserClient(url);
    const missing = [];
    let next = 0;
    const worker = async () => {
        while (next < acked.length) {
            const a = acked[next++];
            try {
                const r = await su.collection('notes').getOne(a.id);
                if (r.text !== a.text) missing.push(`${a.id}: text ${JSON.stringify(r.text)} != ${JSON.stringify(a.text)}`);
            } catch (e) {
                missing.push(`${a.id}: ${e.status} ${e.message}`);
            }
        }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return missing;
}

describe('durability across kill -9', () => {
    let srv;
    let dir;
    const allAcked = [];

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        if (srv) srv.cleanup();
    });

    test('setup: notes collection open for creates', async () => {
        srv = await startServer({ bin: CRASH_BIN });
        dir = srv.dir;
        const su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'notes',
            createRule: '',
            fields: [{ name: 'text', type: 'text' }, { name: 'n', type: 'number' }],
        });
    });

    for (let round = 1; round <= ROUNDS; round++) {
        test(`round ${round}: kill -9 under load, restart on the same dir, every acknowledged create is there`, async (t) => {
            const load = startLoad(srv.url, round);
            await sleep(LOAD_MS);
            assert.ok(load.acked.length > 0, 'the load made progress before the kill');
            await srv.kill9(); // mid-load: the loops are still sending
            assert.equal(srv.exited.signal, 'SIGKILL');
            const { acked, failed } = await load.stop();
            allAcked.push(...acked);
            t.diagnostic(`round ${round}: ${acked.length} creates acknowledged, ${failed} cut off by the kill`);

            srv = await startServer({ dir, bin: CRASH_BIN });
            const missing = await missingIds(srv.url, allAcked);
            assert.deepEqual(missing, [],
                `${missing.length} of ${allAcked.length} acknowledged creates lost (round ${round}: ${acked.length} acked, ${failed} failed)`);

            // the restarted server is fully usable
            const su = await superuserClient(srv.url);
            const all = await su.collection('notes').getList(1, 1);
            assert.ok(all.totalItems >= allAcked.length, `totalItems ${all.totalItems} < ${allAcked.length} acknowledged`);
            const r = await su.collection('notes').create({ text: `after restart ${round}` });
            assert.equal((await su.collection('notes').getOne(r.id)).text, `after restart ${round}`);
            await su.collection('notes').delete(r.id);
            await expectError(su.collection('notes').getOne(r.id), 404);
        });
    }

    test('server exits cleanly on SIGTERM after the crashes', async () => {
        await srv.stop();
    });
});
