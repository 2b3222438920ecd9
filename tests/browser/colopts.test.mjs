// The collection editor's option sections in Debian's chromium, against a
// server of their own: an auth collection created with OAuth2 providers,
// mapped fields and token durations (refused values shown at their inputs,
// the write-only client secret kept when left empty); a base collection's
// full-text search and embedding edited, refused, then removed; a
// phone-sized screen; no console errors, no CSP violations, no serious
// axe-core finding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { startServer, SUPERUSER, SLOW } from '../e2e/lib/server.mjs';
import { launchChromium, axe, shot, apiCall, pageWatcher, cspInit, cspViolations } from './lib.mjs';

const T = 15000 * SLOW;

let srv, browser, context, page, token;
const { problems, allowed400, watch } = pageWatcher();
const api = (method, path, body) => apiCall(srv.url, token, method, path, body);
const errorOf = async (input) => page.locator('#' + (await input.getAttribute('aria-describedby')));
// A save marks the form; a successful one draws the editor anew from the server's answer.
async function save(name) {
    await page.locator('form.editor').evaluate((f) => { f.dataset.old = '1'; });
    await page.getByRole('button', { name }).click();
}
async function saved(name) {
    await page.locator('.toast').filter({ hasText: `Saved ${name}.` }).last().waitFor();
    await page.locator('form.editor:not([data-old])').waitFor();
}
async function signedIn(ctx) {
    await cspInit(ctx);
    await ctx.addInitScript(([t, email]) => localStorage.setItem('tarmac_admin', JSON.stringify({ token: t, record: { email } })), [token, SUPERUSER.email]);
}

before(async () => {
    srv = await startServer();
    const r = await fetch(srv.url + '/api/collections/_superusers/auth-with-password', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ identity: SUPERUSER.email, password: SUPERUSER.password }),
    });
    token = (await r.json()).token;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await signedIn(context);
    page = await context.newPage();
    page.setDefaultTimeout(T);
    watch(page, 'main');
});

after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
});

