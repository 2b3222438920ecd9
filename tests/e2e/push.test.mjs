// Push notifications (issue #17, first part) through the official SDK:
// devices registered in `_devices` with the ordinary records API (each user
// sees and writes only their own), POST /api/notify fanned out through the
// job queue to a fake FCM HTTP v1 (its OAuth2 token endpoint verifies the
// RS256 assertion with the test service account's public key, as Google's
// does) and a fake Web Push service that decrypts each message with the
// subscription's private key (RFC 8291) and verifies the VAPID JWT (RFC
// 8292); dead tokens remove their device; a 503 with Retry-After is tried
// again; what is not supported is refused.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import { superuserClient, makeUser, expectError, SLOW, until } from './lib/util.mjs';

globalThis.EventSource = EventSource;

const b64u = (b) => Buffer.from(b).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');


function readBody(req) {
    return new Promise((resolve) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => resolve(Buffer.concat(chunks)));
    });
}

function verifyJwt(jwt, publicKey, dsaEncoding) {
    const [h, p, s] = jwt.split('.');
    const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding },
        unb64u(s));
    return ok ? { header: JSON.parse(unb64u(h)), claims: JSON.parse(unb64u(p)) } : null;
}

// A browser's side of RFC 8291 / RFC 8188 (one record).
function webPushDecrypt(body, ecdh, auth) {
    const salt = body.subarray(0, 16);
    const rs = body.readUInt32BE(16);
    const idlen = body[20];
    const asPublic = body.subarray(21, 21 + idlen);
    assert.equal(rs, 4096);
    const uaPublic = ecdh.getPublicKey();
    const shared = ecdh.computeSecret(asPublic);
    const info = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
    const ikm = Buffer.from(crypto.hkdfSync('sha256', shared, auth, info, 32));
    const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const ct = body.subarray(21 + idlen);
    const d = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
    d.setAuthTag(ct.subarray(ct.length - 16));
    const plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
    let end = plain.length - 1;
    while (end > 0 && plain[end] === 0) end--;
    assert.equal(plain[end], 2, 'the last record ends with the 0x02 delimiter');
    return JSON.parse(plain.subarray(0, end).toString());
}

