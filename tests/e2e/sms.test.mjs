// SMS (issue #17, item 3) through the job queue and POST /api/notify: the
// `sms` kind against fakes of Twilio's Messages API (HTTP Basic with the
// account SID and auth token, a form body; 21211 for a number it refuses),
// MSG91's Flow API (the authkey header, the text in a template variable,
// errors as 200 with "type": "error") and a generic gateway (header lines,
// a body template with {{to}} and {{text}} escaped as JSON); numbers checked
// as E.164 at enqueue; the notify channel texts users' phone field.
// Delivery reports: with sms.twilio.statusCallback set, the fake Twilio
// calls that URL back once per status as Twilio does, signed as Twilio's
// webhook security page says (X-Twilio-Signature: base64 HMAC-SHA1 of the
// URL and the sorted form parameters, keyed by the auth token, computed
// here), and the inbound webhook of scheme twilio stores each report; a bad
// signature is 401, a replay 409.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, makeUser, expectError, SLOW, until } from './lib/util.mjs';


// Twilio's webhook signature (twilio.com/docs/usage/webhooks/webhooks-security):
// the full URL it calls, then each POST parameter's name and value, sorted
// by name, HMAC-SHA1 with the auth token, base64.
function twilioSignature(token, url, params) {
    const text = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
    return createHmac('sha1', token).update(text).digest('base64');
}

async function postForm(url, params, signature) {
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (signature) headers['X-Twilio-Signature'] = signature;
    const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    return { status: res.status, body: await res.json().catch(() => null) };
}

