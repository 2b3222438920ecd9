// The admin dashboard (/_/) driven in Debian's chromium by playwright-core,
// against the built binary with an SMTP sink. One browser, one server; the
// tests run in order and build on each other (sign in, create a collection,
// records, files, filter, realtime, password reset). Every page is watched
// for console errors, uncaught exceptions and CSP violations; axe-core checks
// each main screen. Screenshots go to docs/dashboard/ (TARMAC_SHOTS=0 skips).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gunzipSync } from 'node:zlib';
import { startServer, SUPERUSER, SLOW } from '../e2e/lib/server.mjs';
import { launchChromium, axe, shot, rawGet, apiCall } from './lib.mjs';
import { startSmtpSink, waitForMail } from '../e2e/lib/smtp.mjs';

const T = 15000 * SLOW;

let srv, sink, browser, context, page, token;
const problems = []; // console errors, page errors, CSP violations
const allowed400 = []; // resource errors the tests cause on purpose

function watch(p, label) {
    p.on('console', (m) => {
        if (m.type() !== 'error' && !/Content.Security.Policy/i.test(m.text())) return;
        const text = m.text();
        // Chromium logs every non-2xx fetch as a console error; the tests make a
        // few on purpose (wrong password, bad filter, bad rule): those are 400s.
        if (/Failed to load resource: the server responded with a status of 400/.test(text)) {
            allowed400.push(`${label}: ${text}`);
            return;
        }
        problems.push(`${label} console ${m.type()}: ${text}`);
    });
    p.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
}

// CSP violations are reported to the page too: keep them where the test reads them.
async function cspInit(ctx) {
    await ctx.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
    });
}

async function cspViolations(p) {
    return p.evaluate(() => window.__csp || []);
}

const api = (method, path, body) => apiCall(srv.url, token, method, path, body);

// A small valid PNG (w x h, a gradient) built with zlib, so no fixture file is needed.
function png(w, h) {
    const crcTable = Array.from({ length: 256 }, (_, n) => {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        return c >>> 0;
    });
    const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
    const chunk = (type, data) => {
        const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
        const td = Buffer.concat([Buffer.from(type), data]);
        const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
        return Buffer.concat([len, td, c]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
    const raw = Buffer.alloc((w * 3 + 1) * h);
    for (let y = 0; y < h; y++) {
        raw[y * (w * 3 + 1)] = 0;
        for (let x = 0; x < w; x++) {
            const o = y * (w * 3 + 1) + 1 + x * 3;
            raw[o] = (x * 255 / w) | 0; raw[o + 1] = (y * 255 / h) | 0; raw[o + 2] = 160;
        }
    }
    return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
        chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

before(async () => {
    sink = await startSmtpSink();
    srv = await startServer({ flags: ['--smtp-host=127.0.0.1', `--smtp-port=${sink.port}`, '--app-name=Tarmac Test'] });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    await cspInit(context);
    page = await context.newPage();
    page.setDefaultTimeout(T);
    watch(page, 'main');
    const r = await fetch(srv.url + '/api/collections/_superusers/auth-with-password', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identity: SUPERUSER.email, password: SUPERUSER.password }),
    });
    token = (await r.json()).token;
});

after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
    if (sink) await sink.stop();
});