test('auth collection: OAuth2 providers, mapped fields and token durations; errors at their inputs; the secret kept', async () => {
    await page.goto(srv.url + '/_/#/collections/new');
    await page.getByRole('heading', { name: 'New collection' }).waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('members');
    await page.getByLabel('Type', { exact: true }).selectOption('auth');
    await page.getByRole('heading', { name: 'OAuth2' }).waitFor();
    // A field of our own, then offered as a mapped field.
    await page.getByLabel('New field type').selectOption('text');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.locator('fieldset.frow').last().getByLabel('Name', { exact: true }).fill('nick');
    await page.getByLabel('Name into', { exact: true }).selectOption('nick');

    await page.getByLabel('OAuth2 sign-in').check();
    await page.getByLabel('OAuth2 provider').selectOption('github');
    await page.getByRole('button', { name: 'Add provider' }).click();
    // The new provider's first input has the focus (keyboard use).
    assert.equal(await page.evaluate(() => document.activeElement.labels[0].textContent), 'GitHub: Client id');
    await page.keyboard.type('gh-client');
    await page.getByLabel('OAuth2 provider').selectOption('oidc');
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.getByLabel('OpenID Connect: Client id').fill('oidc-client');
    await page.getByLabel('OpenID Connect: Client secret').fill('oidc-secret');
    await page.getByLabel('OpenID Connect: Display name').fill('Acme <SSO>');
    await page.getByLabel('OpenID Connect: PKCE').selectOption('on');
    await page.getByLabel('OpenID Connect: Auth URL').fill('https://sso.example.com/auth');
    await page.getByLabel('OpenID Connect: Token URL').fill('https://sso.example.com/token');
    await page.getByLabel('OpenID Connect: Issuers').fill('https://sso.example.com, https://sso2.example.com');
    const jwks = page.getByLabel('OpenID Connect: JWKS URL');
    await jwks.fill('ftp://nope');
    const vdur = page.getByLabel('Verification token duration (s)');
    await vdur.fill('5');

    // Refused: the GitHub secret is blank, the JWKS URL and a duration are bad; each shows at its input.
    await save('Create collection');
    const secret = page.getByLabel('GitHub: Client secret');
    await (await errorOf(secret)).filter({ hasText: 'Cannot be blank.' }).waitFor();
    assert.equal(await secret.getAttribute('aria-invalid'), 'true');
    await (await errorOf(jwks)).filter({ hasText: 'Must be a valid url.' }).waitFor();
    await (await errorOf(vdur)).filter({ hasText: 'Must be a whole number of seconds from 10 to 94670856.' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'See the fields marked.' }).waitFor();
    await assert.rejects(api('GET', '/api/collections/members'), /404/);
    await axe(page, 'auth options errors');

    await secret.fill('gh-secret');
    await jwks.fill('https://sso.example.com/jwks');
    await vdur.fill('3600');
    await save('Create collection');
    await saved('members');
    await page.getByRole('heading', { name: 'Edit members' }).waitFor();
    let c = await api('GET', '/api/collections/members');
    assert.equal(c.oauth2.enabled, true);
    assert.equal(c.oauth2.mappedFields.name, 'nick');
    assert.equal(c.verificationToken.duration, 3600);
    assert.deepEqual(c.oauth2.providers.map((p) => [p.name, p.clientId]), [['github', 'gh-client'], ['oidc', 'oidc-client']]);
    const oidc = c.oauth2.providers[1];
    assert.deepEqual([oidc.displayName, oidc.pkce, oidc.authURL], ['Acme <SSO>', true, 'https://sso.example.com/auth']);
    assert.deepEqual(oidc.extra, { issuers: ['https://sso.example.com', 'https://sso2.example.com'], jwksURL: 'https://sso.example.com/jwks' });
    assert.equal('clientSecret' in oidc, false);
    // Both are live: the auth methods offer them, with their client ids.
    const methods = await (await fetch(srv.url + '/api/collections/members/auth-methods')).json();
    const offered = methods.oauth2.providers.map((p) => [p.name, new URL(p.authURL).searchParams.get('client_id')]);
    assert.deepEqual(offered.sort(), [['github', 'gh-client'], ['oidc', 'oidc-client']]);
    // The name shows as text, never markup.
    assert.equal(await page.getByLabel('OpenID Connect: Display name').inputValue(), 'Acme <SSO>');

    // Edited without the secrets: they are kept (the saved ones' inputs start empty).
    assert.equal(await page.getByLabel('GitHub: Client secret').inputValue(), '');
    await page.getByText('Saved and never shown: leave empty to keep it.').first().waitFor();
    await page.getByLabel('GitHub: Display name').fill('GitHub (work)');
    await page.getByLabel('Password reset token duration (s)').fill('900');
    await save('Save changes');
    await saved('members');
    c = await api('GET', '/api/collections/members');
    assert.equal(c.oauth2.providers[0].displayName, 'GitHub (work)');
    assert.equal(c.passwordResetToken.duration, 900);
    assert.equal((await (await fetch(srv.url + '/api/collections/members/auth-methods')).json()).oauth2.providers.length, 2);
    await page.getByRole('heading', { name: 'Edit members' }).waitFor();
    await axe(page, 'auth options');
    await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
    await page.getByRole('heading', { name: 'OAuth2' }).evaluate((e) => e.scrollIntoView());
    await shot(page, 'collection-oauth2');

    // A provider removed is gone from the collection.
    await page.getByRole('button', { name: 'Remove provider GitHub' }).click();
    await save('Save changes');
    await saved('members');
    c = await api('GET', '/api/collections/members');
    assert.deepEqual(c.oauth2.providers.map((p) => p.name), ['oidc']);
});

test('Apple: the client secret generated from the .p8 key by the server, its errors in the dialog', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await page.getByLabel('OAuth2 provider').selectOption('apple');
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.getByLabel('Apple: Client id').fill('com.example.app');
    await page.getByRole('button', { name: 'Generate Apple client secret' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByRole('heading', { name: 'Generate the Apple client secret' }).waitFor();
    assert.equal(await dlg.getByLabel('Client id (Services ID)').inputValue(), 'com.example.app');
    const team = dlg.getByLabel('Team id');
    await team.fill('SHORT');
    await dlg.getByLabel('Key id').fill('KEY1234567');
    await dlg.getByLabel('Private key (.p8 file contents)').fill(pem);
    await dlg.getByRole('button', { name: 'Generate' }).click();
    await (await errorOf(team)).filter({ hasText: /\S/ }).waitFor();
    assert.equal(await team.getAttribute('aria-invalid'), 'true');
    await axe(page, 'apple secret dialog');
    await team.fill('TEAM123456');
    await dlg.getByRole('button', { name: 'Generate' }).click();
    await dlg.waitFor({ state: 'detached' });
    const jwt = await page.getByLabel('Apple: Client secret').inputValue();
    assert.equal(jwt.split('.').length, 3);
    assert.equal(JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).sub, 'com.example.app');
    await save('Save changes');
    await saved('members');
    const methods = await (await fetch(srv.url + '/api/collections/members/auth-methods')).json();
    assert.deepEqual(methods.oauth2.providers.map((p) => p.name).sort(), ['apple', 'oidc']);
});

