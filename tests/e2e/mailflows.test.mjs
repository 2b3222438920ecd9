// The mail flows (issue: auth) through the official SDK and a real SMTP sink:
// email verification, password reset, email change and OTP login, each
// followed from the link, token or code in the mail that arrived.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { startSmtpSink, waitForMail, waitForMailTo } from './lib/smtp.mjs';
import { client, superuserClient, makeUser, expectError } from './lib/util.mjs';

// The token at the end of the link to the dashboard's page for it.
const TOKEN_RE = /\/_\/#\/auth\/confirm-[a-z-]+\/([A-Za-z0-9._-]+)/;

describe('mail flows', () => {
    let srv;
    let sink;
    let su;

    before(async () => {
        sink = await startSmtpSink();
        srv = await startServer({ flags: [`--smtp-host=127.0.0.1`, `--smtp-port=${sink.port}`,
            '--smtp-sender=app@example.com', '--app-name=Tarmac Test'] });
        su = await superuserClient(srv.url);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        if (sink) await sink.stop();
    });

    test('verification: the token from the mail verifies the account', async () => {
        const u = await makeUser(su, srv.url, { name: 'Vera' });
        const pb = client(srv.url);
        assert.equal(await pb.collection('users').requestVerification(u.email), true);
        const token = await waitForMail(sink, u.email, TOKEN_RE);
        assert.equal(await pb.collection('users').confirmVerification(token), true);
        const rec = await su.collection('users').getOne(u.record.id);
        assert.equal(rec.verified, true);
        // A verification token is no auth token.
        const probe = client(srv.url);
        probe.authStore.save(token, null);
        const list = await probe.collection('users').getList(1, 10);
        assert.equal(list.totalItems, 0);
    });

    test('verification request for an unknown email answers the same', async () => {
        const pb = client(srv.url);
        assert.equal(await pb.collection('users').requestVerification('nobody-here@example.com'), true);
    });

    test('a bad token is refused with data.token', async () => {
        const pb = client(srv.url);
        const e = await expectError(pb.collection('users').confirmVerification('not.a.token'), 400);
        assert.ok(e.data.token, JSON.stringify(e));
    });

    test('password reset: the token sets a new password; old tokens die', async () => {
        const u = await makeUser(su, srv.url, { name: 'Rita' });
        const oldToken = u.pb.authStore.token;
        const pb = client(srv.url);
        assert.equal(await pb.collection('users').requestPasswordReset(u.email), true);
        const token = await waitForMail(sink, u.email, TOKEN_RE);
        await expectError(pb.collection('users').confirmPasswordReset(token, 'newpass1234', 'different1'), 400);
        assert.equal(await pb.collection('users').confirmPasswordReset(token, 'newpass1234', 'newpass1234'), true);
        const auth = await client(srv.url).collection('users').authWithPassword(u.email, 'newpass1234');
        assert.ok(auth.token);
        await expectError(client(srv.url).collection('users').authWithPassword(u.email, u.password), 400);
        const stale = client(srv.url);
        stale.authStore.save(oldToken, null);
        await expectError(stale.collection('users').authRefresh(), 401);
        // The reset token worked once: the password change rotated its key.
        await expectError(pb.collection('users').confirmPasswordReset(token, 'again12345', 'again12345'), 400);
    });

    test('email change: confirmed with the password, to the new address', async () => {
        const u = await makeUser(su, srv.url, { name: 'Emil' });
        const newEmail = `changed-${Date.now()}@example.com`;
        assert.equal(await u.pb.collection('users').requestEmailChange(newEmail), true);
        const token = await waitForMail(sink, newEmail, TOKEN_RE);
        const pb = client(srv.url);
        const e = await expectError(pb.collection('users').confirmEmailChange(token, 'wrong-password'), 400);
        assert.ok(e.data.password, JSON.stringify(e));
        assert.equal(await pb.collection('users').confirmEmailChange(token, u.password), true);
        const auth = await client(srv.url).collection('users').authWithPassword(newEmail, u.password);
        assert.equal(auth.record.email, newEmail);
        assert.equal(auth.record.verified, true);
    });

    test('email change to a taken address is refused', async () => {
        const a = await makeUser(su, srv.url, { name: 'A' });
        const b = await makeUser(su, srv.url, { name: 'B' });
        const e = await expectError(a.pb.collection('users').requestEmailChange(b.email), 400);
        assert.ok(e.data.newEmail, JSON.stringify(e));
    });

    test('OTP: disabled by default, then a mailed code logs in once', async () => {
        const u = await makeUser(su, srv.url, { name: 'Otto' });
        const pb = client(srv.url);
        await expectError(pb.collection('users').requestOTP(u.email), 403);
        await su.collections.update('users', { otp: { enabled: true, duration: 120, length: 6 } });
        const methods = await pb.collection('users').listAuthMethods();
        assert.equal(methods.otp.enabled, true);
        const { otpId } = await pb.collection('users').requestOTP(u.email);
        assert.match(otpId, /^[a-z0-9]{15}$/);
        const code = await waitForMail(sink, u.email, /one-time password is: (\d+)/);
        assert.equal(code.length, 6);
        let e = await expectError(pb.collection('users').authWithOTP(otpId, '000000' === code ? '111111' : '000000'), 400);
        assert.equal(e.message, 'Invalid or expired OTP.');
        const auth = await pb.collection('users').authWithOTP(otpId, code);
        assert.equal(auth.record.id, u.record.id);
        assert.equal(auth.record.verified, true);
        e = await expectError(client(srv.url).collection('users').authWithOTP(otpId, code), 400);
        assert.equal(e.message, 'Invalid or expired OTP.', 'a spent code');
        const ghost = await pb.collection('users').requestOTP('ghost-account@example.com');
        assert.match(ghost.otpId, /^[a-z0-9]{15}$/, 'unknown emails get an otpId too');
    });

    test('authRule: checked after the credentials on password, OTP and refresh: 403', async () => {
        const MSG = "The request doesn't satisfy the collection requirements to authenticate.";
        const u = await makeUser(su, srv.url, { name: 'Rita' });
        const other = await makeUser(su, srv.url, { name: 'Other' });
        await su.collections.update('users', { authRule: "name = 'Rita'", otp: { enabled: true, duration: 120, length: 6 } });
        try {
            const pb = client(srv.url);
            let e = await expectError(pb.collection('users').authWithPassword(other.email, other.password), 403);
            assert.equal(e.message, MSG);
            // Wrong credentials stay a 400 that says nothing about the rule.
            e = await expectError(pb.collection('users').authWithPassword(other.email, 'wrong-password'), 400);
            assert.equal(e.message, 'Failed to authenticate.');
            assert.equal((await pb.collection('users').authWithPassword(u.email, u.password)).record.id, u.record.id);
            // OTP: a valid code for a record the rule refuses.
            const { otpId } = await pb.collection('users').requestOTP(other.email);
            const code = await waitForMail(sink, other.email, /one-time password is: (\d+)/);
            e = await expectError(client(srv.url).collection('users').authWithOTP(otpId, code), 403);
            assert.equal(e.message, MSG);
            // Refresh: the token is valid, the record no longer satisfies the rule.
            e = await expectError(other.pb.collection('users').authRefresh(), 403);
            assert.equal(e.message, MSG);
            await u.pb.collection('users').authRefresh();
            // null: nobody can authenticate.
            await su.collections.update('users', { authRule: null });
            e = await expectError(client(srv.url).collection('users').authWithPassword(u.email, u.password), 403);
            assert.equal(e.message, MSG);
        } finally {
            await su.collections.update('users', { authRule: '' });
        }
    });

    test('token options: a new secret revokes that kind of token, durations are honoured, secrets never shown', async () => {
        const payload = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
        const u = await makeUser(su, srv.url, { name: 'Tess' });
        await u.pb.collection('users').authRefresh();
        const oldAuth = u.pb.authStore.token;
        // A pending verification mail, then both secrets rotate.
        const pb = client(srv.url);
        await pb.collection('users').requestVerification(u.email);
        const pending = await waitForMail(sink, u.email, TOKEN_RE);
        try {
            await su.collections.update('users', {
                authToken: { secret: 'a'.repeat(40) },
                verificationToken: { secret: 'b'.repeat(40) },
                passwordResetToken: { duration: 60 },
            });
            const stale = client(srv.url);
            stale.authStore.save(oldAuth, null);
            await expectError(stale.collection('users').authRefresh(), 401);
            const e = await expectError(pb.collection('users').confirmVerification(pending), 400);
            assert.ok(e.data.token, JSON.stringify(e));
            const fresh = await client(srv.url).collection('users').authWithPassword(u.email, u.password);
            assert.ok(fresh.token);
            await pb.collection('users').requestPasswordReset(u.email);
            const reset = await waitForMail(sink, u.email, /confirm-password-reset\/([A-Za-z0-9._-]+)/);
            const claims = payload(reset);
            assert.ok(Math.abs(claims.exp - Date.now() / 1000 - 60) < 5, JSON.stringify(claims));
            const view = await su.collections.getOne('users');
            for (const k of ['authToken', 'passwordResetToken', 'emailChangeToken', 'verificationToken', 'fileToken']) {
                assert.equal(typeof view[k].duration, 'number', k);
                assert.equal(view[k].secret, undefined, `${k}.secret is shown`);
            }
            assert.equal(view.passwordResetToken.duration, 60);
            let bad = await expectError(su.collections.update('users', { authToken: { secret: 'short' } }), 400);
            assert.equal(bad.data.authToken.secret.code, 'validation_length_out_of_range', JSON.stringify(bad));
            bad = await expectError(su.collections.update('users', { fileToken: { duration: 5 } }), 400);
            assert.equal(bad.data.fileToken.duration.code, 'validation_invalid_value', JSON.stringify(bad));
        } finally {
            await su.collections.update('users', { passwordResetToken: { duration: 1800 } });
        }
    });

    test('bad emails are 400 with the field named, on every request-*', async () => {
        const pb = client(srv.url);
        const users = pb.collection('users');
        for (const ask of [(e) => users.requestVerification(e), (e) => users.requestPasswordReset(e),
                           (e) => users.requestOTP(e)]) {
            let e = await expectError(ask(''), 400);
            assert.equal(e.data.email.code, 'validation_required', JSON.stringify(e));
            // look-alikes of a real address: invisible characters, surrounding whitespace
            for (const bad of ['nope', 'a@b', 'two@at@example.com', 'sp ace@example.com',
                'a@example.com\u200b', '\u00ada@example.com', 'a@example.com\ufeff',
                'a\u2060@example.com', ' a@example.com', 'a@example.com\t', 'a@example.com\u3000']) {
                e = await expectError(ask(bad), 400);
                assert.equal(e.data.email.code, 'validation_is_email', `${bad}: ${JSON.stringify(e)}`);
            }
        }
    });

    test('templates: each flow mails its collection template, values escaped, HTML with a text part', async () => {
        const saved = await su.collections.getOne('users');
        // The defaults link to the dashboard's pages, with PocketBase's placeholders.
        assert.match(saved.verificationTemplate.body, /\{APP_URL\}\/_\/#\/auth\/confirm-verification\/\{TOKEN\}/);
        assert.match(saved.resetPasswordTemplate.body, /\{APP_URL\}\/_\/#\/auth\/confirm-password-reset\/\{TOKEN\}/);
        assert.match(saved.confirmEmailChangeTemplate.body, /\{APP_URL\}\/_\/#\/auth\/confirm-email-change\/\{TOKEN\}/);
        assert.match(saved.otp.emailTemplate.body, /\{OTP\}/);
        const tpl = (what) => ({
            subject: `${what} for {RECORD:name} at {APP_NAME}`,
            body: `<p>Hi {RECORD:name} ({RECORD:email})</p><p><a href="https://app.example/${what}?t={TOKEN}&amp;x=1">Open</a></p>`,
        });
        await su.collections.update('users', {
            verificationTemplate: tpl('verify'),
            resetPasswordTemplate: tpl('reset'),
            confirmEmailChangeTemplate: tpl('change'),
            otp: { enabled: true, emailTemplate: { subject: 'Code for {RECORD:name}', body: '<p>Code: <b>{OTP}</b> ({OTP_ID})</p>' } },
        });
        try {
            const view = await su.collections.getOne('users');
            assert.deepEqual(view.verificationTemplate, tpl('verify'));
            const u = await makeUser(su, srv.url, { name: '<i>Ann</i> & {TOKEN}' });
            const pb = client(srv.url);
            const TOK = (what) => new RegExp(`app\\.example/${what}\\?t=([A-Za-z0-9._-]+)&amp;x=1`);

            await pb.collection('users').requestVerification(u.email);
            let m = await waitForMailTo(sink, u.email, TOK('verify'));
            assert.equal(m.subject, 'verify for <i>Ann</i> & {TOKEN} at Tarmac Test');
            assert.ok(m.text.includes(`Hi &lt;i&gt;Ann&lt;/i&gt; &amp; {TOKEN} (${u.email})`), m.text);
            assert.match(m.raw, /Content-Type: text\/html/i);
            assert.match(m.raw, /Content-Type: text\/plain/i);
            assert.match(m.text, /Open \(https:\/\/app\.example\/verify\?t=[A-Za-z0-9._-]+&x=1\)/, 'the text part names the link');
            assert.equal(await pb.collection('users').confirmVerification(m.text.match(TOK('verify'))[1]), true);

            await pb.collection('users').requestPasswordReset(u.email);
            m = await waitForMailTo(sink, u.email, TOK('reset'));
            assert.equal(m.subject, 'reset for <i>Ann</i> & {TOKEN} at Tarmac Test');
            assert.equal(await pb.collection('users').confirmPasswordReset(m.text.match(TOK('reset'))[1], 'templated1', 'templated1'), true);

            const signedIn = client(srv.url);
            await signedIn.collection('users').authWithPassword(u.email, 'templated1');
            const newEmail = `tpl-${Date.now()}@example.com`;
            await signedIn.collection('users').requestEmailChange(newEmail);
            m = await waitForMailTo(sink, newEmail, TOK('change'));
            assert.ok(m.text.includes(`(${u.email})`), '{RECORD:email} is the current address');
            assert.equal(await pb.collection('users').confirmEmailChange(m.text.match(TOK('change'))[1], 'templated1'), true);

            const { otpId } = await pb.collection('users').requestOTP(newEmail);
            m = await waitForMailTo(sink, newEmail, /Code: <b>\d+<\/b>/);
            assert.equal(m.subject, 'Code for <i>Ann</i> & {TOKEN}');
            assert.ok(m.text.includes(`(${otpId})`), '{OTP_ID}');
            const code = m.text.match(/Code: <b>(\d+)<\/b>/)[1];
            assert.equal((await pb.collection('users').authWithOTP(otpId, code)).record.id, u.record.id);

            // Bad templates are refused naming the part; nothing changes.
            let e = await expectError(su.collections.update('users', { verificationTemplate: { subject: 'a\r\nBcc: x@example.com' } }), 400);
            assert.equal(e.data.verificationTemplate.subject.code, 'validation_invalid_value', JSON.stringify(e));
            e = await expectError(su.collections.update('users', { otp: { emailTemplate: { body: '' } } }), 400);
            assert.equal(e.data.otp.emailTemplate.body.code, 'validation_required', JSON.stringify(e));
            e = await expectError(su.collections.update('users', { resetPasswordTemplate: 'plain' }), 400);
            assert.equal(e.data.resetPasswordTemplate.code, 'validation_invalid_value', JSON.stringify(e));
            assert.deepEqual((await su.collections.getOne('users')).verificationTemplate, tpl('verify'));
        } finally {
            await su.collections.update('users', {
                verificationTemplate: saved.verificationTemplate,
                resetPasswordTemplate: saved.resetPasswordTemplate,
                confirmEmailChangeTemplate: saved.confirmEmailChangeTemplate,
                otp: saved.otp,
            });
        }
    });

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
