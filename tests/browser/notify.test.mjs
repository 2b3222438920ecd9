// The dashboard's notification screens in Debian's chromium, against a server
// of their own (--allow-private-network: the push provider is a fake on
// loopback) and a fake FCM HTTP v1 (its token endpoint verifies the RS256
// assertion with the test service account's public key). The tests run in
// order: the push settings' test overrides (refused values on their inputs,
// then FCM pointed at the fake, a Web Push key made and shown); a
// notification composed and sent (a filter checked as you type, counted,
// refused by the server on its field; push and inbox delivered); triggers (the
// filter checked as you type, the server's objections on their fields, a
// saved trigger notifying on an order's change); devices (by user, a filter
// the server refuses, delete); the keyboard alone; a phone-sized screen; no
// console errors, no CSP violations, no serious axe-core finding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startServer, SUPERUSER, SLOW } from '../e2e/lib/server.mjs';
import { launchChromium, axe, shot, apiCall, pageWatcher, cspInit, cspViolations } from './lib.mjs';

const T = 15000 * SLOW;

let srv, browser, context, page, token, fake, fakeUrl;
const { problems, allowed400, watch } = pageWatcher();
const api = (method, path, body) => apiCall(srv.url, token, method, path, body);
const errorOf = async (input) => page.locator('#' + (await input.getAttribute('aria-describedby')));
const clearToasts = () => page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
const nav = (name) => page.locator('nav.side').getByRole('link', { name, exact: true }).click();

// The fake FCM: the token exchange and messages:send, each message kept.
const { publicKey: saPublic, privateKey: saPrivate } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const SERVICE_ACCOUNT = JSON.stringify({
    type: 'service_account', project_id: 'dash-project', client_email: 'push@dash-project.iam.gserviceaccount.com',
    private_key: saPrivate.export({ type: 'pkcs8', format: 'pem' }),
});
const fcm = [];

function verifyJwt(jwt) {
    const [h, p, s] = (jwt || '').split('.');
    if (!s) return null;
    const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), saPublic, Buffer.from(s, 'base64url'));
    return ok ? JSON.parse(Buffer.from(p, 'base64url')) : null;
}

async function until(what, fn) {
    const deadline = Date.now() + T;
    for (;;) {
        const v = await fn();
        if (v) return v;
        assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

let asha, ben, ashaToken;

before(async () => {
    fake = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const body = Buffer.concat(chunks).toString();
            const json = (status, o) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(o)); };
            if (req.url === '/token') {
                const claims = verifyJwt(new URLSearchParams(body).get('assertion'));
                if (!claims || claims.aud !== `${fakeUrl}/token`) return json(400, { error: 'invalid_grant' });
                return json(200, { access_token: 'ya29.dash', expires_in: 3599, token_type: 'Bearer' });
            }
            if (req.url === '/v1/projects/dash-project/messages:send' && req.headers.authorization === 'Bearer ya29.dash') {
                fcm.push(JSON.parse(body).message);
                return json(200, { name: `projects/dash-project/messages/${fcm.length}` });
            }
            json(404, { error: { code: 404, message: 'not found' } });
        });
    });
    await new Promise((r) => fake.listen(0, '127.0.0.1', r));
    fakeUrl = `http://127.0.0.1:${fake.address().port}`;
    srv = await startServer({ flags: ['--allow-private-network'] });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await cspInit(context);
    page = await context.newPage();
    page.setDefaultTimeout(T);
    watch(page, 'main');
    const signIn = async (coll, identity, password) => (await (await fetch(`${srv.url}/api/collections/${coll}/auth-with-password`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ identity, password }),
    })).json()).token;
    token = await signIn('_superusers', SUPERUSER.email, SUPERUSER.password);
    const user = (name, email) => api('POST', '/api/collections/users/records', { name, email, password: 'userpass123', passwordConfirm: 'userpass123' });
    asha = await user('Asha', 'asha@example.com');
    ben = await user('Ben', 'ben@example.com');
    await api('POST', '/api/collections', {
        name: 'orders', type: 'base', listRule: null,
        fields: [{ name: 'number', type: 'text' }, { name: 'status', type: 'select', values: ['new', 'out_for_delivery'], maxSelect: 1 },
            { name: 'customer', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 }],
    });
    // Asha's phone registers itself, as an app does.
    ashaToken = await signIn('users', 'asha@example.com', 'userpass123');
    await apiCall(srv.url, ashaToken, 'POST', '/api/collections/_devices/records',
        { user: asha.id, provider: 'fcm', platform: 'android', token: 'tok-asha', appId: 'com.example.shop', locale: 'en-IN' });
    // Signed in already: the token is in localStorage before the page's scripts run.
    await context.addInitScript(([t, email]) => {
        if (!localStorage.getItem('tarmac_admin')) localStorage.setItem('tarmac_admin', JSON.stringify({ token: t, record: { email } }));
    }, [token, SUPERUSER.email]);
});

