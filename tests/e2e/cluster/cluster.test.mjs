// Several instances on one database (issue #16): three tarmac servers (A, B,
// C; two workers each) on one PostgreSQL database and one Redis
// (redis-server on a free TCP port, with a password), checked with the JS
// SDK:
//   - a collection created on A is served by B and C within one second, and
//     a settings change on A is read on B;
//   - an instance whose Redis connections are held (slow, not refused)
//     while A creates a collection serves it once it subscribes (the
//     subscriber's first "up" reads the schema again);
//   - a record event committed on A reaches SDK subscribers on A, B and C
//     exactly once each (and the rules are checked on the subscriber's
//     instance);
//   - the SDK's subscriptions POST landing on another instance than its SSE
//     stream (as behind a round-robin balancer) subscribes, unsubscribes and
//     keeps the requester's identity; an unknown client id is a 404;
//   - a path rate limit and the login throttle are reached across
//     instances (the counters are shared);
//   - uploads in one directory every instance shares (--storage-dir): a
//     file uploaded through A is read through B and C, and a thumbnail
//     asked of all three at once is made once (the metrics' sum);
//   - GET /api/logs through A lists, pages, views and counts the requests
//     every instance logged; an instance that does not answer (SIGSTOP) is
//     waited for 1.5 s, then left out;
//   - one backup or restore at a time across instances: while another
//     instance's holds the database's lock, a create is refused and that
//     archive cannot be deleted;
//   - an instance killed with SIGKILL while SDK clients are subscribed
//     through it (behind a balancer): they reconnect to the others, and
//     every event committed after they reconnected reaches each exactly once;
//   - Redis stopped mid-run: reads and writes go on, A's own subscribers
//     still get A's events, a request-log read answers with A's own
//     entries at once, nothing waits long; Redis back: every instance
//     reconnects by itself, a collection made meanwhile is served by the
//     others, and cross-instance realtime resumes.
//
// "Exactly once" is proven with a marker: after the events counted, a
// marker record is created on the same instance; once every subscriber has
// the marker, a duplicate would have arrived before it.
//
// PostgreSQL: the cluster at TARMAC_TEST_PG (tests/run starts one), else one
// started here (tests/lib/pgcluster.sh); a database of its own. Skipped
// without PostgreSQL or redis-server.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { png } from '../lib/png.mjs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { EventSource } from 'eventsource';
import { startServer, freePort, BIN, ENGINE, SUPERUSER } from '../lib/server.mjs';
import { testPgCluster } from '../lib/pgtest.mjs';
import {
    client, superuserClient, expectError, assertNoLeaks, makeUser, rawFetch, SLOW,
} from '../lib/util.mjs';

globalThis.EventSource = EventSource;

const WAIT_MS = 10000 * SLOW;
const REDIS_PASSWORD = 's3cret-redis';

const pg = testPgCluster('tarmac-cluster-pg-', ENGINE !== 'sqlite'
    ? 'makes its own database: run with TARMAC_TEST_ENGINE unset'
    : spawnSync('redis-server', ['--version']).status !== 0 ? 'redis-server is not installed' : '');
const BASE = pg.url;
const SKIP = pg.why || false;

function psql(sql) {
    const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', BASE, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
}

