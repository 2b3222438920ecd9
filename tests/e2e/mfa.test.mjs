// MFA, the auth system collections and the new-device alert (issue #11), through
// the official SDK and a real SMTP sink: a first factor answers 401 {mfaId}, a
// second, different method sent with it signs in; `_authOrigins` records where an
// account signs in from and a new device gets the collection's authAlert mail.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientResponseError } from 'pocketbase';
import { startServer, SUPERUSER, SLOW, ENGINE } from './lib/server.mjs';
import { startSmtpSink, waitForMail, readMails } from './lib/smtp.mjs';
import { client, superuserClient, expectError, rawFetch, uniq, assertNoLeaks, ID_RE } from './lib/util.mjs';

const CODE_RE = /one-time password is: (\d+)/;
const ALERT_SUBJECT = 'Login from a new location';

/** A first factor: must fail with 401 and the bare {mfaId} body (not the error shape). */
async function expectMfa(promise) {
    try {
        const r = await promise;
        assert.fail(`expected the MFA 401, but signed in: ${JSON.stringify(r).slice(0, 300)}`);
    } catch (err) {
        if (!(err instanceof ClientResponseError)) throw err;
        assert.equal(err.status, 401, JSON.stringify(err.response));
        assert.deepEqual(Object.keys(err.response), ['mfaId'], JSON.stringify(err.response));
        assert.match(err.response.mfaId, ID_RE);
        return err.response.mfaId;
    }
}

/** The mails to `to` whose subject is the alert's. */
function alertsTo(sink, to) {
    return readMails(sink).filter((m) => m.to.includes(to) && m.subject === ALERT_SUBJECT);
}