after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
    if (fake) await new Promise((r) => fake.close(r));
});

test('settings: the push test overrides refused on their inputs, then FCM pointed at a fake; a Web Push key made and shown', async () => {
    await page.goto(srv.url + '/_/#/settings');
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
    const apiUrl = page.getByLabel('FCM API URL (override)');
    const ca = page.getByLabel('APNs CA certificates (override, PEM)');
    const twilio = page.getByLabel('Twilio API URL (override)');
    await apiUrl.fill('not a url');
    await ca.fill('not a certificate');
    await twilio.fill('nope');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await (await errorOf(apiUrl)).filter({ hasText: 'Must be a valid URL.' }).waitFor();
    await (await errorOf(ca)).filter({ hasText: 'Must be PEM certificates' }).waitFor();
    await (await errorOf(twilio)).filter({ hasText: 'Must be a valid URL.' }).waitFor();
    assert.equal(await apiUrl.getAttribute('aria-invalid'), 'true');
    let s = await api('GET', '/api/settings');
    assert.deepEqual([s.push.fcm.apiURL, s.push.apns.caPEM, s.sms.twilio.apiURL], ['', '', '']);
    await axe(page, 'settings push errors');

    await ca.fill('');
    await twilio.fill('');
    await page.getByLabel('Firebase Cloud Messaging').check();
    await page.getByLabel('FCM service account key (JSON)').fill(SERVICE_ACCOUNT);
    await page.getByLabel('FCM token URL (override)').fill(fakeUrl + '/token');
    await apiUrl.fill(fakeUrl);
    await page.getByLabel('Web Push', { exact: true }).check();
    await page.getByLabel('Web Push subject').fill('mailto:ops@example.com');
    await page.getByLabel('APNs host (override)').fill('https://127.0.0.1:9/');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.toast').filter({ hasText: 'Settings saved and applied.' }).waitFor();
    assert.equal(await page.getByLabel('FCM service account key (JSON)').inputValue(), '', 'the key is not kept in the page');
    s = await api('GET', '/api/settings');
    assert.deepEqual([s.push.fcm.enabled, s.push.fcm.tokenURL, s.push.fcm.apiURL, s.push.fcm.serviceAccount, s.push.apns.apiURL],
        [true, fakeUrl + '/token', fakeUrl, undefined, 'https://127.0.0.1:9/']);
    // The VAPID key the server made: its public half shown, as any client gets it.
    const { publicKey } = await (await fetch(srv.url + '/api/notify/webpush-key')).json();
    assert.match(publicKey, /^[A-Za-z0-9_-]{87}$/);
    await page.locator('.webpush-key output').filter({ hasText: publicKey }).waitFor();
    await axe(page, 'settings push');
});

