// A fake OAuth2 / OpenID Connect provider for the sign-in tests, written to
// the protocol, not to tarmac: RFC 6749 §4.1 (authorization code grant),
// RFC 7636 (PKCE, S256 and plain), RFC 6750 (bearer tokens), OIDC Core §5.3
// (userinfo). The token endpoint checks what a real provider checks: the
// code (single use, 10 minutes), the client's credentials (in the body or
// HTTP Basic, RFC 6749 §2.3.1), that redirect_uri equals the one of the
// authorization request, and the code_verifier against the challenge.
// Errors are the RFC's JSON ({"error": "invalid_grant"}, ...).
//
// It is an OpenID provider too (OIDC Core, Discovery 1.0): an authorization
// request whose scope holds "openid" gets an id_token from the token
// endpoint, signed with keys made by node:crypto (RSA RS256 "rsa-1", EC
// P-256 ES256 "ec-1"), published at /jwks and named, with the issuer, by
// /.well-known/openid-configuration. As Sign in with Apple (apple: {...}) it
// answers the authorization request with the auto-posting form Apple sends
// for response_mode=form_post (with the user's name, once), and its token
// endpoint checks the client secret the way Apple documents it: an ES256
// JWT whose header names the key id, iss the team id, sub the client id,
// aud https://appleid.apple.com, not expired, verified with the key's
// public half.
//
//   const fake = await startFakeProvider({ clientId, clientSecret, issuer? , apple? });
//   fake.nextUser = { sub, email, email_verified, name, ... };   // who "logs in"
//   GET fake.url + '/authorize?...'  -> 302 to redirect_uri?code&state
//   fake.requests: what reached the token endpoint (for assertions)
//   fake.answers['/token'] = { status, type, body }: answer a path with these
//       bytes instead (a provider gone wrong); delete it to restore
//   fake.idToken({ claims, kid?, alg?, header? }): an id_token as the provider
//       signs them (a phone SDK's), or alg 'none' / 'HS256' (refused ones)
//   fake.tamperIdToken = (claims) => claims: changes the code flow's id_token
//   fake.rotate(): a new EC key (returned kid) joins the JWKS
//   fake.jwksRequests, fake.discoveryRequests: how often each was fetched
//   await fake.close();

import { createServer } from 'node:http';
import {
    createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify,
} from 'node:crypto';

