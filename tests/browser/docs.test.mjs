// The docs page (/api/docs) in Debian's chromium, driven by playwright-core,
// against the built binary: the page builds itself from the OpenAPI document,
// shows a collection's endpoints, lists records through "try it" with a token,
// copies an SDK snippet, picks up the dashboard's token, downloads typed
// models and works on a phone-sized screen. Every page is watched for console
// errors, uncaught exceptions and CSP violations; axe-core checks each view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { startServer, SUPERUSER, SLOW } from '../e2e/lib/server.mjs';
import { launchChromium, axe, shot, rawGet, apiCall } from './lib.mjs';

const T = 15000 * SLOW;

let srv, browser, token;
const problems = []; // console errors, page errors, CSP violations

function watch(p, label) {
    p.on('console', (m) => {
        if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) problems.push(`${label} console ${m.type()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
}

// A fresh context and page, watched, with CSP violations kept in window.__csp.
async function open(label, opts = {}, init) {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, ...opts });
    await ctx.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    if (init) await ctx.addInitScript(init.fn, init.arg);
    const page = await ctx.newPage();
    page.setDefaultTimeout(T);
    watch(page, label);
    return { ctx, page };
}

async function done(ctx, page) {
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violations');
    await ctx.close();
}

const api = (method, path, body) => apiCall(srv.url, token, method, path, body);

// The group of a tag, and one operation in it (a <details>).
const group = (page, tag) => page.locator(`section#tag-${tag}`);
const operation = (page, tag, method, path) => group(page, tag).locator('details.op')
    .filter({ has: page.locator('summary .method', { hasText: new RegExp(`^${method}$`) }) })
    .filter({ has: page.locator('summary .path', { hasText: new RegExp(`^${path.replace(/[{}]/g, '\\$&')}$`) }) });

before(async () => {
    srv = await startServer();
    browser = await launchChromium();
    const r = await fetch(srv.url + '/api/collections/_superusers/auth-with-password', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identity: SUPERUSER.email, password: SUPERUSER.password }),
    });
    token = (await r.json()).token;
    await api('POST', '/api/collections', {
        name: 'notes', listRule: '', viewRule: '', createRule: null,
        fields: [{ name: 'title', type: 'text', required: true }, { name: 'stars', type: 'number' },
            { name: 'kind', type: 'select', values: ['idea', 'todo'], maxSelect: 1 }],
    });
    await api('POST', '/api/collections', { name: 'secrets', fields: [{ name: 'code', type: 'text' }] });
    await api('POST', '/api/collections/notes/records', { title: 'first <b>note</b>', stars: 3, kind: 'idea' });
});

after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
});

test('assets: strict CSP, no-cache page, immutable hashed files, gzip, 404; compressed weight', async () => {
    const idx = await rawGet(srv.url + '/api/docs', { 'Accept-Encoding': 'gzip' });
    assert.equal(idx.status, 200);
    assert.match(idx.headers['content-type'], /^text\/html/);
    assert.equal(idx.headers['content-encoding'], 'gzip');
    assert.equal(idx.headers['cache-control'], 'no-cache');
    assert.equal(idx.headers['x-content-type-options'], 'nosniff');
    const csp = idx.headers['content-security-policy'];
    for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
        assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    }
    assert.ok(!/unsafe-(inline|eval)/.test(csp), 'no unsafe-inline/eval');
    const seen = new Map();
    const queue = [gunzipSync(idx.body).toString()];
    let total = idx.body.length;
    while (queue.length) {
        for (const m of queue.pop().matchAll(/(?:\/api\/docs\/|\.\/)([\w-]+\.[0-9a-f]{10}\.\w+)/g)) {
            if (seen.has(m[1])) continue;
            const r = await rawGet(srv.url + '/api/docs/' + m[1], { 'Accept-Encoding': 'gzip' });
            assert.equal(r.status, 200, m[1]);
            assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
            seen.set(m[1], r);
            total += r.body.length;
            queue.push(gunzipSync(r.body).toString());
        }
    }
    assert.ok([...seen.keys()].some((n) => /^docs\.[0-9a-f]{10}\.js$/.test(n)), [...seen.keys()].join(' '));
    console.log(`# docs page weight: ${seen.size + 1} files, ${(total / 1024).toFixed(1)} KiB compressed`);
    assert.ok(total < 40 * 1024, `weight ${total} bytes`);
    const missing = await rawGet(srv.url + '/api/docs/nope.1234567890.js');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).status, 404);
    // The literal routes under /api/docs/ still answer.
    assert.equal((await rawGet(srv.url + '/api/docs/openapi.json')).status, 200);
    assert.equal((await rawGet(srv.url + '/api/docs/types?lang=ts')).status, 200);
});

test('a guest sees the listable collections, grouped, with parameters, bodies and answers', async () => {
    const { ctx, page } = await open('guest');
    await page.goto(srv.url + '/api/docs');
    await page.waitForSelector('html[data-ready="1"]');
    await page.getByRole('heading', { name: 'notes', exact: true }).waitFor();
    assert.equal(await group(page, 'secrets').count(), 0, 'a collection a guest may not list is not shown');
    assert.match(await page.locator('#token-note').textContent(), /guest/);
    const nav = page.getByRole('navigation', { name: 'Groups' });
    await nav.getByRole('link', { name: /^notes/ }).waitFor();
    const ops = group(page, 'notes').locator('details.op');
    assert.ok(await ops.count() >= 5, 'list, create, view, update, delete');
    const list = operation(page, 'notes', 'GET', '/api/collections/notes/records');
    await list.locator('summary').click();
    await list.getByRole('cell', { name: 'filter', exact: true }).waitFor();
    await list.getByText('NotesRecord').first().waitFor();
    const create = operation(page, 'notes', 'POST', '/api/collections/notes/records');
    // Keyboard: focus the summary and open it with Enter.
    await create.locator('summary').focus();
    await page.keyboard.press('Enter');
    await create.getByText('NotesCreate').first().waitFor();
    await create.getByText('"idea" | "todo"', { exact: false }).first().waitFor();
    assert.match(await create.getByLabel('Body (JSON)').inputValue(), /"title": ""/);
    await create.getByText('API rule: null (superusers only).').waitFor();
    await axe(page, 'docs page, guest');
    await done(ctx, page);
});