test('send: recipients by a filter checked as you type and counted; the server\'s objections on their fields; push and inbox delivered', async () => {
    await nav('Send notification');
    await page.getByRole('heading', { name: 'Send a notification' }).waitFor();
    await page.getByText('None sent yet.').waitFor();
    await axe(page, 'send notification');
    const form = page.getByRole('form', { name: 'Notification' });
    // Nobody chosen: said on the users picker, nothing sent.
    await form.getByRole('button', { name: 'Send' }).click();
    await (await errorOf(form.getByRole('searchbox', { name: 'Users' }))).filter({ hasText: 'Choose at least one user' }).waitFor();

    await form.getByLabel('Users matching a filter').check();
    const filter = form.getByLabel('Filter over users');
    await filter.fill("nmae = 'Asha'");
    await form.getByText('Unknown field "nmae"').waitFor();
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    await filter.fill("name.nosuch = 'x'"); // only the server knows a text field has no sub-fields
    await (await errorOf(filter)).filter({ hasText: 'Field "name" has no sub-fields' }).waitFor();
    await filter.fill("name = 'Asha'");
    await form.getByText('1 user matches now.').waitFor();
    await filter.fill("name != ''");
    await form.getByText('2 users match now.').waitFor();
    await filter.fill("name = 'Asha'");
    await form.getByText('1 user matches now.').waitFor();
    // No title: the server's message on the title.
    await form.getByRole('button', { name: 'Send' }).click();
    const title = form.getByLabel('Title (required)');
    await (await errorOf(title)).filter({ hasText: 'Must be a text of 1 to 256 bytes.' }).waitFor();
    assert.equal(await title.getAttribute('aria-invalid'), 'true');
    await form.getByRole('alert').filter({ hasText: 'Failed to send the notification.' }).waitFor();
    assert.equal((await api('GET', '/api/jobs?kind=notify')).totalItems, 0);

    await title.fill('Your order');
    await form.getByLabel('Body').fill('It is on its way.');
    await form.getByLabel('Data (JSON object)').fill('{"screen": "orders"}');
    await form.getByLabel(/^In-app inbox/).check();
    await form.getByLabel('Category').fill('orders');
    await form.getByRole('button', { name: 'Send' }).click();
    const text = await page.locator('.toast').filter({ hasText: 'Queued: notification job' }).textContent();
    const jobId = /job (\w+)/.exec(text)[1];
    const row = page.locator(`tbody tr[data-id="${jobId}"]`);
    await row.getByText('done', { exact: true }).waitFor(); // refreshed while pending
    await row.getByText("name = 'Asha'").waitFor();
    await row.getByText('push, inbox').waitFor();
    const msg = await until('the push at the fake FCM', () => fcm.find((m) => m.token === 'tok-asha'));
    assert.deepEqual([msg.notification.title, msg.notification.body, msg.data.screen], ['Your order', 'It is on its way.', 'orders']);
    const inbox = await api('GET', '/api/collections/_notifications/records?filter=' + encodeURIComponent(`user = "${asha.id}"`));
    assert.deepEqual(inbox.items.map((n) => [n.title, n.body, n.data.screen]), [['Your order', 'It is on its way.', 'orders']]);
    await axe(page, 'send notification, sent');
    await clearToasts();
    await shot(page, 'notify', { fullPage: true });

    // The job's view: its payload.
    await row.getByRole('button', { name: 'View job ' + jobId }).click();
    const view = page.locator('dialog').filter({ hasText: 'Job ' + jobId });
    await view.getByLabel('Payload').getByText('"category": "orders"').waitFor();
    await view.locator('.actions').getByRole('button', { name: 'Close' }).click();
    await view.waitFor({ state: 'detached' });

    // Chosen users: Ben, found by the picker; the inbox alone.
    await clearToasts();
    await form.getByLabel('Chosen users').check();
    await form.getByRole('searchbox', { name: 'Users' }).fill('Ben');
    await form.getByRole('button', { name: `Ben (${ben.id})` }).click();
    await form.getByRole('list', { name: 'Selected users' }).getByText('Ben').waitFor();
    await form.getByLabel(/^Push/).uncheck();
    await title.fill('Hello Ben');
    await form.getByRole('button', { name: 'Send' }).click();
    await page.locator('.toast').filter({ hasText: 'Queued: notification job' }).waitFor();
    await until('Ben\'s inbox', async () => (await api('GET', '/api/collections/_notifications/records?filter=' + encodeURIComponent(`user = "${ben.id}"`))).totalItems === 1);
    await page.locator('tbody tr').filter({ hasText: 'Hello Ben' }).getByText('1 user').waitFor();
    assert.equal(fcm.length, 1, 'the inbox alone pushes nothing');
});