describe('push notifications', () => {
    let srv, su, fake, base;
    const { publicKey: saPublic, privateKey: saPrivate } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tokens = [];   // assertions the token endpoint accepted
    const fcm = [];      // messages:send bodies accepted
    const web = [];      // decrypted Web Push messages {path, message, vapid}
    const apns = [];     // APNs pushes accepted {token, body}
    const apnsKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const certDir = mkdtempSync(join(tmpdir(), 'tarmac-apns-'));
    let apnsServer, apnsCert;
    let apnsTopic = 'com.example.app'; // what the fake APNs takes
    const busy = new Map();
    const browser = crypto.createECDH('prime256v1');
    browser.generateKeys();
    const authSecret = crypto.randomBytes(16);

    before(async () => {
        fake = http.createServer(async (req, res) => {
            const body = await readBody(req);
            const url = new URL(req.url, 'http://x');
            const json = (status, o, headers = {}) => {
                res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
                res.end(JSON.stringify(o));
            };
            if (url.pathname === '/token') {
                const form = new URLSearchParams(body.toString());
                const v = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
                    verifyJwt(form.get('assertion'), saPublic, 'der');
                if (!v || v.header.alg !== 'RS256' || v.claims.iss !== 'push@test-project.iam.gserviceaccount.com' ||
                    v.claims.scope !== 'https://www.googleapis.com/auth/firebase.messaging' ||
                    v.claims.aud !== `${base}/token` || v.claims.exp - v.claims.iat !== 3600) {
                    return json(400, { error: 'invalid_grant' });
                }
                tokens.push(v.claims);
                return json(200, { access_token: `ya29.fake-${tokens.length}`, expires_in: 3599, token_type: 'Bearer' });
            }
            if (url.pathname === '/v1/projects/test-project/messages:send') {
                if (!/^Bearer ya29\.fake-\d+$/.test(req.headers.authorization || '')) {
                    return json(401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'bad token' } });
                }
                const { message } = JSON.parse(body);
                if (message.token.startsWith('dead-')) {
                    return json(404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND',
                        details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } });
                }
                if (message.token.startsWith('nf-')) {
                    // A 404 that is not FCM's (a proxy, a wrong path): no device is removed for it.
                    res.writeHead(404, { 'Content-Type': 'text/html' }).end('<h1>Not Found</h1>');
                    return;
                }
                if (message.token.startsWith('busy-') && !busy.get(message.token)) {
                    busy.set(message.token, true);
                    return json(503, { error: { code: 503, status: 'UNAVAILABLE', message: 'try later' } }, { 'Retry-After': '1' });
                }
                fcm.push(message);
                return json(200, { name: `projects/test-project/messages/${fcm.length}` });
            }
            if (url.pathname.startsWith('/wp/')) {
                if (url.pathname === '/wp/gone') { res.writeHead(410).end(); return; }
                const m = /^vapid t=([^,]+), k=([\w-]+)$/.exec(req.headers.authorization || '');
                const jwk = m && { kty: 'EC', crv: 'P-256', x: b64u(unb64u(m[2]).subarray(1, 33)), y: b64u(unb64u(m[2]).subarray(33)) };
                const v = m && verifyJwt(m[1], crypto.createPublicKey({ key: jwk, format: 'jwk' }), 'ieee-p1363');
                if (!v || v.claims.aud !== base || !(v.claims.exp > Date.now() / 1000) ||
                    req.headers['content-encoding'] !== 'aes128gcm' || !req.headers.ttl) {
                    res.writeHead(403).end(); return;
                }
                web.push({ path: url.pathname, message: webPushDecrypt(body, browser, authSecret), key: m[2], claims: v.claims });
                res.writeHead(201).end();
                return;
            }
            res.writeHead(404).end();
        });
        await new Promise((r) => fake.listen(0, '127.0.0.1', r));
        base = `http://127.0.0.1:${fake.address().port}`;
        // APNs: HTTP/2 over TLS only, as Apple's.
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
            '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '2',
            '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
        apnsCert = readFileSync(join(certDir, 'cert.pem'), 'utf8');
        apnsServer = http2.createSecureServer({ key: readFileSync(join(certDir, 'key.pem')), cert: apnsCert });
        apnsServer.on('stream', (stream, headers) => {
            const chunks = [];
            stream.on('data', (c) => chunks.push(c));
            stream.on('end', () => {
                const reply = (status, o) => {
                    stream.respond({ ':status': status, 'apns-id': crypto.randomUUID(), 'content-type': 'application/json' });
                    stream.end(o ? JSON.stringify(o) : undefined);
                };
                const m = /^bearer (.+)$/.exec(headers.authorization || '');
                const v = m && verifyJwt(m[1], apnsKey.publicKey, 'ieee-p1363');
                if (!v || v.header.alg !== 'ES256' || v.header.kid !== 'KEY1234567' || v.claims.iss !== 'TEAM123456') {
                    return reply(403, { reason: 'InvalidProviderToken' });
                }
                const token = headers[':path'].replace('/3/device/', '');
                if (headers[':method'] !== 'POST' || headers['apns-topic'] !== apnsTopic ||
                    headers['apns-push-type'] !== 'alert') return reply(400, { reason: 'BadTopic' });
                if (token.startsWith('dead')) return reply(410, { reason: 'Unregistered', timestamp: Date.now() });
                if (token.startsWith('bad0')) return reply(400, { reason: 'BadDeviceToken' });
                apns.push({ token, body: JSON.parse(Buffer.concat(chunks)) });
                reply(200);
            });
        });
        await new Promise((r) => apnsServer.listen(0, '127.0.0.1', r));
        srv = await startServer({ flags: ['--allow-private-network'] });
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
        fake.close();
        apnsServer?.close();
        rmSync(certDir, { recursive: true, force: true });
    });

    const serviceAccount = () => JSON.stringify({
        type: 'service_account', project_id: 'test-project', private_key_id: 'k1',
        private_key: saPrivate.export({ type: 'pkcs8', format: 'pem' }),
        client_email: 'push@test-project.iam.gserviceaccount.com', token_uri: `${base}/token`,
    });

    test('the push settings: checked, secrets never shown, a VAPID key made', async () => {
        const bad = await expectError(su.settings.update({ push: { fcm: { enabled: true, serviceAccount: '{"project_id":"x"}' } } }), 400);
        assert.equal(bad.data.push.fcm.serviceAccount.code, 'validation_invalid_service_account');
        const bad2 = await expectError(su.settings.update({ push: { webPush: { enabled: true } } }), 400);
        assert.equal(bad2.data.push.webPush.subject.code, 'validation_required');
        await expectError(su.send('/api/notify/webpush-key', {}), 404);
        const bad3 = await expectError(su.settings.update({ push: { apns: { enabled: true, key: 'nope' } } }), 400);
        assert.equal(bad3.data.push.apns.key.code, 'validation_invalid_key');
        assert.equal(bad3.data.push.apns.teamId.code, 'validation_required');
        const s = await su.settings.update({ push: {
            fcm: { enabled: true, serviceAccount: serviceAccount(), apiURL: base },
            apns: { enabled: true, keyId: 'KEY1234567', teamId: 'TEAM123456', topic: 'com.example.app',
                key: apnsKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
                apiURL: `https://127.0.0.1:${apnsServer.address().port}`, caPEM: apnsCert },
            webPush: { enabled: true, subject: 'mailto:ops@example.com' },
        } });
        assert.equal(s.push.apns.key, undefined, 'the .p8 key is never returned');
        assert.equal(s.push.apns.teamId, 'TEAM123456');
        assert.equal(s.push.fcm.enabled, true);
        assert.equal(s.push.fcm.serviceAccount, undefined, 'the service account is never returned');
        assert.equal(s.push.webPush.privateKey, undefined, 'the VAPID key is never returned');
        const { publicKey } = await fetch(`${srv.url}/api/notify/webpush-key`).then((r) => r.json());
        assert.equal(unb64u(publicKey).length, 65);
    });

    test('devices: each user registers and sees only their own', async () => {
        const a = await makeUser(su, srv.url);
        const b = await makeUser(su, srv.url);
        await a.pb.collection('_devices').create({ user: a.record.id, provider: 'fcm', platform: 'android', token: 'tok-a1' });
        await expectError(a.pb.collection('_devices').create({ user: b.record.id, provider: 'fcm', token: 'x' }), 400);
        await b.pb.collection('_devices').create({ user: b.record.id, provider: 'fcm', platform: 'ios', token: 'tok-b1' });
        assert.deepEqual((await a.pb.collection('_devices').getFullList()).map((d) => d.token), ['tok-a1']);
        await expectError(a.pb.collection('_devices').create({ user: a.record.id, provider: 'sms', token: 'x' }), 400);
    });

    test('a notification reaches every device of its users through FCM, APNs and Web Push', async () => {
        const a = await makeUser(su, srv.url);
        const b = await makeUser(su, srv.url);
        const dev = (pb, data) => pb.collection('_devices').create(data);
        await dev(a.pb, { user: a.record.id, provider: 'fcm', platform: 'android', token: 'tok-n1' });
        await dev(a.pb, { user: a.record.id, provider: 'webpush', platform: 'web', token: `${base}/wp/a`,
            keys: { p256dh: b64u(browser.getPublicKey()), auth: b64u(authSecret) } });
        const dead = await dev(a.pb, { user: a.record.id, provider: 'fcm', platform: 'android', token: 'dead-1' });
        const notFound = await dev(a.pb, { user: a.record.id, provider: 'fcm', platform: 'android', token: 'nf-1' });
        const gone = await dev(a.pb, { user: a.record.id, provider: 'webpush', platform: 'web', token: `${base}/wp/gone`,
            keys: { p256dh: b64u(browser.getPublicKey()), auth: b64u(authSecret) } });
        await dev(b.pb, { user: b.record.id, provider: 'fcm', platform: 'android', token: 'tok-other' });
        await dev(a.pb, { user: a.record.id, provider: 'apns', platform: 'ios', token: 'a1b2c3d4e5f6' });
        const deadIos = await dev(a.pb, { user: a.record.id, provider: 'apns', platform: 'ios', token: 'dead01' });
        const badIos = await dev(a.pb, { user: a.record.id, provider: 'apns', platform: 'ios', token: 'bad0' });
        const job = await su.send('/api/notify', { method: 'POST', body: {
            users: [a.record.id], title: 'Your order is on its way', body: 'Arriving today',
            data: { orderId: 'o1', n: 2 },
        } });
        assert.equal(job.kind, 'notify');
        const m = await until('the FCM message', () => fcm.find((x) => x.token === 'tok-n1'));
        assert.deepEqual(m.notification, { title: 'Your order is on its way', body: 'Arriving today' });
        assert.deepEqual(m.data, { orderId: 'o1', n: '2' }, 'FCM data values are strings');
        const w = await until('the Web Push message', () => web.find((x) => x.path === '/wp/a'));
        assert.deepEqual(w.message, { title: 'Your order is on its way', body: 'Arriving today', data: { orderId: 'o1', n: 2 } });
        assert.equal(w.claims.sub, 'mailto:ops@example.com');
        const { publicKey } = await fetch(`${srv.url}/api/notify/webpush-key`).then((r) => r.json());
        assert.equal(w.key, publicKey);
        const i = await until('the APNs push', () => apns.find((x) => x.token === 'a1b2c3d4e5f6'));
        assert.deepEqual(i.body, { aps: { alert: { title: 'Your order is on its way', body: 'Arriving today' }, sound: 'default' },
            orderId: 'o1', n: 2 });
        // Dead tokens remove their devices; the other user got nothing.
        await until('the dead devices removed', async () => {
            const left = (await su.collection('_devices').getFullList({ filter: `user = "${a.record.id}"` })).map((d) => d.id);
            return [dead.id, gone.id, deadIos.id, badIos.id].every((id) => !left.includes(id)) &&
                left.includes(notFound.id) && left.length === 4;
        });
        assert.ok(!fcm.some((x) => x.token === 'tok-other'));
        // Each dead job says why (its outcome is written just after the device went).
        const reasons = [/FCM: UNREGISTERED: the device was removed/, /Web Push: HTTP 410: the device was removed/,
            /APNs: Unregistered: the device was removed/, /APNs: BadDeviceToken: the device was removed/];
        await until('the dead jobs', async () => {
            const deadJobs = await su.send('/api/jobs', { query: { kind: 'push', status: 'dead' } });
            return reasons.every((r) => deadJobs.items.some((j) => r.test(j.lastError)));
        });
        assert.equal(tokens.length, 1, 'one access token, cached for the later sends');
    });

    test('a Web Push device registered without keys (or with keys not strings) is removed, the server unharmed', async () => {
        const a = await makeUser(su, srv.url);
        const none = await a.pb.collection('_devices').create({ user: a.record.id, provider: 'webpush', platform: 'web', token: `${base}/wp/nokeys` });
        const odd = await a.pb.collection('_devices').create({ user: a.record.id, provider: 'webpush', platform: 'web', token: `${base}/wp/oddkeys`,
            keys: { p256dh: 1, auth: null } });
        await su.send('/api/notify', { method: 'POST', body: { users: [a.record.id], title: 'No keys' } });
        await until('both devices removed', async () =>
            (await su.collection('_devices').getFullList({ filter: `user = "${a.record.id}"` })).length === 0);
        const dead = await until('the dead jobs', async () => {
            const d = await su.send('/api/jobs', { query: { kind: 'push', status: 'dead', filter: `payload.device = "${none.id}" || payload.device = "${odd.id}"` } });
            return d.items.length === 2 && d;
        });
        assert.ok(dead.items.every((j) => /keys are not valid/.test(j.lastError)), dead.items.map((j) => j.lastError).join('; '));
        assert.ok(!web.some((x) => /keys$/.test(x.path)));
        assert.equal((await fetch(`${srv.url}/api/health`)).status, 200);
    });

    test('a push payload not written by a fan-out (the jobs API, a token with a quote) is read in full', async () => {
        // A fan-out's batch (a token needing escapes) and single pushes from the
        // jobs API must send the same message.
        const a = await makeUser(su, srv.url);
        const quoted = await a.pb.collection('_devices').create({ user: a.record.id, provider: 'fcm', token: 'tok"q\\1' });
        await su.send('/api/notify', { method: 'POST', body: { users: [a.record.id], title: 'Quoted', data: { k: [1] } } });
        const q = await until('the quoted token\'s message', () => fcm.find((x) => x.token === 'tok"q\\1'));
        assert.deepEqual([q.notification, q.data], [{ title: 'Quoted' }, { k: '[1]' }]);
        const byHand = { device: quoted.id, provider: 'fcm', token: 'tok-api-1', message: { title: 'By hand', body: 'B', data: { n: 3 } } };
        await su.send('/api/jobs', { method: 'POST', body: { kind: 'push', payload: byHand } });
        // a member the kind does not know is ignored
        await su.send('/api/jobs', { method: 'POST', body: { kind: 'push', payload: { ...byHand, token: 'tok-api-2', extra: 1 } } });
        await su.send('/api/jobs', { method: 'POST', body: { kind: 'push', payload: {
            device: quoted.id, provider: 'apns', token: 'abcdef0123', message: { title: 'By hand', data: { aps: 1, z: 'y' } } } } });
        for (const t of ['tok-api-1', 'tok-api-2']) {
            const m = await until(`the message to ${t}`, () => fcm.find((x) => x.token === t));
            assert.deepEqual([m.notification, m.data], [{ title: 'By hand', body: 'B' }, { n: '3' }]);
        }
        const i = await until('the APNs push by hand', () => apns.find((x) => x.token === 'abcdef0123'));
        assert.deepEqual(i.body, { aps: { alert: { title: 'By hand' }, sound: 'default' }, z: 'y' });
    });

    test('a topic as long as the settings take (200 bytes) reaches APNs whole', async () => {
        const a = await makeUser(su, srv.url);
        const dev = await a.pb.collection('_devices').create({ user: a.record.id, provider: 'apns', token: 'feed01' });
        const long = 'com.example.' + 'x'.repeat(188);
        assert.equal(long.length, 200);
        await su.settings.update({ push: { apns: { topic: long } } });
        apnsTopic = long;
        try {
            await su.send('/api/jobs', { method: 'POST', body: { kind: 'push', payload: {
                device: dev.id, provider: 'apns', token: 'feed01', message: { title: 'Long topic' } } } });
            const i = await until('the push under the long topic', () => apns.find((x) => x.token === 'feed01'));
            assert.deepEqual(i.body.aps.alert, { title: 'Long topic' });
        } finally {
            await su.settings.update({ push: { apns: { topic: 'com.example.app' } } });
            apnsTopic = 'com.example.app';
        }
    });

    test("a fan-out's pushes go in batches of 64 per message; a device a batch did not reach goes on alone", async () => {
        const a = await makeUser(su, srv.url);
        // 70 English devices, 3 Hindi ones, and one more English that answers 503 once:
        // three batches (64 + 7 English, 3 Hindi), the busy one split off and sent on its own.
        const devices = [];
        for (let i = 0; i < 70; i++) devices.push({ token: `batch-en-${i}`, locale: 'en' });
        for (let i = 0; i < 3; i++) devices.push({ token: `batch-hi-${i}`, locale: 'hi' });
        devices.push({ token: 'busy-batch', locale: 'en' });
        for (let at = 0; at < devices.length; at += 40) { // the batch API's 50 at most
            await su.send('/api/batch', { method: 'POST', body: { requests: devices.slice(at, at + 40).map((d) => ({
                method: 'POST', url: '/api/collections/_devices/records',
                body: { user: a.record.id, provider: 'fcm', ...d } })) } });
        }
        const job = await su.send('/api/notify', { method: 'POST', body: { users: [a.record.id],
            locales: { en: { title: 'Sale' }, hi: { title: 'Sel' } } } });
        await until('every device', () => devices.every((d) => fcm.some((m) => m.token === d.token)));
        const batches = await until('the batches done', async () => {
            const b = await su.send('/api/jobs', { query: { kind: 'push_batch', filter: `dedupeKey ~ "notify:${job.id}:"`, perPage: 10 } });
            return b.items.length === 3 && b.items.every((j) => j.status === 'done') && b;
        });
        const sizes = batches.items.map((j) => [j.payload.message.title, j.payload.devices.length]).sort();
        assert.deepEqual(sizes, [['Sale', 64], ['Sale', 7], ['Sel', 3]]);
        for (const d of devices) {
            const sent = fcm.filter((m) => m.token === d.token);
            assert.equal(sent.length, 1, `${d.token} sent once`);
            assert.equal(sent[0].notification.title, d.locale === 'hi' ? 'Sel' : 'Sale');
        }
        // The busy device: a push of its own, its first attempt (in the batch) counted.
        const alone = await until('the split-off push done', async () => {
            const d = await su.send('/api/jobs', { query: { kind: 'push', filter: 'payload.token = "busy-batch"' } });
            return d.items.length === 1 && d.items[0].status === 'done' && d.items[0];
        });
        assert.equal(alone.attempts, 2);
        assert.deepEqual([alone.payload.provider, alone.payload.message.title], ['fcm', 'Sale']);
        // A batch from the jobs API is checked like any payload.
        const bad = await expectError(su.send('/api/jobs', { method: 'POST', body: { kind: 'push_batch',
            payload: { message: { title: 'x' }, devices: [{ device: 'd1', provider: 'sms', token: 't' }] } } }), 400);
        assert.match(JSON.stringify(bad.data), /devices/);
    });

    test('a 503 with Retry-After is tried again', async () => {
        const a = await makeUser(su, srv.url);
        await a.pb.collection('_devices').create({ user: a.record.id, provider: 'fcm', token: 'busy-1' });
        await su.send('/api/notify', { method: 'POST', body: { users: [a.record.id], title: 'Retry me' } });
        await until('the second attempt', () => fcm.find((x) => x.token === 'busy-1'));
        // The outcome is written after the answer came.
        const done = await until('the push done', async () => {
            const d = await su.send('/api/jobs', { query: { kind: 'push', status: 'done', filter: 'payload.token = "busy-1"' } });
            return d.items.length === 1 && d;
        });
        assert.equal(done.items[0].attempts, 2);
    });

    test('the inbox: each user gets, lists, marks read and deletes their own, live', async (t) => {
        const a = await makeUser(su, srv.url);
        const b = await makeUser(su, srv.url);
        const live = [];
        await a.pb.collection('_notifications').subscribe('*', (e) => live.push(e));
        t.after(() => a.pb.realtime.unsubscribe()); // a failure must not leave it reconnecting
        const job = await su.send('/api/notify', { method: 'POST', body: {
            users: [a.record.id, b.record.id], title: 'Hello inbox', body: 'Welcome', data: { x: 1 },
            channels: ['inbox'],
        } });
        const ev = await until('the realtime create', () => live.find((e) => e.action === 'create'));
        assert.equal(ev.record.title, 'Hello inbox');
        assert.equal(ev.record.user, a.record.id);
        const mine = await a.pb.collection('_notifications').getFullList();
        assert.equal(mine.length, 1);
        assert.deepEqual([mine[0].title, mine[0].body, mine[0].data, mine[0].readAt], ['Hello inbox', 'Welcome', { x: 1 }, '']);
        // Each user's row is its own commit: b's may come a moment after a's event.
        const theirs = await until("b's row", async () => {
            const l = await b.pb.collection('_notifications').getFullList();
            return l.length > 0 && l;
        });
        assert.equal(theirs.length, 1);
        await expectError(b.pb.collection('_notifications').getOne(mine[0].id), 404);
        // Mark read: readAt only.
        const read = await a.pb.collection('_notifications').update(mine[0].id, { readAt: '2026-12-04 10:00:00.000Z' });
        assert.equal(read.readAt, '2026-12-04 10:00:00.000Z');
        await assert.rejects(a.pb.collection('_notifications').update(mine[0].id, { title: 'changed' }));
        assert.equal((await a.pb.collection('_notifications').getOne(mine[0].id)).title, 'Hello inbox');
        await expectError(a.pb.collection('_notifications').create({ user: a.record.id, title: 'self-made' }), 403);
        await until('the notify job done', async () => (await su.send(`/api/jobs/${job.id}`)).status === 'done');
        await a.pb.collection('_notifications').delete(mine[0].id);
        assert.equal((await a.pb.collection('_notifications').getFullList()).length, 0);
    });

    test('a trigger notifies the customer when the order becomes out_for_delivery, in the write', async () => {
        const a = await makeUser(su, srv.url);
        const users = await su.collections.getOne('users');
        await su.collections.create({ name: 'orders', type: 'base', fields: [
            { name: 'number', type: 'text' },
            { name: 'status', type: 'select', maxSelect: 1, values: ['packed', 'out_for_delivery', 'delivered'] },
            { name: 'customer', type: 'relation', collectionId: users.id, maxSelect: 1 },
        ] });
        const trigger = {
            name: 'out for delivery', collection: 'orders', events: ['update'], changed: 'status',
            filter: "status = 'out_for_delivery'", recipients: 'customer',
            title: 'Order {{record.number}} is on its way', body: 'Status: {{record.status}}{{record.nope}} {{record.password}}{{record.',
            channels: ['inbox'], active: true,
        };
        for (const [bad, field] of [[{ collection: 'nope' }, 'collection'], [{ filter: 'status ===' }, 'filter'],
            [{ recipients: 'courier' }, 'recipients'], [{ changed: 'colour' }, 'changed']]) {
            const e = await expectError(su.collection('_notifyTriggers').create({ ...trigger, ...bad }), 400);
            assert.ok(e.data[field], `${field}: ${JSON.stringify(e)}`);
        }
        await su.collection('_notifyTriggers').create(trigger);
        const inbox = () => a.pb.collection('_notifications').getFullList();
        const order = await su.collection('orders').create({ number: 'A-17', status: 'packed', customer: a.record.id });
        await su.collection('orders').update(order.id, { status: 'out_for_delivery' });
        const got = await until('the triggered inbox item', async () => (await inbox()).find((n) => n.title.includes('A-17')))
            .catch(async (e) => {
                const jobs = await su.send('/api/jobs', { query: { kind: 'notify', perPage: 100 } });
                throw new Error(`${e.message}: ${JSON.stringify(jobs.items.map((j) => [j.status, j.lastError, j.payload.title]))}`);
            });
        assert.equal(got.title, 'Order A-17 is on its way');
        // An unknown name renders as nothing; an unclosed placeholder stays as written.
        assert.equal(got.body, 'Status: out_for_delivery {{record.');
        // The status did not change: no second notification.
        await su.collection('orders').update(order.id, { number: 'A-17b' });
        // A batch that fails rolls the trigger's job back with it.
        const other = await su.collection('orders').create({ number: 'B-2', status: 'packed', customer: a.record.id });
        await expectError(su.send('/api/batch', { method: 'POST', body: { requests: [
            { method: 'PATCH', url: `/api/collections/orders/records/${other.id}`, body: { status: 'out_for_delivery' } },
            { method: 'POST', url: '/api/collections/orders/records', body: { status: 'lost' } },
        ] } }), 400);
        await new Promise((r) => setTimeout(r, 500 * SLOW));
        const all = await inbox();
        assert.deepEqual(all.map((n) => n.title), ['Order A-17 is on its way']);
    });

    test('preferences: a channel muted for a category (or all) is skipped for that user', async () => {
        const a = await makeUser(su, srv.url);
        const b = await makeUser(su, srv.url);
        await a.pb.collection('_devices').create({ user: a.record.id, provider: 'fcm', token: 'pref-a' });
        await b.pb.collection('_devices').create({ user: b.record.id, provider: 'fcm', token: 'pref-b' });
        await a.pb.collection('_notifyPrefs').create({ user: a.record.id, muted: { marketing: ['push'], '*': ['inbox'] } });
        await expectError(b.pb.collection('_notifyPrefs').create({ user: a.record.id, muted: {} }), 400);
        const send = async (body) => {
            const j = await su.send('/api/notify', { method: 'POST', body: { users: [a.record.id, b.record.id], channels: ['push', 'inbox'], ...body } });
            await until('the notify job', async () => (await su.send(`/api/jobs/${j.id}`)).status === 'done');
        };
        await send({ title: 'Sale!', category: 'marketing' });
        await until('b\'s push', () => fcm.find((m) => m.token === 'pref-b' && m.notification.title === 'Sale!'));
        await send({ title: 'Order shipped' });
        await until('a\'s push', () => fcm.find((m) => m.token === 'pref-a' && m.notification.title === 'Order shipped'));
        assert.ok(!fcm.some((m) => m.token === 'pref-a' && m.notification.title === 'Sale!'), 'a muted marketing pushes');
        assert.deepEqual((await a.pb.collection('_notifications').getFullList()).length, 0, 'a muted the inbox for all');
        assert.deepEqual((await b.pb.collection('_notifications').getFullList()).map((n) => n.title).sort(), ['Order shipped', 'Sale!']);
        const e = await expectError(su.send('/api/notify', { method: 'POST', body: { users: [a.record.id], title: 't', category: '*' } }), 400);
        assert.match(e.data.payload.message, /category/);
    });

    test('recipients by a filter over users', async () => {
        const a = await makeUser(su, srv.url, { name: 'filter-target-1' });
        const b = await makeUser(su, srv.url, { name: 'filter-target-2' });
        const c = await makeUser(su, srv.url, { name: 'someone else' });
        for (const [u, tok] of [[a, 'flt-a'], [b, 'flt-b'], [c, 'flt-c']]) {
            await u.pb.collection('_devices').create({ user: u.record.id, provider: 'fcm', token: tok });
        }
        const e = await expectError(su.send('/api/notify', { method: 'POST', body: { filter: 'nme ~ "x"', title: 't' } }), 400);
        assert.equal(e.data.filter.code, 'validation_invalid_filter');
        await expectError(su.send('/api/notify', { method: 'POST', body: { users: [a.record.id], filter: 'id != ""', title: 't' } }), 400);
        await su.send('/api/notify', { method: 'POST', body: { filter: 'name ~ "filter-target"', title: 'Filtered' } });
        await until('both targets', () => ['flt-a', 'flt-b'].every((t) => fcm.some((m) => m.token === t && m.notification.title === 'Filtered')));
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(!fcm.some((m) => m.token === 'flt-c'));
    });

    test('what is not supported is refused, and only superusers notify', async () => {
        const a = await makeUser(su, srv.url);
        const send = (pb, body) => pb.send('/api/notify', { method: 'POST', body });
        let e = await expectError(send(su, { users: [a.record.id], title: 't', channels: ['inbox', 'fax'] }), 400);
        assert.equal(e.data.channels.code, 'validation_invalid_value');
        e = await expectError(send(su, { title: 't' }), 400);
        assert.match(e.data.payload.message, /users/);
        e = await expectError(send(su, { users: [a.record.id], title: 't', sound: 'x' }), 400);
        assert.match(e.data.payload.message, /Unknown key/);
        await expectError(send(a.pb, { users: [a.record.id], title: 't' }), 403);
    });
});