test('assets: CSP, caching, gzip, ETag, 404, redirect; total weight under 150 KiB compressed', async () => {
    const idx = await rawGet(srv.url + '/_/', { 'Accept-Encoding': 'gzip' });
    assert.equal(idx.status, 200);
    assert.equal(idx.headers['content-encoding'], 'gzip');
    assert.equal(idx.headers['cache-control'], 'no-cache');
    assert.equal(idx.headers['x-content-type-options'], 'nosniff');
    const csp = idx.headers['content-security-policy'];
    for (const d of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "img-src 'self' blob: data:", "frame-ancestors 'none'"]) {
        assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    }
    assert.ok(!/unsafe-(inline|eval)/.test(csp), 'no unsafe-inline/eval');
    assert.match(idx.headers.vary || '', /Accept-Encoding/);
    // Everything reachable from index.html, compressed, as a browser downloads it.
    const seen = new Map();
    const queue = [gunzipSync(idx.body).toString()];
    let total = idx.body.length;
    while (queue.length) {
        const text = queue.pop();
        for (const m of text.matchAll(/\.\/([\w-]+\.[0-9a-f]{10}\.\w+)/g)) {
            if (seen.has(m[1])) continue;
            const r = await rawGet(srv.url + '/_/' + m[1], { 'Accept-Encoding': 'gzip' });
            assert.equal(r.status, 200, m[1]);
            assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
            assert.equal(r.headers['content-encoding'], 'gzip');
            seen.set(m[1], r);
            total += r.body.length;
            queue.push(gunzipSync(r.body).toString());
        }
    }
    const kib = total / 1024;
    console.log(`# dashboard weight: ${seen.size + 1} files, ${kib.toFixed(1)} KiB compressed`);
    assert.ok(kib < 150, `weight ${kib.toFixed(1)} KiB`);
    const js = [...seen.keys()].find((n) => n.startsWith('app.') && n.endsWith('.js'));
    const r = seen.get(js);
    assert.match(r.headers['content-type'], /^text\/javascript/);
    const again = await rawGet(srv.url + '/_/' + js, { 'If-None-Match': r.headers.etag });
    assert.equal(again.status, 304);
    const plain = await rawGet(srv.url + '/_/' + js);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.length > r.body.length);
    const missing = await rawGet(srv.url + '/_/nope.1234567890.js');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).status, 404);
    const redirect = await rawGet(srv.url + '/_');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/_/');
});

test('first screen: usable quickly, accessible; a wrong password is refused, then sign in', async () => {
    const times = [];
    for (let i = 0; i < 3; i++) {
        await page.goto(srv.url + '/_/');
        await page.waitForSelector('html[data-ready="1"] input[type=email]');
        times.push(await page.evaluate(() => performance.getEntriesByName('tarmac-ready')[0].startTime));
    }
    console.log(`# first screen usable after ${times.map((t) => t.toFixed(0) + ' ms').join(', ')} (cold, then cached; loopback)`);
    await axe(page, 'sign-in');
    await shot(page, 'sign-in');
    await page.getByLabel('Email').fill(SUPERUSER.email);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /invalid|failed/i }).waitFor();
    await page.getByLabel('Password').fill(SUPERUSER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Collections' }).waitFor();
    await axe(page, 'collections');
    await shot(page, 'collections');
});

