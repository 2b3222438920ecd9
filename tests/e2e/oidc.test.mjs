// OpenID Connect through the SDK: discovery and id_token verification in the
// code flow, the native sign-in with an id_token a phone SDK got
// (auth-with-id-token, beyond PocketBase), Sign in with Apple (its client
// secret from /api/settings/apple/generate-client-secret, checked by the
// fake Apple's token endpoint as Apple documents it; its form_post redirect
// with the user's name) and the providers' `extra` settings. The providers
// are lib/fake_oauth2.mjs with keys made by node:crypto.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import { startFakeProvider, decodeJws } from './lib/fake_oauth2.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, rawFetch, uniq,
} from './lib/util.mjs';

globalThis.EventSource = EventSource; // the SDK's realtime client under node

const CLIENT_ID = 'tarmac-oidc-client';
const IOS_CLIENT_ID = 'tarmac-ios-client';
const CLIENT_SECRET = 'oidc-secret-' + 'y'.repeat(20);
const REDIRECT = 'https://app.example.com/oauth2-redirect';
const APPLE_CLIENT_ID = 'com.example.tarmac.web';
const APPLE_BUNDLE_ID = 'com.example.tarmac';
const TEAM_ID = 'TEAM123456';
const KEY_ID = 'KEYID12345';
const REFRESH_FLOOR_MS = 2000; // CORE_OIDC_REFRESH_MIN_MS

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('oidc', () => {
    let srv, su, idp, google, apple, appleKey;

    /** The native sign-in, through the SDK's send; the SDK's auth store keeps the answer. */
    async function signInWithIdToken(body, { collection = 'users', pb = client(srv.url) } = {}) {
        const res = await pb.send(`/api/collections/${collection}/auth-with-id-token`, { method: 'POST', body });
        pb.authStore.save(res.token, res.record);
        return { pb, auth: res };
    }

    /** listAuthMethods, then the browser: authURL -> the provider's 302 back -> the code. */
    async function codeFlow(name, user, { createData } = {}) {
        const pb = client(srv.url);
        const methods = await pb.collection('users').listAuthMethods();
        const p = methods.oauth2.providers.find((x) => x.name === name);
        assert.ok(p, JSON.stringify(methods));
        const fake = name === 'google' ? google : idp;
        fake.nextUser = user;
        const res = await fetch(p.authURL + encodeURIComponent(REDIRECT), { redirect: 'manual' });
        assert.equal(res.status, 302);
        const back = new URL(res.headers.get('location'));
        assert.equal(back.searchParams.get('state'), p.state);
        const auth = await pb.collection('users').authWithOAuth2Code(name, back.searchParams.get('code'), p.codeVerifier, REDIRECT, createData);
        return { pb, auth, provider: p };
    }

    const idTokenError = async (body, reason, what, url = srv.url) => {
        const err = await expectError(signInWithIdToken({ provider: 'oidc', ...body }, { pb: client(url) }), 400, what);
        assert.equal(err.message, 'Failed to verify the id_token.', what);
        assertFieldCode(err, 'idToken', 'validation_invalid_token');
        assert.match(err.data.idToken.message, reason, `${what}: ${err.data.idToken.message}`);
        return err;
    };

    before(async () => {
        idp = await startFakeProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
        google = await startFakeProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, issuer: 'https://accounts.google.com' });
        appleKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        apple = await startFakeProvider({
            clientId: APPLE_CLIENT_ID, clientSecret: 'unused', issuer: 'https://appleid.apple.com',
            apple: { teamId: TEAM_ID, keyId: KEY_ID, publicKey: appleKey.publicKey },
        });
        srv = await startServer();
        su = await superuserClient(srv.url);
        const secret = await su.settings.generateAppleClientSecret(APPLE_CLIENT_ID, TEAM_ID, KEY_ID,
            appleKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), 3600);
        await su.collections.update('users', {
            oauth2: {
                enabled: true,
                providers: [
                    // discovery only: endpoints, keys and issuer from the document; the user from the id_token
                    {
                        name: 'oidc', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, displayName: 'IdP',
                        extra: { discoveryURL: `${idp.url}/.well-known/openid-configuration`, audiences: [IOS_CLIENT_ID] },
                    },
                    // configured by hand, with a user-info endpoint
                    {
                        name: 'oidc2', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
                        authURL: `${idp.url}/authorize`, tokenURL: `${idp.url}/token`, userInfoURL: `${idp.url}/userinfo`,
                        extra: { jwksURL: `${idp.url}/jwks`, issuers: [idp.issuer] },
                    },
                    // no keys: its code flow works, its tokens cannot be taken from a client
                    {
                        name: 'oidc3', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
                        authURL: `${idp.url}/authorize`, tokenURL: `${idp.url}/token`,
                    },
                    // Google's endpoints and keys moved to the fake; its issuer is Google's
                    {
                        name: 'google', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
                        authURL: `${google.url}/authorize`, tokenURL: `${google.url}/token`, userInfoURL: `${google.url}/userinfo`,
                        extra: { jwksURL: `${google.url}/jwks` },
                    },
                    {
                        name: 'apple', clientId: APPLE_CLIENT_ID, clientSecret: secret.secret,
                        authURL: `${apple.url}/authorize`, tokenURL: `${apple.url}/token`,
                        extra: { jwksURL: `${apple.url}/jwks`, audiences: [APPLE_BUNDLE_ID] },
                    },
                    { name: 'github', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
                ],
            },
        });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        for (const f of [idp, google, apple]) if (f) await f.close();
    });

    // The discovery document and the key set are cached by each instance
    // (several behind a balancer, TARMAC_E2E_CLUSTER, fetch once each): the
    // checks that count fetches ask one instance.
    const oneInstance = () => (srv.instances ? srv.directUrl : srv.url);

    test('discovery: auth-methods builds the authorization URL from the document, fetched once', async () => {
        const before = idp.discoveryRequests;
        const m = await client(oneInstance()).collection('users').listAuthMethods();
        const p = m.oauth2.providers.find((x) => x.name === 'oidc');
        assert.ok(p, JSON.stringify(m));
        assert.equal(p.displayName, 'IdP');
        assert.ok(p.authURL.startsWith(`${idp.url}/authorize?client_id=${CLIENT_ID}&`), p.authURL);
        assert.equal(new URL(p.authURL).searchParams.get('scope'), 'openid email profile');
        await client(oneInstance()).collection('users').listAuthMethods();
        assert.ok(idp.discoveryRequests - before <= 1, `${idp.discoveryRequests - before} fetches`);
        // Apple's asks for the form post; the others do not
        const a = m.oauth2.providers.find((x) => x.name === 'apple');
        assert.equal(new URL(a.authURL).searchParams.get('response_mode'), 'form_post');
        assert.equal(new URL(a.authURL).searchParams.get('scope'), 'name email');
        assert.equal(new URL(p.authURL).searchParams.get('response_mode'), null);
    });

    test('the OIDC code flow reads the user from the verified id_token', async () => {
        const email = `${uniq('cf')}@example.com`;
        const sub = uniq('sub');
        const { auth, pb } = await codeFlow('oidc', { sub, email, email_verified: true, name: 'Grace Hopper' });
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.meta.id, sub);
        assert.equal(auth.record.email, email);
        assert.equal(auth.record.verified, true);
        assert.equal(auth.record.name, 'Grace Hopper');
        // the raw user is the token's claims
        assert.equal(auth.meta.rawUser.iss, idp.issuer);
        assert.equal(auth.meta.rawUser.aud, CLIENT_ID);
        // the token endpoint came from discovery; nobody asked the user-info endpoint
        const last = idp.tokenRequests.at(-1);
        assert.equal(last.client_id, CLIENT_ID);
        assert.ok(pb.authStore.isValid);
        const again = await codeFlow('oidc', { sub, email, email_verified: true });
        assert.equal(again.auth.record.id, auth.record.id);
        assert.equal(again.auth.meta.isNew, false);
    });

    test('the code flow refuses an id_token for another audience, expired, or of another issuer', async () => {
        const cases = [
            [(c) => ({ ...c, aud: 'someone-else' }), 'oidc'],
            [(c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 3600 }), 'oidc'],
            [(c) => ({ ...c, iss: 'https://evil.example' }), 'oidc2'],
        ];
        const before = (await su.collection('users').getList(1, 1)).totalItems;
        try {
            for (const [tamper, name] of cases) {
                idp.tamperIdToken = tamper;
                const body = await expectError(codeFlow(name, { sub: uniq('sub'), email: `${uniq('t')}@example.com`, email_verified: true }), 400, name);
                assert.equal(body.message, 'Failed to fetch OAuth2 user.');
            }
        } finally {
            idp.tamperIdToken = null;
        }
        assert.equal((await su.collection('users').getList(1, 1)).totalItems, before);
    });

    test('a user-info provider: the id_token is verified and its sub must be the user\'s', async () => {
        const sub = uniq('sub');
        const { auth } = await codeFlow('oidc2', { sub, email: `${uniq('ui')}@example.com`, email_verified: true });
        assert.equal(auth.meta.id, sub);
        assert.equal(auth.meta.rawUser.iss, undefined); // user info, not the token
        try {
            idp.tamperIdToken = (c) => ({ ...c, sub: 'someone-else' });
            const body = await expectError(codeFlow('oidc2', { sub: uniq('sub'), email_verified: false }), 400);
            assert.equal(body.message, 'Failed to fetch OAuth2 user.');
        } finally {
            idp.tamperIdToken = null;
        }
        // a provider without keys still takes its token endpoint's word (over TLS)
        const third = await codeFlow('oidc3', { sub: uniq('sub'), email: `${uniq('o3')}@example.com`, email_verified: true });
        assert.equal(third.auth.meta.isNew, true);
    });

    test('auth-with-id-token: a new account, then the same account (RSA and EC keys)', async () => {
        const sub = uniq('sub');
        const email = `${uniq('nat')}@example.com`;
        const first = await signInWithIdToken({
            provider: 'oidc',
            idToken: idp.idToken({ claims: { sub, email, email_verified: true, name: 'Ada Native', picture: '' } }),
            createData: { emailVisibility: true },
        });
        assert.equal(first.auth.meta.isNew, true);
        assert.equal(first.auth.meta.id, sub);
        assert.equal(first.auth.meta.accessToken, '');
        assert.equal(first.auth.record.email, email);
        assert.equal(first.auth.record.verified, true);
        assert.equal(first.auth.record.name, 'Ada Native');
        assert.equal(first.auth.record.emailVisibility, true);
        assert.ok(first.pb.authStore.isValid);
        // the SDK's token works, and the link is the user's
        const me = await first.pb.collection('users').authRefresh();
        assert.equal(me.record.id, first.auth.record.id);
        const links = await first.pb.collection('_externalAuths').getFullList();
        assert.deepEqual(links.map((l) => [l.provider, l.providerId]), [['oidc', sub]]);
        // returning: signed with the EC key, for the iOS client id
        const second = await signInWithIdToken({
            provider: 'oidc',
            idToken: idp.idToken({ kid: 'ec-1', claims: { sub, aud: IOS_CLIENT_ID, email, email_verified: true } }),
        });
        assert.equal(second.auth.meta.isNew, false);
        assert.equal(second.auth.record.id, first.auth.record.id);
        assert.equal(decodeJws(idp.idToken({ kid: 'ec-1', claims: {} })).header.alg, 'ES256');
    });

    test('auth-with-id-token refuses a bad signature, another audience, an expired token, another issuer', async () => {
        const claims = { sub: uniq('sub'), email_verified: false };
        const good = idp.idToken({ claims });
        const [h, , s] = good.split('.');
        const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJws(good).claims, sub: 'admin' })).toString('base64url')}.${s}`;
        await idTokenError({ idToken: forged }, /signature is invalid/, 'forged payload');
        const other = await startFakeProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, issuer: idp.issuer });
        try {
            // another key under a kid the provider publishes
            await idTokenError({ idToken: other.idToken({ claims }) }, /signature is invalid/, 'another key');
        } finally {
            await other.close();
        }
        await idTokenError({ idToken: idp.idToken({ claims: { ...claims, aud: 'android-client' } }) }, /another audience/, 'audience');
        await idTokenError({ idToken: idp.idToken({ claims: { ...claims, aud: [] } }) }, /another audience/, 'no audience');
        const now = Math.floor(Date.now() / 1000);
        await idTokenError({ idToken: idp.idToken({ claims: { ...claims, exp: now - 600 } }) }, /expired/, 'expired');
        await idTokenError({ idToken: idp.idToken({ claims: { ...claims, iat: now + 3600 } }) }, /not valid yet/, 'future');
        await idTokenError({ idToken: idp.idToken({ claims: { ...claims, iss: 'https://evil.example' } }) }, /issuer/, 'issuer');
        await idTokenError({ idToken: 'a.b.c' }, /malformed/, 'malformed');
        // a token of the oidc provider is not Google's (another key under the same kid)
        const body = await expectError(signInWithIdToken({ provider: 'google', idToken: good }), 400);
        assert.match(body.data.idToken.message, /signature is invalid/);
    });

    test('auth-with-id-token refuses alg none and HS256 (keyed with the client secret)', async () => {
        const claims = { sub: uniq('sub') };
        await idTokenError({ idToken: idp.idToken({ claims, alg: 'none' }) }, /algorithm/, 'none');
        await idTokenError({ idToken: idp.idToken({ claims, alg: 'HS256', secret: CLIENT_SECRET }) }, /algorithm/, 'HS256');
        // HS256 keyed with the public key's JSON (the classic confusion)
        const pub = JSON.stringify(idp.keys[0].jwk);
        await idTokenError({ idToken: idp.idToken({ claims, alg: 'HS256', secret: pub }) }, /algorithm/, 'HS256 public');
    });

    test('the nonce: the token\'s must be the client\'s (or its SHA-256), both or neither', async () => {
        const sub = uniq('sub');
        const who = { sub, email: `${uniq('nn')}@example.com`, email_verified: true };
        const raw = uniq('nonce');
        const hashed = createHash('sha256').update(raw).digest('hex');
        const first = await signInWithIdToken({ provider: 'oidc', idToken: idp.idToken({ claims: { ...who, nonce: raw } }), nonce: raw });
        const second = await signInWithIdToken({ provider: 'oidc', idToken: idp.idToken({ claims: { ...who, nonce: hashed } }), nonce: raw });
        assert.equal(second.auth.record.id, first.auth.record.id);
        await idTokenError({ idToken: idp.idToken({ claims: { sub, nonce: raw } }), nonce: 'another' }, /nonce/, 'mismatch');
        await idTokenError({ idToken: idp.idToken({ claims: { sub, nonce: raw } }) }, /nonce/, 'not sent');
        await idTokenError({ idToken: idp.idToken({ claims: { sub } }), nonce: raw }, /nonce/, 'not in the token');
    });

    test('an unknown kid is refused after one JWKS refresh; a rotated key is found by it', async () => {
        const one = oneInstance();
        const someone = () => ({ sub: uniq('sub'), email: `${uniq('kid')}@example.com`, email_verified: true });
        // the keys are cached by now; past the refresh floor an unknown kid refetches once
        await signInWithIdToken({ provider: 'oidc', idToken: idp.idToken({ claims: someone() }) }, { pb: client(one) });
        await sleep(REFRESH_FLOOR_MS + 200);
        let before = idp.jwksRequests;
        await idTokenError({ idToken: idp.idToken({ claims: { sub: uniq('sub') }, header: { kid: 'no-such-kid' } }) }, /unknown key/, 'unknown kid', one);
        assert.equal(idp.jwksRequests - before, 1);
        // at once again: no refetch (the floor)
        await idTokenError({ idToken: idp.idToken({ claims: { sub: uniq('sub') }, header: { kid: 'no-such-kid' } }) }, /unknown key/, 'unknown kid again', one);
        assert.equal(idp.jwksRequests - before, 1);
        // the provider rotates: a token under the new key works after one fetch
        const kid = idp.rotate();
        await sleep(REFRESH_FLOOR_MS + 200);
        before = idp.jwksRequests;
        const { auth } = await signInWithIdToken({ provider: 'oidc', idToken: idp.idToken({ kid, claims: someone() }) }, { pb: client(one) });
        assert.equal(auth.meta.isNew, true);
        assert.equal(idp.jwksRequests - before, 1);
        // and then from the cache
        await signInWithIdToken({ provider: 'oidc', idToken: idp.idToken({ kid, claims: someone() }) }, { pb: client(one) });
        assert.equal(idp.jwksRequests - before, 1);
    });

    test('Google\'s id_token is verified the same way: its issuer, its keys, the client ids', async () => {
        const sub = uniq('g');
        const email = `${uniq('gm')}@gmail.com`;
        const claims = { sub, email, email_verified: true, name: 'G User', picture: '' };
        const { auth } = await signInWithIdToken({ provider: 'google', idToken: google.idToken({ claims }) });
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.record.email, email);
        // Google's other spelling of its issuer
        const again = await signInWithIdToken({ provider: 'google', idToken: google.idToken({ claims: { ...claims, iss: 'accounts.google.com' } }) });
        assert.equal(again.auth.record.id, auth.record.id);
        const bad = await expectError(signInWithIdToken({ provider: 'google', idToken: google.idToken({ claims: { ...claims, iss: 'https://accounts.example.com' } }) }), 400);
        assert.match(bad.data.idToken.message, /issuer/);
        // the code flow checks the id_token Google's token endpoint sends too
        google.nextUser = { sub, email, email_verified: true };
        try {
            google.tamperIdToken = (c) => ({ ...c, aud: 'another-client' });
            const pb = client(srv.url);
            const p = (await pb.collection('users').listAuthMethods()).oauth2.providers.find((x) => x.name === 'google');
            const code = google.issueCode({ redirectUri: REDIRECT, codeChallenge: p.codeChallenge, codeChallengeMethod: 'S256', user: google.nextUser });
            const body = await expectError(pb.collection('users').authWithOAuth2Code('google', code, p.codeVerifier, REDIRECT), 400);
            assert.equal(body.message, 'Failed to fetch OAuth2 user.');
        } finally {
            google.tamperIdToken = null;
        }
    });

    test('auth-with-id-token checks its input and the provider', async () => {
        const url = `${srv.url}/api/collections/users/auth-with-id-token`;
        const token = idp.idToken({ claims: { sub: uniq('sub') } });
        let res = await rawFetch(url, { method: 'POST', json: { idToken: token } });
        assert.equal(res.status, 400);
        assertFieldCode(res.body, 'provider', 'validation_required');
        res = await rawFetch(url, { method: 'POST', json: { provider: 'oidc' } });
        assertFieldCode(res.body, 'idToken', 'validation_required');
        res = await rawFetch(url, { method: 'POST', json: { provider: 'oidc', idToken: 7, nonce: [], createData: 'x' } });
        assertFieldCode(res.body, 'idToken', 'validation_invalid_value');
        assertFieldCode(res.body, 'nonce', 'validation_invalid_value');
        assertFieldCode(res.body, 'createData', 'validation_invalid_value');
        res = await rawFetch(url, { method: 'POST', json: { provider: 'oidc', idToken: 'x'.repeat(17000) } });
        assertFieldCode(res.body, 'idToken', 'validation_length_too_long');
        // providers that issue none, or whose keys are unknown, cannot take one
        for (const provider of ['github', 'oidc3']) {
            res = await rawFetch(url, { method: 'POST', json: { provider, idToken: token } });
            assert.equal(res.status, 400, provider);
            assertFieldCode(res.body, 'provider', 'validation_invalid_provider');
        }
        res = await rawFetch(url, { method: 'POST', json: { provider: 'facebook', idToken: token } });
        assertFieldCode(res.body, 'provider', 'validation_invalid_provider'); // not configured
        res = await rawFetch(`${srv.url}/api/collections/nosuch/auth-with-id-token`, { method: 'POST', json: { provider: 'oidc', idToken: token } });
        assert.equal(res.status, 404);
        res = await rawFetch(`${srv.url}/api/collections/_externalAuths/auth-with-id-token`, { method: 'POST', json: { provider: 'oidc', idToken: token } });
        assert.equal(res.status, 404);
        // createData is validated like a create's
        const err = await expectError(signInWithIdToken({ provider: 'oidc', idToken: token, createData: { name: 'x'.repeat(300) } }), 400);
        assertFieldCode(err, 'name', 'validation_max_text_constraint');
    });

    test('Apple\'s client secret: an ES256 JWT with Apple\'s claims, verifiable with the key', async () => {
        const pem = appleKey.privateKey.export({ type: 'pkcs8', format: 'pem' });
        const { secret } = await su.settings.generateAppleClientSecret(APPLE_CLIENT_ID, TEAM_ID, KEY_ID, pem, 86400);
        const { header, claims } = decodeJws(secret);
        assert.deepEqual(header, { alg: 'ES256', kid: KEY_ID, typ: 'JWT' });
        assert.equal(claims.iss, TEAM_ID);
        assert.equal(claims.sub, APPLE_CLIENT_ID);
        assert.equal(claims.aud, 'https://appleid.apple.com');
        const now = Math.floor(Date.now() / 1000);
        assert.ok(Math.abs(claims.iat - now) < 60);
        assert.equal(claims.exp - claims.iat, 86400);
        const [h, p, s] = secret.split('.');
        assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: appleKey.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')));
        // the input checks (PocketBase's form)
        const url = `${srv.url}/api/settings/apple/generate-client-secret`;
        const auth = { Authorization: su.authStore.token };
        let res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: '', teamId: 'SHORT', keyId: 'K'.repeat(11), privateKey: 'no', duration: 15777001 } });
        assert.equal(res.status, 400);
        assert.equal(res.body.message, 'Invalid client secret data.');
        assertFieldCode(res.body, 'clientId', 'validation_required');
        assertFieldCode(res.body, 'teamId', 'validation_length_invalid');
        assertFieldCode(res.body, 'keyId', 'validation_length_invalid');
        assertFieldCode(res.body, 'privateKey', 'validation_match_invalid');
        assertFieldCode(res.body, 'duration', 'validation_max_less_equal_than_required');
        res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: pem, duration: -5 } });
        assertFieldCode(res.body, 'duration', 'validation_min_greater_equal_than_required');
        // a form's text: a whole number counts, other text and other JSON do not
        for (const bad of ['abc', '12x', '-5', {}, [60], true]) {
            res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: pem, duration: bad } });
            assert.equal(res.status, 400, JSON.stringify(bad));
            assertFieldCode(res.body, 'duration', 'validation_min_greater_equal_than_required');
        }
        res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: pem, duration: '' } });
        assertFieldCode(res.body, 'duration', 'validation_required');
        res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: pem, duration: '99999999999999999999' } });
        assertFieldCode(res.body, 'duration', 'validation_max_less_equal_than_required');
        res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: pem, duration: '60' } });
        assert.equal(res.status, 200);
        assert.equal(typeof res.body.secret, 'string');
        // an RSA key in PKCS #8 matches the pattern but is no P-256 key
        const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
        res = await rawFetch(url, { method: 'POST', headers: auth, json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: rsa, duration: 60 } });
        assert.equal(res.status, 400);
        assert.equal(res.body.message, 'Failed to generate client secret.');
        assertFieldCode(res.body, 'privateKey', 'validation_invalid_key');
        // superusers only
        res = await rawFetch(url, { method: 'POST', json: { clientId: 'c', teamId: TEAM_ID, keyId: KEY_ID, privateKey: pem, duration: 60 } });
        assert.equal(res.status, 401);
        const email = `${uniq('ap')}@example.com`;
        await su.collection('users').create({ email, password: 'userpass123', passwordConfirm: 'userpass123' });
        const user = client(srv.url);
        await user.collection('users').authWithPassword(email, 'userpass123');
        await expectError(user.settings.generateAppleClientSecret('c', TEAM_ID, KEY_ID, pem, 60), 403);
    });

    test('Sign in with Apple: the one-call flow with its form_post redirect and the name it posts once', async () => {
        const sub = `001.${uniq('apple')}`;
        const email = `${uniq('relay')}@privaterelay.appleid.com`;
        apple.nextUser = { sub, email, email_verified: 'true', is_private_email: 'true', appleName: { firstName: 'Ada', lastName: 'Lovelace' } };
        const checksBefore = apple.appleSecretChecks.length;
        const pb = client(srv.url);
        const auth = await pb.collection('users').authWithOAuth2({
            provider: 'apple',
            // the "browser": Apple's page posts a form to tarmac's redirect
            urlCallback: async (url) => {
                const page = await fetch(url, { redirect: 'manual' });
                assert.equal(page.status, 200);
                const html = await page.text();
                const action = /action="([^"]+)"/.exec(html)[1];
                assert.equal(action, `${srv.url}/api/oauth2-redirect`);
                const form = new URLSearchParams();
                for (const m of html.matchAll(/name="(\w+)" value="([^"]*)"/g)) {
                    form.set(m[1], m[2].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
                }
                assert.ok(form.get('user'), html);
                const done = await fetch(action, {
                    method: 'POST', redirect: 'manual',
                    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(),
                });
                assert.equal(done.status, 303);
                assert.ok(done.headers.get('location').endsWith('oauth2-redirect-success'));
            },
        });
        pb.realtime.unsubscribe();
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.meta.id, sub);
        assert.equal(auth.meta.name, 'Ada Lovelace');
        assert.equal(auth.record.name, 'Ada Lovelace');
        assert.equal(auth.record.email, email);
        assert.equal(auth.record.verified, true);
        assert.equal(auth.meta.rawUser.iss, 'https://appleid.apple.com');
        // Apple's token endpoint took the client secret
        assert.deepEqual(apple.appleSecretChecks.slice(checksBefore), ['ok']);
        // the next sign-in: no name posted, the same account
        apple.nextUser = { sub, email, email_verified: 'true' };
        const again = await client(srv.url).collection('users').authWithOAuth2({
            provider: 'apple',
            urlCallback: async (url) => {
                const html = await (await fetch(url)).text();
                const form = new URLSearchParams();
                for (const m of html.matchAll(/name="(\w+)" value="([^"]*)"/g)) form.set(m[1], m[2]);
                assert.equal(form.get('user'), null);
                await fetch(/action="([^"]+)"/.exec(html)[1], {
                    method: 'POST', redirect: 'manual',
                    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(),
                });
            },
        });
        assert.equal(again.record.id, auth.record.id);
        assert.equal(again.meta.isNew, false);
    });

    test('Apple refuses a client secret signed with another key', async () => {
        const c = await su.collections.getOne('users');
        const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
        const { secret } = await su.settings.generateAppleClientSecret(APPLE_CLIENT_ID, TEAM_ID, KEY_ID, other, 3600);
        const providers = c.oauth2.providers.map((p) => (p.name === 'apple' ? { ...p, clientSecret: secret } : p));
        await su.collections.update('users', { oauth2: { providers } });
        try {
            const pb = client(srv.url);
            const p = (await pb.collection('users').listAuthMethods()).oauth2.providers.find((x) => x.name === 'apple');
            const code = apple.issueCode({ redirectUri: REDIRECT, codeChallenge: p.codeChallenge, codeChallengeMethod: 'S256', user: { sub: '001.x' } });
            const body = await expectError(pb.collection('users').authWithOAuth2Code('apple', code, p.codeVerifier, REDIRECT), 400);
            assert.equal(body.message, 'Failed to fetch OAuth2 token.');
            assert.equal(apple.appleSecretChecks.at(-1), 'bad signature');
        } finally {
            const { secret: good } = await su.settings.generateAppleClientSecret(APPLE_CLIENT_ID, TEAM_ID, KEY_ID,
                appleKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), 3600);
            await su.collections.update('users', { oauth2: { providers: c.oauth2.providers.map((p) => (p.name === 'apple' ? { ...p, clientSecret: good } : p)) } });
        }
    });

    test('Apple\'s native sign-in: the bundle id as audience, the SDK\'s hashed nonce, the name from createData', async () => {
        const raw = uniq('n');
        const sub = `001.${uniq('ios')}`;
        const idToken = apple.idToken({
            kid: 'ec-1',
            claims: {
                sub, aud: APPLE_BUNDLE_ID, email: `${uniq('ios')}@privaterelay.appleid.com`, email_verified: true,
                nonce: createHash('sha256').update(raw).digest('hex'),
            },
        });
        const { auth } = await signInWithIdToken({ provider: 'apple', idToken, nonce: raw, createData: { name: 'From The Phone' } });
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.record.name, 'From The Phone');
        assert.equal(auth.record.verified, true);
    });

    test('extra: the settings are stored and shown; keys a provider does not read are refused by name', async () => {
        const c = await su.collections.getOne('users');
        const oidc = c.oauth2.providers.find((p) => p.name === 'oidc');
        assert.deepEqual(oidc.extra, { discoveryURL: `${idp.url}/.well-known/openid-configuration`, audiences: [IOS_CLIENT_ID] });
        assert.equal(oidc.authURL, '');
        assert.equal(c.oauth2.providers.find((p) => p.name === 'github').extra, null);
        const update = (name, extra) => su.collections.update('users', {
            oauth2: { providers: c.oauth2.providers.map((p) => (p.name === name ? { ...p, extra } : p)) },
        });
        const at = (body, i, key) => body.data.oauth2?.providers?.[String(i)]?.extra?.[key]?.code;
        const index = (name) => c.oauth2.providers.findIndex((p) => p.name === name);
        let body = await expectError(update('oidc', { discoveryURL: 'x', hd: 'example.com' }), 400);
        assert.equal(at(body, index('oidc'), 'hd'), 'validation_unsupported', JSON.stringify(body));
        assert.equal(at(body, index('oidc'), 'discoveryURL'), 'validation_is_url', JSON.stringify(body));
        body = await expectError(update('github', { jwksURL: 'https://k' }), 400);
        assert.equal(at(body, index('github'), 'jwksURL'), 'validation_unsupported');
        body = await expectError(update('google', { audiences: 'ios' }), 400);
        assert.equal(at(body, index('google'), 'audiences'), 'validation_invalid_value');
        body = await expectError(update('oidc2', []), 400);
        assert.equal(body.data.oauth2?.providers?.[String(index('oidc2'))]?.extra?.code, 'validation_invalid_value');
        // nothing changed
        const now = await su.collections.getOne('users');
        assert.deepEqual(now.oauth2.providers.find((p) => p.name === 'oidc').extra, oidc.extra);
    });

    test('a discovery document that names another issuer leaves its provider out', async () => {
        const c = await su.collections.getOne('users');
        const rogue = await startFakeProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, issuer: 'https://someone-else.example' });
        try {
            await su.collections.update('users', {
                oauth2: { providers: [...c.oauth2.providers.filter((p) => p.name !== 'oidc3'), { name: 'oidc3', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, extra: { discoveryURL: `${rogue.url}/.well-known/openid-configuration` } }] },
            });
            const m = await client(srv.url).collection('users').listAuthMethods();
            assert.equal(m.oauth2.providers.find((x) => x.name === 'oidc3'), undefined);
            assert.ok(m.oauth2.providers.find((x) => x.name === 'oidc'));
            // and its tokens cannot sign in
            const res = await rawFetch(`${srv.url}/api/collections/users/auth-with-id-token`, {
                method: 'POST', json: { provider: 'oidc3', idToken: rogue.idToken({ claims: { sub: 'x' } }) },
            });
            assert.equal(res.status, 400);
            assert.match(res.body.data.idToken.message, /discovery/);
        } finally {
            await su.collections.update('users', { oauth2: { providers: c.oauth2.providers } });
            await rogue.close();
        }
    });

    test('the OpenAPI document describes auth-with-id-token and the Apple secret endpoint', async () => {
        const doc = (await rawFetch(`${srv.url}/api/docs/openapi.json`, { headers: { Authorization: su.authStore.token } })).body;
        const op = doc.paths['/api/collections/{collection}/auth-with-id-token']?.post;
        assert.ok(op, Object.keys(doc.paths).join('\n'));
        const schema = JSON.stringify(op.requestBody);
        for (const k of ['provider', 'idToken', 'nonce', 'createData']) assert.ok(schema.includes(k), k);
        assert.ok(doc.paths['/api/settings/apple/generate-client-secret']?.post);
        // per collection too
        assert.ok(doc.paths['/api/collections/users/auth-with-id-token']?.post, 'users');
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