test('triggers: the filter checked as you type, the server\'s objections on their fields; a saved trigger notifies when an order goes out', async () => {
    await nav('Triggers');
    await page.getByRole('heading', { name: 'Notification triggers' }).waitFor();
    await page.getByRole('button', { name: 'New trigger' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByLabel('Name (required)').fill('out for delivery');
    await dlg.getByLabel('Collection (required)').selectOption('orders');
    await dlg.getByText('{{record.number}}, {{record.status}}, {{record.customer}}', { exact: false }).waitFor();
    await dlg.getByLabel('update').check();
    const filter = dlg.getByLabel('Filter');
    await filter.fill("stauts = 'out_for_delivery'");
    await dlg.getByText('Unknown field "stauts"').waitFor();
    await filter.fill("customer.nosuch = 'x'"); // only the server knows users has no "nosuch"
    const recipients = dlg.getByLabel('Recipients (required)');
    assert.deepEqual(await recipients.locator('option').allTextContents(), ['— choose —', 'customer']);
    await recipients.selectOption('customer');
    await dlg.getByLabel('Changed field').selectOption('status');
    await dlg.getByLabel('Title', { exact: true }).fill('Order {{record.number}} is on its way');
    await dlg.getByLabel('Body').fill('Status: {{record.status}}');
    await dlg.getByLabel('inbox').check();
    await dlg.getByRole('button', { name: 'Create' }).click();
    await (await errorOf(filter)).filter({ hasText: /nosuch/ }).waitFor();
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    assert.equal((await api('GET', '/api/collections/_notifyTriggers/records')).totalItems, 0);
    await axe(page, 'trigger form');
    await clearToasts();
    await shot(page, 'trigger-form');
    await filter.fill("status = 'out_for_delivery'");
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' });
    await page.locator('tbody tr').filter({ hasText: 'out for delivery' }).waitFor();
    const [trig] = (await api('GET', '/api/collections/_notifyTriggers/records')).items;
    assert.deepEqual([trig.collection, trig.events, trig.filter, trig.changed, trig.recipients, trig.channels, trig.active],
        ['orders', ['update'], "status = 'out_for_delivery'", 'status', 'customer', ['push', 'inbox'], true]);
    await axe(page, 'triggers');
    await shot(page, 'triggers');

    // The trigger at work: an order of Asha's goes out.
    const order = await api('POST', '/api/collections/orders/records', { number: 'A-17', status: 'new', customer: asha.id });
    await api('PATCH', '/api/collections/orders/records/' + order.id, { status: 'out_for_delivery' });
    const note = await until('the trigger\'s inbox record', async () => (await api('GET', '/api/collections/_notifications/records?filter='
        + encodeURIComponent(`user = "${asha.id}" && title ~ 'A-17'`))).items[0]);
    assert.deepEqual([note.title, note.body], ['Order A-17 is on its way', 'Status: out_for_delivery']);
    await until('the trigger\'s push', () => fcm.find((m) => m.notification.title === 'Order A-17 is on its way'));

    // Edit: the stored values are in the form; inactive, saved.
    await page.getByRole('button', { name: 'Edit trigger out for delivery' }).click();
    assert.equal(await dlg.getByLabel('Recipients (required)').inputValue(), 'customer');
    assert.equal(await dlg.getByLabel('Changed field').inputValue(), 'status');
    await dlg.getByLabel('Active').uncheck();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/api/collections/_notifyTriggers/records/' + trig.id)).active, false);
});

test('devices: listed with their users; a user\'s own from their record form; a filter the server refuses; delete', async () => {
    await api('POST', '/api/collections/_devices/records', { user: ben.id, provider: 'webpush', platform: 'web', token: 'https://push.example.com/ben' });
    await nav('Devices');
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    const rows = page.locator('tbody tr');
    await rows.filter({ hasText: 'tok-asha' }).getByRole('link', { name: 'Devices of Asha' }).waitFor();
    await rows.filter({ hasText: 'https://push.example.com/ben' }).waitFor();
    assert.equal(await rows.count(), 2);
    await axe(page, 'devices');
    await shot(page, 'devices');
    const box = page.getByLabel('Filter');
    await box.fill("tokn = 'x'");
    await page.getByText('Unknown field "tokn"').waitFor();
    await box.fill("user.nosuch = 'x'");
    await page.getByRole('button', { name: 'Apply' }).click();
    await (await errorOf(box)).filter({ hasText: /nosuch/ }).waitFor();
    assert.equal(await rows.count(), 2, 'the last good list stays');
    await box.fill('provider = "webpush"');
    await page.getByRole('button', { name: 'Apply' }).click();
    await rows.filter({ hasText: 'tok-asha' }).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1);

    // From Asha's record: her devices, then a notification to her.
    await nav('users');
    await page.locator('tbody tr').filter({ hasText: 'asha@example.com' }).getByRole('button', { name: /^Edit / }).click();
    const dlg = page.locator('dialog');
    await dlg.getByRole('link', { name: 'Devices' }).click();
    await dlg.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    assert.equal(await box.inputValue(), `user = "${asha.id}"`);
    await rows.filter({ hasText: 'tok-asha' }).waitFor();
    assert.equal(await rows.count(), 1);
    await page.getByRole('button', { name: 'Edit device tok-asha' }).click();
    await dlg.getByRole('list', { name: 'Selected user' }).getByText('Asha').waitFor();
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await page.locator('dialog').filter({ hasText: 'Confirm' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No devices yet.').waitFor();
    assert.equal((await api('GET', '/api/collections/_devices/records')).totalItems, 1);

    await page.goto(srv.url + '/_/#/records/users');
    await page.locator('tbody tr').filter({ hasText: 'asha@example.com' }).getByRole('button', { name: /^Edit / }).click();
    await dlg.getByRole('link', { name: 'Send a notification' }).click();
    await page.getByRole('heading', { name: 'Send a notification' }).waitFor();
    await page.getByRole('list', { name: 'Selected users' }).getByText('Asha').waitFor();
});

test('templates: per locale, a bad name refused on its field; sent from a template over a record to the inbox; the text shown as text', async () => {
    const order = await api('POST', '/api/collections/orders/records', { number: 'B-2', status: 'new', customer: ben.id });
    await nav('Templates');
    await page.getByRole('heading', { name: 'Notification templates' }).waitFor();
    await page.getByText('No templates yet.').waitFor();
    const dlg = page.locator('dialog');
    const create = async (name, locale, title, body) => {
        await page.getByRole('button', { name: 'New template' }).click();
        await dlg.getByLabel('Name (required)').fill(name);
        await dlg.getByLabel('Locale').fill(locale);
        await dlg.getByLabel('Title (required)').fill(title);
        await dlg.getByLabel('Body').fill(body);
        await dlg.getByRole('button', { name: 'Create' }).click();
    };
    await create('Order Shipped', '', 'Order {{record.number}} shipped', '<b>{{record.status}}</b>');
    const name = dlg.getByLabel('Name (required)');
    await (await errorOf(name)).filter({ hasText: /\S/ }).waitFor(); // the server's pattern
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.equal((await api('GET', '/api/collections/_notifyTemplates/records')).totalItems, 0);
    await name.fill('order_shipped');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' });
    await create('order_shipped', 'hi', 'ऑर्डर {{record.number}} भेजा गया', '');
    await dlg.waitFor({ state: 'detached' });
    const rows = page.locator('tbody tr');
    await rows.filter({ hasText: 'भेजा गया' }).waitFor();
    assert.equal(await rows.count(), 2);
    // HTML in a text is drawn as text.
    await rows.filter({ hasText: 'fallback' }).getByText('<b>{{record.status}}</b>', { exact: true }).waitFor();
    assert.equal(await page.locator('tbody b').count(), 0);
    await page.getByRole('button', { name: 'Edit template order_shipped hi' }).click();
    assert.equal(await dlg.getByLabel('Locale').inputValue(), 'hi');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });
    await axe(page, 'templates');
    await clearToasts();
    await shot(page, 'templates');

    // Sent from it, over Ben's order, to his inbox (and a record collection without an id said first).
    await nav('Send notification');
    const form = page.getByRole('form', { name: 'Notification' });
    await form.getByRole('searchbox', { name: 'Users' }).fill('Ben');
    await form.getByRole('button', { name: `Ben (${ben.id})` }).click();
    await form.getByLabel(/^Push/).uncheck();
    await form.getByLabel(/^In-app inbox/).check();
    await form.getByLabel('From a template').check();
    assert.equal(await form.getByLabel('Title (required)').isVisible(), false);
    assert.deepEqual(await form.getByLabel('Template (required)').locator('option').allTextContents(), ['order_shipped']);
    await form.getByLabel('Record collection').selectOption('orders');
    await form.getByRole('button', { name: 'Send' }).click();
    await (await errorOf(form.getByLabel('Record id'))).filter({ hasText: 'Cannot be blank with a collection.' }).waitFor();
    await form.getByLabel('Record id').fill(order.id);
    await form.getByLabel(/^Urgent/).check();
    await clearToasts();
    await form.getByRole('button', { name: 'Send' }).click();
    const text = await page.locator('.toast').filter({ hasText: 'Queued: notification job' }).textContent();
    const jobId = /job (\w+)/.exec(text)[1];
    await page.locator(`tbody tr[data-id="${jobId}"]`).getByText('template order_shipped').waitFor();
    const job = await api('GET', '/api/jobs/' + jobId);
    assert.deepEqual([job.payload.template, job.payload.record, job.payload.urgent, job.payload.channels, job.payload.title],
        ['order_shipped', { collection: 'orders', id: order.id }, true, ['inbox'], undefined]);
    await until('the template\'s inbox record', async () => (await api('GET', '/api/collections/_notifications/records?filter='
        + encodeURIComponent(`user = "${ben.id}" && title = 'Order B-2 shipped'`))).totalItems === 1);
});

test('inbox: every user\'s notifications, a filter, mark read and unread, delete; no create', async () => {
    await nav('Inbox');
    await page.getByRole('heading', { name: 'Inbox', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New notification' }).count(), 0);
    const rows = page.locator('tbody tr');
    const row = rows.filter({ hasText: 'Order B-2 shipped' });
    await row.getByText('<b>new</b>', { exact: true }).waitFor(); // the body, as text
    await row.getByText('unread', { exact: true }).waitFor();
    await rows.filter({ hasText: 'Your order' }).getByRole('link', { name: 'Inbox of Asha' }).waitFor();
    await axe(page, 'inbox');
    await clearToasts();
    await shot(page, 'inbox');
    await row.getByRole('button', { name: 'Mark read: Order B-2 shipped' }).click();
    await row.getByRole('button', { name: 'Mark unread: Order B-2 shipped' }).waitFor();
    const [note] = (await api('GET', '/api/collections/_notifications/records?filter=' + encodeURIComponent("title = 'Order B-2 shipped'"))).items;
    assert.ok(Date.now() - Date.parse(note.readAt.replace(' ', 'T')) < 120000, note.readAt);
    await row.getByRole('button', { name: 'Mark unread: Order B-2 shipped' }).click();
    await row.getByText('unread', { exact: true }).waitFor();
    assert.equal((await api('GET', '/api/collections/_notifications/records/' + note.id)).readAt, '');

    const box = page.getByLabel('Filter');
    await box.fill('title ~ "B-2"');
    await page.getByRole('button', { name: 'Apply' }).click();
    await rows.filter({ hasText: 'Your order' }).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1);
    // Ben's own, from the link.
    await row.getByRole('link', { name: 'Inbox of Ben' }).click();
    await page.waitForFunction((id) => location.hash === '#/inbox/' + id
        && document.querySelector('main input[type=search]')?.value === `user = "${id}"`, ben.id);
    await row.waitFor();
    await page.getByRole('button', { name: 'Edit notification Order B-2 shipped' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await page.locator('dialog').filter({ hasText: 'Confirm' }).getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/api/collections/_notifications/records?filter=' + encodeURIComponent("title = 'Order B-2 shipped'"))).totalItems, 0);
});

test('preferences: a user\'s muted channels and quiet hours; the server\'s objection on its field', async () => {
    await nav('Preferences');
    await page.getByRole('heading', { name: 'Notification preferences' }).waitFor();
    await page.getByRole('button', { name: 'New preference' }).click();
    const dlg = page.locator('dialog');
    await dlg.getByRole('searchbox', { name: 'User (required)' }).fill('Ben');
    await dlg.getByRole('button', { name: `Ben (${ben.id})` }).click();
    assert.equal(await dlg.getByLabel('Muted (JSON)').inputValue(), JSON.stringify({ marketing: ['push', 'sms'] }, null, 2));
    const quiet = dlg.getByLabel('Quiet hours (JSON)');
    await quiet.fill('{"start": "25:00", "end": "07:00", "utcOffset": 330}');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await (await errorOf(quiet)).filter({ hasText: /\S/ }).waitFor();
    assert.equal(await quiet.getAttribute('aria-invalid'), 'true');
    assert.equal((await api('GET', '/api/collections/_notifyPrefs/records')).totalItems, 0);
    await quiet.fill('{"start": "22:00", "end": "07:00", "utcOffset": 330}');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' });
    const row = page.locator('tbody tr').filter({ hasText: 'marketing: push, sms' });
    await row.getByText('22:00–07:00 (UTC+05:30)').waitFor();
    const [pref] = (await api('GET', '/api/collections/_notifyPrefs/records')).items;
    assert.deepEqual([pref.user, pref.muted, pref.quietHours], [ben.id, { marketing: ['push', 'sms'] }, { start: '22:00', end: '07:00', utcOffset: 330 }]);
    await axe(page, 'preferences');
    await clearToasts();
    await shot(page, 'prefs');
    // From Ben's record form.
    await page.goto(srv.url + '/_/#/records/users');
    await page.locator('tbody tr').filter({ hasText: 'ben@example.com' }).getByRole('button', { name: /^Edit / }).click();
    await dlg.getByRole('link', { name: 'Notification preferences' }).click();
    await page.getByRole('heading', { name: 'Notification preferences' }).waitFor();
    assert.equal(await page.getByLabel('Filter').inputValue(), `user = "${ben.id}"`);
    await page.getByRole('button', { name: 'Edit preference Ben' }).waitFor();
});

// Presses Tab until the focused element satisfies pred (a function run in the page).
async function tabTo(p, pred, arg, max = 150) {
    for (let i = 0; i < max; i++) {
        await p.keyboard.press('Tab');
        if (await p.evaluate(pred, arg)) return;
    }
    assert.fail('Tab never reached the element');
}
const focusedText = (text) => document.activeElement?.textContent?.trim() === text;

test('keyboard alone: sign in, skip to content, reach a screen, send a notification; a dialog closes with Escape, the focus back', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await cspInit(ctx);
    const p = await ctx.newPage();
    p.setDefaultTimeout(T);
    watch(p, 'keyboard');
    await p.goto(srv.url + '/_/');
    await p.waitForSelector('html[data-ready="1"] input[type=email]:focus');
    await p.keyboard.type(SUPERUSER.email);
    await p.keyboard.press('Tab');
    await p.keyboard.type(SUPERUSER.password);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { name: 'Collections' }).waitFor();

    // The first Tab reaches "Skip to content", which moves the focus to the main area.
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(focusedText, 'Skip to content'), true);
    const outline = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'the focus is visible');
    await p.keyboard.press('Enter');
    assert.equal(await p.evaluate(() => document.activeElement.id), 'main');

    await tabTo(p, focusedText, 'Send notification');
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { name: 'Send a notification' }).waitFor();
    await tabTo(p, () => document.activeElement?.id === 'to-users');
    await p.keyboard.press('ArrowRight'); // the next radio: a filter
    assert.equal(await p.evaluate(() => document.activeElement.id), 'to-filter');
    await p.keyboard.press('Tab');
    await p.keyboard.type("email = 'ben@example.com'");
    await p.getByText('1 user matches now.').waitFor();
    await tabTo(p, () => document.activeElement?.value === 'inbox');
    await p.keyboard.press('Space');
    await tabTo(p, () => document.activeElement?.labels?.[0]?.textContent === 'Title (required)');
    await p.keyboard.type('By keyboard');
    await p.keyboard.press('Enter'); // submits the form
    await p.locator('.toast').filter({ hasText: 'Queued: notification job' }).waitFor();
    await until('the keyboard\'s notification', async () => (await api('GET', '/api/collections/_notifications/records?filter='
        + encodeURIComponent(`user = "${ben.id}" && title = 'By keyboard'`))).totalItems === 1);

    // A dialog: opened with Enter, closed with Escape, the focus back on its button.
    await p.goto(srv.url + '/_/#/triggers');
    await p.getByRole('heading', { name: 'Notification triggers' }).waitFor();
    await tabTo(p, focusedText, 'New trigger');
    await p.keyboard.press('Enter');
    await p.locator('dialog[open]').waitFor();
    assert.equal(await p.evaluate(() => !!document.activeElement.closest('dialog')), true, 'the focus is in the dialog');
    await p.keyboard.press('Escape');
    await p.locator('dialog').waitFor({ state: 'detached' });
    assert.equal(await p.evaluate(focusedText, 'New trigger'), true);
    assert.deepEqual(await cspViolations(p), []);
    await ctx.close();
});

