// Sign-up by phone (issue #17, item 4): request-otp for a number no
// account holds texts a code when the collection's createRule is not null
// (the answer is the same as for a known number, and as for an unknown one
// when sign-up is closed: no text then); auth-with-otp with that code makes
// the account through the records API's create (createData, the createRule
// with @request.context "otp", validation, realtime) and signs in with
// meta.isNew; a refused sign-up is a 400 naming phone; two sign-ups of one
// number at once make one account, with or without a unique index on phone;
// attempts are limited per otpId as for mailed codes. The SMS goes to a fake
// Twilio Messages API.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, makeUser, expectError, assertFieldCode, assertNoLeaks, SLOW, until, clearOfWindowEdge } from './lib/util.mjs';

globalThis.EventSource = EventSource;


describe('sign-up by phone', () => {
    let srv, su, fake;
    const texts = [];
    let next = 0;

    before(async () => {
        fake = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
                texts.push(form);
                res.writeHead(201, { 'Content-Type': 'application/json' });
                res.end(JSON.stringify({ sid: `SM${texts.length}`, status: 'queued' }));
            });
        });
        await new Promise((r) => fake.listen(0, '127.0.0.1', r));
        srv = await startServer({ flags: ['--rate-limits=auth-identity=3/60s'] });
        su = await superuserClient(srv.url);
        await su.settings.update({ sms: { provider: 'twilio', twilio: { accountSid: 'AC1', authToken: 't',
            from: '+15017122661', apiURL: `http://127.0.0.1:${fake.address().port}` } } });
        const users = await su.collections.getOne('users');
        const fields = users.fields.map((f) => (f.name === 'email' ? { ...f, required: false } : f));
        await su.collections.update('users', { fields: [...fields, { name: 'phone', type: 'text' }],
            otp: { enabled: true, length: 6 } });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
        fake.close();
    });

    const number = () => `+9199${String(10000000 + (next++)).slice(-8)}`;
    const ask = (phone, pb = client(srv.url)) =>
        pb.send('/api/collections/users/request-otp', { method: 'POST', body: { phone } });
    const codeFor = async (phone, nth = 1) => {
        const t = await until(`text ${nth} to ${phone}`, () => texts.filter((x) => x.To === phone)[nth - 1]);
        return /your code is (\d{6})$/.exec(t.Body)[1];
    };
    const signIn = (otpId, password, createData, pb = client(srv.url)) =>
        pb.send('/api/collections/users/auth-with-otp', { method: 'POST',
            body: createData === undefined ? { otpId, password } : { otpId, password, createData } });
    const byPhone = (phone) => su.collection('users').getFullList({ filter: su.filter('phone = {:p}', { p: phone }) });

    test('a new number: a code by SMS, then an account made and signed in (meta.isNew)', async () => {
        const phone = number();
        const events = [];
        await su.collection('users').subscribe('*', (e) => events.push(e));
        try {
            // the SDK's own calls, their body given whole in the options
            const pb = client(srv.url);
            const { otpId } = await pb.collection('users').requestOTP('', { body: { phone } });
            assert.match(otpId, /^[a-z0-9]{15}$/);
            const code = await codeFor(phone);
            const auth = await pb.collection('users').authWithOTP(otpId, code,
                { body: { otpId, password: code, createData: { name: 'Asha' } } });
            assert.equal(auth.meta.isNew, true);
            assert.equal(auth.record.phone, phone);
            assert.equal(auth.record.name, 'Asha');
            assert.equal(auth.record.email, '');
            assert.equal(auth.record.verified, true, 'no email: the proven number is its identity');
            assert.ok(auth.token);
            // the SDK keeps the session; the token is a real one of that account
            assert.equal(pb.authStore.record.id, auth.record.id);
            const me = await pb.collection('users').authRefresh();
            assert.equal(me.record.id, auth.record.id);
            // made by the records API's create: realtime saw it
            const ev = await until('the create event', () => events.find((e) => e.record.id === auth.record.id));
            assert.equal(ev.action, 'create');
            // a code works once
            await expectError(signIn(otpId, code), 400);
            // the number now signs in to that account, without meta
            const again = await ask(phone);
            const second = await signIn(again.otpId, await codeFor(phone, 2));
            assert.equal(second.record.id, auth.record.id);
            assert.equal(second.meta, undefined);
            assert.equal((await byPhone(phone)).length, 1);
        } finally {
            await su.collection('users').unsubscribe('*');
        }
    });

    test('createData: an object, validated as a create; a field error keeps the code', async () => {
        const phone = number();
        const { otpId } = await ask(phone);
        const code = await codeFor(phone);
        let e = await expectError(signIn(otpId, code, 'name=x'), 400);
        assertFieldCode(e, 'createData', 'validation_invalid_value');
        e = await expectError(signIn(otpId, code, { email: 'not-an-email' }), 400);
        assertFieldCode(e, 'email', 'validation_is_email');
        assert.equal((await byPhone(phone)).length, 0);
        // the code still works; createData cannot claim verified, nor another number
        const auth = await signIn(otpId, code, { email: `${phone.slice(1)}@example.com`, verified: true,
            phone: '+15550000000', password: 'chosen-pass-1', passwordConfirm: 'chosen-pass-1' });
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.record.phone, phone);
        assert.equal(auth.record.verified, false, 'an email given at sign-up is not proven');
        // createData's password is the account's
        const pw = await client(srv.url).collection('users').authWithPassword(`${phone.slice(1)}@example.com`, 'chosen-pass-1');
        assert.equal(pw.record.id, auth.record.id);
    });

    test('the createRule is judged with the new record and @request.context "otp"', async () => {
        await su.collections.update('users', { createRule: "@request.context = 'otp' && name = 'vip'" });
        try {
            // the records API itself no longer creates (its context is "default")
            await expectError(client(srv.url).collection('users').create({ name: 'vip', email: 'a@example.com',
                password: 'userpass123', passwordConfirm: 'userpass123' }), 400);
            const phone = number();
            let { otpId } = await ask(phone);
            const e = await expectError(signIn(otpId, await codeFor(phone), { name: 'nobody' }), 400);
            assertFieldCode(e, 'phone', 'validation_signup_not_allowed');
            assert.equal((await byPhone(phone)).length, 0);
            // the refused create spent the code
            await expectError(signIn(otpId, await codeFor(phone), { name: 'vip' }), 400);
            ({ otpId } = await ask(phone));
            const auth = await signIn(otpId, await codeFor(phone, 2), { name: 'vip' });
            assert.equal(auth.meta.isNew, true);
            assert.equal(auth.record.name, 'vip');
        } finally {
            await su.collections.update('users', { createRule: '' });
        }
    });

    test('sign-up closed (createRule null): the same answer and no text; a known number still gets one', async () => {
        const known = number();
        const user = await makeUser(su, srv.url, { phone: known });
        await su.collections.update('users', { createRule: null });
        try {
            const phone = number();
            const before = texts.length;
            const unknown = await ask(phone);
            const ok = await ask(known);
            assert.deepEqual(Object.keys(unknown), Object.keys(ok));
            assert.match(unknown.otpId, /^[a-z0-9]{15}$/);
            const auth = await signIn(ok.otpId, await codeFor(known));
            assert.equal(auth.record.id, user.record.id);
            await new Promise((r) => setTimeout(r, 300 * SLOW));
            assert.equal(texts.length, before + 1, 'only the known number was texted');
            assert.equal(texts.at(-1).To, known);
            await expectError(signIn(unknown.otpId, '000000'), 400);
        } finally {
            await su.collections.update('users', { createRule: '' });
        }
    });

    test('a sign-up code whose createRule became null since: 400 naming phone', async () => {
        const phone = number();
        const { otpId } = await ask(phone);
        const code = await codeFor(phone);
        await su.collections.update('users', { createRule: null });
        try {
            const e = await expectError(signIn(otpId, code), 400);
            assertFieldCode(e, 'phone', 'validation_signup_not_allowed');
        } finally {
            await su.collections.update('users', { createRule: '' });
        }
        // refused before the write: the code is still good
        assert.equal((await signIn(otpId, code)).meta.isNew, true);
    });

    test('a number that got an account after the code was sent signs in to it', async () => {
        const phone = number();
        const { otpId } = await ask(phone);
        const code = await codeFor(phone);
        const user = await makeUser(su, srv.url, { phone });
        const auth = await signIn(otpId, code, { name: 'late' });
        assert.equal(auth.record.id, user.record.id);
        assert.equal(auth.meta.isNew, false);
        assert.equal((await byPhone(phone)).length, 1);
    });

    const race = async () => {
        const phone = number();
        // Each code before the next request: the texts are sent by job
        // runners, which behind a balancer (TARMAC_E2E_CLUSTER) are on
        // several instances and need not send them in the requests' order.
        const a = await ask(phone);
        const ca = await codeFor(phone, 1);
        const b = await ask(phone);
        const cb = await codeFor(phone, 2);
        const got = await Promise.all([signIn(a.otpId, ca, { name: 'a' }), signIn(b.otpId, cb, { name: 'b' })]);
        assert.equal(got[0].record.id, got[1].record.id, 'both signed in to one account');
        assert.deepEqual(got.map((x) => x.meta.isNew).sort(), [false, true]);
        assert.equal((await byPhone(phone)).length, 1);
    };

    test('two sign-ups of one number at once make one account (no unique index)', async () => {
        for (let i = 0; i < 3; i++) await race();
    });

    test('... and with a unique index on phone', async () => {
        const users = await su.collections.getOne('users');
        await su.collections.update('users', {
            indexes: [...users.indexes, "CREATE UNIQUE INDEX idx_users_phone ON users (phone) WHERE phone != ''"] });
        for (let i = 0; i < 3; i++) await race();
    });

    test('wrong codes: no account; attempts limited per otpId (429)', async () => {
        await clearOfWindowEdge(); // auth-identity counts per minute of the clock
        const phone = number();
        const { otpId } = await ask(phone);
        await codeFor(phone);
        for (let i = 0; i < 3; i++) {
            const e = await expectError(signIn(otpId, 'x1x2x3'), 400);
            assert.match(e.message, /^Invalid or expired OTP/);
        }
        await expectError(signIn(otpId, await codeFor(phone)), 429);
        assert.equal((await byPhone(phone)).length, 0);
    });

    test('no leaks', () => assertNoLeaks());
});
