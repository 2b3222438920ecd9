// A notification's texts (issue #17): templates per locale in
// `_notifyTemplates` with {{record.field}} placeholders (escaped for HTML in
// a mail, as written elsewhere), inline locales, the email channel (a real
// SMTP sink), each device and user reached in their own locale, triggers
// naming a template, and quiet hours in `_notifyPrefs` (a push or SMS waits
// for their end unless urgent). A fake FCM and a fake SMS gateway record
// what is sent.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { superuserClient, makeUser, expectError, SLOW, until } from './lib/util.mjs';
import { startSmtpSink, readMails } from './lib/smtp.mjs';


describe('notification texts, email and quiet hours', () => {
    let srv, su, fake, sink, base;
    const fcm = [];   // FCM messages sent
    const texts = []; // SMS gateway bodies
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

    before(async () => {
        fake = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const body = Buffer.concat(chunks).toString();
                res.writeHead(200, { 'Content-Type': 'application/json' });
                if (req.url === '/token') return res.end(JSON.stringify({ access_token: 'ya29.t', expires_in: 3600 }));
                if (req.url === '/sms') {
                    texts.push(JSON.parse(body));
                    return res.end('{}');
                }
                fcm.push(JSON.parse(body).message);
                res.end('{"name":"projects/p/messages/1"}');
            });
        });
        await new Promise((r) => fake.listen(0, '127.0.0.1', r));
        base = `http://127.0.0.1:${fake.address().port}`;
        sink = await startSmtpSink();
        srv = await startServer({ flags: ['--allow-private-network', `--smtp-host=127.0.0.1`,
            `--smtp-port=${sink.port}`, '--smtp-sender=app@example.com'] });
        su = await superuserClient(srv.url);
        await su.settings.update({
            push: { fcm: { enabled: true, apiURL: base, serviceAccount: JSON.stringify({
                project_id: 'p', client_email: 'a@p.iam.gserviceaccount.com', token_uri: `${base}/token`,
                private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) }) } },
            sms: { provider: 'http', http: { url: `${base}/sms`, body: '{"to":"{{to}}","text":"{{text}}"}' } },
        });
        const users = await su.collections.getOne('users');
        await su.collections.update(users.id, { fields: [...users.fields,
            { name: 'phone', type: 'text' }, { name: 'locale', type: 'text' }] });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
        fake.close();
        await sink.stop();
    });

    const notify = (body) => su.send('/api/notify', { method: 'POST', body });
    const done = (job) => until(`job ${job.id}`, async () => {
        const j = await su.send(`/api/jobs/${job.id}`);
        if (j.status === 'dead') throw new Error(`dead: ${j.lastError}`);
        return j.status === 'done' && j;
    });
    // Each mail's parts decoded (base64 parts of a multipart body too).
    const decoded = (m) => m.text.replace(/Content-Transfer-Encoding: base64\r?\n\r?\n([A-Za-z0-9+/=\r\n]+?)(?=\r?\n--)/g,
        (_, b) => `\n${Buffer.from(b.replace(/\s+/g, ''), 'base64').toString('utf8')}`);
    const mailsTo = (to) => readMails(sink).filter((m) => m.to.includes(to)).map((m) => ({ ...m, text: decoded(m) }));

    test('a template per locale: each device and each user in their own language', async () => {
        const tpl = su.collection('_notifyTemplates');
        await tpl.create({ name: 'order_shipped', locale: '', title: 'Order {{record.number}} shipped',
            body: 'For {{record.who}}', sms: 'Shipped: {{record.number}}',
            html: '<p>Order <b>{{record.number}}</b> for {{record.who}}</p>' });
        await tpl.create({ name: 'order_shipped', locale: 'hi', title: 'ऑर्डर {{record.number}} भेजा गया' });
        await tpl.create({ name: 'order_shipped', locale: 'pt-BR', title: 'Pedido {{record.number}} enviado' });
        // Names, locales and the (name, locale) pair are checked.
        let e = await expectError(tpl.create({ name: 'Bad Name', title: 't' }), 400);
        assert.ok(e.data.name);
        e = await expectError(tpl.create({ name: 'x', locale: 'english!', title: 't' }), 400);
        assert.ok(e.data.locale);
        await expectError(tpl.create({ name: 'order_shipped', locale: 'hi', title: 'again' }), 400);

        await su.collections.create({ name: 'shipments', type: 'base', fields: [
            { name: 'number', type: 'text' }, { name: 'who', type: 'text' }] });
        const rec = await su.collection('shipments').create({ number: 'A-9', who: 'Ann <ann@x> & "co"' });
        const hi = await makeUser(su, srv.url, { locale: 'hi', phone: '+919876500001' });
        const br = await makeUser(su, srv.url, { phone: '+5511987650002' }); // no locale field: the device's
        const de = await makeUser(su, srv.url, { locale: 'de' });           // no German: the fallback
        await hi.pb.collection('_devices').create({ user: hi.record.id, provider: 'fcm', token: 'tx-hi', locale: 'hi-IN' });
        await br.pb.collection('_devices').create({ user: br.record.id, provider: 'fcm', token: 'tx-br', locale: 'pt_br',
            lastSeen: '2026-12-01 10:00:00.000Z' });
        await br.pb.collection('_devices').create({ user: br.record.id, provider: 'fcm', token: 'tx-br-old', locale: 'en',
            lastSeen: '2026-01-01 10:00:00.000Z' });
        await de.pb.collection('_devices').create({ user: de.record.id, provider: 'fcm', token: 'tx-de', locale: 'de-DE' });

        e = await expectError(notify({ users: [hi.record.id], template: 'no_such' }), 400);
        assert.equal(e.data.template.code, 'validation_invalid_value');
        e = await expectError(notify({ users: [hi.record.id], template: 'order_shipped', record: { collection: 'nope', id: 'x' } }), 400);
        assert.ok(e.data.record);
        e = await expectError(notify({ users: [hi.record.id], template: 'order_shipped', title: 'both' }), 400);
        assert.match(e.data.payload.message, /title/);

        const job = await notify({ users: [hi.record.id, br.record.id, de.record.id], template: 'order_shipped',
            record: { collection: 'shipments', id: rec.id }, channels: ['push', 'inbox', 'sms', 'email'], data: { order: 'A-9' } });
        await done(job);
        const push = (token) => until(`push to ${token}`, () => fcm.find((m) => m.token === token));
        assert.equal((await push('tx-hi')).notification.title, 'ऑर्डर A-9 भेजा गया');
        assert.equal((await push('tx-br')).notification.title, 'Pedido A-9 enviado');
        assert.equal((await push('tx-br-old')).notification.title, 'Order A-9 shipped', 'each device in its own locale');
        const dePush = await push('tx-de');
        assert.equal(dePush.notification.title, 'Order A-9 shipped');
        assert.equal(dePush.notification.body, 'For Ann <ann@x> & "co"', 'plain text is not escaped');
        assert.deepEqual(dePush.data, { order: 'A-9' });
        // The inbox: the user's locale (their field, else their latest device's).
        const inboxTitle = async (u) => (await until('inbox', async () => (await u.pb.collection('_notifications').getFullList())[0])).title;
        assert.equal(await inboxTitle(hi), 'ऑर्डर A-9 भेजा गया');
        assert.equal(await inboxTitle(br), 'Pedido A-9 enviado');
        assert.equal(await inboxTitle(de), 'Order A-9 shipped');
        // SMS: the locale's sms text, else title and body.
        const sms = (to) => until(`sms to ${to}`, () => texts.find((t) => t.to === to));
        assert.equal((await sms('+919876500001')).text, 'ऑर्डर A-9 भेजा गया');
        assert.equal((await sms('+5511987650002')).text, 'Pedido A-9 enviado');
        // Email: the fallback's html with the values escaped; Hindi has no html: its title escaped.
        const deMail = await until('de\'s mail', () => mailsTo(de.email)[0]);
        assert.equal(deMail.subject, 'Order A-9 shipped');
        assert.match(deMail.text, /<p>Order <b>A-9<\/b> for Ann &lt;ann@x&gt; &amp; &quot;co&quot;<\/p>/);
        const hiMail = await until('hi\'s mail', () => mailsTo(hi.email)[0]);
        assert.match(hiMail.text, /<p><strong>ऑर्डर A-9 भेजा गया<\/strong><\/p>/);
    });

    test('inline locales, and a template missing at run time makes the job dead', async () => {
        const u = await makeUser(su, srv.url, { locale: 'fr' });
        await u.pb.collection('_devices').create({ user: u.record.id, provider: 'fcm', token: 'inline-fr', locale: 'fr-CA' });
        let e = await expectError(notify({ users: [u.record.id], locales: { 'english!': { title: 't' } } }), 400);
        assert.match(e.data.payload.message, /locales/);
        e = await expectError(notify({ users: [u.record.id], locales: { en: { body: 'no title' } } }), 400);
        assert.match(e.data.payload.message, /title/);
        await done(await notify({ users: [u.record.id], locales: { en: { title: 'Hello' }, fr: { title: 'Bonjour', body: 'à bientôt' } } }));
        const m = await until('the French push', () => fcm.find((x) => x.token === 'inline-fr'));
        assert.deepEqual([m.notification.title, m.notification.body], ['Bonjour', 'à bientôt']);
        // A template deleted between the request and the run.
        const t = await su.collection('_notifyTemplates').create({ name: 'fleeting', title: 'x' });
        const job = await notify({ users: [u.record.id], template: 'fleeting', runAt: new Date(Date.now() + 1500).toISOString() });
        await su.collection('_notifyTemplates').delete(t.id);
        const j = await until('the dead job', async () => {
            const x = await su.send(`/api/jobs/${job.id}`);
            return x.status === 'dead' && x;
        }, 20000 * SLOW);
        assert.match(j.lastError, /template/);
    });

    test('email channel: a mail per user with an address; muted email is skipped', async () => {
        const a = await makeUser(su, srv.url);
        const b = await makeUser(su, srv.url);
        await b.pb.collection('_notifyPrefs').create({ user: b.record.id, muted: { '*': ['email'] } });
        await done(await notify({ users: [a.record.id, b.record.id], title: 'Your\nstatement', body: 'Line 1\nLine <2>', channels: ['email'] }));
        const mail = await until('a\'s mail', () => mailsTo(a.email)[0]);
        assert.equal(mail.subject, 'Your statement', 'the subject is one line');
        assert.match(mail.text, /Line 1/);
        assert.match(mail.text, /Line 1<br>Line &lt;2&gt;/);
        await new Promise((r) => setTimeout(r, 500 * SLOW));
        assert.equal(mailsTo(b.email).length, 0, 'b muted email');
        const e = await expectError(b.pb.collection('_notifyPrefs').update(
            (await b.pb.collection('_notifyPrefs').getFullList())[0].id, { muted: { '*': ['fax'] } }), 400);
        assert.ok(e.data.muted);
    });

    test('a trigger naming a template renders it over the record', async () => {
        const u = await makeUser(su, srv.url, { locale: 'hi' });
        const users = await su.collections.getOne('users');
        await su.collections.create({ name: 'loans', type: 'base', fields: [
            { name: 'amount', type: 'number' },
            { name: 'borrower', type: 'relation', collectionId: users.id, maxSelect: 1 }] });
        await su.collection('_notifyTemplates').create({ name: 'emi_due', title: 'EMI of {{record.amount}} due' });
        await su.collection('_notifyTemplates').create({ name: 'emi_due', locale: 'hi', title: '{{record.amount}} की EMI बाकी' });
        const trig = { name: 'emi', collection: 'loans', events: ['create'], recipients: 'borrower', channels: ['inbox'], active: true };
        let e = await expectError(su.collection('_notifyTriggers').create({ ...trig, template: 'nope' }), 400);
        assert.ok(e.data.template);
        e = await expectError(su.collection('_notifyTriggers').create({ ...trig, template: 'emi_due', title: 'both' }), 400);
        assert.ok(e.data.template);
        e = await expectError(su.collection('_notifyTriggers').create(trig), 400);
        assert.ok(e.data.title);
        await su.collection('_notifyTriggers').create({ ...trig, template: 'emi_due' });
        await su.collection('loans').create({ amount: 4999, borrower: u.record.id });
        const n = await until('the inbox item', async () => (await u.pb.collection('_notifications').getFullList())[0]);
        assert.equal(n.title, '4999 की EMI बाकी');
    });

    test('quiet hours: a push or SMS waits for their end; inbox does not; urgent does not', async () => {
        const u = await makeUser(su, srv.url, { phone: '+447700900555' });
        await u.pb.collection('_devices').create({ user: u.record.id, provider: 'fcm', token: 'quiet-1' });
        const now = new Date();
        const hhmm = (d) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
        // A window (in UTC+05:30) from an hour ago to two hours from now.
        const local = (ms) => new Date(now.getTime() + 330 * 60000 + ms);
        const quietHours = { start: hhmm(local(-3600e3)), end: hhmm(local(2 * 3600e3)), utcOffset: 330 };
        for (const bad of [{ start: '25:00', end: '07:00', utcOffset: 0 }, { start: '22:00', end: '07:00' },
            { start: '22:00', end: '07:00', utcOffset: 900 }, { start: '22:00', end: '07:00', utcOffset: 0, tz: 'x' }]) {
            const e = await expectError(u.pb.collection('_notifyPrefs').create({ user: u.record.id, quietHours: bad }), 400);
            assert.ok(e.data.quietHours, JSON.stringify(bad));
        }
        await u.pb.collection('_notifyPrefs').create({ user: u.record.id, quietHours });
        await done(await notify({ users: [u.record.id], title: 'Flash sale', channels: ['push', 'sms', 'inbox'] }));
        // the push: a push_batch of the one device (a fan-out's pushes go in batches)
        const jobs = await su.send('/api/jobs', { query: { filter: 'kind = "push_batch" || kind = "sms"', sort: '-created', perPage: 2 } });
        const waiting = jobs.items.filter((j) => (j.payload.devices?.[0]?.token === 'quiet-1' || j.payload.to === '+447700900555'));
        assert.equal(waiting.length, 2, JSON.stringify(jobs.items));
        for (const j of waiting) {
            assert.equal(j.status, 'queued');
            const at = Date.parse(j.runAt.replace(' ', 'T'));
            const end = now.getTime() + 2 * 3600e3;
            assert.ok(Math.abs(at - end) < 2 * 60e3, `runAt ${j.runAt} is the window's end`);
        }
        assert.ok(!fcm.some((m) => m.token === 'quiet-1'));
        assert.equal((await u.pb.collection('_notifications').getFullList()).length, 1, 'the inbox does not wait');
        await done(await notify({ users: [u.record.id], title: 'Your OTP', channels: ['push'], urgent: true }));
        await until('the urgent push', () => fcm.find((m) => m.token === 'quiet-1' && m.notification.title === 'Your OTP'));
        assert.ok(!fcm.some((m) => m.token === 'quiet-1' && m.notification.title === 'Flash sale'));
    });
});
