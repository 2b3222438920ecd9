// OAuth2 sign-in (spec §6.2, §6.11) through the SDK's listAuthMethods and
// authWithOAuth2Code, against a fake provider (lib/fake_oauth2.mjs) that
// checks the code grant and PKCE as a real one does. The browser's part
// (following authURL to the provider and back) is a fetch without redirects.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import { startFakeProvider } from './lib/fake_oauth2.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, rawFetch, uniq,
} from './lib/util.mjs';

globalThis.EventSource = EventSource; // the SDK's realtime client under node

const CLIENT_ID = 'tarmac-test-client';
const CLIENT_SECRET = 'fake-secret-' + 'x'.repeat(20);
const REDIRECT = 'https://app.example.com/oauth2-redirect';

function s256(v) {
    return createHash('sha256').update(v).digest('base64')
        .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

describe('oauth2', () => {
    let srv, su, fake;

    const providerConfig = (extra = {}) => ({
        name: 'oidc', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
        authURL: `${fake.url}/authorize`, tokenURL: `${fake.url}/token`,
        userInfoURL: `${fake.url}/userinfo`, displayName: 'Fake IdP', ...extra,
    });

    /** listAuthMethods, then the browser: authURL + redirect -> the provider's 302 back. */
    async function signIn(user, { collection = 'users', createData, tamper } = {}) {
        const pb = client(srv.url);
        const methods = await pb.collection(collection).listAuthMethods();
        const p = methods.oauth2.providers.find((x) => x.name === 'oidc');
        assert.ok(p, JSON.stringify(methods));
        fake.nextUser = user;
        const res = await fetch(p.authURL + encodeURIComponent(REDIRECT), { redirect: 'manual' });
        assert.equal(res.status, 302);
        const back = new URL(res.headers.get('location'));
        assert.equal(back.origin + back.pathname, REDIRECT);
        assert.equal(back.searchParams.get('state'), p.state);
        let code = back.searchParams.get('code');
        let verifier = p.codeVerifier;
        if (tamper) ({ code, verifier } = tamper({ code, verifier }));
        const auth = await pb.collection(collection).authWithOAuth2Code('oidc', code, verifier, REDIRECT, createData);
        return { pb, auth };
    }

    before(async () => {
        fake = await startFakeProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
        // the fake provider, and so the pictures it serves, are on loopback
        srv = await startServer({ flags: ['--allow-private-network=true'] });
        su = await superuserClient(srv.url);
        const users = await su.collections.update('users', { oauth2: { enabled: true, providers: [providerConfig()] } });
        assert.equal(users.oauth2.enabled, true);
    });

    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
        if (fake) await fake.close();
    });

    test('the collections API never returns the client secret', async () => {
        const c = await su.collections.getOne('users');
        assert.equal(c.oauth2.providers.length, 1);
        const p = c.oauth2.providers[0];
        assert.equal(p.name, 'oidc');
        assert.equal(p.clientId, CLIENT_ID);
        assert.equal(p.clientSecret, undefined);
        assert.ok(!JSON.stringify(c).includes(CLIENT_SECRET));
        const list = await rawFetch(`${srv.url}/api/collections?perPage=100`, { headers: { Authorization: su.authStore.token } });
        assert.ok(!list.text.includes(CLIENT_SECRET));
        assert.deepEqual(c.oauth2.mappedFields, { id: '', name: 'name', username: '', avatarURL: 'avatar' });
        // A PATCH that omits the secret keeps it (the next sign-in still works).
        await su.collections.update('users', { oauth2: { providers: [{ ...p }] } });
    });

    test('auth-methods lists the provider with state, PKCE and the authorization URL', async () => {
        const m = await client(srv.url).collection('users').listAuthMethods();
        assert.equal(m.oauth2.enabled, true);
        const [p] = m.oauth2.providers;
        assert.equal(p.name, 'oidc');
        assert.equal(p.displayName, 'Fake IdP');
        assert.match(p.state, /^[A-Za-z0-9]{30}$/);
        assert.match(p.codeVerifier, /^[A-Za-z0-9]{43}$/);
        assert.equal(p.codeChallenge, s256(p.codeVerifier));
        assert.equal(p.codeChallengeMethod, 'S256');
        assert.ok(p.authURL.startsWith(`${fake.url}/authorize?`), p.authURL);
        assert.ok(p.authURL.endsWith('&redirect_uri='), p.authURL);
        const q = new URL(p.authURL).searchParams;
        assert.equal(q.get('client_id'), CLIENT_ID);
        assert.equal(q.get('response_type'), 'code');
        assert.equal(q.get('state'), p.state);
        assert.equal(q.get('code_challenge'), p.codeChallenge);
        assert.equal(q.get('code_challenge_method'), 'S256');
        assert.equal(q.get('scope'), 'openid email profile');
        assert.ok(!JSON.stringify(m).includes(CLIENT_SECRET));
        // fresh values per call
        const again = await client(srv.url).collection('users').listAuthMethods();
        assert.notEqual(again.oauth2.providers[0].state, p.state);
    });

    test('first sign-in creates the record, the second finds it', async () => {
        const email = `${uniq('oa')}@example.com`;
        const user = { sub: uniq('sub'), email, email_verified: true, name: 'Ada Lovelace', preferred_username: 'ada' };
        const { pb, auth } = await signIn(user);
        assert.equal(auth.meta.isNew, true);
        assert.equal(auth.meta.id, user.sub);
        assert.equal(auth.meta.email, email);
        assert.equal(auth.meta.name, 'Ada Lovelace');
        assert.equal(auth.meta.username, 'ada');
        assert.equal(typeof auth.meta.accessToken, 'string');
        assert.ok(auth.meta.accessToken.length > 10);
        assert.equal(typeof auth.meta.refreshToken, 'string');
        assert.match(auth.meta.expiry, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        assert.equal(auth.meta.rawUser.sub, user.sub);
        assert.equal(auth.record.email, email);
        assert.equal(auth.record.verified, true);
        assert.equal(auth.record.name, 'Ada Lovelace');
        assert.ok(pb.authStore.isValid);
        // the token works
        const me = await pb.collection('users').getOne(auth.record.id);
        assert.equal(me.id, auth.record.id);
        // the provider saw the code grant with PKCE and our redirect URL
        const last = fake.tokenRequests.at(-1);
        assert.equal(last.grant_type, 'authorization_code');
        assert.equal(last.redirect_uri, REDIRECT);
        assert.match(last.code_verifier, /^[A-Za-z0-9]{43}$/);
        // the link is the user's to see
        const links = await pb.collection('_externalAuths').getFullList();
        assert.equal(links.length, 1);
        assert.equal(links[0].provider, 'oidc');
        assert.equal(links[0].providerId, user.sub);
        assert.equal(links[0].recordRef, auth.record.id);
        // second sign-in: the same record, not new
        const second = await signIn({ ...user, name: 'Renamed' });
        assert.equal(second.auth.meta.isNew, false);
        assert.equal(second.auth.record.id, auth.record.id);
        assert.equal(second.auth.record.name, 'Ada Lovelace');
        assert.equal((await pb.collection('_externalAuths').getFullList()).length, 1);
    });

    test('a new record gets the provider\'s picture as its avatar (mappedFields)', async () => {
        const { auth } = await signIn({
            sub: uniq('sub'), email: `${uniq('av')}@example.com`, email_verified: true,
            picture: `${fake.url}/avatar.png`,
        });
        assert.equal(auth.meta.avatarURL, `${fake.url}/avatar.png`);
        assert.match(auth.record.avatar, /^avatar\w*\.png$/);
        const file = await fetch(`${srv.url}/api/files/users/${auth.record.id}/${auth.record.avatar}`);
        assert.equal(file.status, 200);
        assert.equal(file.headers.get('content-type'), 'image/png');
        // a picture that is no image is left out; the sign-in still works
        const other = await signIn({
            sub: uniq('sub'), email: `${uniq('av')}@example.com`, email_verified: true,
            picture: `${fake.url}/not-an-image`,
        });
        assert.equal(other.auth.record.avatar, '');
        const gone = await signIn({
            sub: uniq('sub'), email: `${uniq('av')}@example.com`, email_verified: true,
            picture: `${fake.url}/no-such-picture`,
        });
        assert.equal(gone.auth.record.avatar, '');
    });

    test('without --allow-private-network a picture on a private address is not fetched', async () => {
        const plain = await startServer();
        try {
            const su2 = await superuserClient(plain.url);
            await su2.collections.update('users', { oauth2: { enabled: true, providers: [providerConfig()] } });
            const pb = client(plain.url);
            const p = (await pb.collection('users').listAuthMethods()).oauth2.providers[0];
            const code = fake.issueCode({
                redirectUri: REDIRECT, codeChallenge: p.codeChallenge, codeChallengeMethod: 'S256',
                user: { sub: uniq('sub'), email: `${uniq('pv')}@example.com`, email_verified: true, picture: `${fake.url}/avatar.png` },
            });
            const auth = await pb.collection('users').authWithOAuth2Code('oidc', code, p.codeVerifier, REDIRECT);
            assert.equal(auth.meta.isNew, true);
            assert.equal(auth.record.avatar, '');
        } finally {
            await plain.stop();
        }
    });

    test('a verified email links the existing account and verifies it', async () => {
        const email = `${uniq('link')}@example.com`;
        const existing = await su.collection('users').create({
            email, password: 'userpass123', passwordConfirm: 'userpass123', name: 'Existing',
        });
        // whoever registered the unverified account has a session...
        const squatter = client(srv.url);
        await squatter.collection('users').authWithPassword(email, 'userpass123');
        const { auth, pb } = await signIn({ sub: uniq('sub'), email, email_verified: true, name: 'From IdP' });
        assert.equal(auth.meta.isNew, false);
        assert.equal(auth.record.id, existing.id);
        assert.equal(auth.record.name, 'Existing');
        assert.equal(auth.record.verified, true);
        const links = await pb.collection('_externalAuths').getFullList();
        assert.equal(links.length, 1);
        assert.equal(links[0].recordRef, existing.id);
        // ...which ends: the password it set no longer logs in, its token is dead
        await expectError(client(srv.url).collection('users').authWithPassword(email, 'userpass123'), 400);
        await expectError(squatter.collection('users').authRefresh(), 401);
        // the provider's user keeps working
        assert.equal((await pb.collection('users').authRefresh()).record.id, existing.id);
    });

    test('a user sees and unlinks only their own links; after unlinking a sign-in links again', async () => {
        const email = `${uniq('ul')}@example.com`;
        const user = { sub: uniq('sub'), email, email_verified: true };
        const { pb, auth } = await signIn(user);
        const other = await signIn({ sub: uniq('sub'), email: `${uniq('ul')}@example.com`, email_verified: true });
        const mine = await pb.collection('_externalAuths').getFullList();
        assert.equal(mine.length, 1);
        // another user's link is invisible: 404, not 403
        await expectError(other.pb.collection('_externalAuths').delete(mine[0].id), 404);
        await expectError(pb.collection('_externalAuths').create({
            collectionRef: auth.record.collectionId, recordRef: auth.record.id, provider: 'oidc', providerId: 'forged',
        }), 403);
        await pb.collection('_externalAuths').delete(mine[0].id);
        assert.equal((await pb.collection('_externalAuths').getFullList()).length, 0);
        // the verified email still finds the account, and links it again
        const again = await signIn(user);
        assert.equal(again.auth.record.id, auth.record.id);
        assert.equal(again.auth.meta.isNew, false);
        assert.equal((await pb.collection('_externalAuths').getFullList()).length, 1);
        // a guest sees none
        assert.equal((await client(srv.url).collection('_externalAuths').getFullList()).length, 0);
    });

    test('a signed-in user links the provider to their own account', async () => {
        const email = `${uniq('me')}@example.com`;
        const me = await su.collection('users').create({
            email, password: 'userpass123', passwordConfirm: 'userpass123', verified: true,
        });
        const pb = client(srv.url);
        await pb.collection('users').authWithPassword(email, 'userpass123');
        const m = await pb.collection('users').listAuthMethods();
        const p = m.oauth2.providers[0];
        const sub = uniq('sub');
        const code = fake.issueCode({
            redirectUri: REDIRECT, codeChallenge: p.codeChallenge, codeChallengeMethod: 'S256',
            user: { sub, email: `${uniq('elsewhere')}@example.com`, email_verified: true },
        });
        const auth = await pb.collection('users').authWithOAuth2Code('oidc', code, p.codeVerifier, REDIRECT);
        assert.equal(auth.record.id, me.id);
        assert.equal(auth.record.email, email);
        assert.equal(auth.meta.isNew, false);
        const links = await pb.collection('_externalAuths').getFullList();
        assert.deepEqual(links.map((l) => l.providerId), [sub]);
    });

    test('GitHub: the user endpoint, then its emails endpoint for the primary verified address', async () => {
        const c = await su.collections.getOne('users');
        await su.collections.update('users', {
            oauth2: {
                providers: [...c.oauth2.providers, {
                    name: 'github', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
                    authURL: `${fake.url}/authorize`, tokenURL: `${fake.url}/token`, userInfoURL: `${fake.url}/userinfo`,
                }],
            },
        });
        try {
            const pb = client(srv.url);
            const m = await pb.collection('users').listAuthMethods();
            const p = m.oauth2.providers.find((x) => x.name === 'github');
            assert.equal(p.displayName, 'GitHub');
            assert.equal(new URL(p.authURL).searchParams.get('scope'), 'read:user user:email');
            const email = `${uniq('gh')}@example.com`;
            const code = fake.issueCode({
                redirectUri: REDIRECT, codeChallenge: p.codeChallenge, codeChallengeMethod: 'S256',
                user: {
                    id: 4242, login: 'octocat', name: 'The Octocat', email: null,
                    emails: [
                        { email: `${uniq('other')}@example.com`, primary: false, verified: true },
                        { email, primary: true, verified: true },
                    ],
                },
            });
            const auth = await pb.collection('users').authWithOAuth2Code('github', code, p.codeVerifier, REDIRECT);
            assert.equal(auth.meta.id, '4242');
            assert.equal(auth.meta.username, 'octocat');
            assert.equal(auth.meta.email, email);
            assert.equal(auth.record.email, email);
            assert.equal(auth.record.verified, true);
            assert.equal(auth.record.name, 'The Octocat');
        } finally {
            await su.collections.update('users', { oauth2: { providers: c.oauth2.providers } });
        }
    });

    test('a verified account keeps its password when a provider links to it', async () => {
        const email = `${uniq('kept')}@example.com`;
        const existing = await su.collection('users').create({
            email, password: 'userpass123', passwordConfirm: 'userpass123', verified: true,
        });
        const { auth } = await signIn({ sub: uniq('sub'), email, email_verified: true });
        assert.equal(auth.record.id, existing.id);
        await client(srv.url).collection('users').authWithPassword(email, 'userpass123');
    });

    test('an unverified email does not link; without an address no account is made', async () => {
        const email = `${uniq('unv')}@example.com`;
        const existing = await su.collection('users').create({
            email, password: 'userpass123', passwordConfirm: 'userpass123',
        });
        // The email field is required (as PocketBase's default): no verified
        // address from the provider and none in createData is a 400 on it.
        const body = await expectError(signIn({ sub: uniq('sub'), email, email_verified: false, name: 'Mallory' }), 400);
        assertFieldCode(body, 'email', 'validation_required');
        // With an address of its own in createData the account is new, unverified, not linked.
        const other = `${uniq('own')}@example.com`;
        const { auth } = await signIn({ sub: uniq('sub'), email, email_verified: false }, { createData: { email: other } });
        assert.equal(auth.meta.isNew, true);
        assert.notEqual(auth.record.id, existing.id);
        assert.equal(auth.record.email, other);
        assert.equal(auth.record.verified, false);
    });

    test('createData is applied and validated like a create', async () => {
        const sub = uniq('sub');
        const { auth } = await signIn({ sub, email: `${uniq('cd')}@example.com`, email_verified: true, name: 'N' },
            { createData: { name: 'Chosen', emailVisibility: true } });
        assert.equal(auth.record.name, 'Chosen');
        assert.equal(auth.record.emailVisibility, true);
        const err = await expectError(signIn({ sub: uniq('sub'), email: `${uniq('cd')}@example.com`, email_verified: true },
            { createData: { name: 'x'.repeat(300) } }), 400);
        assertFieldCode(err, 'name', 'validation_max_text_constraint');
        // createData cannot mark the record verified
        const { auth: a2 } = await signIn({ sub: uniq('sub'), email_verified: false },
            { createData: { verified: true, email: `${uniq('cd')}@example.com` } });
        assert.equal(a2.record.verified, false);
    });

    test('a wrong code, a reused code or a wrong verifier is 400', async () => {
        const user = { sub: uniq('sub'), email_verified: false };
        await expectError(signIn(user, { tamper: ({ verifier }) => ({ code: 'not-a-code', verifier }) }), 400);
        await expectError(signIn(user, { tamper: ({ code }) => ({ code, verifier: 'A'.repeat(43) }) }), 400);
        const body = await expectError(signIn(user, { tamper: ({ code }) => ({ code, verifier: '' }) }), 400);
        assert.equal(body.message, 'Failed to fetch OAuth2 token.');
    });

    test('a redirect URL other than the authorization request\'s is 400', async () => {
        const pb = client(srv.url);
        const m = await pb.collection('users').listAuthMethods();
        const p = m.oauth2.providers[0];
        const code = fake.issueCode({ redirectUri: REDIRECT, codeChallenge: p.codeChallenge, codeChallengeMethod: 'S256', user: { sub: 'x' } });
        await expectError(pb.collection('users').authWithOAuth2Code('oidc', code, p.codeVerifier, 'https://evil.example.com/cb'), 400);
    });

    test('unknown provider, missing fields: 400 on the field', async () => {
        const pb = client(srv.url);
        let body = await expectError(pb.collection('users').authWithOAuth2Code('nosuch', 'c', 'v', REDIRECT), 400);
        assertFieldCode(body, 'provider', 'validation_invalid_provider');
        body = await expectError(pb.collection('users').authWithOAuth2Code('google', 'c', 'v', REDIRECT), 400);
        assertFieldCode(body, 'provider', 'validation_invalid_provider');
        body = await expectError(pb.collection('users').authWithOAuth2Code('oidc', '', 'v', REDIRECT), 400);
        assertFieldCode(body, 'code', 'validation_required');
        body = await expectError(pb.collection('users').authWithOAuth2Code('oidc', 'c', 'v', ''), 400);
        assertFieldCode(body, 'redirectURL', 'validation_required');
    });

    test('auth-with-oauth2 refuses a body that is not JSON, a blank provider and a createData that is not an object', async () => {
        const url = `${srv.url}/api/collections/users/auth-with-oauth2`;
        let res = await rawFetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"provider":' });
        assert.equal(res.status, 400);
        res = await rawFetch(url, { method: 'POST', json: { code: 'c', codeVerifier: 'v', redirectURL: REDIRECT } });
        assert.equal(res.status, 400);
        assertFieldCode(res.body, 'provider', 'validation_required');
        res = await rawFetch(url, { method: 'POST', json: { provider: 7, code: 'c', redirectURL: REDIRECT } });
        assert.equal(res.status, 400);
        res = await rawFetch(url, { method: 'POST', json: { provider: 'oidc', code: 'c', redirectURL: REDIRECT, createData: 'x' } });
        assert.equal(res.status, 400);
        assertFieldCode(res.body, 'createData', 'validation_invalid_value');
        res = await rawFetch(`${srv.url}/api/collections/nosuch/auth-with-oauth2`, {
            method: 'POST', json: { provider: 'oidc', code: 'c', redirectURL: REDIRECT },
        });
        assert.equal(res.status, 404);
    });

    test('a provider answering garbage is 400, never a crash or a half-made account', async () => {
        const before = (await su.collection('users').getList(1, 1)).totalItems;
        const cases = [
            ['/token', { body: '<html>not json</html>', type: 'text/html' }, 'Failed to fetch OAuth2 token.'],
            ['/token', { body: '{"token_type":"Bearer"}' }, 'Failed to fetch OAuth2 token.'],
            ['/token', { body: '{"access_token":12345}' }, 'Failed to fetch OAuth2 token.'],
            ['/token', { status: 500, body: '{"access_token":"canned"}' }, 'Failed to fetch OAuth2 token.'],
            ['/token', { body: '{"access_token":"' + 'a'.repeat(2 << 20) + '"}' }, 'Failed to fetch OAuth2 token.'],
            ['/userinfo', { body: 'not json' }, 'Failed to fetch OAuth2 user.'],
            ['/userinfo', { body: '["sub"]' }, 'Failed to fetch OAuth2 user.'],
            ['/userinfo', { body: '{"sub":{"id":1},"email":"x@example.com","email_verified":true}' }, 'Failed to fetch OAuth2 user.'],
        ];
        try {
            for (const [path, answer, message] of cases) {
                fake.answers = { [path]: answer };
                const body = await expectError(signIn({ sub: uniq('sub'), email_verified: false }), 400, path);
                assert.equal(body.message, message, `${path} ${answer.body.slice(0, 40)}`);
            }
        } finally {
            fake.answers = {};
        }
        assert.equal((await su.collection('users').getList(1, 1)).totalItems, before);
    });

    test('collection options are validated', async () => {
        let body = await expectError(su.collections.update('users', { oauth2: { providers: [{ name: 'nosuch', clientId: 'a', clientSecret: 'b' }] } }), 400);
        assert.ok(body.data.oauth2?.providers?.['0']?.name || body.data['oauth2.providers.0.name'], JSON.stringify(body));
        body = await expectError(su.collections.update('users', { oauth2: { providers: [{ name: 'google', clientId: '' }] } }), 400);
        body = await expectError(su.collections.update('users', { oauth2: { providers: [{ name: 'oidc', clientId: 'a', clientSecret: 'b' }] } }), 400);
        body = await expectError(su.collections.update('users', { oauth2: { mappedFields: { name: 'nosuchfield' } } }), 400);
        // extra settings the provider does not read are refused by name, not stored and ignored
        body = await expectError(su.collections.update('users', { oauth2: { providers: [providerConfig({ extra: { hd: 'example.com' } })] } }), 400);
        assert.equal(body.data.oauth2?.providers?.['0']?.extra?.hd?.code, 'validation_unsupported', JSON.stringify(body));
        body = await expectError(su.collections.update('users', { oauth2: { enabled: 'yes' } }), 400);
        assert.equal(body.data.oauth2?.enabled?.code, 'validation_invalid_value', JSON.stringify(body));
        // nothing changed
        const c = await su.collections.getOne('users');
        assert.equal(c.oauth2.providers[0].name, 'oidc');
        assert.equal(c.oauth2.mappedFields.name, 'name');
    });

    test('the one-call flow: realtime @oauth2 relays the redirect to the SDK', async () => {
        const email = `${uniq('rt')}@example.com`;
        fake.nextUser = { sub: uniq('sub'), email, email_verified: true, name: 'Realtime' };
        const pb = client(srv.url);
        const visited = [];
        const auth = await pb.collection('users').authWithOAuth2({
            provider: 'oidc',
            // the "browser": the provider's login page answers with a redirect
            // to tarmac's /api/oauth2-redirect, which answers with its own page
            urlCallback: async (url) => {
                visited.push(url);
                const toProvider = await fetch(url, { redirect: 'manual' });
                assert.equal(toProvider.status, 302);
                const back = toProvider.headers.get('location');
                visited.push(back);
                const page = await fetch(back, { redirect: 'manual' });
                assert.equal(page.status, 307);
                visited.push(page.headers.get('location'));
            },
        });
        assert.equal(auth.record.email, email);
        assert.equal(auth.meta.isNew, true);
        assert.ok(pb.authStore.isValid);
        const authorize = new URL(visited[0]);
        assert.equal(authorize.searchParams.get('redirect_uri'), `${srv.url}/api/oauth2-redirect`);
        assert.match(authorize.searchParams.get('state'), /^[A-Za-z0-9]{40}$/); // the realtime clientId
        assert.ok(visited[1].startsWith(`${srv.url}/api/oauth2-redirect?`), visited[1]);
        assert.ok(visited[2].endsWith('oauth2-redirect-success'), visited[2]);
        pb.realtime.unsubscribe();
    });

    test('the redirect with an unknown state, no state or an error goes to the failure page', async () => {
        for (const q of ['state=nosuchclient&code=c', 'code=c', '', `state=${'x'.repeat(300)}&code=c`, 'state=&code=c']) {
            const res = await fetch(`${srv.url}/api/oauth2-redirect?${q}`, { redirect: 'manual' });
            assert.equal(res.status, 307);
            assert.ok(res.headers.get('location').endsWith('oauth2-redirect-failure'));
        }
        const post = await fetch(`${srv.url}/api/oauth2-redirect`, {
            method: 'POST', redirect: 'manual',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'state=x&code=y',
        });
        assert.equal(post.status, 303);
        assert.ok(post.headers.get('location').endsWith('oauth2-redirect-failure'));
        // a POST whose body does not decode is a 400, not a redirect
        const bad = await rawFetch(`${srv.url}/api/oauth2-redirect`, {
            method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/json' }, body: '{"state":',
        });
        assert.equal(bad.status, 400);
        // an error from the provider reaches the SDK, which rejects
        const pb = client(srv.url);
        await assert.rejects(pb.collection('users').authWithOAuth2({
            provider: 'oidc',
            urlCallback: async (url) => {
                const state = new URL(url).searchParams.get('state');
                const page = await fetch(`${srv.url}/api/oauth2-redirect?state=${state}&error=access_denied`, { redirect: 'manual' });
                assert.ok(page.headers.get('location').endsWith('oauth2-redirect-failure'));
            },
        }), (err) => /access_denied/.test(err?.originalError?.message ?? ''));
    });

    test('meta/oauth2-providers lists the provider table (superusers)', async () => {
        const list = await su.collections.getAllOAuth2Providers();
        const names = list.map((p) => p.name);
        for (const n of ['oidc', 'google', 'apple', 'github', 'microsoft', 'facebook']) assert.ok(names.includes(n), names.join());
        assert.equal(list.find((p) => p.name === 'github').displayName, 'GitHub');
        await expectError(client(srv.url).collections.getAllOAuth2Providers(), 401);
    });

    test('a non-auth collection has no auth-with-oauth2', async () => {
        const res = await rawFetch(`${srv.url}/api/collections/_externalAuths/auth-with-oauth2`, {
            method: 'POST', json: { provider: 'oidc', code: 'c', redirectURL: REDIRECT },
        });
        assert.equal(res.status, 404);
    });

    test('disabled: 403, and auth-methods lists no provider', async () => {
        await su.collections.update('users', { oauth2: { enabled: false } });
        const m = await client(srv.url).collection('users').listAuthMethods();
        assert.equal(m.oauth2.enabled, false);
        assert.deepEqual(m.oauth2.providers, []);
        await expectError(client(srv.url).collection('users').authWithOAuth2Code('oidc', 'c', 'v', REDIRECT), 403);
        await su.collections.update('users', { oauth2: { enabled: true } });
    });

    test('no response contained password or tokenKey', () => assertNoLeaks());

    test('server exits cleanly on SIGTERM', async () => {
        await srv.stop();
    });
});
