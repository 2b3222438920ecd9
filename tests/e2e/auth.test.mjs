// Auth records and tokens (§1.2, §1.4, §6) through the official JS SDK.
// Every response body seen by the SDK clients and rawFetch is scanned for
// `password` / `tokenKey` (lib/util.mjs); the last test asserts none leaked.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { getTokenPayload } from 'pocketbase';
import { startServer } from './lib/server.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, findLeaks, rawFetch, uniq, ID_RE,
} from './lib/util.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const b64json = (obj) => b64url(JSON.stringify(obj));

function forge(header, payload, key) {
    const head = b64json(header) + '.' + b64json(payload);
    const sig = key === null ? '' : b64url(createHmac('sha256', key).update(head).digest());
    return head + '.' + sig;
}

function decodeSegment(seg) {
    return JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'));
}

/** Replace the character at index i of the token's signature with a different base64url one. */
function tamperSignature(token, i = 10) {
    const [h, p, s] = token.split('.');
    const c = s[i] === 'A' ? 'B' : 'A';
    return `${h}.${p}.${s.slice(0, i)}${c}${s.slice(i + 1)}`;
}

describe('auth', () => {
    let srv;
    let su;
    let guest;
    const password = 'secret-pass-123';
    const newPassword = 'another-pass-456';
    let ann; // {email, record, pb}
    let ben;

    // How many `private` records a token can list: 1 = authenticated, 0 = guest.
    const visible = async (authorization) => {
        const headers = authorization === undefined ? {} : { Authorization: authorization };
        const r = await rawFetch(`${srv.url}/api/collections/private/records`, { headers });
        assert.equal(r.status, 200, `list private: ${r.text}`);
        return r.body.totalItems;
    };
    const refreshStatus = async (authorization) => {
        const r = await rawFetch(`${srv.url}/api/collections/users/auth-refresh`, {
            method: 'POST', headers: { Authorization: authorization },
        });
        return r.status;
    };

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        guest = client(srv.url);
        await su.collections.create({
            name: 'private',
            listRule: '@request.auth.id != ""',
            viewRule: '@request.auth.id != ""',
            fields: [{ name: 'title', type: 'text' }],
        });
        await su.collection('private').create({ title: 'members only' });
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('auth methods', async () => {
        const m = await guest.collection('users').listAuthMethods();
        assert.equal(m.password.enabled, true);
        assert.deepEqual(m.password.identityFields, ['email']);
    });

    test('sign up as a guest: record without email, password or tokenKey', async () => {
        const email = `${uniq('ann')}@example.com`;
        const rec = await guest.collection('users').create({ email, password, passwordConfirm: password, name: 'Ann' });
        assert.match(rec.id, ID_RE);
        assert.equal(rec.collectionName, 'users');
        assert.equal(rec.collectionId, '_pb_users_auth_');
        assert.equal(rec.name, 'Ann');
        assert.equal(rec.verified, false);
        assert.equal(rec.emailVisibility, false);
        assert.ok(!('email' in rec) || rec.email === undefined, `guest sign-up response must hide email: ${JSON.stringify(rec)}`);
        assert.ok(!('password' in rec) && !('tokenKey' in rec) && !('passwordConfirm' in rec), JSON.stringify(rec));
        ann = { email, record: rec, pb: client(srv.url) };

        const email2 = `${uniq('ben')}@example.com`;
        const rec2 = await guest.collection('users').create({
            email: email2, password, passwordConfirm: password, name: 'Ben', emailVisibility: true,
        });
        assert.equal(rec2.email, email2, 'emailVisibility=true shows the email');
        assert.equal(rec2.emailVisibility, true);
        ben = { email: email2, record: rec2, pb: client(srv.url) };
    });

    test('sign up: duplicate email → 400 validation_not_unique', async () => {
        const body = await expectError(guest.collection('users').create({
            email: ann.email, password, passwordConfirm: password,
        }), 400);
        assert.equal(body.message, 'Failed to create record.');
        assertFieldCode(body, 'email', 'validation_not_unique');
    });

    test('sign up: password mismatch → 400 data.passwordConfirm', async () => {
        const body = await expectError(guest.collection('users').create({
            email: `${uniq('x')}@example.com`, password, passwordConfirm: password + 'x',
        }), 400);
        assertFieldCode(body, 'passwordConfirm', 'validation_values_mismatch');
    });

    test('sign up: missing/short password, bad email, verified by a non-manager', async () => {
        let body = await expectError(guest.collection('users').create({ email: `${uniq('x')}@example.com` }), 400);
        assertFieldCode(body, 'password', 'validation_required');
        body = await expectError(guest.collection('users').create({
            email: `${uniq('x')}@example.com`, password: 'short', passwordConfirm: 'short',
        }), 400);
        assertFieldCode(body, 'password', 'validation_min_text_constraint');
        body = await expectError(guest.collection('users').create({
            email: 'not-an-email', password, passwordConfirm: password,
        }), 400);
        assertFieldCode(body, 'email', 'validation_is_email');
        body = await expectError(guest.collection('users').create({
            email: `${uniq('x')}@example.com`, password, passwordConfirm: password, verified: true,
        }), 400);
        assertFieldCode(body, 'verified', 'validation_values_mismatch');
    });

    test('login with authWithPassword: token claims, authStore, own email', async () => {
        const res = await ann.pb.collection('users').authWithPassword(ann.email, password);
        assert.equal(typeof res.token, 'string');
        assert.ok(!('meta' in res), 'meta is omitted for password auth');
        assert.equal(res.record.id, ann.record.id);
        assert.equal(res.record.email, ann.email, 'own email is always returned');
        assert.ok(!('password' in res.record) && !('tokenKey' in res.record));
        assert.ok(ann.pb.authStore.isValid);
        assert.equal(ann.pb.authStore.isSuperuser, false);
        assert.equal(ann.pb.authStore.token, res.token);
        assert.equal(ann.pb.authStore.record.id, ann.record.id);

        const [h, p, s] = res.token.split('.');
        assert.deepEqual(decodeSegment(h), { alg: 'HS256', typ: 'JWT' });
        const claims = decodeSegment(p);
        assert.equal(claims.type, 'auth');
        assert.equal(claims.id, ann.record.id);
        assert.equal(claims.collectionId, '_pb_users_auth_');
        assert.equal(claims.refreshable, true);
        assert.ok(Number.isInteger(claims.exp), 'exp is an integer');
        assert.ok(claims.exp > Date.now() / 1000 + 3600, 'exp is in the future');
        assert.deepEqual(getTokenPayload(res.token), claims, 'the SDK decodes the payload');
        assert.match(s, /^[A-Za-z0-9_-]{43}$/, 'HS256 signature, unpadded base64url');

        await ben.pb.collection('users').authWithPassword(ben.email, password);
        assert.equal(await visible(ann.pb.authStore.token), 1);
        assert.equal(await visible('Bearer ' + ann.pb.authStore.token), 1, 'Bearer prefix accepted');
        assert.equal(await visible(undefined), 0);
    });

    test('login with a wrong password / unknown identity → 400 "Failed to authenticate."', async () => {
        const pb = client(srv.url);
        let body = await expectError(pb.collection('users').authWithPassword(ann.email, 'wrong-password'), 400);
        assert.equal(body.message, 'Failed to authenticate.');
        assert.deepEqual(body.data, {});
        body = await expectError(pb.collection('users').authWithPassword('nobody@example.com', password), 400);
        assert.equal(body.message, 'Failed to authenticate.');
        body = await expectError(pb.collection('_superusers').authWithPassword(ann.email, password), 400,
            'users cannot log in as superusers');
        assert.equal(pb.authStore.isValid, false);
        assert.equal(pb.authStore.token, '');
    });

    test('authRefresh gives a new token with fresh record data', async () => {
        const old = ann.pb.authStore.token;
        const oldExp = getTokenPayload(old).exp;
        await su.collection('users').update(ann.record.id, { name: 'Ann R.' });
        await sleep(1100); // tokens carry whole-second exp and no iat: make the new one differ
        const res = await ann.pb.collection('users').authRefresh();
        assert.notEqual(res.token, old);
        assert.equal(ann.pb.authStore.token, res.token);
        assert.ok(getTokenPayload(res.token).exp > oldExp);
        assert.equal(res.record.name, 'Ann R.', 'record is re-read');
        assert.equal(res.record.email, ann.email);
        assert.equal(await visible(res.token), 1);
        assert.equal(await visible(old), 1, 'the previous token stays valid until it expires');
    });

    test('authRefresh without / with a foreign token → 401 / 403', async () => {
        let body = await expectError(guest.collection('users').authRefresh(), 401);
        assert.equal(body.message, 'The request requires valid record authorization token.');
        body = await expectError(ann.pb.collection('_superusers').authRefresh(), 403);
        assert.equal(body.message, 'The request requires auth record from users collection.');
        const s = await su.collection('_superusers').authRefresh();
        assert.equal(s.record.email, 'admin@example.com');
    });

    test('email is hidden from other users unless emailVisibility', async () => {
        await su.collections.update('users', { listRule: '@request.auth.id != ""', viewRule: '@request.auth.id != ""' });
        const a = await ben.pb.collection('users').getOne(ann.record.id);
        assert.equal(a.name, 'Ann R.');
        assert.ok(!('email' in a), `ann's email must be hidden from ben: ${JSON.stringify(a)}`);
        const b = await ann.pb.collection('users').getOne(ben.record.id);
        assert.equal(b.email, ben.email, 'ben has emailVisibility=true');
        const self = await ann.pb.collection('users').getOne(ann.record.id);
        assert.equal(self.email, ann.email, 'own email');
        const all = await ben.pb.collection('users').getFullList({ filter: `id = '${ann.record.id}' || id = '${ben.record.id}'` });
        assert.equal(all.length, 2);
        assert.ok(!('email' in all.find((u) => u.id === ann.record.id)));
        assert.equal(all.find((u) => u.id === ben.record.id).email, ben.email);
        const bySu = await su.collection('users').getOne(ann.record.id);
        assert.equal(bySu.email, ann.email, 'superusers see every email');
        // a client filter on email only matches visible emails
        const f1 = await ben.pb.collection('users').getList(1, 10, { filter: `email = '${ann.email}'` });
        assert.equal(f1.totalItems, 0, 'hidden email is not filterable');
        const f2 = await ann.pb.collection('users').getList(1, 10, { filter: `email = '${ben.email}'` });
        assert.equal(f2.totalItems, 1);
        // expand of an auth record follows the same visibility
        await su.collections.create({
            name: 'notes', listRule: '', viewRule: '',
            fields: [{ name: 'user', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 }],
        });
        const n = await su.collection('notes').create({ user: ann.record.id });
        const e = await ben.pb.collection('notes').getOne(n.id, { expand: 'user' });
        assert.equal(e.expand.user.id, ann.record.id);
        assert.ok(!('email' in e.expand.user), JSON.stringify(e.expand.user));
    });

    test('a tampered token (one signature char changed) makes the request a guest', async () => {
        const bad = tamperSignature(ann.pb.authStore.token);
        assert.notEqual(bad, ann.pb.authStore.token);
        assert.equal(await visible(bad), 0);
        assert.equal(await refreshStatus(bad), 401);
        const pb = client(srv.url);
        pb.authStore.save(bad, ann.pb.authStore.record);
        assert.equal((await pb.collection('private').getList()).totalItems, 0);
        await expectError(pb.collection('users').authRefresh(), 401);
    });

    test('a tampered payload (another user id, original signature) makes the request a guest', async () => {
        const [h, p, s] = ann.pb.authStore.token.split('.');
        const claims = decodeSegment(p);
        const bad = `${h}.${b64json({ ...claims, id: ben.record.id })}.${s}`;
        assert.equal(await visible(bad), 0);
        assert.equal(await refreshStatus(bad), 401);
    });

    test('an alg:none token makes the request a guest', async () => {
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const claims = { collectionId: '_pb_users_auth_', exp, id: ann.record.id, refreshable: true, type: 'auth' };
        for (const tok of [
            forge({ alg: 'none', typ: 'JWT' }, claims, null),
            forge({ alg: 'none', typ: 'JWT' }, claims, null).slice(0, -1), // without the trailing dot
            forge({ alg: 'None' }, claims, null),
        ]) {
            assert.equal(await visible(tok), 0, `token ${tok}`);
            assert.equal(await refreshStatus(tok), 401, `token ${tok}`);
        }
        // a superuser alg:none token must not open superuser routes either
        const suId = su.authStore.record.id;
        const suTok = forge({ alg: 'none', typ: 'JWT' },
            { collectionId: 'pbc_3142635823', exp, id: suId, refreshable: true, type: 'auth' }, null);
        const r = await rawFetch(`${srv.url}/api/collections`, { headers: { Authorization: suTok } });
        assert.equal(r.status, 401, r.text);
    });

    test('an expired token signed with a random key, and a valid-looking one, make the request a guest', async () => {
        const now = Math.floor(Date.now() / 1000);
        const base = { collectionId: '_pb_users_auth_', id: ann.record.id, refreshable: true, type: 'auth' };
        const key = randomBytes(32);
        const expired = forge({ alg: 'HS256', typ: 'JWT' }, { ...base, exp: now - 3600 }, key);
        const wrongKey = forge({ alg: 'HS256', typ: 'JWT' }, { ...base, exp: now + 3600 }, key);
        const guessed = forge({ alg: 'HS256', typ: 'JWT' }, { ...base, exp: now + 3600 }, '');
        for (const tok of [expired, wrongKey, guessed]) {
            assert.equal(await visible(tok), 0, `token ${tok}`);
            assert.equal(await refreshStatus(tok), 401, `token ${tok}`);
        }
        const pb = client(srv.url);
        pb.authStore.save(expired, ann.pb.authStore.record);
        assert.equal(pb.authStore.isValid, false, 'the SDK sees the expiry too');
        assert.equal((await pb.collection('private').getList()).totalItems, 0);
    });

    test('garbage Authorization headers make the request a guest, never an error', async () => {
        for (const v of ['garbage', 'Bearer ', 'a.b.c', 'Bearer x.y.z', '...', 'eyJ.eyJ.', ann.pb.authStore.token + 'x']) {
            assert.equal(await visible(v), 0, `Authorization: ${JSON.stringify(v)}`);
        }
    });

    test('own password change needs a correct oldPassword', async () => {
        // a user of its own: a server that ignores oldPassword changes the password here
        const email = `${uniq('dan')}@example.com`;
        await guest.collection('users').create({ email, password, passwordConfirm: password });
        const pb = client(srv.url);
        await pb.collection('users').authWithPassword(email, password);
        const id = pb.authStore.record.id;
        const body = await expectError(pb.collection('users').update(id, {
            password: newPassword, passwordConfirm: newPassword,
        }), 400, 'oldPassword missing');
        assertFieldCode(body, 'oldPassword', 'validation_required');
        const body2 = await expectError(pb.collection('users').update(id, {
            oldPassword: 'not-the-password', password: newPassword, passwordConfirm: newPassword,
        }), 400, 'wrong oldPassword');
        assertFieldCode(body2, 'oldPassword', 'validation_invalid_old_password');
        // still the old password, and the session still works
        await client(srv.url).collection('users').authWithPassword(email, password);
        assert.equal(await visible(pb.authStore.token), 1);
    });

    test('password change with oldPassword invalidates the old token', async () => {
        const oldToken = ann.pb.authStore.token;
        const rec = await ann.pb.collection('users').update(ann.record.id, {
            oldPassword: password, password: newPassword, passwordConfirm: newPassword,
        });
        assert.equal(rec.id, ann.record.id);
        assert.ok(!('password' in rec) && !('tokenKey' in rec));
        assert.equal(await visible(oldToken), 0, 'old token no longer authenticates');
        assert.equal(await refreshStatus(oldToken), 401);
        const pb = client(srv.url);
        await expectError(pb.collection('users').authWithPassword(ann.email, password), 400, 'old password');
        const res = await pb.collection('users').authWithPassword(ann.email, newPassword);
        assert.equal(await visible(res.token), 1);
        // other users' sessions are untouched
        assert.equal(await visible(ben.pb.authStore.token), 1);
    });

    test('a superuser changes a password without oldPassword; sessions end', async () => {
        const oldToken = ben.pb.authStore.token;
        await su.collection('users').update(ben.record.id, { password: newPassword, passwordConfirm: newPassword });
        assert.equal(await visible(oldToken), 0);
        await ben.pb.collection('users').authWithPassword(ben.email, newPassword);
        assert.equal(await visible(ben.pb.authStore.token), 1);
    });

    test('a non-manager cannot change email or verified directly', async () => {
        let body = await expectError(ben.pb.collection('users').update(ben.record.id, { email: `${uniq('n')}@example.com` }), 400);
        assertFieldCode(body, 'email', 'validation_values_mismatch');
        body = await expectError(ben.pb.collection('users').update(ben.record.id, { verified: true }), 400);
        assertFieldCode(body, 'verified', 'validation_values_mismatch');
        const r = await su.collection('users').getOne(ben.record.id);
        assert.equal(r.email, ben.email);
        assert.equal(r.verified, false);
    });

    test('fields applies to auth responses (fields=token,record.id)', async () => {
        const r = await rawFetch(`${srv.url}/api/collections/users/auth-with-password?fields=token,record.id`, {
            method: 'POST', json: { identity: ben.email, password: newPassword },
        });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.body).sort(), ['record', 'token']);
        assert.deepEqual(r.body.record, { id: ben.record.id });
    });

    test('raw responses of every auth endpoint carry no secrets', async () => {
        const login = await rawFetch(`${srv.url}/api/collections/users/auth-with-password`, {
            method: 'POST', json: { identity: ben.email, password: newPassword },
        });
        assert.equal(login.status, 200);
        assert.ok(!/"(password|tokenKey)"\s*:/.test(login.text), login.text);
        const refresh = await rawFetch(`${srv.url}/api/collections/users/auth-refresh`, {
            method: 'POST', headers: { Authorization: login.body.token },
        });
        assert.equal(refresh.status, 200);
        assert.ok(!/"(password|tokenKey)"\s*:/.test(refresh.text), refresh.text);
        const suList = await rawFetch(`${srv.url}/api/collections/users/records?perPage=500`, {
            headers: { Authorization: su.authStore.token },
        });
        assert.equal(suList.status, 200);
        assert.ok(!/"(password|tokenKey)"\s*:/.test(suList.text), 'superuser list: ' + suList.text.slice(0, 300));
        const suSelf = await rawFetch(`${srv.url}/api/collections/_superusers/records`, {
            headers: { Authorization: su.authStore.token },
        });
        assert.equal(suSelf.status, 200);
        assert.deepEqual(findLeaks(suSelf.body, 'superusers list'), []);
        assert.ok(!/"(password|tokenKey)"\s*:/.test(suSelf.text), suSelf.text.slice(0, 300));
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
