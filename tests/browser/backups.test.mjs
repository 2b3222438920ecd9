// The dashboard's Backups screen in Debian's chromium, against a server of
// its own. In order: sign in and create a named backup (it shows in the
// list); a name the server would refuse (checked in the page) and a taken
// one (the server's field error) under the input; a zip downloaded through
// the API uploaded back, and a file that is no zip refused under the file
// input; Download (the token URL answers 200 with a zip); the restore: a
// record made, backed up, changed, the backup restored from the dashboard,
// the page waiting for the server (the same process, run again on the same
// port) and the old record back; Delete; a phone-sized screen; no console
// errors, no CSP violations, no serious axe-core finding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, SUPERUSER, SLOW } from '../e2e/lib/server.mjs';
import { launchChromium, axe, shot, apiCall, pageWatcher, cspInit, cspViolations } from './lib.mjs';

const T = 15000 * SLOW;

let srv, browser, context, page, token, tmp;
const { problems, allowed400, watch } = pageWatcher();
const allowedRestart = []; // connection errors while the server restarts
const api = (method, path, body) => apiCall(srv.url, token, method, path, body);
const errorOf = async (input) => page.locator('#' + (await input.getAttribute('aria-describedby')));
const row = (key) => page.locator('table.backups tbody tr').filter({ has: page.getByRole('rowheader', { name: key, exact: true }) });
const keys = async () => (await api('GET', '/api/backups')).map((b) => b.key).sort();
async function toast(text) {
    await page.locator('.toast').filter({ hasText: text }).first().waitFor();
    await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
}
async function downloadBytes(key) {
    const { token: ft } = await api('POST', '/api/files/token');
    const r = await fetch(`${srv.url}/api/backups/${encodeURIComponent(key)}?token=${encodeURIComponent(ft)}`);
    assert.equal(r.status, 200);
    return Buffer.from(await r.arrayBuffer());
}

before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tarmac-browser-backups-'));
    srv = await startServer();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
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
    if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('backups: sign in, create a named backup, see it listed', async () => {
    await page.goto(srv.url + '/_/');
    await page.getByLabel('Email').fill(SUPERUSER.email);
    await page.getByLabel('Password').fill(SUPERUSER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Collections' }).waitFor();
    await page.locator('nav.side').getByRole('link', { name: 'Backups' }).click();
    await page.getByRole('heading', { name: 'Backups', exact: true }).waitFor();
    await page.getByText('No backups yet.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Backup schedule' }).getAttribute('href'), '#/settings');
    await axe(page, 'backups, empty');

    await page.getByLabel('Name (optional)').fill('first.zip');
    await page.getByRole('button', { name: 'Create backup' }).click();
    await toast('Backup created.');
    const r = row('first.zip');
    await r.waitFor();
    assert.match(await r.locator('td[data-label=Size]').textContent(), /^\d+(\.\d)? (bytes|KiB|MiB)$/);
    assert.match(await r.locator('td[data-label=Modified]').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.equal(await page.getByLabel('Name (optional)').inputValue(), '');
    assert.deepEqual(await keys(), ['first.zip']);
    // No name: the server's generated one.
    await page.getByRole('button', { name: 'Create backup' }).click();
    await toast('Backup created.');
    await page.locator('table.backups tbody th').filter({ hasText: /^pb_backup_tarmac_\d{14}\.zip$/ }).waitFor();
    assert.equal((await keys()).length, 2);
});

test('backups: a bad name is refused in the page, a taken one by the server, under the input', async () => {
    const name = page.getByLabel('Name (optional)');
    await name.fill('Not Valid.zip');
    await page.getByRole('button', { name: 'Create backup' }).click();
    await (await errorOf(name)).filter({ hasText: 'Must be in a valid format.' }).waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    await name.fill('first.zip');
    await page.getByRole('button', { name: 'Create backup' }).click();
    await (await errorOf(name)).filter({ hasText: 'The backup file name is invalid or already exists.' }).waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    await axe(page, 'backups, a name refused');
    assert.equal((await keys()).length, 2, 'nothing made');
    await name.fill('');
});

test('backups: upload a zip (one downloaded through the API); a file that is no zip is refused', async () => {
    const input = page.getByLabel('Backup file (.zip)');
    const notZip = join(tmp, 'notes.zip');
    writeFileSync(notZip, 'just text');
    await input.setInputFiles(notZip);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await (await errorOf(input)).filter({ hasText: 'The file must be a zip archive' }).waitFor();

    const bytes = await downloadBytes('first.zip');
    const file = join(tmp, 'uploaded.zip');
    writeFileSync(file, bytes);
    await input.setInputFiles(file);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await toast('uploaded.zip uploaded.');
    await row('uploaded.zip').waitFor();
    assert.equal(await input.getAttribute('aria-invalid'), null);
    assert.ok((await keys()).includes('uploaded.zip'));
    assert.ok(!(await keys()).includes('notes.zip'));
    const listed = (await api('GET', '/api/backups')).find((b) => b.key === 'uploaded.zip');
    assert.equal(listed.size, bytes.length);
});

test('backups: Download fetches a file token and gets the zip', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'),
        row('first.zip').getByRole('button', { name: 'Download first.zip' }).click()]);
    assert.equal(dl.suggestedFilename(), 'first.zip');
    assert.match(dl.url(), /\/api\/backups\/first\.zip\?token=[\w-]+\.[\w-]+\.[\w-]+$/);
    const saved = readFileSync(await dl.path());
    assert.equal(saved.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
    // The URL the page used answers 200 with the zip, and only with its token.
    const r = await fetch(dl.url());
    assert.equal(r.status, 200);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(body.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
    assert.ok(body.equals(saved));
    assert.equal((await fetch(srv.url + '/api/backups/first.zip')).status, 403);
});