test('base collection: full-text search and embedding edited, refused values at their inputs, then removed', async () => {
    await api('POST', '/api/collections', {
        name: 'articles', type: 'base',
        fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'editor' }, { name: 'views', type: 'number' },
            { name: 'vec', type: 'vector', dimensions: 3 }],
    });
    await page.goto(srv.url + '/_/#/collections/articles/edit');
    await page.getByRole('heading', { name: 'Full-text search' }).waitFor();
    // Search: only the searchable fields are offered.
    await page.getByRole('button', { name: 'Add searched field' }).click();
    const f1 = page.getByLabel('Searched field 1');
    assert.deepEqual(await f1.locator('option').allTextContents(), ['— choose —', 'id', 'title', 'body']);
    await f1.selectOption('title');
    const w1 = page.getByLabel('Weight of field 1');
    await w1.fill('5000');
    await page.getByRole('button', { name: 'Add searched field' }).click();
    await page.getByLabel('Searched field 2').selectOption('body');
    await page.getByLabel('Search language').selectOption('english');
    await save('Save changes');
    await (await errorOf(w1)).filter({ hasText: 'Must be a number from 0.001 to 1000.' }).waitFor();
    assert.equal((await api('GET', '/api/collections/articles')).search, undefined);
    await w1.fill('2');

    // Embedding: a non-text source is refused at the source input.
    assert.deepEqual(await page.getByLabel('Vector field').locator('option').allTextContents(), ['— none —', 'vec']);
    await page.getByLabel('Vector field').selectOption('vec');
    const src = page.getByLabel('Source fields');
    await src.fill('title, views');
    await save('Save changes');
    await (await errorOf(src)).filter({ hasText: 'Entry 2: Only text, editor, email and url fields can be embedded.' }).waitFor();
    assert.equal(await src.getAttribute('aria-invalid'), 'true');
    await axe(page, 'search and embedding errors');
    await src.fill('title, body');
    await save('Save changes');
    await saved('articles');
    let c = await api('GET', '/api/collections/articles');
    assert.deepEqual(c.search, { fields: [{ name: 'title', weight: 2 }, { name: 'body', weight: 1 }], language: 'english' });
    assert.deepEqual(c.embedding, { field: 'vec', source: ['title', 'body'], provider: 'openai' });

    // Reloaded from the server: the same values; then both removed.
    await page.getByRole('heading', { name: 'Edit articles' }).waitFor();
    assert.equal(await page.getByLabel('Searched field 2').inputValue(), 'body');
    assert.equal(await page.getByLabel('Weight of field 1').inputValue(), '2');
    assert.equal(await page.getByLabel('Source fields').inputValue(), 'title, body');
    await page.getByRole('button', { name: 'Remove searched field 2' }).click();
    await page.getByRole('button', { name: 'Remove searched field 1' }).click();
    await page.getByLabel('Vector field').selectOption('');
    await save('Save changes');
    await saved('articles');
    c = await api('GET', '/api/collections/articles');
    assert.equal(c.search, undefined);
    assert.equal(c.embedding, undefined);
});

test('phone-sized screen: the auth collection editor fits, no sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    await signedIn(phone);
    const p = await phone.newPage();
    p.setDefaultTimeout(T);
    watch(p, 'phone');
    await p.goto(srv.url + '/_/#/collections/members/edit');
    await p.getByRole('heading', { name: 'OAuth2' }).waitFor();
    await axe(p, 'phone auth editor');
    const [scroll, width] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= width, `${scroll} px wide in ${width}`);
    assert.deepEqual(await cspViolations(p), []);
    await phone.close();
});

test('no console errors, no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems, []);
    // The refused saves: the auth collection (1), search (1) and embedding (1); Apple's secret (1).
    assert.ok(allowed400.length <= 4, allowed400.join('\n'));
});