function b64url(buf) {
    return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function sameText(a, b) {
    const x = Buffer.from(String(a)), y = Buffer.from(String(b));
    return x.length === y.length && timingSafeEqual(x, y);
}

// a 1x1 PNG for the users' avatar (GET /avatar.png); /not-an-image lies about its type
const PNG_1X1 = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64');

/** A signing key: {kid, alg, privateKey, jwk (public)}. */
function makeKey(kid, alg) {
    const { privateKey, publicKey } = alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

/** The compact JWS of header and payload signed by key with alg (none, HS256 with secret). */
export function signJws(header, payload, { key, alg, secret } = {}) {
    const input = `${b64url(Buffer.from(JSON.stringify(header)))}.${b64url(Buffer.from(JSON.stringify(payload)))}`;
    let sig = Buffer.alloc(0);
    if (alg === 'HS256') sig = createHmac('sha256', secret).update(input).digest();
    else if (alg === 'RS256') sig = sign('sha256', Buffer.from(input), key);
    else if (alg === 'ES256') sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
}

/** Header and claims of a compact JWS (no check). */
export function decodeJws(token) {
    const [h, p] = token.split('.');
    return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')) };
}

/** Apple's checks of a client secret (developer.apple.com, "Creating a client secret"). */
function appleSecretError(secret, apple, clientId) {
    const parts = String(secret || '').split('.');
    if (parts.length !== 3) return 'not a JWT';
    let header, claims;
    try {
        ({ header, claims } = decodeJws(secret));
    } catch {
        return 'not a JWT';
    }
    if (header.alg !== 'ES256') return `alg ${header.alg}`;
    if (header.kid !== apple.keyId) return `kid ${header.kid}`;
    const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
        { key: apple.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
    if (!ok) return 'bad signature';
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== apple.teamId) return `iss ${claims.iss}`;
    if (claims.sub !== clientId) return `sub ${claims.sub}`;
    if (claims.aud !== 'https://appleid.apple.com') return `aud ${claims.aud}`;
    if (!(claims.exp > now) || !(claims.iat <= now + 60)) return 'expired';
    return '';
}

export async function startFakeProvider({ clientId, clientSecret, issuer, apple }) {
    const codes = new Map(); // code -> {redirectUri, challenge, method, user, clientId, exp, scope, nonce}
    const tokens = new Map(); // access token -> user
    const fake = {
        url: '',
        issuer: '',
        nextUser: null,
        tokenRequests: [],
        userinfoRequests: 0,
        jwksRequests: 0,
        discoveryRequests: 0,
        appleSecretChecks: [],
        answers: {},
        keys: [makeKey('rsa-1', 'RS256'), makeKey('ec-1', 'ES256')],
        signingKid: 'rsa-1',
        tamperIdToken: null,
    };

    /** An id_token signed as this provider signs them (or with a refused alg). */
    fake.idToken = ({ claims, kid = fake.signingKid, alg, header = {}, secret } = {}) => {
        const key = fake.keys.find((k) => k.kid === kid) || fake.keys[0];
        const useAlg = alg || key.alg;
        const now = Math.floor(Date.now() / 1000);
        const full = { iss: fake.issuer, aud: clientId, iat: now, exp: now + 600, ...claims };
        return signJws({ alg: useAlg, kid, typ: 'JWT', ...header }, full,
            { key: key.privateKey, alg: useAlg, secret: secret ?? clientSecret });
    };

    /** A new EC key in the JWKS (the provider rotated); its kid. */
    fake.rotate = () => {
        const key = makeKey(`ec-${fake.keys.length + 1}`, 'ES256');
        fake.keys.push(key);
        return key.kid;
    };

    /** The code flow's id_token for user (OIDC Core §2 claims from the profile). */
    const idTokenFor = (user, nonce) => {
        const { emails, id, ...profile } = user || {}; // eslint-disable-line no-unused-vars
        let claims = { sub: String(user?.sub ?? id ?? ''), ...profile };
        if (nonce) claims.nonce = nonce;
        if (fake.tamperIdToken) claims = fake.tamperIdToken(claims);
        return fake.idToken({ claims });
    };

    const json = (res, status, body, headers = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
        res.end(JSON.stringify(body));
    };

    /** Issues a code as the authorization endpoint would after a login. */
    fake.issueCode = ({
        redirectUri, codeChallenge = '', codeChallengeMethod = '', user, client = clientId, scope = 'openid', nonce = '',
    }) => {
        const code = b64url(randomBytes(24));
        codes.set(code, {
            redirectUri, challenge: codeChallenge, method: codeChallengeMethod || (codeChallenge ? 'plain' : ''),
            user, clientId: client, exp: Date.now() + 600000, scope, nonce,
        });
        return code;
    };

    const server = createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
            const canned = fake.answers[url.pathname];
            if (canned && url.pathname !== '/authorize') {
                res.writeHead(canned.status ?? 200, { 'Content-Type': canned.type ?? 'application/json' });
                return res.end(canned.body);
            }
            if (url.pathname === '/authorize' && req.method === 'GET') {
                const q = url.searchParams;
                const redirectUri = q.get('redirect_uri');
                if (q.get('client_id') !== clientId || !redirectUri) {
                    return json(res, 400, { error: 'invalid_request' });
                }
                const target = new URL(redirectUri);
                const answer = {};
                if (q.get('response_type') !== 'code') {
                    answer.error = 'unsupported_response_type';
                } else {
                    answer.code = fake.issueCode({
                        redirectUri, codeChallenge: q.get('code_challenge') || '',
                        codeChallengeMethod: q.get('code_challenge_method') || '', user: fake.nextUser,
                        scope: q.get('scope') || '', nonce: q.get('nonce') || '',
                    });
                }
                if (q.get('state') !== null) answer.state = q.get('state');
                if (q.get('response_mode') === 'form_post') {
                    // Apple: a page that posts the answer to redirect_uri, with the
                    // user's name the first time (fake.nextUser.appleName)
                    if (fake.nextUser?.appleName) answer.user = JSON.stringify({ name: fake.nextUser.appleName, email: fake.nextUser.email });
                    const inputs = Object.entries(answer).map(([k, v]) =>
                        `<input type="hidden" name="${k}" value="${String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`).join('');
                    res.writeHead(200, { 'Content-Type': 'text/html' });
                    return res.end(`<html><body onload="document.forms[0].submit()"><form method="POST" action="${redirectUri}">${inputs}</form></body></html>`);
                }
                for (const [k, v] of Object.entries(answer)) target.searchParams.set(k, v);
                res.writeHead(302, { Location: target.toString() });
                return res.end();
            }
            if (url.pathname === '/token' && req.method === 'POST') {
                const form = new URLSearchParams(body);
                fake.tokenRequests.push(Object.fromEntries(form));
                let id = form.get('client_id'), secret = form.get('client_secret');
                const basic = /^Basic (.+)$/.exec(req.headers.authorization || '');
                if (basic) {
                    const [u, p] = Buffer.from(basic[1], 'base64').toString().split(':');
                    id = decodeURIComponent(u); secret = decodeURIComponent(p || '');
                }
                if (apple) {
                    const why = id === clientId ? appleSecretError(secret, apple, clientId) : 'client_id';
                    fake.appleSecretChecks.push(why || 'ok');
                    if (why) return json(res, 400, { error: 'invalid_client' });
                } else if (!id || !sameText(id, clientId) || !secret || !sameText(secret, clientSecret)) {
                    return json(res, 401, { error: 'invalid_client' }, { 'WWW-Authenticate': 'Basic' });
                }
                if (form.get('grant_type') !== 'authorization_code') {
                    return json(res, 400, { error: 'unsupported_grant_type' });
                }
                const entry = codes.get(form.get('code') || '');
                codes.delete(form.get('code') || ''); // single use (RFC 6749 §4.1.2)
                if (!entry || entry.exp < Date.now() || entry.clientId !== id) {
                    return json(res, 400, { error: 'invalid_grant' });
                }
                if (form.get('redirect_uri') !== entry.redirectUri) {
                    return json(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
                }
                if (entry.challenge) {
                    const verifier = form.get('code_verifier') || '';
                    const computed = entry.method === 'S256'
                        ? b64url(createHash('sha256').update(verifier).digest()) : verifier;
                    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) || computed !== entry.challenge) {
                        return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
                    }
                }
                const access = b64url(randomBytes(24));
                tokens.set(access, entry.user);
                const answer = {
                    access_token: access, token_type: 'Bearer', expires_in: 3600,
                    refresh_token: b64url(randomBytes(24)),
                };
                // OIDC Core §3.1.3.3: an openid request gets an id_token (Apple: always)
                if (apple || entry.scope.split(' ').includes('openid')) answer.id_token = idTokenFor(entry.user, entry.nonce);
                return json(res, 200, answer);
            }
            if (url.pathname === '/jwks' && req.method === 'GET') {
                fake.jwksRequests += 1;
                return json(res, 200, { keys: fake.keys.map((k) => k.jwk) });
            }
            if (url.pathname === '/.well-known/openid-configuration' && req.method === 'GET') {
                fake.discoveryRequests += 1;
                return json(res, 200, {
                    issuer: fake.issuer, authorization_endpoint: `${fake.url}/authorize`,
                    token_endpoint: `${fake.url}/token`, userinfo_endpoint: `${fake.url}/userinfo`,
                    jwks_uri: `${fake.url}/jwks`, response_types_supported: ['code'],
                    subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256', 'ES256'],
                });
            }
            if (url.pathname === '/userinfo/emails' && req.method === 'GET') {
                // GitHub's GET /user/emails shape: [{email, primary, verified, visibility}]
                const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
                const user = m && tokens.get(m[1]);
                if (!user) return json(res, 401, { message: 'Bad credentials' });
                return json(res, 200, user.emails || []);
            }
            if (url.pathname === '/userinfo' && req.method === 'GET') {
                fake.userinfoRequests += 1;
                const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
                const user = m && tokens.get(m[1]);
                if (!user) {
                    return json(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
                }
                const { emails, ...profile } = user; // eslint-disable-line no-unused-vars
                return json(res, 200, profile);
            }
            if (url.pathname === '/avatar.png' && req.method === 'GET') {
                res.writeHead(200, { 'Content-Type': 'image/png' });
                return res.end(PNG_1X1);
            }
            if (url.pathname === '/not-an-image' && req.method === 'GET') {
                res.writeHead(200, { 'Content-Type': 'image/png' });
                return res.end('just text');
            }
            json(res, 404, { error: 'not_found' });
        });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    fake.url = `http://127.0.0.1:${server.address().port}`;
    fake.issuer = issuer || fake.url;
    fake.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
    return fake;
}
