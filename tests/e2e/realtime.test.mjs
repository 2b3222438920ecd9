// Realtime (spec §7) through the JS SDK's EventSource client, the raw
// subscriptions POST, and the WebSocket endpoint (/api/realtime/ws).
//
// "Never delivered" is proven with a marker: after the event that must not
// arrive, a public record is created in a collection the same client also
// watches; events reach one client in commit order, so once the marker is
// there, the hidden event would have been too.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, makeUser, rawFetch, SLOW,
} from './lib/util.mjs';

globalThis.EventSource = EventSource;

const WAIT_MS = 10000 * SLOW;

/** Resolves when pred(list) holds; fails after WAIT_MS with what arrived. */
async function waitFor(list, pred, what) {
    const end = Date.now() + WAIT_MS;
    while (Date.now() < end) {
        if (pred(list)) return;
        await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(list)}`);
}

const opened = []; // every SDK client that subscribed, for the after() hooks

/** Subscribes pb to topic, collecting {action, record} into a list. */
async function collect(pb, coll, topic, options) {
    opened.push(pb);
    const got = [];
    const unsub = await pb.collection(coll).subscribe(topic, (e) => got.push(e), options);
    return { got, unsub };
}

/** A raw SSE reader: returns {events, clientId, close()}. */
async function rawStream(url) {
    const ctl = new AbortController();
    const res = await fetch(`${url}/api/realtime`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const events = [];
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    (async () => {
        try {
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buf += dec.decode(value, { stream: true });
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const block = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    if (block.startsWith(':')) continue; // keep-alive comment
                    const ev = {};
                    for (const line of block.split('\n')) {
                        const c = line.indexOf(':');
                        ev[line.slice(0, c)] = line.slice(c + 1);
                    }
                    events.push(ev);
                }
            }
        } catch { /* aborted */ }
        events.closed = true;
    })();
    await waitFor(events, (l) => l.length >= 1, 'PB_CONNECT');
    assert.equal(events[0].event, 'PB_CONNECT');
    const clientId = events[0].id;
    assert.match(clientId, /^[A-Za-z0-9]{40}$/);
    assert.deepEqual(JSON.parse(events[0].data), { clientId });
    return { events, clientId, close: () => ctl.abort() };
}

async function post(url, body, token) {
    const headers = {};
    if (token) headers.Authorization = token;
    return rawFetch(`${url}/api/realtime`, { method: 'POST', headers, json: body });
}

describe('realtime', () => {
    let srv;
    let su;
    let alice;
    let bob;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        alice = await makeUser(su, srv.url, { name: 'Alice' });
        bob = await makeUser(su, srv.url, { name: 'Bob' });
        await su.collections.create({
            name: 'feed',
            listRule: '',
            viewRule: '',
            createRule: '',
            updateRule: '',
            deleteRule: '',
            fields: [
                { name: 'title', type: 'text' },
                { name: 'views', type: 'number' },
                { name: 'secret', type: 'text', hidden: true },
                { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
            ],
        });
        await su.collections.create({
            name: 'orders',
            listRule: 'owner = @request.auth.id',
            viewRule: 'owner = @request.auth.id',
            createRule: '@request.auth.id != ""',
            updateRule: 'owner = @request.auth.id',
            deleteRule: 'owner = @request.auth.id',
            fields: [
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'status', type: 'text' },
            ],
        });
        await su.collections.create({ name: 'locked', fields: [{ name: 'n', type: 'number' }] });
    });
    after(async () => {
        // A failed test may leave EventSources that would reconnect forever.
        for (const pb of [su, alice?.pb, bob?.pb, ...opened]) pb?.realtime.unsubscribe().catch(() => {});
        if (srv && !srv.exited) await srv.kill9();
    });

    test('create, update and delete reach a "*" subscriber with the record', async () => {
        const pb = client(srv.url);
        const { got, unsub } = await collect(pb, 'feed', '*');
        const r = await pb.collection('feed').create({ title: 'hello', secret: 's3' });
        await pb.collection('feed').update(r.id, { 'views+': 2 });
        await pb.collection('feed').delete(r.id);
        await waitFor(got, (l) => l.length >= 3, 'three events');
        assert.deepEqual(got.map((e) => e.action), ['create', 'update', 'delete']);
        for (const e of got) {
            assert.equal(e.record.id, r.id);
            assert.equal(e.record.collectionName, 'feed');
            assert.equal(e.record.title, 'hello');
            assert.equal('secret' in e.record, false, 'hidden field sent to a guest');
            assert.equal('expand' in e.record, false);
        }
        assert.equal(got[1].record.views, 2);
        assert.equal(got[2].record.views, 2, 'delete carries the record as it was');
        await unsub();
    });

    test('a single-record topic gets only that record', async () => {
        const pb = client(srv.url);
        const a = await pb.collection('feed').create({ title: 'a' });
        const b = await pb.collection('feed').create({ title: 'b' });
        const one = await collect(pb, 'feed', a.id);
        const all = await collect(pb, 'feed', '*');
        await pb.collection('feed').update(b.id, { title: 'b2' });
        await pb.collection('feed').update(a.id, { title: 'a2' });
        await waitFor(all.got, (l) => l.length >= 2, 'both updates on *');
        await waitFor(one.got, (l) => l.length >= 1, 'the update of a');
        assert.equal(one.got.length, 1);
        assert.equal(one.got[0].record.title, 'a2');
        await pb.realtime.unsubscribe();
    });

    test('superusers see hidden fields; options filter, fields and expand apply per subscriber', async () => {
        const s = await collect(su, 'feed', '*');
        const pb = client(srv.url);
        // alice may view her own users record: the expand shows it to her.
        const filtered = await collect(alice.pb, 'feed', '*', {
            filter: 'views > 10', fields: 'id,title,expand.author.name', expand: 'author',
        });
        const plain = await collect(pb, 'feed', '*');
        // Only superusers may set a hidden field.
        await su.collection('feed').create({ title: 'low', views: 1, secret: 'x', author: alice.record.id });
        await su.collection('feed').create({ title: 'high', views: 50, secret: 'y', author: alice.record.id });
        await waitFor(plain.got, (l) => l.length >= 2, 'two creates');
        await waitFor(filtered.got, (l) => l.length >= 1, 'the high one');
        await waitFor(s.got, (l) => l.length >= 2, 'superuser events');
        assert.equal(filtered.got.length, 1);
        assert.deepEqual(filtered.got[0].record, {
            id: filtered.got[0].record.id, title: 'high', expand: { author: { name: 'Alice' } },
        });
        assert.equal(s.got[0].record.secret, 'x');
        assert.equal('expand' in plain.got[0].record, false, 'expand leaked between subscribers');
        await su.realtime.unsubscribe();
        await pb.realtime.unsubscribe();
        await alice.pb.realtime.unsubscribe();
    });

    test('rule-filtered delivery: only the owner hears about an order', async () => {
        const a = await collect(alice.pb, 'orders', '*');
        const b = await collect(bob.pb, 'orders', '*');
        const bMarker = await collect(bob.pb, 'feed', '*');
        const guest = client(srv.url);
        const g = await collect(guest, 'orders', '*');
        const gMarker = await collect(guest, 'feed', '*');

        const o = await alice.pb.collection('orders').create({ owner: alice.record.id, status: 'new' });
        await alice.pb.collection('orders').update(o.id, { status: 'paid' });
        await alice.pb.collection('orders').delete(o.id);
        await su.collection('feed').create({ title: 'marker' });

        await waitFor(a.got, (l) => l.length >= 3, "alice's three events");
        assert.deepEqual(a.got.map((e) => e.action), ['create', 'update', 'delete']);
        assert.equal(a.got[2].record.status, 'paid');
        await waitFor(bMarker.got, (l) => l.length >= 1, "bob's marker");
        await waitFor(gMarker.got, (l) => l.length >= 1, "the guest's marker");
        assert.equal(b.got.length, 0, 'bob received an order that is not his');
        assert.equal(g.got.length, 0, 'a guest received an order');
        await alice.pb.realtime.unsubscribe();
        await bob.pb.realtime.unsubscribe();
        await guest.realtime.unsubscribe();
    });

    test("a rule naming the subscriber's id (the check made without a query): owners, reversed sides, no owner, a superuser, a view subscription", async () => {
        // orders: `owner = @request.auth.id`; notes: reversed and with another term.
        await su.collections.create({
            name: 'notes',
            listRule: '@request.auth.id = owner && title != "hidden"',
            viewRule: '@request.auth.id = owner && title != "hidden"',
            createRule: '', updateRule: '',
            fields: [
                { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
                { name: 'title', type: 'text' },
            ],
        });
        const guest = client(srv.url);
        const a = await collect(alice.pb, 'notes', '*');
        const b = await collect(bob.pb, 'notes', '*');
        const g = await collect(guest, 'notes', '*');
        const s = await collect(su, 'notes', '*');
        const mine = await su.collection('notes').create({ owner: alice.record.id, title: 'for alice' });
        const aOne = await collect(alice.pb, 'notes', mine.id);
        const bOne = await collect(bob.pb, 'notes', mine.id);
        await su.collection('notes').create({ owner: alice.record.id, title: 'hidden' });
        await su.collection('notes').create({ title: 'nobody' }); // "" = "" for a guest only
        await su.collection('notes').create({ owner: bob.record.id, title: 'for bob' });
        await su.collection('notes').update(mine.id, { title: 'for alice, again' });
        await su.collection('notes').create({ title: 'marker' });
        await waitFor(s.got, (l) => l.length >= 6, "the superuser's six events");
        await waitFor(g.got, (l) => l.length >= 2, "the guest's two");
        await waitFor(b.got, (l) => l.length >= 1, "bob's one");
        await waitFor(a.got, (l) => l.length >= 2, "alice's two");
        await waitFor(aOne.got, (l) => l.length >= 1, "alice's view subscription");
        assert.deepEqual(a.got.map((e) => e.record.title), ['for alice', 'for alice, again']);
        assert.deepEqual(b.got.map((e) => e.record.title), ['for bob']);
        assert.deepEqual(g.got.map((e) => e.record.title), ['nobody', 'marker']);
        assert.deepEqual(aOne.got.map((e) => e.record.title), ['for alice, again']);
        assert.equal(bOne.got.length, 0, "bob's view subscription to alice's note");
        for (const pb of [alice.pb, bob.pb, guest, su]) await pb.realtime.unsubscribe();
    });

    test('a null rule delivers to superusers only; a filter naming @request is silently blocked', async () => {
        const pb = client(srv.url);
        const locked = await collect(pb, 'locked', '*');
        const sneaky = await collect(alice.pb, 'feed', '*', { filter: '@request.auth.id != ""' });
        const marker = await collect(pb, 'feed', '*');
        const aMarker = await collect(alice.pb, 'feed', '*');
        const s = await collect(su, 'locked', '*');
        await su.collection('locked').create({ n: 1 });
        await su.collection('feed').create({ title: 'marker2' });
        await waitFor(s.got, (l) => l.length >= 1, 'superuser event');
        await waitFor(marker.got, (l) => l.length >= 1, 'marker');
        await waitFor(aMarker.got, (l) => l.length >= 1, "alice's marker");
        assert.equal(locked.got.length, 0);
        assert.equal(sneaky.got.length, 0);
        await pb.realtime.unsubscribe();
        await alice.pb.realtime.unsubscribe();
        await su.realtime.unsubscribe();
    });

    test('unsubscribe stops delivery', async () => {
        const pb = client(srv.url);
        const first = await collect(pb, 'feed', '*');
        const keep = await collect(pb, 'feed', '*', { fields: 'id' });
        await first.unsub();
        await pb.collection('feed').create({ title: 'after' });
        await waitFor(keep.got, (l) => l.length >= 1, 'the kept subscription');
        assert.equal(first.got.length, 0);
        await pb.realtime.unsubscribe();
    });

    test('auth on the client: a record update applies, another identity is refused', async () => {
        const st = await rawStream(srv.url);
        try {
            let r = await post(srv.url, { clientId: st.clientId, subscriptions: ['orders/*'] }, alice.pb.authStore.token);
            assert.equal(r.status, 204);
            // The same identity with a refreshed token is fine; another one is not.
            const refreshed = await alice.pb.collection('users').authRefresh();
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['orders/*'] }, refreshed.token);
            assert.equal(r.status, 204);
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['orders/*'] }, bob.pb.authStore.token);
            assert.equal(r.status, 403);
            assert.equal(r.body.message, "The current and the previous request authorization don't match.");
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['orders/*'] });
            assert.equal(r.status, 403, 'downgrade to guest');
            // Still subscribed as alice: her order arrives on the raw stream.
            await alice.pb.collection('orders').create({ owner: alice.record.id, status: 'raw' });
            await waitFor(st.events, (l) => l.some((e) => e.event === 'orders/*'), 'order event');
            const ev = st.events.find((e) => e.event === 'orders/*');
            assert.equal(ev.id, st.clientId, 'every event carries the client id');
            assert.equal(JSON.parse(ev.data).record.status, 'raw');
        } finally {
            st.close();
        }
    });

    test('subscriptions POST validation: 400, 404, verbatim event names', async () => {
        let r = await post(srv.url, { subscriptions: ['feed/*'] });
        assert.equal(r.status, 400);
        assert.equal(r.body.data.clientId.code, 'validation_required');
        r = await post(srv.url, { clientId: 'x'.repeat(300) });
        assert.equal(r.status, 400);
        r = await post(srv.url, { clientId: 'nope'.repeat(10), subscriptions: [] });
        assert.equal(r.status, 404);
        assert.equal(r.body.message, 'Missing or invalid client id.');
        const st = await rawStream(srv.url);
        try {
            r = await post(srv.url, { clientId: st.clientId, subscriptions: new Array(1001).fill('feed/*') });
            assert.equal(r.status, 400);
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['x'.repeat(2501)] });
            assert.equal(r.status, 400);
            r = await post(srv.url, { clientId: st.clientId, subscriptions: [42] });
            assert.equal(r.status, 400);
            const weird = 'feed?options=%7Bnot json';
            r = await post(srv.url, {
                clientId: st.clientId, subscriptions: ['PB_CONNECT', '', weird, 'nosuch/*'],
            });
            assert.equal(r.status, 204);
            await su.collection('feed').create({ title: 'verbatim' });
            await waitFor(st.events, (l) => l.some((e) => e.event === weird), 'the bare-topic event');
            assert.equal(st.events.filter((e) => e.event === 'PB_CONNECT').length, 1);
        } finally {
            st.close();
        }
        r = await rawFetch(`${srv.url}/api/realtime`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, json: undefined,
        });
        assert.ok(r.status === 400, `empty body: ${r.status}`);
    });

    test('WebSocket: connect, subscribe in-band with a token, receive, identity rules', async () => {
        const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/api/realtime/ws`);
        const msgs = [];
        ws.onmessage = (m) => msgs.push(JSON.parse(m.data));
        await waitFor(msgs, (l) => l.length >= 1, 'PB_CONNECT');
        assert.equal(msgs[0].event, 'PB_CONNECT');
        assert.match(msgs[0].clientId, /^[A-Za-z0-9]{40}$/);
        ws.send(JSON.stringify({ subscriptions: ['orders/*', 'feed/*'], authorization: alice.pb.authStore.token }));
        await waitFor(msgs, (l) => l.some((m) => m.event === 'PB_SUBSCRIBE'), 'subscribe answer');
        assert.equal(msgs.find((m) => m.event === 'PB_SUBSCRIBE').status, 204);
        await alice.pb.collection('orders').create({ owner: alice.record.id, status: 'ws' });
        await bob.pb.collection('orders').create({ owner: bob.record.id, status: 'not-yours' });
        await su.collection('feed').create({ title: 'ws-marker' });
        await waitFor(msgs, (l) => l.some((m) => m.event === 'feed/*'), 'marker');
        const orders = msgs.filter((m) => m.event === 'orders/*');
        assert.equal(orders.length, 1);
        assert.equal(orders[0].data.action, 'create');
        assert.equal(orders[0].data.record.status, 'ws');
        ws.send(JSON.stringify({ subscriptions: ['orders/*'], authorization: bob.pb.authStore.token }));
        await waitFor(msgs, (l) => l.filter((m) => m.event === 'PB_SUBSCRIBE').length >= 2, 'second answer');
        assert.equal(msgs.filter((m) => m.event === 'PB_SUBSCRIBE')[1].status, 403);
        ws.send('not json');
        await waitFor(msgs, (l) => l.filter((m) => m.event === 'PB_SUBSCRIBE').length >= 3, 'third answer');
        assert.equal(msgs.filter((m) => m.event === 'PB_SUBSCRIBE')[2].status, 400);
        // The same client id works with the subscriptions POST too.
        const r = await post(srv.url, { clientId: msgs[0].clientId, subscriptions: ['feed/*'] }, alice.pb.authStore.token);
        assert.equal(r.status, 204);
        ws.close();
        const plain = await rawFetch(`${srv.url}/api/realtime/ws`);
        assert.equal(plain.status, 400);
    });

    test('stored auth: a new tokenKey needs a new login; a deleted user frees the client', async () => {
        await su.collections.create({
            name: 'members', listRule: '@request.auth.id != ""', viewRule: '@request.auth.id != ""',
            fields: [{ name: 't', type: 'text' }],
        });
        const carol = await makeUser(su, srv.url, { name: 'Carol' });
        const st = await rawStream(srv.url);
        const count = () => st.events.filter((e) => e.event === 'members/*').length;
        try {
            let r = await post(srv.url, { clientId: st.clientId, subscriptions: ['members/*', 'feed/*'] }, carol.pb.authStore.token);
            assert.equal(r.status, 204);
            await su.collection('members').create({ t: 'one' });
            await waitFor(st.events, () => count() === 1, 'the first event');
            // A password change rotates the tokenKey: the stored auth is dropped...
            await su.collection('users').update(carol.record.id, { password: 'newpass1234', passwordConfirm: 'newpass1234' });
            await su.collection('members').create({ t: 'unseen' });
            // (a public marker after it: the 'unseen' event has been weighed
            // and dropped before carol logs in again)
            await su.collection('feed').create({ title: 'after-unseen' });
            await waitFor(st.events, () => st.events.some((e) => e.event === 'feed/*'), 'the marker after unseen');
            // ...until the same user logs in again and resubscribes.
            await carol.pb.collection('users').authWithPassword(carol.email, 'newpass1234');
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['members/*'] }, carol.pb.authStore.token);
            assert.equal(r.status, 204);
            await su.collection('members').create({ t: 'two' });
            await waitFor(st.events, () => count() === 2, 'the event after the new login');
            assert.deepEqual(st.events.filter((e) => e.event === 'members/*').map((e) => JSON.parse(e.data).record.t),
                ['one', 'two']);
            // Once the user is deleted, the client's auth is gone: another user may take it.
            await su.collection('users').delete(carol.record.id);
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['members/*'] }, bob.pb.authStore.token);
            assert.equal(r.status, 204, 'another identity after the stored one was deleted');
            r = await post(srv.url, { clientId: st.clientId, subscriptions: ['members/*'] });
            assert.equal(r.status, 403, 'bob is stored now: a guest may not replace him');
            await su.collection('members').create({ t: 'three' });
            await waitFor(st.events, () => count() === 3, 'the event as bob');
        } finally {
            st.close();
        }
    });

    test('a subscription string with a line break forges no SSE lines', async () => {
        const st = await rawStream(srv.url);
        try {
            // Its topic matches feed/*; the text after "?" would add an event: line.
            const forged = 'feed/*?x\nevent:forged\ndata:{"action":"forged"}';
            const r = await post(srv.url, { clientId: st.clientId, subscriptions: [forged, 'feed/*'] });
            assert.equal(r.status, 204);
            await su.collection('feed').create({ title: 'line-break' });
            await su.collection('feed').create({ title: 'marker' }); // after anything of the first
            await waitFor(st.events, (l) => l.filter((e) => e.event === 'feed/*').length >= 2, 'the plain events');
            assert.deepEqual(st.events.map((e) => e.event), ['PB_CONNECT', 'feed/*', 'feed/*']);
            assert.equal(st.events[1].id, st.clientId);
            assert.equal(JSON.parse(st.events[1].data).record.title, 'line-break');
        } finally {
            st.close();
        }
    });

    test('the server is healthy after all that', async () => {
        const r = await rawFetch(`${srv.url}/api/health`);
        assert.equal(r.status, 200);
        await srv.stop();
    });
});