test('phone-sized screen: the notification screens fit, no sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    await cspInit(phone);
    await phone.addInitScript(([t, email]) => localStorage.setItem('tarmac_admin', JSON.stringify({ token: t, record: { email } })), [token, SUPERUSER.email]);
    const p = await phone.newPage();
    p.setDefaultTimeout(T);
    watch(p, 'phone');
    for (const [hash, heading] of [['#/notify', 'Send a notification'], ['#/triggers', 'Notification triggers'], ['#/devices', 'Devices'],
        ['#/templates', 'Notification templates'], ['#/inbox', 'Inbox'], ['#/prefs', 'Notification preferences']]) {
        await p.goto(srv.url + '/_/' + hash);
        await p.getByRole('heading', { name: heading, exact: true }).waitFor();
        await p.locator('tbody tr').first().waitFor();
        await axe(p, 'phone ' + heading);
        const [scroll, width] = await p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        assert.ok(scroll <= width, `${heading}: ${scroll} px wide in ${width}`);
        if (hash === '#/notify') await shot(p, 'phone-notify', { fullPage: false });
        if (hash === '#/inbox') await shot(p, 'phone-inbox', { fullPage: false });
    }
    assert.deepEqual(await cspViolations(p), []);
    await phone.close();
});

test('no console errors, no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems, []);
    console.log(`# expected 400 responses logged by chromium: ${allowed400.length}`);
    // On purpose: the settings save (1), the filters the server refused (users
    // count, devices list: 2), the notification without a title (1), the
    // trigger's filter (1), the template's name (1), the quiet hours (1).
    assert.ok(allowed400.length <= 8, allowed400.join('\n'));
});