test('with a token: try it lists records and shows the JSON; the token stays for the session', async () => {
    const { ctx, page } = await open('token');
    await page.goto(srv.url + '/api/docs');
    await page.waitForSelector('html[data-ready="1"]');
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: 'secrets', exact: true }).waitFor();
    assert.match(await page.locator('#token-note').textContent(), /this page/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('tarmac_docs_token')), token);
    const list = operation(page, 'secrets', 'GET', '/api/collections/secrets/records');
    await list.locator('summary').click();
    await list.getByRole('cell', { name: 'perPage', exact: true }).waitFor();
    await api('POST', '/api/collections/secrets/records', { code: 'only-for-superusers' });
    await list.getByLabel('perPage (query)').fill('5');
    await list.getByRole('button', { name: 'Send GET' }).click();
    const answer = list.locator('pre.answer');
    await answer.waitFor();
    const json = JSON.parse(await answer.textContent());
    assert.equal(json.perPage, 5);
    assert.equal(json.items[0].code, 'only-for-superusers');
    assert.match(await list.locator('.result').textContent(), /HTTP 200/);
    // Markup in data stays text.
    const notes = operation(page, 'notes', 'GET', '/api/collections/notes/records');
    await notes.locator('summary').click();
    await notes.getByRole('button', { name: 'Send GET' }).click();
    await notes.locator('pre.answer').waitFor();
    assert.equal(await notes.locator('pre.answer b').count(), 0);
    assert.match(await notes.locator('pre.answer').textContent(), /first <b>note<\/b>/);
    await shot(page, 'api-docs');
    await axe(page, 'docs page, try it');
    // Reloading keeps the token (sessionStorage).
    await page.reload();
    await page.getByRole('heading', { name: 'secrets', exact: true }).waitFor();
    await done(ctx, page);
});

test('SDK snippets copy to the clipboard (JS and Dart)', async () => {
    const { ctx, page } = await open('snippets');
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    await page.goto(srv.url + '/api/docs#op-notes_list');
    await page.waitForSelector('html[data-ready="1"]');
    const list = operation(page, 'notes', 'GET', '/api/collections/notes/records');
    assert.equal(await list.evaluate((d) => d.open), true, 'the #op- link opens the operation');
    await list.getByRole('button', { name: 'Copy JavaScript' }).click();
    await page.locator('#live').filter({ hasText: 'JavaScript snippet copied.' }).waitFor();
    const js = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(js, /await pb\.collection\('notes'\)\.getList\(1, 30, \{/);
    await list.getByRole('button', { name: 'Copy Dart' }).click();
    await page.locator('#live').filter({ hasText: 'Dart snippet copied.' }).waitFor();
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /final result = await pb\.collection\('notes'\)\.getList\(\n {2}page: 1,/);
    const create = operation(page, 'notes', 'POST', '/api/collections/notes/records');
    await create.locator('summary').click();
    assert.match(await create.locator('pre').filter({ hasText: 'create(body:' }).textContent(), /'kind': 'idea'/);
    await done(ctx, page);
});

test("the dashboard's token is picked up; typed models download with it", async () => {
    const { ctx, page } = await open('dashboard-token', { acceptDownloads: true }, {
        fn: ([t]) => localStorage.setItem('tarmac_admin', JSON.stringify({ token: t, record: { email: 'admin@example.com' } })),
        arg: [token],
    });
    await page.goto(srv.url + '/api/docs');
    await page.getByRole('heading', { name: 'secrets', exact: true }).waitFor();
    assert.match(await page.locator('#token-note').textContent(), /from the dashboard \(admin@example\.com\)/);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'TypeScript (JS SDK)' }).click()]);
    assert.equal(dl.suggestedFilename(), 'pocketbase-types.ts');
    const ts = readFileSync(await dl.path(), 'utf8');
    assert.match(ts, /secrets/i, 'the superuser sees every collection');
    const [dart] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Dart (Flutter SDK)' }).click()]);
    assert.match(readFileSync(await dart.path(), 'utf8'), /class NotesRecord/);
    // Clear: back to a guest's view.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('#token-note').filter({ hasText: 'guest' }).waitFor();
    await page.waitForFunction(() => !document.getElementById('tag-secrets'));
    await done(ctx, page);
});

test('phone-sized screen: groups, an operation and try it work', async () => {
    const { ctx, page } = await open('phone', { viewport: { width: 390, height: 800 }, isMobile: true, hasTouch: true });
    await page.goto(srv.url + '/api/docs');
    await page.getByRole('heading', { name: 'notes', exact: true }).waitFor();
    const list = operation(page, 'notes', 'GET', '/api/collections/notes/records');
    await list.locator('summary').click();
    await list.getByRole('button', { name: 'Send GET' }).click();
    await list.locator('pre.answer').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no sideways scrolling (${overflow}px)`);
    await axe(page, 'docs page, phone');
    await done(ctx, page);
});

test('no console errors, no page errors', () => {
    assert.deepEqual(problems, []);
});