describe('sms', () => {
    let srv, su, fake, base;
    const twilio = [];
    const reports = []; // what our webhook answered to the fake's status callbacks
    const msg91 = [];
    const gateway = [];

    before(async () => {
        fake = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const body = Buffer.concat(chunks).toString();
                const json = (status, o) => {
                    res.writeHead(status, { 'Content-Type': 'application/json' });
                    res.end(JSON.stringify(o));
                };
                if (req.url === '/2010-04-01/Accounts/AC123/Messages.json') {
                    const auth = Buffer.from('AC123:secret-token').toString('base64');
                    if (req.headers.authorization !== `Basic ${auth}`) {
                        return json(401, { code: 20003, message: 'Authenticate', status: 401 });
                    }
                    const form = Object.fromEntries(new URLSearchParams(body));
                    if (form.To === '+15005550001') {
                        return json(400, { code: 21211, message: `The 'To' number ${form.To} is not a valid phone number.`, status: 400 });
                    }
                    twilio.push(form);
                    const sid = `SM${twilio.length}`;
                    json(201, { sid, status: 'queued' });
                    if (form.StatusCallback) {
                        // one callback per status, as Twilio sends them
                        (async () => {
                            for (const MessageStatus of ['sent', 'delivered']) {
                                const params = { AccountSid: 'AC123', ApiVersion: '2010-04-01', From: form.From,
                                    MessageSid: sid, MessageStatus, SmsSid: sid, SmsStatus: MessageStatus, To: form.To };
                                const sig = twilioSignature('secret-token', form.StatusCallback, params);
                                reports.push({ params, sig, ...(await postForm(form.StatusCallback, params, sig)) });
                            }
                        })();
                    }
                    return;
                }
                if (req.url === '/api/v5/flow/') {
                    if (req.headers.authkey !== 'msg91-key') return json(401, { type: 'error', message: 'Unauthorized' });
                    const b = JSON.parse(body);
                    if (b.recipients[0].mobiles.endsWith('999')) return json(200, { type: 'error', message: 'Invalid mobile number' });
                    msg91.push(b);
                    return json(200, { type: 'success', message: '5762846b4f8d285d378b4567' });
                }
                if (req.url === '/send') {
                    gateway.push({ headers: req.headers, body: JSON.parse(body) });
                    return json(202, { ok: true });
                }
                res.writeHead(404).end();
            });
        });
        await new Promise((r) => fake.listen(0, '127.0.0.1', r));
        base = `http://127.0.0.1:${fake.address().port}`;
        srv = await startServer({});
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
        fake.close();
    });

    const jobOf = (id) => su.send(`/api/jobs/${id}`);
    const finished = (id) => until(`job ${id}`, async () => {
        const j = await jobOf(id);
        return ['done', 'dead'].includes(j.status) && j;
    });

    test('the settings: a known provider with what it needs; secrets never shown', async () => {
        let e = await expectError(su.settings.update({ sms: { provider: 'carrier-pigeon' } }), 400);
        assert.equal(e.data.sms.provider.code, 'validation_in_invalid');
        e = await expectError(su.settings.update({ sms: { provider: 'twilio' } }), 400);
        assert.equal(e.data.sms.twilio.accountSid.code, 'validation_required');
        assert.equal(e.data.sms.twilio.authToken.code, 'validation_required');
        const s = await su.settings.update({ sms: { provider: 'twilio',
            twilio: { accountSid: 'AC123', authToken: 'secret-token', from: '+15017122661', apiURL: base } } });
        assert.equal(s.sms.twilio.authToken, undefined);
        assert.equal(s.sms.twilio.accountSid, 'AC123');
    });

    test('Twilio: sent with Basic auth; a refused number is dead with its message', async () => {
        const j = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+919876543210', text: 'Your OTP is 482913 & more' } } });
        assert.equal((await finished(j.id)).status, 'done');
        assert.deepEqual(twilio.at(-1), { To: '+919876543210', From: '+15017122661', Body: 'Your OTP is 482913 & more' });
        const bad = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+15005550001', text: 'x' } } });
        const done = await finished(bad.id);
        assert.equal(done.status, 'dead');
        assert.match(done.lastError, /not a valid phone number/);
        // Not E.164: refused at enqueue.
        for (const to of ['9876543210', '+0123456789', '+1 555 0100', '+12']) {
            const e = await expectError(su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to, text: 'x' } } }), 400);
            assert.match(e.data.payload.message, /E\.164/);
        }
    });

    test('notify texts the users with a phone', async () => {
        const users = await su.collections.getOne('users');
        await su.collections.update('users', { fields: [...users.fields, { name: 'phone', type: 'text' }] });
        const a = await makeUser(su, srv.url, { phone: '+919812345678' });
        const b = await makeUser(su, srv.url);
        const j = await su.send('/api/notify', { method: 'POST', body: {
            users: [a.record.id, b.record.id], title: 'EMI due tomorrow', body: 'Rs 4,999', channels: ['sms'] } });
        assert.equal((await finished(j.id)).status, 'done');
        const sent = await until('the text', () => twilio.find((t) => t.To === '+919812345678'));
        assert.equal(sent.Body, 'EMI due tomorrow\nRs 4,999');
        assert.equal(twilio.filter((t) => t.Body.startsWith('EMI')).length, 1, 'the user without a phone is skipped');
    });

    test('MSG91: the text in the flow variable; an error answer is dead', async () => {
        await su.settings.update({ sms: { provider: 'msg91',
            msg91: { authKey: 'msg91-key', flowId: 'flow-1', sender: 'TARMAC', textVar: 'otp', apiURL: base } } });
        const j = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+919876543210', text: '482913' } } });
        assert.equal((await finished(j.id)).status, 'done');
        assert.deepEqual(msg91.at(-1), { flow_id: 'flow-1', sender: 'TARMAC', recipients: [{ mobiles: '919876543210', otp: '482913' }] });
        const bad = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+919876543999', text: 'x' } } });
        const done = await finished(bad.id);
        assert.equal(done.status, 'dead');
        assert.match(done.lastError, /Invalid mobile number/);
    });

    test('a generic gateway: header lines and a JSON body template', async () => {
        const e = await expectError(su.settings.update({ sms: { provider: 'http', http: { url: `${base}/send`, body: '{}', headers: ['no colon'] } } }), 400);
        assert.equal(e.data.sms.http.headers['0'].code, 'validation_invalid_header');
        const s = await su.settings.update({ sms: { provider: 'http', http: { url: `${base}/send`,
            headers: ['X-Api-Key: k-123'], body: '{"to":"{{to}}","message":"{{text}}","from":"shop"}' } } });
        assert.equal(s.sms.http.headers, undefined, 'the header lines (they carry keys) are never shown');
        const text = 'Say "hi"\nand \\ bye';
        const j = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+447700900123', text } } });
        assert.equal((await finished(j.id)).status, 'done');
        const got = gateway.at(-1);
        assert.equal(got.headers['x-api-key'], 'k-123');
        assert.equal(got.headers['content-type'], 'application/json');
        assert.deepEqual(got.body, { to: '+447700900123', message: text, from: 'shop' });
        // No provider: dead, with that reason.
        await su.settings.update({ sms: { provider: '' } });
        const none = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+447700900123', text: 'x' } } });
        assert.match((await finished(none.id)).lastError, /no SMS provider/);
    });

    test('phone login: request-otp with a phone texts the code; auth-with-otp signs in', async () => {
        await su.settings.update({ sms: { provider: 'twilio' } }); // its options are still stored
        await su.collections.update('users', { otp: { enabled: true, length: 6 } });
        const a = await makeUser(su, srv.url, { phone: '+919811111111' });
        const guest = client(srv.url);
        const ask = (body) => guest.send('/api/collections/users/request-otp', { method: 'POST', body });
        const { otpId } = await ask({ phone: '+919811111111' });
        const text = await until('the code by SMS', () => twilio.find((t) => t.To === '+919811111111'))
            .catch(async (e) => {
                const jobs = await su.send('/api/jobs', { query: { kind: 'sms', perPage: 100 } });
                throw new Error(`${e.message}: ${JSON.stringify(jobs.items.map((j) => [j.status, j.lastError, j.payload.to]))}`);
            });
        const code = /your code is (\d{6})$/.exec(text.Body)?.[1];
        assert.ok(code, text.Body);
        const auth = await guest.collection('users').authWithOTP(otpId, code);
        assert.equal(auth.record.id, a.record.id);
        await expectError(client(srv.url).collection('users').authWithOTP(otpId, code), 400);
        // An unknown number gets an otpId too, and no text when the
        // collection lets no one sign up (phone_signup.test.mjs: when it does).
        await su.collections.update('users', { createRule: null });
        const before = twilio.length;
        const unknown = await ask({ phone: '+919800000000' });
        assert.match(unknown.otpId, /^[a-z0-9]{15}$/);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(twilio.length, before);
        await su.collections.update('users', { createRule: '' });
        const e = await expectError(ask({ phone: '98111 11111' }), 400);
        assert.equal(e.data.phone.code, 'validation_invalid_phone');
    });

    test('delivery reports: Twilio status callbacks through an inbound webhook of scheme twilio', async () => {
        let e = await expectError(su.settings.update({ sms: { twilio: { statusCallback: 'not a url' } } }), 400);
        assert.equal(e.data.sms.twilio.statusCallback.code, 'validation_is_url');
        await su.collections.create({ name: 'sms_reports', type: 'base', fields: [
            { name: 'payload', type: 'json' }, { name: 'eventId', type: 'text' }, { name: 'source', type: 'text' }],
        indexes: ['CREATE UNIQUE INDEX idx_sms_reports_event ON sms_reports (eventId)'] });
        await su.collection('_inboundWebhooks').create({ name: 'twilio-dlr', scheme: 'twilio',
            secret: 'secret-token', collection: 'sms_reports', active: true });
        // the public URL Twilio calls: appURL (here the server itself) + path + query
        const callback = `${srv.url}/api/webhooks/twilio-dlr?via=sms`;
        await su.settings.update({ meta: { appURL: `${srv.url}/` }, sms: { provider: 'twilio', twilio: { statusCallback: callback } } });
        const j = await su.send('/api/jobs', { method: 'POST', body: { kind: 'sms', payload: { to: '+919876500001', text: 'Your order shipped' } } });
        assert.equal((await finished(j.id)).status, 'done');
        const sent = twilio.at(-1);
        assert.equal(sent.StatusCallback, callback);
        await until('two reports', () => reports.length >= 2);
        assert.deepEqual(reports.map((r) => r.status), [200, 200], JSON.stringify(reports.map((r) => r.body)));
        const stored = await su.collection('sms_reports').getFullList();
        const sid = reports[0].params.MessageSid;
        assert.deepEqual(stored.map((r) => r.eventId).sort(), [`${sid}:delivered`, `${sid}:sent`]);
        const delivered = stored.find((r) => r.eventId.endsWith(':delivered'));
        assert.equal(delivered.source, 'twilio-dlr');
        assert.deepEqual(delivered.payload, reports[1].params, 'the form as an object');
        // a replay of a report already stored: 409, nothing stored
        const again = await postForm(callback, reports[1].params, reports[1].sig);
        assert.equal(again.status, 409);
        // a bad signature, a changed parameter, another URL, none: 401
        const params = { ...reports[1].params, MessageSid: 'SM999', MessageStatus: 'failed', ErrorCode: '30007' };
        const good = twilioSignature('secret-token', callback, params);
        assert.equal((await postForm(callback, params, twilioSignature('wrong-token', callback, params))).status, 401);
        assert.equal((await postForm(callback, { ...params, ErrorCode: '0' }, good)).status, 401);
        assert.equal((await postForm(`${srv.url}/api/webhooks/twilio-dlr`, params, good)).status, 401);
        assert.equal((await postForm(callback, params, null)).status, 401);
        assert.equal((await su.collection('sms_reports').getFullList()).length, 2);
        // the same report signed right is stored
        const ok = await postForm(callback, params, good);
        assert.equal(ok.status, 200);
        assert.equal(ok.body.eventId, 'SM999:failed');
        assert.equal(ok.body.payload.ErrorCode, '30007');
        // an appURL that is not the URL Twilio called (a proxy in front): 401
        await su.settings.update({ meta: { appURL: 'https://api.example.com' } });
        const late = { ...params, MessageStatus: 'undelivered' };
        assert.equal((await postForm(callback, late, twilioSignature('secret-token', callback, late))).status, 401);
        const behind = 'https://api.example.com/api/webhooks/twilio-dlr?via=sms';
        const proxied = await postForm(callback, late, twilioSignature('secret-token', behind, late));
        assert.equal(proxied.status, 200, 'signed for the public URL, received on the private one');
    });

    test('MSG91 delivery reports (unsigned): the records API with a key in the URL, as the README says', async () => {
        await su.collections.create({ name: 'msg91_reports', type: 'base',
            createRule: "@request.query.key = 'k-5f2a9c'", fields: ['requestId', 'number', 'status', 'desc']
                .map((name) => ({ name, type: 'text' })) });
        // MSG91's webhook v3: one JSON object per report
        const report = { date: '2024-05-22 09:58:16', number: '919876543210', senderId: 'TARMAC',
            requestId: '346a', status: '1', desc: 'DELIVERED', failedReason: '' };
        const post = (q) => fetch(`${srv.url}/api/collections/msg91_reports/records${q}`, { method: 'POST',
            headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(report) });
        assert.equal((await post('')).status, 400);
        assert.equal((await post('?key=wrong')).status, 400);
        const ok = await post('?key=k-5f2a9c');
        assert.equal(ok.status, 200);
        const stored = await su.collection('msg91_reports').getFullList();
        assert.deepEqual(stored.map((r) => [r.requestId, r.desc]), [['346a', 'DELIVERED']]);
    });
});