/** Waits until `to` has `n` alert mails (the queue sends them in order). */
async function waitAlerts(sink, to, n, ms = 15000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        const got = alertsTo(sink, to);
        if (got.length >= n) return got;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${to}: ${alertsTo(sink, to).length} alert mails, want ${n}`);
}

/** Options that make a request look like it comes from another device. */
const device = (name) => ({ headers: { 'User-Agent': `tarmac-e2e/${name}` } });

describe('MFA, auth origins and the new-device alert', () => {
    let srv;
    let sink;
    let su;

    before(async () => {
        sink = await startSmtpSink();
        srv = await startServer({ flags: [`--smtp-host=127.0.0.1`, `--smtp-port=${sink.port}`,
            '--smtp-sender=app@example.com', '--app-name=Tarmac MFA'] });
        su = await superuserClient(srv.url);
        await su.collections.create({
            name: 'staff', type: 'auth', listRule: 'id = @request.auth.id', viewRule: 'id = @request.auth.id',
            fields: [{ name: 'name', type: 'text' }, { name: 'role', type: 'text' }],
            otp: { enabled: true, duration: 300, length: 6 },
            mfa: { enabled: true, duration: 600 },
            authAlert: { enabled: false },
        });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        if (sink) await sink.stop();
    });

    async function staffer(extra = {}) {
        const email = `${uniq('staff')}@example.com`;
        const password = 'staffpass123';
        const record = await su.collection('staff').create({ email, password, passwordConfirm: password, ...extra });
        return { record, email, password };
    }

    /** request-otp + the code from its mail (the newest to that address). */
    async function otpFor(pb, collection, email) {
        const codes = () => readMails(sink).filter((m) => m.to.includes(email) && CODE_RE.test(m.text));
        const seen = new Set(codes().map((m) => m.text));
        const { otpId } = await pb.collection(collection).requestOTP(email);
        const until = Date.now() + 15000;
        for (;;) {
            const fresh = codes().find((m) => !seen.has(m.text));
            if (fresh) return { otpId, code: fresh.text.match(CODE_RE)[1] };
            if (Date.now() > until) throw new Error(`no OTP mail to ${email}`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    test('auth-methods and the collection show the stored mfa and authAlert options', async () => {
        const methods = await client(srv.url).collection('staff').listAuthMethods();
        assert.deepEqual(methods.mfa, { enabled: true, duration: 600 });
        const users = await client(srv.url).collection('users').listAuthMethods();
        assert.deepEqual(users.mfa, { enabled: false, duration: 0 });
        const view = await su.collections.getOne('staff');
        assert.deepEqual(view.mfa, { enabled: true, duration: 600, rule: '' });
        assert.equal(view.authAlert.enabled, false);
        assert.equal(view.authAlert.emailTemplate.subject, ALERT_SUBJECT, 'the default template is kept');
        assert.match(view.authAlert.emailTemplate.body, /\{ALERT_INFO\}/);
        const def = await su.collections.getOne('users');
        assert.equal(def.authAlert.enabled, true, "PocketBase's default");
        assert.deepEqual(def.mfa, { enabled: false, duration: 600, rule: '' });
    });

    test('password, then 401 {mfaId}, then OTP with mfaId: signed in, the session spent', async () => {
        const s = await staffer();
        const pb = client(srv.url);
        const mfaId = await expectMfa(pb.collection('staff').authWithPassword(s.email, s.password));
        assert.equal(pb.authStore.isValid, false);
        const row = await su.collection('_mfas').getOne(mfaId);
        assert.equal(row.recordRef, s.record.id);
        assert.equal(row.method, 'password');
        const { otpId, code } = await otpFor(pb, 'staff', s.email);
        const auth = await pb.collection('staff').authWithOTP(otpId, code, { mfaId });
        assert.equal(auth.record.id, s.record.id);
        assert.ok(pb.authStore.isValid);
        await expectError(su.collection('_mfas').getOne(mfaId), 404);
        // The session worked once.
        const again = await otpFor(pb, 'staff', s.email);
        const e = await expectError(client(srv.url).collection('staff').authWithOTP(again.otpId, again.code, { mfaId }), 400);
        assert.equal(e.message, 'Invalid or expired MFA session.');
    });

    test('OTP first, then password with mfaId (in the body too)', async () => {
        const s = await staffer();
        const pb = client(srv.url);
        const first = await otpFor(pb, 'staff', s.email);
        const mfaId = await expectMfa(pb.collection('staff').authWithOTP(first.otpId, first.code));
        const auth = await pb.collection('staff').authWithPassword(s.email, s.password, { mfaId });
        assert.equal(auth.record.id, s.record.id);
        // mfaId in the JSON body, as PocketBase also reads it.
        const second = await otpFor(client(srv.url), 'staff', s.email);
        const r1 = await rawFetch(`${srv.url}/api/collections/staff/auth-with-otp`,
            { method: 'POST', json: { otpId: second.otpId, password: second.code } });
        assert.equal(r1.status, 401, r1.text);
        const r2 = await rawFetch(`${srv.url}/api/collections/staff/auth-with-password`,
            { method: 'POST', json: { identity: s.email, password: s.password, mfaId: r1.body.mfaId } });
        assert.equal(r2.status, 200, r2.text);
        assert.equal(r2.body.record.id, s.record.id);
    });

    test('the same method twice, an unknown, foreign or malformed mfaId: 400', async () => {
        const s = await staffer();
        const other = await staffer();
        const pb = client(srv.url);
        const mfaId = await expectMfa(pb.collection('staff').authWithPassword(s.email, s.password));
        let e = await expectError(pb.collection('staff').authWithPassword(s.email, s.password, { mfaId }), 400);
        assert.equal(e.message, 'A different authentication method is required.');
        e = await expectError(pb.collection('staff').authWithPassword(other.email, other.password, { mfaId }), 400);
        assert.equal(e.message, 'Invalid MFA session.');
        e = await expectError(pb.collection('staff').authWithPassword(s.email, s.password, { mfaId: 'nosuchsession00' }), 400);
        assert.equal(e.message, 'Invalid or expired MFA session.');
        e = await expectError(pb.collection('staff').authWithPassword(s.email, s.password, { mfaId: 'x'.repeat(5000) }), 400);
        assert.equal(e.message, 'Invalid or expired MFA session.');
        const r = await rawFetch(`${srv.url}/api/collections/staff/auth-with-password`,
            { method: 'POST', json: { identity: s.email, password: s.password, mfaId: 42 } });
        assert.equal(r.status, 400, r.text);
        // A wrong password with a valid session is still the credentials' 400.
        e = await expectError(pb.collection('staff').authWithPassword(s.email, 'wrong-pass', { mfaId }), 400);
        assert.equal(e.message, 'Failed to authenticate.');
        // The refused attempts left the session usable.
        const { otpId, code } = await otpFor(pb, 'staff', s.email);
        assert.equal((await pb.collection('staff').authWithOTP(otpId, code, { mfaId })).record.id, s.record.id);
        // Refresh and impersonation skip MFA.
        assert.ok((await pb.collection('staff').authRefresh()).token);
        const imp = await su.collection('staff').impersonate(s.record.id, 60);
        assert.ok(imp.authStore.isValid);
    });

    test('an mfaId past mfa.duration is refused and deleted', async () => {
        const s = await staffer();
        await su.collections.update('staff', { mfa: { duration: 10 } });
        try {
            const pb = client(srv.url);
            const mfaId = await expectMfa(pb.collection('staff').authWithPassword(s.email, s.password));
            const { otpId, code } = await otpFor(pb, 'staff', s.email);
            await new Promise((r) => setTimeout(r, 11000));
            const e = await expectError(pb.collection('staff').authWithOTP(otpId, code, { mfaId }), 400);
            assert.equal(e.message, 'Invalid or expired MFA session.');
            await expectError(su.collection('_mfas').getOne(mfaId), 404);
        } finally {
            await su.collections.update('staff', { mfa: { duration: 600 } });
        }
    });

    test('mfa.rule: only the records it matches need a second factor', async () => {
        const admin = await staffer({ role: 'admin' });
        const clerk = await staffer({ role: 'clerk' });
        await su.collections.update('staff', { mfa: { rule: "role = 'admin'" } });
        try {
            const pb = client(srv.url);
            await expectMfa(pb.collection('staff').authWithPassword(admin.email, admin.password));
            const auth = await client(srv.url).collection('staff').authWithPassword(clerk.email, clerk.password);
            assert.equal(auth.record.id, clerk.record.id);
            const { otpId, code } = await otpFor(client(srv.url), 'staff', clerk.email);
            assert.equal((await client(srv.url).collection('staff').authWithOTP(otpId, code)).record.id, clerk.record.id);
        } finally {
            await su.collections.update('staff', { mfa: { rule: '' } });
        }
    });

    test('a password change or the record\'s deletion ends its sessions, OTPs and origins', async () => {
        const s = await staffer();
        const pb = client(srv.url);
        const mfaId = await expectMfa(pb.collection('staff').authWithPassword(s.email, s.password));
        const { otpId } = await pb.collection('staff').requestOTP(s.email);
        await waitForMail(sink, s.email, CODE_RE);
        await su.collection('staff').update(s.record.id, { password: 'newpass12345', passwordConfirm: 'newpass12345' });
        await expectError(su.collection('_mfas').getOne(mfaId), 404);
        await expectError(su.collection('_otps').getOne(otpId), 404);
        const t = await staffer();
        const tId = await expectMfa(client(srv.url).collection('staff').authWithPassword(t.email, t.password));
        const tOtp = await client(srv.url).collection('staff').requestOTP(t.email);
        await su.collection('staff').delete(t.record.id);
        await expectError(su.collection('_mfas').getOne(tId), 404);
        await expectError(su.collection('_otps').getOne(tOtp.otpId), 404);
    });

    test('OTP alone still signs in where MFA is off', async () => {
        await su.collections.update('users', { otp: { enabled: true } });
        try {
            const email = `${uniq('solo')}@example.com`;
            const rec = await su.collection('users').create({ email, password: 'solopass123', passwordConfirm: 'solopass123' });
            const pb = client(srv.url);
            const { otpId, code } = await otpFor(pb, 'users', email);
            const row = await su.collection('_otps').getOne(otpId);
            assert.equal(row.recordRef, rec.id);
            assert.equal(row.password, undefined, 'the digest is never shown');
            assert.equal((await pb.collection('users').authWithOTP(otpId, code)).record.id, rec.id);
            await expectError(su.collection('_otps').getOne(otpId), 404);
        } finally {
            await su.collections.update('users', { otp: { enabled: false } });
        }
    });

    test('new-device alert: once per new origin, never for a known one or the first sign-in', async () => {
        const email = `${uniq('alert')}@example.com`;
        const password = 'alertpass123';
        const rec = await su.collection('users').create({ email, password, passwordConfirm: password, name: 'Ann <b>&' });
        const pb = client(srv.url);
        await pb.collection('users').authWithPassword(email, password, device('phone'));   // first: no alert
        await pb.collection('users').authWithPassword(email, password, device('phone'));   // known
        await pb.collection('users').authWithPassword(email, password, device('laptop'));  // new: alert 1
        const [mail] = await waitAlerts(sink, email, 1);
        assert.match(mail.text, /tarmac-e2e\/laptop/, 'ALERT_INFO names the user agent');
        assert.match(mail.text, /127\.0\.0\.1/, 'and the IP');
        assert.match(mail.text, /Tarmac MFA/, 'APP_NAME');
        await pb.collection('users').authWithPassword(email, password, device('laptop'));  // known now
        await pb.collection('users').authWithPassword(email, password, device('phone'));   // known
        await pb.collection('users').authWithPassword(email, password, device('tablet'));  // new: alert 2
        await waitAlerts(sink, email, 2);
        assert.equal(alertsTo(sink, email).length, 2, 'no alert for the known origins in between');
        const mine = await pb.collection('_authOrigins').getFullList();
        assert.equal(mine.length, 3);
        assert.ok(mine.every((o) => o.recordRef === rec.id && o.collectionRef === rec.collectionId));
        assert.ok(mine.every((o) => /^[0-9a-f]{64}$/.test(o.fingerprint)));

        // A custom template with the record's placeholders, escaped in the HTML.
        await su.collections.update('users', { authAlert: { emailTemplate: {
            subject: 'New sign-in for {RECORD:name} at {APP_NAME}',
            body: '<p>Hi {RECORD:name} ({RECORD:email}), verified={RECORD:verified}: {ALERT_INFO} {UNKNOWN}</p>' } } });
        try {
            await pb.collection('users').authWithPassword(email, password, device('watch'));
            const until = Date.now() + 15000;
            let custom;
            while (!custom && Date.now() < until) {
                custom = readMails(sink).find((m) => m.to.includes(email) && m.subject.includes('New sign-in'));
                if (!custom) await new Promise((r) => setTimeout(r, 100));
            }
            assert.ok(custom, 'the custom alert mail arrived');
            assert.match(custom.subject, /Ann <b>& at Tarmac MFA|=\?/, custom.subject);
            assert.match(custom.text, /Hi Ann &lt;b&gt;&amp;/, 'HTML part: the name escaped');
            assert.match(custom.text, /Hi Ann <b>& \(/, 'text part: the name as it is');
            assert.match(custom.text, new RegExp(`\\(${email.replace('.', '\\.')}\\), verified=false`));
            assert.match(custom.text, /\{UNKNOWN\}/, 'an unknown placeholder stays');
        } finally {
            await su.collections.update('users', { authAlert: { emailTemplate: {
                subject: ALERT_SUBJECT, body: '<p>{APP_NAME}: a new sign-in: {ALERT_INFO}</p>' } } });
        }
    });

    test('a record keeps its 5 newest origins; no alert when the collection turns it off', async () => {
        const email = `${uniq('many')}@example.com`;
        const password = 'manypass123';
        await su.collection('users').create({ email, password, passwordConfirm: password });
        const pb = client(srv.url);
        for (const d of ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']) {
            await pb.collection('users').authWithPassword(email, password, device(d));
        }
        await waitAlerts(sink, email, 6);
        const origins = await pb.collection('_authOrigins').getFullList();
        assert.equal(origins.length, 5);
        await su.collections.update('users', { authAlert: { enabled: false } });
        try {
            await pb.collection('users').authWithPassword(email, password, device('d8'));
            await pb.collection('users').authWithPassword(email, password, device('d1'));
            assert.equal((await pb.collection('_authOrigins').getFullList()).length, 5, 'nothing recorded while off');
        } finally {
            await su.collections.update('users', { authAlert: { enabled: true } });
        }
        // the alert mails that did go: one per new origin after the first
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(alertsTo(sink, email).length, 6);
    });

    test('_authOrigins: the owner lists, views and deletes its own, nobody else\'s', async () => {
        const mk = async () => {
            const email = `${uniq('own')}@example.com`;
            const rec = await su.collection('users').create({ email, password: 'ownpass1234', passwordConfirm: 'ownpass1234' });
            const pb = client(srv.url);
            await pb.collection('users').authWithPassword(email, 'ownpass1234');
            return { rec, pb, email };
        };
        const a = await mk();
        const b = await mk();
        const aList = await a.pb.collection('_authOrigins').getFullList();
        const bList = await b.pb.collection('_authOrigins').getFullList();
        assert.equal(aList.length, 1);
        assert.equal(bList.length, 1);
        assert.equal(aList[0].recordRef, a.rec.id);
        assert.equal((await client(srv.url).collection('_authOrigins').getList(1, 10)).totalItems, 0, 'guests see none');
        await expectError(a.pb.collection('_authOrigins').getOne(bList[0].id), 404);
        await expectError(a.pb.collection('_authOrigins').delete(bList[0].id), 404);
        await expectError(a.pb.collection('_authOrigins').create({
            collectionRef: a.rec.collectionId, recordRef: a.rec.id, fingerprint: 'x' }), 403);
        assert.equal((await a.pb.collection('_authOrigins').getOne(aList[0].id)).id, aList[0].id);
        await a.pb.collection('_authOrigins').delete(aList[0].id);
        assert.equal((await a.pb.collection('_authOrigins').getFullList()).length, 0);
        // The superuser sees every record's; _mfas and _otps are the owner's to read only.
        const all = await su.collection('_authOrigins').getFullList({ filter: `recordRef = "${b.rec.id}"` });
        assert.equal(all.length, 1);
        await expectError(b.pb.collection('_mfas').create({ collectionRef: 'x', recordRef: 'y', method: 'z' }), 403);
        // A password change forgets the origins (PocketBase); so does deleting the record.
        await su.collection('users').update(b.rec.id, { password: 'changed12345', passwordConfirm: 'changed12345' });
        assert.equal((await su.collection('_authOrigins').getFullList({ filter: `recordRef = "${b.rec.id}"` })).length, 0);
        await client(srv.url).collection('users').authWithPassword(b.email, 'changed12345');
        assert.equal((await su.collection('_authOrigins').getFullList({ filter: `recordRef = "${b.rec.id}"` })).length, 1);
        await su.collection('users').delete(b.rec.id);
        assert.equal((await su.collection('_authOrigins').getFullList({ filter: `recordRef = "${b.rec.id}"` })).length, 0);
    });

    test('superusers with MFA: password, then OTP with mfaId', async () => {
        await su.collections.update('_superusers', { otp: { enabled: true, length: 6 }, mfa: { enabled: true } });
        try {
            const pb = client(srv.url);
            const mfaId = await expectMfa(pb.collection('_superusers').authWithPassword(SUPERUSER.email, SUPERUSER.password));
            const { otpId, code } = await otpFor(pb, '_superusers', SUPERUSER.email);
            const auth = await pb.collection('_superusers').authWithOTP(otpId, code, { mfaId });
            assert.equal(auth.record.email, SUPERUSER.email);
            assert.ok(pb.authStore.isSuperuser);
            // The second factor alone is only a first one.
            const again = await otpFor(client(srv.url), '_superusers', SUPERUSER.email);
            await expectMfa(client(srv.url).collection('_superusers').authWithOTP(again.otpId, again.code));
        } finally {
            await su.collections.update('_superusers', { mfa: { enabled: false }, otp: { enabled: false } });
        }
        assert.ok((await client(srv.url).collection('_superusers').authWithPassword(SUPERUSER.email, SUPERUSER.password)).token);
    });

    test('options are validated: 400 naming the field', async () => {
        const bad = async (body, path, code) => {
            const e = await expectError(su.collections.update('staff', body), 400, JSON.stringify(body));
            let node = e.data;
            for (const k of path.split('.')) node = node?.[k];
            assert.ok(node, `data.${path} in ${JSON.stringify(e)}`);
            if (code) assert.equal(node.code, code, JSON.stringify(e));
        };
        await bad({ otp: { enabled: false } }, 'mfa.enabled', 'validation_mfa_not_enough_auths');
        await bad({ mfa: { duration: 5 } }, 'mfa.duration', 'validation_min_greater_equal_than_required');
        await bad({ mfa: { duration: 86401 } }, 'mfa.duration', 'validation_max_less_equal_than_required');
        await bad({ mfa: { duration: '600' } }, 'mfa.duration');
        await bad({ mfa: { rule: 'nosuchfield = 1' } }, 'mfa.rule', 'validation_invalid_rule');
        await bad({ mfa: { enabled: 'yes' } }, 'mfa.enabled');
        await bad({ mfa: 'on' }, 'mfa');
        await bad({ authAlert: { enabled: 1 } }, 'authAlert.enabled');
        await bad({ authAlert: { emailTemplate: { subject: '' } } }, 'authAlert.emailTemplate.subject', 'validation_required');
        await bad({ authAlert: { emailTemplate: { body: '' } } }, 'authAlert.emailTemplate.body', 'validation_required');
        await bad({ authAlert: { emailTemplate: { subject: 'a\r\nBcc: x@example.com' } } }, 'authAlert.emailTemplate.subject');
        // Nothing of the refused changes was stored.
        const view = await su.collections.getOne('staff');
        assert.deepEqual(view.mfa, { enabled: true, duration: 600, rule: '' });
        assert.equal(view.otp.enabled, true);
        // A disabled MFA keeps whatever duration it was given (checked when turned on).
        const e = await expectError(su.collections.create({ name: 'mfa_probe', type: 'auth', mfa: { enabled: true } }), 400);
        assert.equal(e.data.mfa.enabled.code, 'validation_mfa_not_enough_auths');
    });

    test('no secret leaked', () => assertNoLeaks());

    test('the server stops cleanly', async () => {
        await srv.stop();
    });
});

/** Runs a python3 sqlite3 script against dir's database (the server stopped). */
function sqlite(dir, script, args = []) {
    const r = spawnSync('/usr/bin/python3', ['-c', `import hashlib, hmac, json, sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=30)
