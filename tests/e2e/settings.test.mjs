// The settings API (issue #15, item 1) through the JS SDK: pb.settings.getAll()
// and update() in PocketBase's shape, applied at once without a restart
// (batch limits, rate-limit rules, app name in mails, SMTP), values fixed by
// flags locked, secrets never returned, PocketBase's validation errors,
// superusers only, and the stored settings survive a restart.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { startSmtpSink, waitForMail } from './lib/smtp.mjs';
import { client, superuserClient, makeUser, expectError, rawFetch, clearOfWindowEdge } from './lib/util.mjs';

const batchOf = (n) => ({
    requests: Array.from({ length: n }, () => ({ method: 'GET', url: '/api/health' })),
});

describe('settings API', () => {
    let srv;
    let su;
    let sink;
    // Our own directory: the restart test starts a second server on it.
    const dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-settings-'));

    before(async () => {
        sink = await startSmtpSink();
        srv = await startServer({ dir, superuser: true,
            flags: ['--batch-timeout=5s', '--app-url=http://app.test'] });
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
        if (sink) await sink.stop?.();
        if (!process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    });

    test('getAll returns PocketBase\'s sections and the locked paths', async () => {
        const s = await su.settings.getAll();
        for (const k of ['meta', 'smtp', 's3', 'backups', 'logs', 'batch', 'rateLimits', 'trustedProxy']) {
            assert.ok(s[k] && typeof s[k] === 'object', `section ${k}: ${JSON.stringify(s)}`);
        }
        assert.deepEqual(Object.keys(s.meta).sort(),
            ['accentColor', 'appName', 'appURL', 'hideControls', 'senderAddress', 'senderName']);
        assert.equal(s.meta.appURL, 'http://app.test');
        assert.equal(s.batch.timeout, 5);
        assert.deepEqual(s.locked.sort(), ['batch.timeout', 'meta.appURL']);
        assert.deepEqual(s.superuserIPs, []);
        assert.equal(s.logs.maxDays, 5);
        assert.ok(!('password' in s.smtp), 'smtp.password is never returned');
        assert.ok(!('secret' in s.s3) && !('secret' in s.backups.s3), 'S3 secrets are never returned');
    });

    test('secretsSet names the write-only secrets that hold a value, never the values; sent back, it changes nothing', async () => {
        const before = await su.settings.getAll();
        assert.ok(Array.isArray(before.secretsSet), JSON.stringify(before.secretsSet));
        assert.ok(!before.secretsSet.includes('smtp.password'), 'no SMTP password yet');
        const after = await su.settings.update({ smtp: { password: 'hunter2-secret' } });
        assert.ok(after.secretsSet.includes('smtp.password'), `the PATCH's answer: ${after.secretsSet}`);
        const read = await su.settings.getAll();
        assert.ok(read.secretsSet.includes('smtp.password'), `GET: ${read.secretsSet}`);
        assert.ok(!JSON.stringify(read).includes('hunter2-secret'), 'the value is never returned');
        // sent back with a section: secretsSet (as locked) is not a setting
        const echoed = await su.settings.update({ logs: read.logs, secretsSet: ['s3.secret', 'bogus.path', 7] }).catch((e) => { throw new Error(JSON.stringify(e.response)); });
        assert.deepEqual(echoed.secretsSet.sort(), read.secretsSet.sort(), 'secretsSet is the server\'s, not the body\'s');
        assert.ok(!echoed.secretsSet.includes('s3.secret'));
        // an omitted password keeps the stored one; an empty one clears it (PocketBase decodes the
        // body over the stored settings)
        const kept = await su.settings.update({ smtp: { host: 'smtp.example.com' } });
        assert.ok(kept.secretsSet.includes('smtp.password'), 'an omitted secret is kept');
        const cleared = await su.settings.update({ smtp: { password: '' } });
        assert.ok(!cleared.secretsSet.includes('smtp.password'), 'an empty secret is no secret');
    });

    test('non-superusers are refused', async () => {
        await expectError(client(srv.url).settings.getAll(), 401, 'guest GET');
        const u = await makeUser(su, srv.url);
        await expectError(u.pb.settings.getAll(), 403, 'user GET');
        await expectError(u.pb.settings.update({ meta: { appName: 'x' } }), 403, 'user PATCH');
    });

    test('a lower batch.maxRequests refuses a larger batch at once', async () => {
        const ok = await rawFetch(srv.url + '/api/batch', {
            method: 'POST', headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
            body: JSON.stringify(batchOf(3)),
        });
        // Its items fail (no record route), but the list itself passes.
        assert.notEqual(ok.body?.data?.requests?.code, 'validation_length_too_long', JSON.stringify(ok.body));
        const s = await su.settings.update({ batch: { maxRequests: 2 } });
        assert.equal(s.batch.maxRequests, 2);
        const refused = await rawFetch(srv.url + '/api/batch', {
            method: 'POST', headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
            body: JSON.stringify(batchOf(3)),
        });
        assert.equal(refused.status, 400);
        assert.equal(refused.body.data.requests.code, 'validation_length_too_long');
        await su.settings.update({ batch: { enabled: false } });
        const off = await rawFetch(srv.url + '/api/batch', {
            method: 'POST', headers: { Authorization: su.authStore.token, 'Content-Type': 'application/json' },
            body: JSON.stringify(batchOf(1)),
        });
        assert.equal(off.status, 403);
        await su.settings.update({ batch: { enabled: true, maxRequests: 50 } });
    });

    test('a new rate-limit rule answers 429 at once', async () => {
        await clearOfWindowEdge();
        const s = await su.settings.update({
            rateLimits: { enabled: true, rules: [{ label: '/api/health', maxRequests: 2, duration: 60 }] },
        });
        assert.deepEqual(s.rateLimits.rules, [{ label: '/api/health', audience: '', maxRequests: 2, duration: 60 }]);
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await fetch(srv.url + '/api/health')).status);
        assert.deepEqual(statuses, [200, 200, 429]);
        // An exact label: other paths are not counted.
        assert.equal((await fetch(srv.url + '/api/health?x=1')).status, 429);
        await su.settings.update({ rateLimits: { enabled: false } });
        assert.equal((await fetch(srv.url + '/api/health')).status, 200);
    });

    test('locked values: unchanged is accepted, a change is refused naming it', async () => {
        const cur = await su.settings.getAll();
        await su.settings.update({ batch: cur.batch, meta: { appURL: 'http://app.test' } });
        const body = await expectError(su.settings.update({ batch: { timeout: 9 } }), 400, 'locked');
        assert.equal(body.data.batch.timeout.code, 'validation_locked');
        assert.match(body.data.batch.timeout.message, /--batch-timeout/);
        assert.equal((await su.settings.getAll()).batch.timeout, 5, 'nothing applied');
    });

    test('validation errors in PocketBase\'s shape, nothing half-applied', async () => {
        const before = await su.settings.getAll();
        const body = await expectError(su.settings.update({
            meta: { appName: '', senderAddress: 'nope' },
            batch: { maxRequests: 7 },
            rateLimits: { rules: [{ label: 'bad label!', maxRequests: 0, duration: 1 }] },
        }), 400, 'invalid');
        assert.equal(body.data.meta.appName.code, 'validation_required');
        assert.equal(body.data.meta.senderAddress.code, 'validation_is_email');
        assert.equal(body.data.rateLimits.rules['0'].label.code, 'validation_match_invalid');
        assert.equal(body.data.rateLimits.rules['0'].maxRequests.code, 'validation_required');
        assert.equal((await su.settings.getAll()).batch.maxRequests, before.batch.maxRequests);
        const t = await expectError(su.settings.update({ batch: { maxRequests: 'ten' } }), 400, 'type');
        assert.equal(t.message, 'An error occurred while loading the submitted data.');
        assert.ok(t.data.batch.maxRequests);
    });

    test('s3 and backups.s3 are checked as PocketBase checks them', async () => {
        const body = await expectError(su.settings.update({
            s3: { enabled: true }, backups: { s3: { enabled: true } },
        }), 400, 'enabled, nothing set');
        for (const k of ['endpoint', 'bucket', 'region', 'accessKey', 'secret']) {
            assert.equal(body.data.s3[k].code, 'validation_required', `s3.${k}`);
            assert.equal(body.data.backups.s3[k].code, 'validation_required', `backups.s3.${k}`);
        }
        const url = await expectError(su.settings.update({ s3: { endpoint: 'not a url' } }), 400, 'url');
        assert.equal(url.data.s3.endpoint.code, 'validation_is_url');
        // Their defaults sent back (a dashboard saving everything) pass.
        const cur = await su.settings.getAll();
        await su.settings.update({ s3: cur.s3, logs: cur.logs });
        const off = await expectError(su.settings.testS3('storage'), 400, 'test s3');
        assert.match(off.message, /S3 storage filesystem is not enabled/);
    });

    test('superuserIPs refuses a superuser elsewhere; excludedIPs skip the rate limits', async () => {
        const token = su.authStore.token;
        const as = (ip, path = '/api/settings', init = {}) => fetch(srv.url + path, {
            ...init,
            headers: { Authorization: token, ...(ip ? { 'X-Forwarded-For': ip } : {}), ...(init.headers || {}) },
        });
        const bad = await expectError(su.settings.update({ superuserIPs: ['10.0.0.0/8', 'nope', ''] }), 400, 'ips');
        assert.equal(bad.data.superuserIPs['1'].code, 'validation_invlaid_ip_or_subnet');
        assert.equal(bad.data.superuserIPs['0'], undefined);
        assert.equal(bad.data.superuserIPs['2'].code, 'validation_required');
        const { pb: user } = await makeUser(su, srv.url);
        // The client is the header's address when the peer is a trusted proxy.
        await su.settings.update({
            trustedProxy: { headers: ['X-Forwarded-For'], proxies: ['127.0.0.1', '::1'] },
            superuserIPs: ['10.0.0.0/8', '2001:db8::1'],
        });
        try {
            let r = await as(null);
            assert.equal(r.status, 403);
            assert.equal((await r.json()).message, 'You are not allowed to perform this request.');
            assert.equal((await as('192.168.1.1')).status, 403);
            assert.equal((await as('192.168.1.1', '/api/collections')).status, 403);
            assert.equal((await as('192.168.1.1', '/api/files/token', { method: 'POST' })).status, 403);
            // A record list answers 403 too, not a guest's list.
            assert.equal((await as('192.168.1.1', '/api/collections/users/records')).status, 403);
            assert.equal((await as('10.1.2.3')).status, 200);
            assert.equal((await as('2001:db8::1')).status, 200);
            // A user is not limited by it.
            assert.equal((await fetch(srv.url + '/api/collections/users/records',
                { headers: { Authorization: user.authStore.token } })).status, 200);
            // excludedIPs: a rule of one request a minute counts only the others.
            await clearOfWindowEdge();
            r = await as('10.1.2.3', '/api/settings', {
                method: 'PATCH', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ rateLimits: { enabled: true, excludedIPs: ['10.9.9.9'],
                    rules: [{ label: '/api/health', maxRequests: 1, duration: 60 }] } }),
            });
            assert.equal(r.status, 200, await r.text());
            const health = async (ip) => (await fetch(srv.url + '/api/health',
                { headers: { 'X-Forwarded-For': ip } })).status;
            assert.deepEqual([await health('10.9.9.9'), await health('10.9.9.9'), await health('10.9.9.9')],
                [200, 200, 200]);
            assert.deepEqual([await health('10.8.8.8'), await health('10.8.8.8')], [200, 429]);
        } finally {
            const r = await as('10.1.2.3', '/api/settings', {
                method: 'PATCH', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ superuserIPs: [], trustedProxy: { headers: [], proxies: [] },
                    rateLimits: { enabled: false, excludedIPs: [] } }),
            });
            assert.equal(r.status, 200, await r.text());
        }
        assert.equal((await as(null)).status, 200);
        // The proxy list of now applies to open connections: the header is ignored again.
        const h = await (await as('10.1.2.3', '/api/health')).json();
        assert.notEqual(h.data.realIP, '10.1.2.3', JSON.stringify(h));
    });

    test("the request log's options apply at once", async () => {
        const mark = async (tag) => {
            await fetch(`${srv.url}/api/collections/logmark_${tag}/records`);
            await new Promise((r) => setTimeout(r, 600)); // written within ~100 ms
            return (await su.logs.getList(1, 5, { filter: `data.url ~ "logmark_${tag}"` })).items;
        };
        const seen = await mark('on');
        assert.equal(seen.length, 1);
        assert.ok(seen[0].data.remoteIP, 'the IP is kept by default');
        await su.settings.update({ logs: { logIP: false } });
        const noIp = await mark('noip');
        assert.equal(noIp.length, 1);
        assert.equal(noIp[0].data.remoteIP, undefined, 'logIP false keeps no IP');
        await su.settings.update({ logs: { maxDays: 0 } });
        assert.equal((await mark('off')).length, 0, 'maxDays 0: no request log');
        const bad = await expectError(su.settings.update({ logs: { maxDays: -1 } }), 400, 'bad');
        assert.equal(bad.data.logs.maxDays.code, 'validation_min_greater_equal_than_required');
        await su.settings.update({ logs: { maxDays: 5, logIP: true } });
        assert.equal((await mark('back')).length, 1);
    });

    test('SMTP and the app name apply at once; the password is kept, never shown', async () => {
        const s = await su.settings.update({
            meta: { appName: 'Settings Co', senderName: 'Settings Co', senderAddress: 'noreply@settings.test' },
            smtp: { enabled: true, host: '127.0.0.1', port: sink.port, password: 'hunter2' },
        });
        assert.equal(s.smtp.host, '127.0.0.1');
        assert.ok(!('password' in s.smtp));
        await su.settings.testEmail('_superusers', 'someone@example.com', 'verification');
        const mail = await waitForMail(sink, 'someone@example.com', /(Settings Co[\s\S]*)/);
        assert.ok(mail);
        const form = await expectError(su.settings.testEmail('users', 'not-an-email', 'nope'), 400, 'form');
        assert.equal(form.data.email.code, 'validation_is_email');
        assert.equal(form.data.template.code, 'validation_in_invalid');
    });

    test('the stored settings survive a restart', async () => {
        await su.settings.update({ meta: { appName: 'Restarted' }, batch: { maxRequests: 9 } });
        await srv.stop();
        srv = await startServer({ dir, flags: ['--app-url=http://app.test', '--logs-max-days=3'] });
        su = await superuserClient(srv.url);
        const s = await su.settings.getAll();
        assert.equal(s.meta.appName, 'Restarted');
        assert.equal(s.batch.maxRequests, 9);
        assert.equal(s.smtp.port, sink.port);
        assert.equal(s.logs.maxDays, 3);
        // --batch-timeout is gone: its value is no longer locked.
        assert.deepEqual(s.locked.sort(), ['logs.maxDays', 'meta.appURL']);
        await su.settings.update({ batch: { timeout: 4 } });
        const locked = await expectError(su.settings.update({ logs: { maxDays: 4 } }), 400, 'locked');
        assert.equal(locked.data.logs.maxDays.code, 'validation_locked');
    });
});