test('create a collection with several field types and rules; rule errors inline', async () => {
    await page.getByRole('link', { name: 'New collection' }).click();
    await page.getByLabel('Name', { exact: true }).first().fill('posts');
    const add = async (type, name) => {
        await page.getByLabel('New field type').selectOption(type);
        await page.getByRole('button', { name: 'Add field' }).click();
        const row = page.locator('fieldset.frow').last();
        await row.getByLabel('Name', { exact: true }).fill(name);
        return row;
    };
    const title = await add('text', 'title');
    await title.getByLabel('Required').check();
    await title.getByLabel('Presentable').check();
    await add('number', 'views');
    await add('bool', 'published');
    const status = await add('select', 'status');
    await status.getByLabel('Values').fill('draft, live');
    await add('json', 'meta');
    await add('date', 'due');
    const cover = await add('file', 'cover');
    await cover.getByLabel('MIME types').fill('image/png, image/jpeg');
    await cover.getByLabel('Thumb sizes (WxH)').fill('100x100, 200x0');
    const owner = await add('relation', 'owner');
    await owner.getByLabel('Related collection').selectOption({ label: 'users' });
    await add('autodate', 'created');
    await add('geoPoint', 'where');

    // List: anyone. View: a typo caught as you type, then fixed.
    const rule = (label) => page.locator('.rule').filter({ hasText: label });
    const ruleErr = (label) => rule(label).locator('.field').first().locator('.err');
    await rule('List/search rule').getByLabel('Superusers only').uncheck();
    await rule('View rule').getByLabel('Superusers only').uncheck();
    await rule('View rule').getByLabel('View rule').fill('publishd = true');
    await rule('View rule').getByText('Unknown field "publishd"').waitFor();
    assert.equal(await rule('View rule').getByLabel('View rule').getAttribute('aria-invalid'), 'true');
    await rule('View rule').getByLabel('View rule').fill('published = true');
    await ruleErr('View rule').waitFor({ state: 'hidden' });
    // Create: passes the syntax check, but the server knows users has no "nosuch".
    await rule('Create rule').getByLabel('Superusers only').uncheck();
    await rule('Create rule').getByLabel('Create rule').fill("owner.nosuch = 'x'");
    await shot(page, 'collection-editor', { fullPage: false });
    await page.getByRole('button', { name: 'Create collection' }).click();
    const err = ruleErr('Create rule');
    await err.waitFor();
    assert.ok((await err.textContent()).length > 0);
    assert.equal(await rule('Create rule').getByLabel('Create rule').getAttribute('aria-invalid'), 'true');
    await rule('Create rule').getByLabel('Create rule').fill("@request.auth.id != ''");
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('heading', { name: 'Edit posts' }).waitFor();
    await axe(page, 'collection editor');
    const col = await api('GET', '/api/collections/posts');
    assert.equal(col.viewRule, 'published = true');
    assert.equal(col.createRule, "@request.auth.id != ''");
    assert.equal(col.listRule, '');
    assert.equal(col.deleteRule, null);
    const byName = Object.fromEntries(col.fields.map((f) => [f.name, f]));
    assert.deepEqual(byName.status.values, ['draft', 'live']);
    assert.deepEqual(byName.cover.thumbs, ['100x100', '200x0']);
    assert.equal(byName.owner.collectionId, '_pb_users_auth_');
    assert.equal(byName.title.required, true);
});

test('records: create with a file and see its thumbnail, edit, delete', async () => {
    await page.locator('nav.side').getByRole('link', { name: 'posts', exact: true }).click();
    await page.getByRole('heading', { name: 'posts' }).waitFor();
    await page.getByRole('button', { name: 'New record' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByLabel('title (required)').fill('Hello world');
    await dlg.getByLabel('views').fill('42');
    await dlg.getByLabel('published').check();
    await dlg.getByLabel('status').selectOption('live');
    await dlg.getByLabel('meta').fill('{"tags": ["a", "b"]}');
    await dlg.getByLabel('due (UTC)').fill('2026-05-04T03:02:01');
    await dlg.getByLabel('cover').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: png(64, 48) });
    await dlg.getByRole('img', { name: 'Preview of cover.png' }).waitFor();
    await shot(page, 'record-form');
    await axe(page, 'record form');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' });
    const row = page.locator('tbody tr').filter({ hasText: 'Hello world' });
    await row.waitFor();
    const img = row.locator('img');
    await img.waitFor();
    assert.match(await img.getAttribute('src'), /\/api\/files\/.*cover_\w+\.png\?thumb=100x100$/);
    await page.waitForFunction((el) => el.complete && el.naturalWidth === 100, await img.elementHandle());
    const [rec] = (await api('GET', '/api/collections/posts/records')).items;
    assert.equal(rec.views, 42);
    assert.equal(rec.status, 'live');
    assert.deepEqual(rec.meta, { tags: ['a', 'b'] });
    assert.equal(rec.due, '2026-05-04 03:02:01.000Z');
    await shot(page, 'records');
    await axe(page, 'records table');

    // Edit.
    await row.getByRole('button', { name: 'Edit ' + rec.id }).click();
    await dlg.getByRole('img', { name: 'Thumbnail of ' + rec.cover }).waitFor();
    await dlg.getByLabel('title (required)').fill('Hello again');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    await page.locator('tbody tr').filter({ hasText: 'Hello again' }).waitFor();
    assert.equal((await api('GET', '/api/collections/posts/records/' + rec.id)).title, 'Hello again');

    // A required field left empty: the server's error shows on it.
    await page.getByRole('button', { name: 'New record' }).click();
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.getByText('Cannot be blank.').waitFor();
    assert.equal(await dlg.getByLabel('title (required)').getAttribute('aria-invalid'), 'true');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });

    // Delete.
    await page.locator('tbody tr').filter({ hasText: 'Hello again' }).getByRole('button', { name: /^Edit / }).click();
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await page.locator('dialog').filter({ hasText: 'Confirm' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No records.').waitFor();
    assert.equal((await api('GET', '/api/collections/posts/records')).totalItems, 0);
});