test('backups: restore from the dashboard; the server restarts and the old record is back', async () => {
    await api('POST', '/api/collections', { name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }] });
    const rec = await api('POST', '/api/collections/notes/records', { title: 'before' });
    await api('POST', '/api/backups', { name: 'snap.zip' });
    await api('PATCH', '/api/collections/notes/records/' + rec.id, { title: 'after' });
    const added = await api('POST', '/api/collections/notes/records', { title: 'made after the backup' });
    await api('POST', '/api/collections', { name: 'later', type: 'base', fields: [{ name: 'x', type: 'text' }] });
    await page.getByRole('button', { name: 'Refresh' }).click();
    const r = row('snap.zip');
    await r.waitFor();
    const side = page.locator('nav.side');
    await page.reload(); // the sidebar lists the collection made after the backup
    await side.getByRole('link', { name: 'later' }).waitFor();
    await r.waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'backups');

    // Cancel leaves everything as it is.
    await r.getByRole('button', { name: 'Restore snap.zip' }).click();
    let dlg = page.locator('dialog');
    await dlg.getByText(/replaced with the backup's, and the server restarts/).waitFor();
    await axe(page, 'restore confirmation');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/api/collections/notes/records/' + rec.id)).title, 'after');

    const pid = srv.proc.pid;
    const seen = problems.length;
    // Every action waits while the server restarts. Read in the page the
    // moment the status says so: a fast restart may draw the screen again
    // before a check from here would arrive.
    const actionsWhileRestarting = page.evaluate(() => new Promise((resolve) => {
        const screen = document.querySelector('.backups-screen');
        const status = screen.querySelector('[role=status]');
        new MutationObserver((_, obs) => {
            if (!status.textContent.includes('is being restored')) return;
            obs.disconnect();
            resolve([...screen.querySelectorAll('.backup-tools button, table button')].map((b) => `${b.textContent}: ${b.disabled ? 'disabled' : 'enabled'}`));
        }).observe(status, { childList: true, characterData: true, subtree: true });
    }));
    try {
        await r.getByRole('button', { name: 'Restore snap.zip' }).click();
        dlg = page.locator('dialog');
        await dlg.getByRole('button', { name: 'Restore' }).click();
        const actions = await actionsWhileRestarting;
        assert.ok(actions.length >= 5, actions.join(', '));
        assert.deepEqual(actions.filter((a) => !a.endsWith('disabled')), []);
        await page.locator('.toast').filter({ hasText: 'snap.zip restored; the server is back.' }).waitFor({ timeout: 60000 * SLOW });
        // Drawn again: the list, still signed in (the backup has the same
        // superuser). The old screen stays up until the new one has its list, and
        // only the new one's status counts the backups.
        await page.getByRole('status').filter({ hasText: /^\d+ backups?\.$/ }).waitFor();
        await row('snap.zip').waitFor();
        assert.ok(await page.getByRole('button', { name: 'Create backup' }).isEnabled());
        // Drawn by the restored server: the collection made after the backup is gone.
        await side.getByRole('link', { name: 'notes' }).waitFor();
        assert.equal(await side.getByRole('link', { name: 'later' }).count(), 0);
        assert.equal(srv.exited, null);
        assert.equal(srv.proc.pid, pid, 'the same process, run again');
        assert.equal((await api('GET', '/api/collections/notes/records/' + rec.id)).title, 'before');
        const gone = await fetch(`${srv.url}/api/collections/notes/records/${added.id}`, { headers: { Authorization: token } });
        assert.equal(gone.status, 404);
    } finally {
        // While the server was away the page's requests could not connect
        // (sorted out here even when a check above failed, so that the
        // console test does not fail for the same cause).
        for (const p of problems.splice(seen)) {
            if (/net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|CONNECTION_CLOSED|INCOMPLETE_CHUNKED_ENCODING)/.test(p)) allowedRestart.push(p);
            else problems.push(p);
        }
    }
    await axe(page, 'backups after the restore');
});

test('backups: Delete, confirmed, removes the row', async () => {
    await row('uploaded.zip').getByRole('button', { name: 'Delete uploaded.zip' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByText('Delete the backup uploaded.zip? This cannot be undone.').waitFor();
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await toast('uploaded.zip deleted.');
    await row('uploaded.zip').waitFor({ state: 'detached' });
    assert.ok(!(await keys()).includes('uploaded.zip'));
    assert.ok((await keys()).includes('first.zip'));
});

test('phone-sized screen: backups fit, no sideways scrolling, keyboard reaches the actions', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    await cspInit(phone);
    await phone.addInitScript(([t, email]) => localStorage.setItem('tarmac_admin', JSON.stringify({ token: t, record: { email } })), [token, SUPERUSER.email]);
    const p = await phone.newPage();
    p.setDefaultTimeout(T);
    watch(p, 'phone');
    await p.goto(srv.url + '/_/#/backups');
    await p.getByRole('heading', { name: 'Backups', exact: true }).waitFor();
    await p.getByRole('rowheader', { name: 'first.zip' }).waitFor();
    await axe(p, 'phone backups');
    const [scroll, width] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= width, `${scroll} px wide in ${width}`);
    // Keyboard: the name input, then Create backup, by Tab.
    await p.getByLabel('Name (optional)').focus();
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Create backup');
    assert.deepEqual(await cspViolations(p), []);
    await phone.close();
});

test('no console errors, no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems, []);
    // The taken name (1) and the file that is no zip (1).
    assert.ok(allowed400.length <= 2, allowed400.join('\n'));
});
