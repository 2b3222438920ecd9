// Durability on a failing disk: with the writer's reads and writes failing at
// 3% (TARMAC_TEST_IO_FAULTS, src/store/fault.h), every create the server
// acknowledged is stored, and every create it answered with an error is not.
// SQLite rolls a whole transaction back after an I/O error; the writer's group
// commit must notice, or it acknowledges writes the rollback took away.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, SLOW, ENGINE } from './lib/server.mjs';
import { superuserClient } from './lib/util.mjs';

const LOOPS = 8;
const LOAD_MS = 4000;
const FAULTS = 'rate=0.03,seed=20';

/** LOOPS concurrent create loops until stop(); each text is unique. */
function startLoad(url) {
    const acked = [];
    const refused = [];
    const broken = [];
    let stopped = false;
    const loop = async (n) => {
        for (let i = 1; !stopped; i++) {
            const text = `loop${n} #${i}`;
            let res;
            let body = null;
            try {
                res = await fetch(`${url}/api/collections/notes/records`, {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ text }),
                    signal: AbortSignal.timeout(20000 * SLOW),
                });
                body = await res.json();
            } catch (e) {
                broken.push(`${text}: ${e.message}`); // no answer: neither kind
                continue;
            }
            if (res.status === 200 && typeof body.id === 'string') acked.push({ id: body.id, text });
            else refused.push({ text, status: res.status });
        }
    };
    const done = Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
    return { stop: async () => { stopped = true; await done; return { acked, refused, broken }; } };
}

describe('writes on a failing disk', () => {
    let srv;
    const dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-iofaults-'));

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        if (!process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    });

    // The faults are injected into SQLite's file I/O (store/fault.h).
    const skip = ENGINE === 'postgresql' && 'SQLite only: the faults are injected into its file I/O';
    test('every acknowledged create is stored, every refused one is not', { skip }, async (t) => {
        srv = await startServer({ dir, superuser: true });
        const su = await superuserClient(srv.url);
        await su.collections.create({ name: 'notes', createRule: '', fields: [{ name: 'text', type: 'text' }] });
        await srv.stop();

        srv = await startServer({ dir, env: { TARMAC_TEST_IO_FAULTS: FAULTS } });
        const load = startLoad(srv.url);
        await sleep(LOAD_MS);
        const { acked, refused, broken } = await load.stop();
        await srv.stop();
        const fired = /msg="I\/O faults injected" count=(\d+)/.exec(srv.stderr());
        t.diagnostic(`${acked.length} acknowledged, ${refused.length} refused, ${fired && fired[1]} faults`);
        assert.deepEqual(broken, [], 'every request was answered');
        assert.ok(fired && Number(fired[1]) > 0, 'faults were injected');
        assert.ok(acked.length > 0 && refused.length > 0, `${acked.length} acknowledged, ${refused.length} refused`);
        for (const r of refused) assert.ok(r.status >= 500, `refused with ${r.status}`);

        srv = await startServer({ dir });
        const stored = new Map();
        for (const r of await (await superuserClient(srv.url)).collection('notes').getFullList({ batch: 1000 })) {
            stored.set(r.text, r.id);
        }
        const lost = acked.filter((a) => stored.get(a.text) !== a.id).map((a) => a.text);
        const present = refused.filter((r) => stored.has(r.text)).map((r) => `${r.text} (${r.status})`);
        assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged creates lost`);
        assert.deepEqual(present, [], `${present.length} of ${refused.length} refused creates stored`);
        assert.equal(stored.size, acked.length);
        await srv.stop();
    });
});