/** Resolves when pred() holds; fails after ms with what(). */
async function waitUntil(pred, what, ms = WAIT_MS) {
    const end = Date.now() + ms;
    for (;;) {
        if (await pred()) return;
        if (Date.now() > end) assert.fail(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
        await new Promise((r) => setTimeout(r, 25));
    }
}

/** redis-server on port (no persistence), stopped by its pid. */
async function startRedis(dir, port) {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir, '--requirepass', REDIS_PASSWORD], { stdio: 'ignore' });
    const exited = new Promise((res) => proc.on('exit', res));
    await waitUntil(() => spawnSync('redis-cli', ['-p', String(port), '-a', REDIS_PASSWORD,
        '--no-auth-warning', 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG', 'redis-server to answer');
    return {
        proc,
        async stop() {
            proc.kill('SIGTERM');
            await exited;
        },
    };
}

/** tarmac_redis_up of a server's /api/metrics (as a superuser). */
async function redisUp(srv, token) {
    const r = await rawFetch(`${srv.url}/api/metrics`, { headers: { Authorization: token } });
    const m = /^tarmac_redis_up (\d)/m.exec(r.text);
    return m ? Number(m[1]) : -1;
}

/** tarmac_thumbnails_total{result="made"} of a server. */
async function thumbsMade(srv, token) {
    const r = await rawFetch(`${srv.url}/api/metrics`, { headers: { Authorization: token } });
    const m = /^tarmac_thumbnails_total\{result="made"\} (\d+)/m.exec(r.text);
    assert.ok(m, 'tarmac_thumbnails_total in the metrics');
    return Number(m[1]);
}

async function bytesOf(url) {
    const r = await fetch(url);
    assert.equal(r.status, 200, url);
    return Buffer.from(await r.arrayBuffer());
}

/** A TCP relay on loopback. route() names the port each accepted
 * connection goes to, asked again when that port refuses (at most 5 times,
 * as nginx's proxy_next_upstream error), or null: the connection is held,
 * without a byte either way, until release(). */
async function startRelay(route) {
    const socks = new Set();
    const held = [];
    const track = (s) => {
        socks.add(s);
        s.on('close', () => socks.delete(s));
        return s;
    };
    const forward = (c, n = 0) => {
        const port = route();
        if (port == null) {
            held.push(c);
            return;
        }
        const up = track(connect(Number(port), '127.0.0.1'));
        let isUp = false;
        up.once('connect', () => {
            isUp = true;
            c.pipe(up);
            up.pipe(c);
        });
        up.on('error', () => {
            if (!isUp && n < 5) forward(c, n + 1);
            else c.destroy();
        });
        up.on('close', () => {
            if (isUp) c.destroy();
        });
        c.on('close', () => up.destroy());
    };
    const server = createServer((c) => {
        track(c).on('error', () => c.destroy());
        forward(c);
    });
    await new Promise((res) => server.listen(0, '127.0.0.1', res));
    const { port } = server.address();
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        heldCount: () => held.length,
        release() {
            for (const c of held.splice(0)) if (!c.destroyed) forward(c);
        },
        async close() {
            for (const x of socks) x.destroy();
            await new Promise((res) => server.close(res));
        },
    };
}

/** A TCP balancer for SDK clients: each connection goes to pick()'s URL,
 * the next one when that refuses. */
const startBalancer = (pick) => startRelay(() => new URL(pick()).port);

/** A relay to port that holds every connection until open(): a Redis
 * reached slowly, not refused. */
async function startGate(port) {
    let isOpen = false;
    const relay = await startRelay(() => (isOpen ? port : null));
    return {
        ...relay,
        open() {
            isOpen = true;
            relay.release();
        },
    };
}

const opened = [];

/** Subscribes pb to coll/topic; events collect into the returned list. */
async function collect(pb, coll, topic, options) {
    opened.push(pb);
    const got = [];
    const unsub = await pb.collection(coll).subscribe(topic, (e) => got.push(e), options);
    return { got, unsub };
}

const titles = (got) => got.map((e) => `${e.action}:${e.record.title ?? e.record.status}`);

/** An SDK client whose event stream is on `stream` and whose subscriptions
 * POSTs go to `post`, as a round-robin balancer may send them. */
function split(streamUrl, postUrl, authStore) {
    const pb = client(streamUrl);
    if (authStore) pb.authStore.save(authStore.token, authStore.record);
    const before = pb.beforeSend;
    pb.beforeSend = (u, options) => {
        const r = before(u, options);
        if (String(u).includes('/api/realtime')) r.url = String(u).replace(streamUrl, postUrl);
        return r;
    };
    return pb;
}

describe('several instances on one database (--redis)', { skip: SKIP }, () => {
    const dirs = [];
    let db = '';
    let redisDir = '';
    let storageDir = '';
    let clusterFlags = [];
    let redisPort = 0;
    let redis = null;
    let A;
    let B;
    let C;
    let suA;
    let suB;
    let suC;

    before(async () => {
        const name = `t_cluster_${process.pid}_${Date.now().toString(36)}`;
        psql(`CREATE DATABASE "${name}"`);
        db = BASE.replace(':///tarmac?', `:///${name}?`);
        redisDir = mkdtempSync(join(tmpdir(), 'tarmac-cluster-redis-'));
        storageDir = join(mkdtempSync(join(tmpdir(), 'tarmac-cluster-files-')), 'shared');
        redisPort = await freePort();
        redis = await startRedis(redisDir, redisPort);
        const flags = clusterFlags = [`--db=${db}`, `--redis=redis://:${REDIS_PASSWORD}@127.0.0.1:${redisPort}/3`,
            `--storage-dir=${storageDir}`, '--workers=2', `--query-budget=${Math.ceil(30 * SLOW)}s`, // a loaded machine is not under test
            '--rate-limits=/api/collections/limited/records=4/3600s,auth-identity=3/3600s'];
        for (let i = 0; i < 3; i++) dirs.push(mkdtempSync(join(tmpdir(), 'tarmac-cluster-')));
        // One superuser, in the shared database.
        const r = spawnSync(BIN, ['superuser', 'upsert', SUPERUSER.email, SUPERUSER.password,
            `--dir=${dirs[0]}`, `--db=${db}`], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        [A, B, C] = await Promise.all(dirs.map((dir) => startServer({ dir, flags })));
        suA = await superuserClient(A.url);
        suB = await superuserClient(B.url);
        suC = await superuserClient(C.url);
        for (const [srv, su] of [[A, suA], [B, suB], [C, suC]]) {
            await waitUntil(async () => (await redisUp(srv, su.authStore.token)) === 1,
                `${srv.url} to reach redis`);
        }
    });

    after(async () => {
        for (const pb of [suA, suB, suC, ...opened]) pb?.realtime.unsubscribe().catch(() => {});
        const errors = [];
        for (const srv of [A, B, C]) {
            if (!srv) continue;
            try { await srv.stop(); } catch (e) { errors.push(e.message); }
        }
        if (redis) await redis.stop();
        if (db) { try { psql(`DROP DATABASE "${new URL(db).pathname.slice(1)}"`); } catch { /* kept */ } }
        for (const d of [...dirs, redisDir, storageDir && dirname(storageDir)]) if (d) rmSync(d, { recursive: true, force: true });
        pg.stop();
        assert.deepEqual(errors, [], 'every server exits 0 on SIGTERM (ASan: no leak)');
    });

    test('a collection created on A is served by B and C within a second; settings follow', async () => {
        const started = Date.now();
        await suA.collections.create({
            name: 'feed', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
            fields: [{ name: 'title', type: 'text' }, { name: 'secret', type: 'text', hidden: true }],
        });
        for (const srv of [B, C]) {
            await waitUntil(async () => (await rawFetch(`${srv.url}/api/collections/feed/records`)).status === 200,
                `${srv.url} to serve feed`, 1000 * SLOW);
        }
        assert.ok(Date.now() - started < 1000 * SLOW, `served everywhere after ${Date.now() - started} ms`);
        await suA.collections.create({
            name: 'limited', listRule: '', viewRule: '', createRule: '', fields: [{ name: 'n', type: 'number' }],
        });
        await suA.collections.create({
            name: 'orders',
            listRule: 'owner = @request.auth.id', viewRule: 'owner = @request.auth.id',
            createRule: '', updateRule: '', deleteRule: '',
            fields: [{ name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'status', type: 'text' }],
        });
        for (const srv of [B, C]) {
            // orders comes after limited: served, limited is too (its
            // requests are counted by the rate-limit test below)
            await waitUntil(async () => (await rawFetch(`${srv.url}/api/collections/orders/records?perPage=1`)).status !== 404,
                `${srv.url} to serve orders`, 1000 * SLOW);
        }
        // A rule changed on A applies on B: feed's list rule closed to guests.
        await suA.collections.update('feed', { listRule: null });
        await waitUntil(async () => (await rawFetch(`${B.url}/api/collections/feed/records`)).status === 403,
            'B to apply the closed list rule', 1000 * SLOW);
        await suA.collections.update('feed', { listRule: '' });
        await waitUntil(async () => (await rawFetch(`${B.url}/api/collections/feed/records`)).status === 200,
            'B to apply the open list rule', 1000 * SLOW);
        // Settings: changed on A, read on B.
        await suA.settings.update({ meta: { appName: 'cluster-test' } });
        await waitUntil(async () => (await suB.settings.getAll()).meta.appName === 'cluster-test',
            'B to read the new settings', 1000 * SLOW);
    });

    test('an instance whose subscription comes up late still learns a change made before it', async () => {
        // D reads the schema at start, then reaches Redis through a gate
        // that holds its connections (slow, not refused: no outage is seen).
        // A collection made on A meanwhile is published to A, B and C only;
        // D learns it from the resync its subscriber's first "up" runs.
        const gate = await startGate(redisPort);
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-cluster-'));
        dirs.push(dir);
        const flags = clusterFlags.map((f) => (f.startsWith('--redis=')
            ? `--redis=redis://:${REDIS_PASSWORD}@127.0.0.1:${gate.port}/3` : f));
        let D;
        try {
            D = await startServer({ dir, flags });
            await waitUntil(() => gate.heldCount() > 0, 'D to connect to the gate');
            await suA.collections.create({ name: 'late', listRule: '', fields: [{ name: 'title', type: 'text' }] });
            assert.equal((await rawFetch(`${D.url}/api/collections/late/records`)).status, 404,
                'D has not heard of it yet');
            // Opened well within the 2 s a setup may take: no failure, no outage.
            gate.open();
            await waitUntil(async () => (await rawFetch(`${D.url}/api/collections/late/records`)).status === 200,
                'D to serve the collection made before it subscribed');
        } finally {
            if (D) await D.stop();
            await gate.close();
            await suA.collections.delete('late');
        }
    });

    test("a list or count read on B right after a write acknowledged by A sees it (B's caches are keyed by the database's snapshot)", async () => {
        const guestA = client(A.url), guestB = client(B.url);
        const filter = 'title ~ "cachecheck"';
        for (let i = 0; i < 12; i++) {
            // Twice on B: the second read is served from B's caches when nothing changed.
            const before = await guestB.collection('feed').getList(1, 50, { filter });
            assert.deepEqual(await guestB.collection('feed').getList(1, 50, { filter }), before);
            if (i % 3 === 2) {
                // an update and a delete are seen too
                const rec = before.items.at(-1);
                await guestA.collection('feed').update(rec.id, { title: `cachecheck changed ${i}` });
                const page = await guestB.collection('feed').getList(1, 50, { filter });
                assert.equal(page.items.find((x) => x.id === rec.id)?.title, `cachecheck changed ${i}`, `update ${i} seen on B`);
                await guestA.collection('feed').delete(rec.id);
                const after = await guestB.collection('feed').getList(1, 50, { filter });
                assert.equal(after.totalItems, before.totalItems - 1, `delete ${i} counted on B`);
                assert.ok(!after.items.some((x) => x.id === rec.id), `delete ${i} seen on B`);
                continue;
            }
            const made = await guestA.collection('feed').create({ title: `cachecheck ${i}` });
            const after = await guestB.collection('feed').getList(1, 50, { filter });
            assert.equal(after.totalItems, before.totalItems + 1, `create ${i} counted on B`);
            assert.ok(after.items.some((x) => x.id === made.id), `create ${i} listed on B`);
        }
    });

    test('an event committed on A reaches subscribers on A, B and C exactly once', async () => {
        const subs = await Promise.all([A, B, C].map((s) => collect(client(s.url), 'feed', '*')));
        // A WebSocket client on C, subscribed in-band, counts too.
        const ws = new WebSocket(`${C.url.replace('http', 'ws')}/api/realtime/ws`);
        const wsGot = [];
        ws.onmessage = (m) => wsGot.push(JSON.parse(m.data));
        await waitUntil(() => wsGot.length >= 1, 'PB_CONNECT on the WebSocket');
        ws.send(JSON.stringify({ subscriptions: ['feed/*'] }));
        await waitUntil(() => wsGot.some((m) => m.event === 'PB_SUBSCRIBE'), 'the WebSocket subscribe answer');
        const r = await client(A.url).collection('feed').create({ title: 'one', secret: 'hidden!' });
        await client(A.url).collection('feed').update(r.id, { title: 'two' });
        await client(A.url).collection('feed').delete(r.id);
        const marker = await client(A.url).collection('feed').create({ title: 'marker' });
        for (const [i, s] of subs.entries()) {
            await waitUntil(() => s.got.some((e) => e.record.id === marker.id),
                () => `the marker on subscriber ${'ABC'[i]}: ${JSON.stringify(titles(s.got))}`);
            assert.deepEqual(titles(s.got), ['create:one', 'update:two', 'delete:two', 'create:marker'],
                `subscriber ${'ABC'[i]}`);
            assert.equal(s.got[0].record.secret, undefined, 'hidden fields stay hidden');
            assert.equal(s.got[0].record.id, r.id);
        }
        await waitUntil(() => wsGot.some((m) => m.data?.record?.id === marker.id), 'the marker on the WebSocket');
        assert.deepEqual(wsGot.filter((m) => m.event === 'feed/*').map((m) => `${m.data.action}:${m.data.record.title}`),
            ['create:one', 'update:two', 'delete:two', 'create:marker']);
        ws.close();
        // An event from B to the same subscribers: B's own and the others'.
        const fromB = await client(B.url).collection('feed').create({ title: 'from B' });
        for (const s of subs) {
            await waitUntil(() => s.got.some((e) => e.record.id === fromB.id), 'the event from B');
            assert.equal(s.got.filter((e) => e.record.id === fromB.id).length, 1);
        }
        for (const s of subs) await s.unsub();
    });

    test('a subscriptions POST on another instance than the stream works, identity included', async () => {
        const alice = await makeUser(suA, A.url, { name: 'Alice' });
        const bob = await makeUser(suA, A.url, { name: 'Bob' });
        // Streams on B, POSTs to A.
        const pa = split(B.url, A.url, alice.pb.authStore);
        const pb = split(B.url, A.url, bob.pb.authStore);
        const guest = split(C.url, B.url);
        const ga = await collect(pa, 'orders', '*');
        const gb = await collect(pb, 'orders', '*');
        const gg = await collect(guest, 'orders', '*');
        const feedA = await collect(pa, 'feed', '*');
        const feedB = await collect(pb, 'feed', '*');
        const feedG = await collect(guest, 'feed', '*');
        // Client ids begin with their instance's id: the same on one instance.
        assert.equal(pa.realtime.clientId.slice(0, 8), pb.realtime.clientId.slice(0, 8));
        assert.notEqual(pa.realtime.clientId.slice(0, 8), guest.realtime.clientId.slice(0, 8));
        // An order of Alice's, committed on C: only Alice's stream (on B) has it.
        await suC.collection('orders').create({ owner: alice.record.id, status: 'paid' });
        const marker = await client(C.url).collection('feed').create({ title: 'marker-orders' });
        for (const f of [feedA, feedB, feedG]) {
            await waitUntil(() => f.got.some((e) => e.record.id === marker.id), 'the marker');
        }
        assert.deepEqual(titles(ga.got), ['create:paid']);
        assert.deepEqual(gb.got, [], "Bob does not see Alice's order");
        assert.deepEqual(gg.got, [], 'a guest does not see it');
        // Unsubscribing through A: the stream on B gets no more of feed.
        await feedA.unsub();
        const after = await client(C.url).collection('feed').create({ title: 'after-unsub' });
        await waitUntil(() => feedB.got.some((e) => e.record.id === after.id), 'the event on Bob');
        await new Promise((r) => setTimeout(r, 200 * SLOW));
        assert.ok(!feedA.got.some((e) => e.record.id === after.id), 'unsubscribed through another instance');
        // The contract's answers come from the owner: an unknown id on a
        // live instance, and an id of no instance, are 404s; a malformed
        // body is a 400 where it lands.
        const idOfB = pa.realtime.clientId;
        const unknownOnB = idOfB.slice(0, 8) + 'x'.repeat(32);
        assert.equal((await rawFetch(`${A.url}/api/realtime`, { method: 'POST', json: { clientId: unknownOnB, subscriptions: [] } })).status, 404);
        assert.equal((await rawFetch(`${A.url}/api/realtime`, { method: 'POST', json: { clientId: 'zzzzzzzz' + 'y'.repeat(32), subscriptions: [] } })).status, 404);
        assert.equal((await rawFetch(`${A.url}/api/realtime`, { method: 'POST', json: { clientId: idOfB, subscriptions: 'feed' } })).status, 400);
        // Another identity on the same client, through A: the owner refuses it.
        const stolen = await rawFetch(`${A.url}/api/realtime`, {
            method: 'POST', headers: { Authorization: bob.pb.authStore.token },
            json: { clientId: idOfB, subscriptions: ['orders'] },
        });
        assert.equal(stolen.status, 403, JSON.stringify(stolen.body));
        for (const x of [gb, gg, feedB, feedG, ga]) await x.unsub();
    });

    test('uploads live in the shared --storage-dir: read through every instance, thumbnails made once', async () => {
        const coll = await suA.collections.create({
            name: 'photos', listRule: '', viewRule: '', createRule: '',
            fields: [{ name: 'img', type: 'file', maxSelect: 1, mimeTypes: ['image/png'], thumbs: ['40x20'] }],
        });
        for (const srv of [B, C]) {
            await waitUntil(async () => (await rawFetch(`${srv.url}/api/collections/photos/records`)).status === 200,
                `${srv.url} to serve photos`);
        }
        // Counted from before the upload: a job may make the field's
        // thumbnails as soon as it is stored (thumbs kind), on any instance.
        const tokens = [suA, suB, suC].map((su) => su.authStore.token);
        const before = await Promise.all([A, B, C].map((srv, i) => thumbsMade(srv, tokens[i])));
        const image = png(160, 90);
        const fd = new FormData();
        fd.append('img', new Blob([image], { type: 'image/png' }), 'shot.png');
        const rec = await client(A.url).collection('photos').create(fd);
        // In the shared directory, not in any instance's --dir.
        assert.ok(existsSync(join(storageDir, coll.id, rec.id, rec.img)), 'the file is in --storage-dir');
        for (const d of dirs) assert.ok(!existsSync(join(d, 'storage', coll.id)), `nothing under ${d}/storage`);
        for (const srv of [A, B, C]) {
            assert.ok((await bytesOf(`${srv.url}/api/files/photos/${rec.id}/${rec.img}`)).equals(image),
                `${srv.url} serves the upload`);
        }
        // The same new thumbnail asked of all three instances at once, three
        // times each: one of them makes it (or a job did), the others wait
        // and serve it.
        const url = (srv) => `${srv.url}/api/files/photos/${rec.id}/${rec.img}?thumb=40x20`;
        const thumbs = await Promise.all([A, B, C, A, B, C, A, B, C].map((srv) => bytesOf(url(srv))));
        const after = await Promise.all([A, B, C].map((srv, i) => thumbsMade(srv, tokens[i])));
        const made = after.reduce((a, n, i) => a + n - before[i], 0);
        assert.equal(made, 1, `thumbnails made by A, B, C: ${after.map((n, i) => n - before[i])}`);
        assert.equal(thumbs[0].readUInt32BE(16), 40);
        assert.equal(thumbs[0].readUInt32BE(20), 20);
        for (const t of thumbs) assert.ok(t.equals(thumbs[0]), 'every instance serves the same thumbnail');
        const thumbDir = join(storageDir, coll.id, rec.id, `thumbs_${rec.img}`);
        assert.deepEqual(readdirSync(thumbDir), [`40x20_${rec.img}`], 'no lock or temporary file is left');
        // Deleted through C: gone for A too.
        await suC.collection('photos').delete(rec.id);
        assert.equal((await fetch(`${A.url}/api/files/photos/${rec.id}/${rec.img}`)).status, 404);
    });

    test('a rate limit and the login throttle are reached across instances', async () => {
        const order = [A, B, C, A, B, C];
        const statuses = [];
        for (const srv of order) {
            statuses.push((await rawFetch(`${srv.url}/api/collections/limited/records`)).status);
        }
        assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
        const r = await rawFetch(`${B.url}/api/collections/limited/records`);
        assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
        // auth-identity=3: three wrong passwords on three instances, then 429 on a fourth try.
        const email = `throttled${Date.now()}@example.com`;
        await suA.collection('users').create({ email, password: 'userpass123', passwordConfirm: 'userpass123' });
        for (const srv of [A, B, C]) {
            await expectError(client(srv.url).collection('users').authWithPassword(email, 'wrong-pass'), 400);
        }
        await expectError(client(A.url).collection('users').authWithPassword(email, 'userpass123'), 429);
    });

    test("GET /api/logs reads every instance's log; an instance that does not answer is waited for 1.5 s at most", async () => {
        // One request with the mark to each instance: each logs it in its own auxiliary.db.
        const mark = `logmark${Date.now().toString(36)}`;
        for (const srv of [A, B, C]) {
            assert.equal((await rawFetch(`${srv.url}/api/collections/feed/records?perPage=1&m=${mark}-${srv === A ? 'a' : srv === B ? 'b' : 'c'}`)).status, 200);
        }
        // The logs reads below carry the mark in their own URLs (and are
        // logged too, a moment later): only the three feed reads are counted.
        const filter = `data.url ~ "${mark}" && data.url !~ "/api/logs"`;
        let list;
        await waitUntil(async () => (list = await suA.logs.getList(1, 10, { filter, sort: 'data.url' })).totalItems === 3,
            () => `A's read to see the three instances' entries (got ${list?.totalItems})`);
        assert.deepEqual(list.items.map((x) => x.data.url.slice(-1)), ['a', 'b', 'c'], 'merged, sorted as asked');
        // Paged across instances: the second entry alone.
        const page2 = await suA.logs.getList(2, 1, { filter, sort: 'data.url' });
        assert.deepEqual([page2.totalItems, page2.totalPages, page2.items.length], [3, 3, 1]);
        assert.ok(page2.items[0].data.url.endsWith('-b'));
        // C's entry viewed through A; the hourly counts summed.
        const onC = list.items.find((x) => x.data.url.endsWith('-c'));
        assert.equal((await suA.logs.getOne(onC.id)).id, onC.id);
        const stats = await suA.logs.getStats({ filter });
        assert.equal(stats.reduce((n, x) => n + x.total, 0), 3);
        // A bad filter is refused by the asking instance, not sent around.
        await expectError(suA.logs.getList(1, 10, { filter: 'nope = 1' }), 400, 'unknown field');
        // Past the merged window: a 400 naming it.
        await expectError(suA.logs.getList(101, 50, { filter }), 400, 'a page past the newest 5000');
        // C stopped (SIGSTOP: subscribed to Redis, answering nothing): A
        // answers with its own and B's entries after at most GATHER_MS.
        C.proc.kill('SIGSTOP');
        try {
            const t = Date.now();
            const partial = await suA.logs.getList(1, 10, { filter, sort: 'data.url' });
            const took = Date.now() - t;
            assert.deepEqual(partial.items.map((x) => x.data.url.slice(-1)), ['a', 'b']);
            assert.ok(took >= 1400 && took < 1500 + 2000 * SLOW, `the read waited ${took} ms for C`);
            await expectError(suA.logs.getOne(onC.id), 404, "C's entry while C does not answer");
        } finally {
            C.proc.kill('SIGCONT');
        }
    });

    test("one backup at a time across instances: another instance's operation (the database's lock) refuses a create and the archive's delete", async () => {
        // A session holding the instances' backup lock, as B's create would
        // (store/backup.c: an advisory lock whose holder names the archive).
        const holder = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', db], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        holder.stdout.on('data', (d) => { out += d; });
        holder.stdin.write("SELECT set_config('application_name', 'tarmac backup held.zip', false), "
            + "pg_advisory_lock(1952543341, 1651209584), 'locked';\n");
        try {
            await waitUntil(() => out.includes('locked'), 'the lock to be held');
            const busy = await expectError(suA.backups.create('other.zip'), 400, "a create while another instance's runs");
            assert.match(busy.message, /another backup\/restore process/);
            const inUse = await expectError(suB.backups.delete('held.zip'), 400, 'the archive being made elsewhere');
            assert.match(inUse.message, /currently being used/);
        } finally {
            holder.stdin.end();
            await new Promise((res) => (holder.exitCode !== null ? res() : holder.on('exit', res)));
        }
        // Released: the create goes on (and its archive is deleted again).
        assert.equal(await suA.backups.create('other.zip'), true);
        assert.equal(await suA.backups.delete('other.zip'), true);
    });

    test('an instance killed with SIGKILL: its SDK clients reconnect to the others and miss no event committed after', async () => {
        // A fourth instance, D, takes every connection of the balancer while it lives.
        const dDir = mkdtempSync(join(tmpdir(), 'tarmac-cluster-'));
        dirs.push(dDir);
        const D = await startServer({ dir: dDir, flags: clusterFlags });
        let isDAlive = true;
        let next = 0;
        const bal = await startBalancer(() => (isDAlive ? D.url : [A, B, C][next++ % 3].url));
        const clients = [];
        for (let i = 0; i < 4; i++) {
            const pb = client(bal.url);
            const connects = [];
            await pb.realtime.subscribe('PB_CONNECT', () => connects.push(pb.realtime.clientId));
            clients.push({ pb, connects, feed: await collect(pb, 'feed', '*') });
        }
        const idOfD = clients[0].pb.realtime.clientId.slice(0, 8);
        for (const c of clients) assert.equal(c.pb.realtime.clientId.slice(0, 8), idOfD, 'every stream is on D');
        const before = await client(A.url).collection('feed').create({ title: 'before-kill' });
        for (const c of clients) {
            await waitUntil(() => c.feed.got.some((e) => e.record.id === before.id), "A's event on D's clients");
        }
        isDAlive = false;
        await D.kill9();
        // The SDK reconnects (through the balancer, to A, B or C), sends its
        // subscriptions again, then calls PB_CONNECT's listeners.
        for (const c of clients) {
            await waitUntil(() => c.connects.length >= 2, 'a client to reconnect', 20000 * SLOW);
            const id = c.pb.realtime.clientId.slice(0, 8);
            assert.notEqual(id, idOfD, 'reconnected to another instance');
        }
        assert.ok(new Set(clients.map((c) => c.pb.realtime.clientId.slice(0, 8))).size >= 2,
            'the clients spread over the instances left');
        // Committed after every client reconnected, on each instance left:
        // a create and an update each, a delete on A; then a marker from each,
        // after which a duplicate of that instance's events would have
        // arrived (each instance's events travel in order on its channel).
        const after = [];
        for (const srv of [A, B, C]) {
            const r = await client(srv.url).collection('feed').create({ title: `after-${srv.port}` });
            await client(srv.url).collection('feed').update(r.id, { title: `updated-${srv.port}` });
            after.push(r);
        }
        await client(A.url).collection('feed').delete(after[0].id);
        const markers = [];
        for (const srv of [A, B, C]) markers.push(await client(srv.url).collection('feed').create({ title: 'after-marker' }));
        for (const [i, c] of clients.entries()) {
            await waitUntil(() => markers.every((m) => c.feed.got.some((e) => e.record.id === m.id)),
                () => `every marker on client ${i}: ${JSON.stringify(titles(c.feed.got))}`);
            // Each record's events in its commit order; the instances'
            // events among themselves in the order they reached this one.
            for (const r of after) {
                assert.deepEqual(c.feed.got.filter((e) => e.record.id === r.id).map((e) => e.action),
                    r === after[0] ? ['create', 'update', 'delete'] : ['create', 'update'],
                    `client ${i}: every event of ${r.id} after the reconnect, once, in order`);
            }
        }
        for (const c of clients) await c.pb.realtime.unsubscribe();
        await bal.close();
    });

    test('Redis stopped: service goes on, local realtime too; Redis back: everything resumes', async () => {
        const onA = await collect(client(A.url), 'feed', '*');
        const onB = await collect(client(B.url), 'feed', '*');
        // Paused first (replies stop, the socket stays): requests fall back
        // after 50 ms instead of waiting.
        spawnSync('redis-cli', ['-p', String(redisPort), '-a', REDIS_PASSWORD, '--no-auth-warning',
            'CLIENT', 'PAUSE', String(1500 * SLOW), 'ALL']);
        for (const srv of [A, B, C]) {
            const t = Date.now();
            assert.equal((await rawFetch(`${srv.url}/api/collections/limited/records?perPage=1`)).status, 200);
            assert.ok(Date.now() - t < 1000 * SLOW, `a rate-limited request during the pause took ${Date.now() - t} ms`);
        }
        await redis.stop();
        redis = null;
        const token = suA.authStore.token;
        await waitUntil(async () => (await redisUp(A, token)) === 0, 'A to see redis down');
        // Reads and writes on every instance, none waiting on Redis.
        const t0 = Date.now();
        const during = await client(A.url).collection('feed').create({ title: 'during' });
        for (const srv of [A, B, C]) {
            const list = await client(srv.url).collection('feed').getList(1, 50);
            assert.ok(list.items.some((x) => x.id === during.id), `${srv.url} reads the write`);
            assert.equal((await rawFetch(`${srv.url}/api/collections/limited/records?perPage=2`)).status, 200,
                'a rate-limited path counts per instance');
        }
        assert.ok(Date.now() - t0 < 5000 * SLOW, `took ${Date.now() - t0} ms`);
        // The request log: A's own entries, without waiting for the others.
        const ownFilter = { filter: 'data.url ~ "limited/records?perPage=2"' };
        await waitUntil(async () => (await suA.logs.getList(1, 5, ownFilter)).items.length > 0,
            "A's own entries while Redis is down");
        const tl = Date.now();
        assert.equal((await suA.logs.getList(1, 5, ownFilter)).totalItems, 1, "A's entry alone");
        assert.ok(Date.now() - tl < 1000 * SLOW, `a logs read with Redis down took ${Date.now() - tl} ms`);
        await waitUntil(() => onA.got.some((e) => e.record.id === during.id), "A's subscriber gets A's event");
        // A schema change while the others cannot hear of it.
        await suA.collections.create({ name: 'made_offline', listRule: '', fields: [{ name: 't', type: 'text' }] });
        // Redis back on the same address: every instance reconnects by itself.
        redis = await startRedis(redisDir, redisPort);
        for (const [srv, su] of [[A, suA], [B, suB], [C, suC]]) {
            await waitUntil(async () => (await redisUp(srv, su.authStore.token)) === 1,
                `${srv.url} to reconnect`, 20000 * SLOW);
        }
        for (const srv of [B, C]) {
            await waitUntil(async () => (await rawFetch(`${srv.url}/api/collections/made_offline/records`)).status === 200,
                `${srv.url} to read the schema again`);
        }
        const back = await client(A.url).collection('feed').create({ title: 'back' });
        await waitUntil(() => onB.got.some((e) => e.record.id === back.id), "B's subscriber gets A's event again");
        assert.equal(onB.got.filter((e) => e.record.id === back.id).length, 1);
        assert.ok(!onB.got.some((e) => e.record.id === during.id), 'the event during the outage was local to A');
        await onA.unsub();
        await onB.unsub();
    });

    test('no response leaked a secret', () => assertNoLeaks());
});