args = json.loads(sys.argv[2])
${script}
con.commit()
con.close()`, join(dir, 'data.db'), JSON.stringify(args)], { encoding: 'utf8', timeout: 30000 * SLOW });
    if (r.status !== 0) throw new Error(`sqlite: ${r.stderr || r.error}`);
    return r.stdout;
}

describe('a data directory from before the auth system collections', () => {
    // The old layout is an SQLite file's: no PostgreSQL database predates
    // these collections (the engine came after them).
    const skip = ENGINE === 'postgresql' && 'SQLite only: an older data directory is an SQLite file';
    test('gets _mfas, _otps and _authOrigins on open; a pending OTP of the old table still works', { skip }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-'));
        let srv = await startServer({ dir, superuser: true });
        try {
            let su = await superuserClient(srv.url);
            await su.collections.update('users', { otp: { enabled: true } });
            const email = `${uniq('old')}@example.com`;
            const rec = await su.collection('users').create({ email, password: 'oldpass1234', passwordConfirm: 'oldpass1234' });
            await srv.stop();

            // What an older tarmac left: no such collections, `_otps` a bare
            // table holding a pending code, auth options without mfa/authAlert.
            const otpId = 'legacyotp000001';
            const code = '12345678';
            sqlite(dir, `
row = con.execute("SELECT data FROM _collections WHERE name = 'users'").fetchone()
data = json.loads(row[0])
data.pop("mfa", None)
data.pop("authAlert", None)
con.execute("UPDATE _collections SET data = ? WHERE name = 'users'", [json.dumps(data)])
con.execute("DELETE FROM _collections WHERE name IN ('_mfas', '_otps', '_authOrigins')")
con.executescript("DROP TABLE _mfas; DROP TABLE _otps; DROP TABLE _authOrigins; "
    "CREATE TABLE _otps (id TEXT PRIMARY KEY NOT NULL, collectionRef TEXT NOT NULL, "
    "recordRef TEXT NOT NULL, password TEXT NOT NULL, sentTo TEXT NOT NULL DEFAULT '', "
    "created TEXT NOT NULL)")