test('live updates: records created through the API appear; bulk delete', async () => {
    await api('POST', '/api/collections/posts/records', { title: 'From the API', views: 7 });
    await page.locator('tbody tr').filter({ hasText: 'From the API' }).waitFor();
    await api('POST', '/api/collections/posts/records', { title: 'Second one', views: 8 });
    await page.locator('tbody tr').filter({ hasText: 'Second one' }).waitFor();
    await api('POST', '/api/collections/posts/records', { title: 'Keep me', views: 9 });
    await page.locator('tbody tr').filter({ hasText: 'Keep me' }).waitFor();
    await page.locator('tbody tr').filter({ hasText: 'From the API' }).getByRole('checkbox').check();
    await page.locator('tbody tr').filter({ hasText: 'Second one' }).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Delete selected (2)' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.locator('tbody tr').filter({ hasText: 'Second one' }).waitFor({ state: 'detached' });
    const left = await api('GET', '/api/collections/posts/records');
    assert.deepEqual(left.items.map((r) => r.title), ['Keep me']);
});

test('filter: an error shows under the box, the fixed filter applies; sort by column', async () => {
    await api('POST', '/api/collections/posts/records', { title: 'Another', views: 1 });
    await page.locator('tbody tr').filter({ hasText: 'Another' }).waitFor();
    const box = page.getByLabel('Filter');
    await box.fill("titel ~ 'Keep'");
    await page.getByRole('button', { name: 'Apply' }).click();
    const err = page.locator('form.filter .err');
    await err.waitFor();
    assert.match(await err.textContent(), /titel/);
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    await shot(page, 'filter-error');
    await box.fill("title ~ 'Keep'");
    await page.getByRole('button', { name: 'Apply' }).click();
    await err.waitFor({ state: 'hidden' });
    await page.locator('tbody tr').filter({ hasText: 'Another' }).waitFor({ state: 'detached' });
    assert.equal(await page.locator('tbody tr').count(), 1);
    await box.fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('tbody tr').filter({ hasText: 'Another' }).waitFor();
    await page.getByRole('button', { name: 'views' }).click();
    await page.waitForFunction(() => document.querySelector('tbody tr td[data-label=title]')?.textContent === 'Another');
    await page.getByRole('button', { name: 'views' }).click();
    await page.waitForFunction(() => document.querySelector('tbody tr td[data-label=title]')?.textContent === 'Keep me');
});

test('password reset from the mail link', async () => {
    const email = `reset${Date.now()}@example.com`;
    await api('POST', '/api/collections/users/records', { email, password: 'oldpass123', passwordConfirm: 'oldpass123', verified: true });
    await page.locator('nav.side').getByRole('link', { name: 'users', exact: true }).click();
    await page.getByRole('heading', { name: 'users' }).waitFor();
    await page.locator('tbody tr').filter({ hasText: email }).getByRole('button', { name: /^Edit / }).click();
    const dlg = page.locator('dialog');
    await dlg.getByRole('button', { name: 'Send password reset' }).click();
    await page.locator('.toast').filter({ hasText: 'Password reset mail sent.' }).waitFor();
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    const path = await waitForMail(sink, email, /(\/_\/#\/auth\/confirm-password-reset\/[\w.-]+)/, T);
    const p2 = await context.newPage();
    watch(p2, 'reset');
    p2.setDefaultTimeout(T);
    await p2.goto(srv.url + path);
    await p2.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await axe(p2, 'password reset');
    await p2.getByLabel('New password', { exact: true }).fill('newpass456');
    await p2.getByLabel('Confirm new password').fill('newpass456');
    await shot(p2, 'password-reset');
    await p2.getByRole('button', { name: 'Set new password' }).click();
    await p2.getByRole('heading', { name: 'Password changed' }).waitFor();
    assert.deepEqual(await cspViolations(p2), []);
    await p2.close();
    const r = await fetch(srv.url + '/api/collections/users/auth-with-password', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identity: email, password: 'newpass456' }),
    });
    assert.equal(r.status, 200);
});