describe('push fan-out survives kill -9', () => {
    let fake, srv;
    const seen = new Set();
    let received = 0;
    const dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-push-crash-'));
    const { publicKey: saPublic, privateKey: saPrivate } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    void saPublic;

    before(async () => {
        // A slow FCM: each send waits 300 ms, so the kill lands mid-fan-out
        // (a batch of 64 is sent at once: the kill must come before the
        // third batch is sent, 600 ms in, while the test looks every 50 ms).
        fake = http.createServer(async (req, res) => {
            const body = await readBody(req);
            if (req.url === '/token') {
                res.writeHead(200, { 'Content-Type': 'application/json' });
                return res.end(JSON.stringify({ access_token: 'ya29.slow', expires_in: 3600 }));
            }
            await new Promise((r) => setTimeout(r, 300));
            received++;
            seen.add(JSON.parse(body).message.token);
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end('{"name":"projects/p/messages/1"}');
        });
        await new Promise((r) => fake.listen(0, '127.0.0.1', r));
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        fake.close();
        if (!process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    });

    test('every device is sent to after a restart', async () => {
        const base = `http://127.0.0.1:${fake.address().port}`;
        const flags = ['--allow-private-network', '--job-lease=2s'];
        srv = await startServer({ dir, superuser: true, flags });
        const su = await superuserClient(srv.url);
        await su.settings.update({ push: { fcm: { enabled: true, apiURL: base, serviceAccount: JSON.stringify({
            project_id: 'p', client_email: 'a@p.iam.gserviceaccount.com', token_uri: `${base}/token`,
            private_key: saPrivate.export({ type: 'pkcs8', format: 'pem' }) }) } } });
        const u = await makeUser(su, srv.url);
        const N = 150;
        await su.send('/api/batch', { method: 'POST', body: { requests: Array.from({ length: 50 }, (_, i) => ({
            method: 'POST', url: '/api/collections/_devices/records',
            body: { user: u.record.id, provider: 'fcm', token: `crash-${i}` } })) } });
        for (let i = 50; i < N; i++) {
            await su.collection('_devices').create({ user: u.record.id, provider: 'fcm', token: `crash-${i}` });
        }
        await su.send('/api/notify', { method: 'POST', body: { users: [u.record.id], title: 'Flash sale' } });
        await until('some sends', () => received >= 10);
        await srv.kill9();
        assert.ok(seen.size < N, `the kill came after ${seen.size} of ${N}`);
        srv = await startServer({ dir, flags });
        await until('every device', () => seen.size === N, 60000 * SLOW);
        for (let i = 0; i < N; i++) assert.ok(seen.has(`crash-${i}`));
        await srv.stop();
    });
});