otp_id, code, col_id, rec_id, email = args
digest = hmac.new(data["authToken"]["secret"].encode(), (otp_id + ":" + code).encode(),
                  hashlib.sha256).hexdigest()
con.execute("INSERT INTO _otps VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%d %H:%M:%fZ', 'now'))",
            [otp_id, col_id, rec_id, digest, email])
`, [otpId, code, rec.collectionId, rec.id, email]);

            srv = await startServer({ dir });
            assert.ok(srv.stderr().includes('one-time passwords moved into the _otps collection'));
            su = await superuserClient(srv.url);
            for (const [name, id] of [['_mfas', 'pbc_2279338944'], ['_otps', 'pbc_1638494021'],
                ['_authOrigins', 'pbc_4275539003']]) {
                const c = await su.collections.getOne(name);
                assert.equal(c.id, id);
                assert.equal(c.system, true);
            }
            const users = await su.collections.getOne('users');
            assert.deepEqual(users.mfa, { enabled: false, duration: 600, rule: '' });
            assert.equal(users.authAlert.enabled, true);
            assert.equal((await su.collection('_otps').getOne(otpId)).recordRef, rec.id);
            const auth = await client(srv.url).collection('users').authWithOTP(otpId, code);
            assert.equal(auth.record.id, rec.id);
            assert.equal(sqlite(dir, `print(con.execute("SELECT count(*) FROM sqlite_master WHERE name = '_otps_legacy'").fetchone()[0])`).trim(), '0');
            await srv.stop();
            // Opening again changes nothing.
            srv = await startServer({ dir });
            assert.equal(srv.stderr().includes('moved into the _otps collection'), false);
            await srv.stop();
        } finally {
            if (!srv.exited) await srv.kill9();
            if (!process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
        }
    });
});
