// A fake OAuth2 / OpenID Connect provider for the sign-in tests, written to
// the protocol, not to tarmac: RFC 6749 §4.1 (authorization code grant),
// RFC 7636 (PKCE, S256 and plain), RFC 6750 (bearer tokens), OIDC Core §5.3
// (userinfo). The token endpoint checks what a real provider checks: the
// code (single use, 10 minutes), the client's credentials (in the body or
// HTTP Basic, RFC 6749 §2.3.1), that redirect_uri equals the one of the
// authorization request, and the code_verifier against the challenge.
// Errors are the RFC's JSON ({"error": "invalid_grant"}, ...).
//
//   const fake = await startFakeProvider({ clientId, clientSecret });
//   fake.nextUser = { sub, email, email_verified, name, ... };   // who "logs in"
//   GET fake.url + '/authorize?...'  -> 302 to redirect_uri?code&state
//   fake.requests: what reached the token endpoint (for assertions)
//   fake.answers['/token'] = { status, type, body }: answer a path with these
//       bytes instead (a provider gone wrong); delete it to restore
//   await fake.close();

import { createServer } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

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

export async function startFakeProvider({ clientId, clientSecret }) {
    const codes = new Map(); // code -> {redirectUri, challenge, method, user, clientId, exp}
    const tokens = new Map(); // access token -> user
    const fake = {
        url: '',
        nextUser: null,
        tokenRequests: [],
        userinfoRequests: 0,
        answers: {},
    };

    const json = (res, status, body, headers = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
        res.end(JSON.stringify(body));
    };

    /** Issues a code as the authorization endpoint would after a login. */
    fake.issueCode = ({ redirectUri, codeChallenge = '', codeChallengeMethod = '', user, client = clientId }) => {
        const code = b64url(randomBytes(24));
        codes.set(code, {
            redirectUri, challenge: codeChallenge, method: codeChallengeMethod || (codeChallenge ? 'plain' : ''),
            user, clientId: client, exp: Date.now() + 600000,
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
                if (q.get('response_type') !== 'code') {
                    target.searchParams.set('error', 'unsupported_response_type');
                } else {
                    target.searchParams.set('code', fake.issueCode({
                        redirectUri, codeChallenge: q.get('code_challenge') || '',
                        codeChallengeMethod: q.get('code_challenge_method') || '', user: fake.nextUser,
                    }));
                }
                if (q.get('state') !== null) target.searchParams.set('state', q.get('state'));
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
                if (!id || !sameText(id, clientId) || !secret || !sameText(secret, clientSecret)) {
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
                return json(res, 200, {
                    access_token: access, token_type: 'Bearer', expires_in: 3600,
                    refresh_token: b64url(randomBytes(24)),
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
    fake.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
    return fake;
}