describe('realtime reconnect', () => {
    let srv;
    before(async () => {
        // Streams close after 1 s without a message: the SDK must reconnect
        // with a new client id and resubscribe on its own.
        srv = await startServer({ flags: ['--realtime-idle=1s'] });
        const su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'feed', listRule: '', viewRule: '', createRule: '',
            fields: [{ name: 'title', type: 'text' }],
        });
    });
    after(async () => {
        for (const pb of opened) pb.realtime.unsubscribe().catch(() => {});
        if (srv && !srv.exited) await srv.kill9();
    });

    test('after an idle close the SDK resubscribes and events flow again', async () => {
        const pb = client(srv.url);
        const ids = [];
        await pb.realtime.subscribe('PB_CONNECT', (e) => ids.push(e.clientId));
        const { got } = await collect(pb, 'feed', '*');
        await waitFor(ids, (l) => l.length >= 1, 'first connect');
        await waitFor(ids, (l) => l.length >= 2, 'a reconnect after the idle close');
        assert.notEqual(ids[0], ids[1], 'a new client id per connection');
        // Create until one arrives: the stream may close again at any moment.
        const end = Date.now() + WAIT_MS;
        while (got.length === 0 && Date.now() < end) {
            await pb.collection('feed').create({ title: 'again' });
            await new Promise((r) => setTimeout(r, 200));
        }
        assert.ok(got.length >= 1, 'no event after reconnecting');
        await pb.realtime.unsubscribe();
        await srv.stop();
    });
});
