// Shared helpers for the end-to-end tests: SDK clients whose every response
// is checked for leaked secrets, error assertions, raw fetch.

import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';
import { SUPERUSER, SLOW, DIRECT } from './server.mjs';

export { SUPERUSER, SLOW };

/** Generous per-request timeout (against hangs only). */
export const REQUEST_TIMEOUT_MS = 20000 * SLOW;

/**
 * Every response body seen by any client of this process (SDK or rawFetch)
 * that contained a record with `password` or `tokenKey`, or a password hash.
 * Each test file ends with a test asserting it is empty (see assertNoLeaks).
 */
export const leaks = [];

const SECRET_KEYS = ['password', 'tokenKey'];

/** Walks a JSON value; records every record-shaped object carrying a secret key. */
export function findLeaks(body, where) {
    const found = [];
    const walk = (v, path) => {
        if (Array.isArray(v)) {
            v.forEach((x, i) => walk(x, `${path}[${i}]`));
        } else if (v && typeof v === 'object') {
            const isRecord = 'collectionId' in v || 'collectionName' in v;
            if (isRecord) {
                for (const k of SECRET_KEYS) {
                    if (k in v) found.push(`${where}: ${path}.${k} = ${JSON.stringify(v[k])}`);
                }
            }
            for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
        }
    };
    walk(body, '$');
    return found;
}

/** Password fields of any name: a stored (argon2id) hash must never be answered. */
export function findHashes(body, where) {
    const text = JSON.stringify(body ?? null);
    return text.includes('$argon2') ? [`${where}: a password hash in ${text.slice(0, 300)}`] : [];
}

function checkBody(url, status, body) {
    // Under tests/e2e/prism.sh an answer that departs from the OpenAPI document
    // becomes Prism's 500 problem+json: show what departed (the SDK error hides it).
    if (status === 500 && String(body?.type).endsWith('#VIOLATIONS')) {
        console.log(`# prism violation: ${url}: ${JSON.stringify(body.validation)}`);
    }
    leaks.push(...findHashes(body, `${url} (${status})`));
    if (status >= 400) return; // error bodies carry field names such as data.password
    leaks.push(...findLeaks(body, `${url} (${status})`));
}

/**
 * A PocketBase SDK client (auto-cancellation off: the tests run requests
 * concurrently on purpose). Every response body is scanned for secrets.
 */
export function client(url) {
    const pb = new PocketBase(url);
    pb.autoCancellation(false);
    pb.beforeSend = (u, options) => {
        if (!options.signal) options.signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
        return { url: u, options };
    };
    pb.afterSend = (response, data) => {
        checkBody(response.url, response.status, data);
        return data;
    };
    // Under tests/e2e/prism.sh realtime bypasses the proxy, which cannot relay
    // an event stream (and the stream's own subscriptions POST with it).
    const direct = DIRECT.get(url);
    if (direct) {
        const build = pb.buildURL.bind(pb);
        pb.buildURL = (path) => (String(path).startsWith('/api/realtime') ? direct + path : build(path));
    }
    return pb;
}

/** A client logged in as the harness superuser. */
export async function superuserClient(url) {
    const pb = client(url);
    await pb.collection('_superusers').authWithPassword(SUPERUSER.email, SUPERUSER.password);
    return pb;
}

/**
 * fetch() against the server with a timeout; parses a JSON body when there is
 * one and scans it for secrets. Returns {status, headers, body, text}.
 */
export async function rawFetch(url, opts = {}) {
    const init = { ...opts, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (opts.json !== undefined) {
        init.body = JSON.stringify(opts.json);
        init.headers = { 'Content-Type': 'application/json', ...(opts.headers || {}) };
        delete init.json;
    }
    const res = await fetch(url, init);
    const text = await res.text();
    let body = null;
    if (text) {
        try { body = JSON.parse(text); } catch { body = undefined; }
    }
    checkBody(url, res.status, body);
    return { status: res.status, headers: res.headers, body, text };
}

/**
 * Awaits a promise that must reject with a ClientResponseError of `status`;
 * returns the error's response body ({status, message, data}) for more checks.
 * Also asserts the generic error shape of the contract (§1.3).
 */
export async function expectError(promise, status, what = '') {
    let result;
    try {
        result = await promise;
    } catch (err) {
        if (!(err instanceof ClientResponseError)) throw err;
        assert.equal(err.status, status,
            `${what} expected HTTP ${status}, got ${err.status}: ${JSON.stringify(err.response)} (${err.url})`);
        const body = err.response;
        assert.equal(body.status, status, `${what} error body .status: ${JSON.stringify(body)}`);
        assert.equal(typeof body.message, 'string', `${what} error body .message: ${JSON.stringify(body)}`);
        assert.ok(body.data && typeof body.data === 'object' && !Array.isArray(body.data),
            `${what} error body .data must be an object: ${JSON.stringify(body)}`);
        return body;
    }
    assert.fail(`${what} expected HTTP ${status}, but the request succeeded: ${JSON.stringify(result)?.slice(0, 500)}`);
}

/** Asserts body.data[field].code === code (a field validation error). */
export function assertFieldCode(body, field, code) {
    const f = body?.data?.[field];
    assert.ok(f && typeof f === 'object', `expected data.${field} in ${JSON.stringify(body)}`);
    assert.equal(f.code, code, `data.${field}.code in ${JSON.stringify(body)}`);
    assert.equal(typeof f.message, 'string', `data.${field}.message in ${JSON.stringify(body)}`);
}

/** Final check of each test file. */
export function assertNoLeaks() {
    assert.deepEqual(leaks, [], 'responses must never contain password, tokenKey or a password hash');
}

let seq = 0;
/** A unique, lower-case token for names and emails. */
export function uniq(prefix = 'u') {
    seq += 1;
    return `${prefix}${Date.now().toString(36)}${seq}${Math.random().toString(36).slice(2, 6)}`;
}

/** Creates a users record (as superuser `su`) and returns {record, pb} logged in as it. */
export async function makeUser(su, url, extra = {}) {
    const email = `${uniq('user')}@example.com`;
    const password = 'userpass123';
    const record = await su.collection('users').create({
        email, password, passwordConfirm: password, name: extra.name ?? email.split('@')[0], ...extra,
    });
    const pb = client(url);
    await pb.collection('users').authWithPassword(email, password);
    return { record, pb, email, password };
}

/** Canonical date format of the contract: `YYYY-MM-DD HH:MM:SS.mmmZ`. */
export const DATE_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Default record id format. */
export const ID_RE = /^[a-z0-9]{15}$/;

/** Polls fn every 50 ms until it returns a truthy value (returned), for at
 * most ms (15 s, times TARMAC_TEST_SLOW); then throws naming what. */
export async function until(what, fn, ms = 15000 * SLOW) {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** The rate limits count in fixed windows that start on the wall clock's
 * minutes (60 s windows in the tests), where every count starts over: a
 * block's counts must not straddle one (2 requests counted before a minute's
 * end and 1 after it never reach a limit of 3). Waits for the next minute
 * when less than `needMs` of this one are left. */
export async function clearOfWindowEdge(needMs = 5000) {
    const left = 60000 - (Date.now() % 60000);
    if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 200));
}