test('relation picker with search, impersonate, superusers', async () => {
    const email = `pick${Date.now()}@example.com`;
    const user = await api('POST', '/api/collections/users/records', { email, password: 'pickpass123', passwordConfirm: 'pickpass123', name: 'Picky' });
    await page.locator('nav.side').getByRole('link', { name: 'posts', exact: true }).click();
    await page.getByRole('heading', { name: 'posts' }).waitFor();
    await page.getByRole('button', { name: 'New record' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByLabel('title (required)').fill('With owner');
    await dlg.getByRole('searchbox', { name: 'owner' }).fill('pick');
    await dlg.getByRole('button', { name: `Picky (${user.id})` }).click();
    await dlg.getByRole('list', { name: 'Selected owner' }).getByText('Picky').waitFor();
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' });
    const rows = await api('GET', '/api/collections/posts/records', undefined);
    assert.equal(rows.items.find((r) => r.title === 'With owner').owner, user.id);

    await page.locator('nav.side').getByRole('link', { name: 'users', exact: true }).click();
    await page.locator('tbody tr').filter({ hasText: email }).getByRole('button', { name: /^Edit / }).click();
    await dlg.getByRole('button', { name: 'Mark verified' }).click();
    await page.locator('.toast').filter({ hasText: 'Marked verified.' }).waitFor();
    await dlg.getByRole('button', { name: 'Impersonate' }).click();
    const tok = await page.locator('dialog').filter({ hasText: 'Impersonation token' }).getByLabel('Token').inputValue();
    await page.locator('dialog').filter({ hasText: 'Impersonation token' }).getByRole('button', { name: 'Done' }).click();
    const me = await fetch(srv.url + '/api/collections/users/records/' + user.id, { headers: { Authorization: tok } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).verified, true);
    await dlg.getByRole('button', { name: 'Cancel' }).click();

    await page.locator('nav.side').getByRole('link', { name: 'Superusers' }).click();
    await page.getByRole('heading', { name: 'Superusers' }).waitFor();
    await page.locator('tbody tr').filter({ hasText: SUPERUSER.email }).waitFor();
    await axe(page, 'superusers');
});

test('phone-sized screen: the menu and the records list work', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    await cspInit(phone);
    const p = await phone.newPage();
    p.setDefaultTimeout(T);
    watch(p, 'phone');
    // Signed in already: the token is in localStorage before the page's scripts run.
    await phone.addInitScript(([t]) => localStorage.setItem('tarmac_admin', JSON.stringify({ token: t, record: { email: 'admin@example.com' } })), [token]);
    await p.goto(srv.url + '/_/#/records/posts');
    await p.getByRole('heading', { name: 'posts' }).waitFor();
    await p.getByRole('button', { name: 'Menu' }).click();
    await p.getByRole('link', { name: 'Superusers' }).waitFor();
    await axe(p, 'phone records');
    await shot(p, 'phone');
    assert.deepEqual(await cspViolations(p), []);
    await phone.close();
});

test('no console errors, no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems, []);
    console.log(`# expected 400 responses logged by chromium: ${allowed400.length}`);
    assert.ok(allowed400.length <= 6, allowed400.join('\n'));
});
